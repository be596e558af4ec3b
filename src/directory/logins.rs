//! Logins: find the entry, then bind as it (RFC 4513 §5.1.3, a simple bind with the
//! DN and the password the client gave). The directory checks the password; postie
//! never sees a hash, and a password changed in the directory works at once (logins
//! are never cached).
//!
//! Before asking, the [`throttle`](super::throttle) may say "not yet" for an address
//! that failed too often (a temporary failure, whatever the password); a failure counts
//! against the address whether or not it exists, and an unknown address costs the
//! same round trips as a wrong password (a bind as a DN that is nobody's), so neither
//! the answers nor their timing tell which addresses exist. An empty password is refused without a bind (RFC 4513 §5.1.2: it
//! would be an *unauthenticated* bind, which servers may answer with success), and so
//! are groups, which are not accounts.
//!
//! Left out: SASL binds (the password always travels, inside TLS or on loopback: see
//! [`url`](super::url)), password policy controls (expired, locked: RFC draft
//! behera), and logging in by `uid` rather than address.

use rasn_ldap::SearchRequestScope;

use super::connection::Error;
use super::recipients::{is_group, ATTRIBUTES};
use super::{filter, Directory};
use crate::policy::LoginFailure;
use crate::store::maildir::MailboxPath;

impl Directory {
    // ANCHOR: log_in
    /// A login as `address`: its mailbox (the primary address's), or why not.
    pub fn log_in(&self, address: &str, password: &str) -> Result<MailboxPath, LoginFailure> {
        if let Err(wait) = self.throttle.check(address) {
            log::warn!("directory: too many failed logins; next check in {wait:.1?}");
            return Err(LoginFailure::TryLater);
        }
        match self.verify(address, password) {
            Ok(Some(mailbox)) => {
                self.throttle.succeeded(address);
                Ok(mailbox)
            }
            Ok(None) => {
                self.throttle.failed(address);
                Err(LoginFailure::Refused)
            }
            Err(e) => {
                log::warn!("directory {}: cannot check a login: {e}", self.pool.url());
                Err(LoginFailure::TryLater)
            }
        }
    }
    // ANCHOR_END: log_in

    /// `Ok(None)`: no such account, or the wrong password (one answer for both).
    fn verify(&self, address: &str, password: &str) -> Result<Option<MailboxPath>, Error> {
        if password.is_empty() {
            return Ok(None);
        }
        let filter = filter::fill(&self.config.filter, address)
            .map_err(|e| Error::Protocol(format!("--directory-filter: {e}")))?;
        let found = self.pool.with(|connection| {
            connection.search(
                &self.config.base,
                SearchRequestScope::WholeSubtree,
                filter.clone(),
                ATTRIBUTES,
                2,
            )
        })?;
        let entry = match found.as_slice() {
            [entry] if !is_group(entry) => entry,
            [] | [_] => {
                // The same round trips as a wrong password, so that the time an answer
                // takes does not tell who exists: a bind as a DN that is nobody's.
                let nobody = format!("cn=no such account,{}", self.config.base);
                self.pool.check_password(&nobody, password)?;
                return Ok(None);
            }
            _ => {
                return Err(Error::Protocol(format!(
                    "{address} matches more than one entry; fix the directory"
                )))
            }
        };
        if !self.pool.check_password(&entry.dn, password)? {
            return Ok(None);
        }
        Ok(self.mailbox_of(entry))
    }
}
