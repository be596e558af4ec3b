//! TLS for SMTP and POP3: the certificate, and a connection whose stream can turn into
//! TLS in the middle of the conversation (RFC 3207 STARTTLS, RFC 2595 STLS) or start as
//! TLS (RFC 8314 implicit TLS).
//!
//! The cryptography is `rustls` with the `ring` provider (no OpenSSL). This module only
//! does three jobs:
//! - [`load`] reads a PEM certificate chain and key (`--tls-cert`, `--tls-key`);
//! - [`self_signed`] makes a certificate for `localhost` and our hostname at start-up
//!   (`--tls-self-signed`) and writes it to a file, so a client can be told to trust it;
//! - [`Upgradable`] is the client's socket, plain at first, TLS after [`Upgradable::start_tls`].
//!   The connection loop reads and writes through clones of it, so the loop never
//!   needs to know when the stream changed underneath. Both protocols' loops use it
//!   the same way: an [`Upgrade`] runs the handshake when the session asks for it.
//!
//! Left out: client certificates, SNI with several certificates, reloading the
//! certificate without a restart, and session resumption tickets. A self-signed
//! certificate is new at every start and trusted only by clients told about the file;
//! a production server uses a certificate from a CA (for example via ACME).

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

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

/// Turns a connection's stream into TLS, as the server, and says what was negotiated.
/// The connection loops (SMTP's and POP3's) call it when their session asks.
pub type Upgrade = Box<dyn FnMut() -> io::Result<TlsInfo>>;

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

// ANCHOR: upgradable
/// A client's socket that may become TLS. Clones share the one stream, so the line
/// reader can hold one clone and the reply writer another.
#[derive(Clone)]
pub struct Upgradable(Rc<RefCell<Stream>>);

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// Only while changing from one to the other, or after a failed handshake.
    Broken,
}
// ANCHOR_END: upgradable

impl Upgradable {
    pub fn new(socket: TcpStream) -> Upgradable {
        Upgradable(Rc::new(RefCell::new(Stream::Plain(socket))))
    }

    // ANCHOR: start_tls
    /// Runs the TLS handshake as the server, on the plain socket underneath. Whatever
    /// the client sent before is gone: the caller has made sure nothing was buffered.
    pub fn start_tls(&self, config: &Arc<ServerConfig>) -> io::Result<TlsInfo> {
        let mut stream = self.0.borrow_mut();
        let Stream::Plain(socket) = std::mem::replace(&mut *stream, Stream::Broken) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let tls = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        let mut tls = StreamOwned::new(tls, socket);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        let info = TlsInfo {
            version: match tls.conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
                other => format!("{other:?}"),
            },
            cipher: tls
                .conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("unknown")
                .to_string(),
        };
        *stream = Stream::Tls(Box::new(tls));
        Ok(info)
    }
    // ANCHOR_END: start_tls

    /// The handshake as an [`Upgrade`], for a connection loop to run when the client
    /// asks for TLS (STARTTLS, STLS).
    pub fn upgrade_with(&self, config: Arc<ServerConfig>) -> Upgrade {
        let socket = self.clone();
        Box::new(move || socket.start_tls(&config))
    }
}

impl Read for Upgradable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Stream::Plain(socket) => socket.read(buf),
            // A client that closes the socket without TLS's close_notify has simply
            // gone away: SMTP and POP3 have QUIT (and SMTP the lone dot), so no data
            // can be cut short unnoticed.
            Stream::Tls(tls) => match tls.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
            Stream::Broken => Err(broken()),
        }
    }
}

impl Write for Upgradable {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut *self.0.borrow_mut() {
            Stream::Plain(socket) => socket.write(buf),
            Stream::Tls(tls) => tls.write(buf),
            Stream::Broken => Err(broken()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.0.borrow_mut() {
            Stream::Plain(socket) => socket.flush(),
            Stream::Tls(tls) => tls.flush(),
            Stream::Broken => Err(broken()),
        }
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}
