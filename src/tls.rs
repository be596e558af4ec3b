//! TLS for every protocol: the certificate. The stream that turns into TLS in the
//! middle of a conversation (RFC 3207 STARTTLS, RFC 2595 STLS) or starts as TLS
//! (RFC 8314 implicit TLS) is [`crate::wire::transport`]'s.
//!
//! The cryptography is `rustls` with the `ring` provider (no OpenSSL). This module only
//! does two jobs:
//! - [`load`] reads a PEM certificate chain and key (`--tls-cert`, `--tls-key`);
//! - [`self_signed`] makes a certificate for `localhost` and our hostname at start-up
//!   (`--tls-self-signed`) and writes it to a file, so a client can be told to trust it.
//!
//! Left out: client certificates, SNI with several certificates, reloading the
//! certificate without a restart, and session resumption tickets. A self-signed
//! certificate is new at every start and trusted only by clients told about the file;
//! a production server uses a certificate from a CA (for example via ACME).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

// ANCHOR: tls_info
/// The TLS session a client negotiated, for `Received:` (RFC 3848) and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// "TLSv1.3", "TLSv1.2".
    pub version: String,
    /// The cipher suite, as IANA names it.
    pub cipher: String,
}
// ANCHOR_END: tls_info

/// Builds the server side of TLS from a certificate chain and its private key.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS certificate and key do not fit together: {e}"))?;
    Ok(Arc::new(config))
}

// ANCHOR: load
/// `--tls-cert FILE --tls-key FILE`: PEM files, the certificate chain leaf first.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read private key {}: {e}", key.display()))?;
    server_config(chain, key)
}
// ANCHOR_END: load

// ANCHOR: self_signed
/// `--tls-self-signed`: a new certificate for `localhost` and `hostname`, valid for
/// TLS at once. The certificate (never the key) is written to `write_to`, so clients
/// can be told to trust it (`curl --cacert`, `swaks --tls-ca-path`, `msmtp --tls-trust-file`).
pub fn self_signed(hostname: &str, write_to: &Path) -> Result<Arc<ServerConfig>, String> {
    let mut names = vec!["localhost".to_string()];
    if !hostname.eq_ignore_ascii_case("localhost") {
        names.push(hostname.to_string());
    }
    let generated = rcgen::generate_simple_self_signed(names.clone())
        .map_err(|e| format!("cannot generate a certificate: {e}"))?;
    std::fs::write(write_to, generated.cert.pem())
        .map_err(|e| format!("cannot write certificate {}: {e}", write_to.display()))?;
    log::info!(
        "self-signed TLS certificate for {} written to {}: tell clients to trust it",
        names.join(", "),
        write_to.display()
    );
    let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
        .map_err(|e| format!("generated key: {e}"))?;
    server_config(vec![generated.cert.der().clone()], key)
}
// ANCHOR_END: self_signed

/// For tests of the sessions: a certificate, so STARTTLS and STLS are offered, and
/// what a handshake reports.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A self-signed certificate for `mx.example.test`.
    pub fn certificate() -> Arc<ServerConfig> {
        let dir = tempfile::tempdir().expect("temp dir");
        self_signed("mx.example.test", &dir.path().join("cert.pem")).expect("a certificate")
    }

    /// What a TLS 1.3 handshake reports.
    pub fn tls_info() -> TlsInfo {
        TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
        }
    }
}
