//! A policy for the sessions' tests that answers as a directory can (lists, an
//! outage), with no directory and no sockets. Compiled for tests only.

use std::net::IpAddr;

use super::{Decision, LoginFailure, Policy};
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;

/// Every local part of `localhost` exists; `list@` is a list of ann and bob, `big@` a
/// list of five, `empty@` a list of no one, `down@` cannot be checked now; and no
/// password can be checked now (the directory is down).
pub struct Stub;

/// `name@localhost`.
pub fn mailbox(name: &str) -> MailboxPath {
    MailboxPath {
        domain: domain_name("localhost").unwrap(),
        mailbox: mailbox_name(name).unwrap(),
    }
}

impl Policy for Stub {
    fn is_local_domain(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case("localhost")
    }
    fn primary_domain(&self) -> &str {
        "localhost"
    }
    fn may_relay(&self, _client: IpAddr) -> bool {
        false
    }
    fn user_exists(&self, _local_part: &str, _domain: &str) -> bool {
        true
    }
    fn accepts_logins(&self) -> bool {
        true
    }
    fn check_password(&self, _address: &str, _password: &str) -> bool {
        false
    }
    fn local_mailbox(&self, local_part: &str, _domain: &str) -> Decision {
        match local_part {
            "list" => Decision::Group(vec![mailbox("ann"), mailbox("bob")]),
            "big" => Decision::Group(["a", "b", "c", "d", "e"].map(mailbox).to_vec()),
            "empty" => Decision::Group(vec![]),
            "down" => Decision::TryLater,
            other => Decision::Local(mailbox(other)),
        }
    }
    /// [`Policy::login`] asks this first, so logins cannot be checked either.
    fn authenticate(&self, _address: &str, _password: &str) -> Result<(), LoginFailure> {
        Err(LoginFailure::TryLater)
    }
}
