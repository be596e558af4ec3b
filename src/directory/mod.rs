//! The directory: who is who, asked of an LDAP server, the way a company's mail system
//! leans on its directory (Exchange on Active Directory, Postfix and Dovecot on
//! OpenLDAP). With `--directory`, [`Directory`] is postie's [`Policy`](crate::policy::Policy)
//! instead of the users file.
//!
//! - Recipients ([`recipients`]): an address of one of our domains is searched for
//!   with the operator's filter (default [`DEFAULT_FILTER`]); a person's entry is
//!   delivered to the mailbox of its primary `mail`, so an alternate address lands in
//!   the same Maildir; a group (`groupOfNames`) expands to its members' mailboxes.
//! - Logins ([`logins`]): find the entry, then a simple bind as its DN with the
//!   password (RFC 4513 §5.1.3); failures are slowed per address ([`throttle`]).
//! - Outages: every failure to get an answer (refused, reset, timed out, a broken
//!   answer) becomes [`Decision::TryLater`](crate::policy::Decision::TryLater) or
//!   [`LoginFailure::TryLater`](crate::policy::LoginFailure::TryLater): never accept what
//!   cannot be checked, never refuse for good because of an outage.
//!
//! The pieces, each in its own file: [`url`] (where, and how protected), [`connection`]
//! (one LDAP connection: BER framing, StartTLS, bind, search), [`filter`] (RFC 4515
//! text and escaping), [`pool`] (connections reused), [`cache`] (answers for a short
//! time), [`throttle`] (failed logins per address).
//!
//! RFC 4511 (the protocol), RFC 4513 (authentication and TLS), RFC 4515 (filters),
//! RFC 4516 (URLs). Left out: SASL binds, referrals, paging, several servers and
//! failover, `memberUid`-style (`posixGroup`) and dynamic groups, group members named
//! by address instead of DN, and a deadline on the DNS lookup of the directory's name.
//! Not yet: the relay's bounces to a local sender still ask the flags' `Rules`
//! (`relay::runner`), not the directory, so a bounce to an alternate address lands in
//! a mailbox of that name rather than the entry's.

pub mod cache;
pub mod connection;
#[cfg(test)]
mod fake;
pub mod filter;
pub mod logins;
pub mod policy;
pub mod pool;
pub mod recipients;
pub mod throttle;
pub mod url;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use crate::policy::Rules;
use cache::Cache;
use pool::Pool;
use recipients::Lookup;
use throttle::{Backoff, Throttle};
use url::DirectoryUrl;

/// The filter that finds an address's entry: its primary address or an alternate one.
pub const DEFAULT_FILTER: &str = "(|(mail=%s)(mailAlternateAddress=%s))";

// ANCHOR: config
/// The directory's settings (`--directory` and the flags after it).
#[derive(Clone)]
pub struct DirectoryConfig {
    /// `ldap://HOST:PORT` or `ldaps://HOST:PORT`.
    pub url: DirectoryUrl,
    /// Where searches start (`--directory-base`), e.g. `dc=example,dc=test`.
    pub base: String,
    /// The service account searches run as; `None`: anonymous.
    pub bind: Option<(String, String)>,
    /// RFC 4515 text with `%s` where the (escaped) address goes.
    pub filter: String,
    /// How long the directory may take to connect or answer (`--directory-timeout`).
    pub timeout: Duration,
    /// How long an answer is reused (`--directory-cache-ttl`; zero: never).
    pub cache_ttl: Duration,
    /// StartTLS even on loopback (`--directory-starttls`).
    pub force_starttls: bool,
    /// Whom to trust for TLS to the directory (`--directory-ca`).
    pub tls: Arc<ClientConfig>,
    /// How failed logins are slowed.
    pub backoff: Backoff,
    /// How many groups deep a list may nest before the rest is ignored.
    pub max_nesting: usize,
}
// ANCHOR_END: config

impl fmt::Debug for DirectoryConfig {
    /// Everything but the service account's password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("url", &self.url.to_string())
            .field("base", &self.base)
            .field("bind_dn", &self.bind.as_ref().map(|(dn, _)| dn))
            .field("filter", &self.filter)
            .field("timeout", &self.timeout)
            .field("cache_ttl", &self.cache_ttl)
            .field("force_starttls", &self.force_starttls)
            .finish_non_exhaustive()
    }
}

impl DirectoryConfig {
    /// Settings with the defaults: anonymous, the default filter, 5 s, 30 s of cache.
    pub fn new(url: DirectoryUrl, base: impl Into<String>, tls: Arc<ClientConfig>) -> Self {
        DirectoryConfig {
            url,
            base: base.into(),
            bind: None,
            filter: DEFAULT_FILTER.into(),
            timeout: Duration::from_secs(5),
            cache_ttl: Duration::from_secs(30),
            force_starttls: false,
            tls,
            backoff: Backoff::default(),
            max_nesting: 8,
        }
    }
}

/// The system's certificate bundle (Debian's `ca-certificates`).
pub const SYSTEM_CA: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A TLS client configuration trusting the certificates in `pem` (a CA bundle, or a
/// directory server's own certificate), or the system's bundle when `None`. Without a
/// bundle (none given, none installed) no certificate is trusted, and TLS to the
/// directory fails; a plain directory on loopback still works.
pub fn trust(pem: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    trust_in(pem, Path::new(SYSTEM_CA))
}

/// [`trust`], with the system's bundle at `system`.
fn trust_in(pem: Option<&Path>, system: &Path) -> Result<Arc<ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let (path, given) = match pem {
        Some(path) => (path, true),
        None => (system, false),
    };
    let shown = || format!("--directory-ca {}", path.display());
    match CertificateDer::pem_file_iter(path) {
        Ok(certificates) => {
            for certificate in certificates {
                let certificate = certificate.map_err(|e| format!("{}: {e}", shown()))?;
                // A bundle may hold certificates rustls cannot use; the others still count.
                let _ = roots.add(certificate);
            }
        }
        Err(e) if given => return Err(format!("{}: {e}", shown())),
        Err(_) => log::debug!(
            "no {}: no certificate is trusted for the directory",
            system.display()
        ),
    }
    if given && roots.is_empty() {
        return Err(format!("{}: no usable certificate", shown()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// postie's policy from a directory: domains and relaying from the flags ([`Rules`]),
/// users, aliases, lists and passwords from LDAP.
pub struct Directory {
    /// `--domain` and `--relay-network`; its users file is never consulted.
    rules: Rules,
    config: DirectoryConfig,
    pool: Pool,
    /// Recipient answers by lowercase address.
    cache: Cache<Lookup>,
    throttle: Throttle,
    /// The most mailboxes a list may expand to (`--max-recipients`).
    max_members: usize,
}

impl Directory {
    pub fn new(config: DirectoryConfig, rules: Rules, max_members: usize) -> Directory {
        let pool = Pool::new(
            config.url.clone(),
            config.tls.clone(),
            config.force_starttls,
            config.timeout,
            config.bind.clone(),
        );
        Directory {
            rules: Rules {
                users: None,
                ..rules
            },
            cache: Cache::new(config.cache_ttl),
            throttle: Throttle::new(config.backoff),
            pool,
            config,
            max_members,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOWHERE: &str = "/nonexistent/ca.pem";

    #[test]
    fn a_missing_ca_file_is_an_error_only_when_it_was_given() {
        let error = trust_in(Some(Path::new(NOWHERE)), Path::new(SYSTEM_CA)).unwrap_err();
        assert!(
            error.starts_with("--directory-ca /nonexistent/ca.pem: "),
            "{error}"
        );
        assert!(!error.contains("no usable certificate"), "{error}");
        // Without the system's bundle nothing is trusted; a plain directory still works.
        assert!(trust_in(None, Path::new(NOWHERE)).is_ok());
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = trust_in(Some(&empty), Path::new(NOWHERE)).unwrap_err();
        assert!(error.ends_with(": no usable certificate"), "{error}");
    }

    #[test]
    fn the_settings_never_show_the_service_password() {
        let tls = trust_in(None, Path::new(NOWHERE)).unwrap();
        let url = "ldap://127.0.0.1:389".parse().unwrap();
        let mut config = DirectoryConfig::new(url, "dc=example,dc=test", tls);
        config.bind = Some(("cn=postie,dc=example,dc=test".into(), "s3cret".into()));
        let shown = format!("{config:?}");
        assert!(
            shown.contains("\"cn=postie,dc=example,dc=test\""),
            "{shown}"
        );
        assert!(shown.contains("base: \"dc=example,dc=test\""), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
