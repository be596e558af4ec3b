//! The directory as postie's [`Policy`]: domains and relaying from the flags, like
//! [`Rules`](crate::policy::Rules); recipients and logins from LDAP, with every outage
//! a "try later".
//!
//! RFC 5321 §4.5.1: postmaster is accepted even when the directory does not know it,
//! or cannot be asked; without an entry of its own it lands in the `postmaster`
//! mailbox of the domain.

use std::net::IpAddr;

use super::recipients::Lookup;
use super::Directory;
use crate::policy::{Decision, LoginFailure, Policy};
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;

// ANCHOR: policy
impl Policy for Directory {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.rules.is_local_domain(domain)
    }

    fn primary_domain(&self) -> &str {
        self.rules.primary_domain()
    }

    fn may_relay(&self, client: IpAddr) -> bool {
        self.rules.may_relay(client)
    }

    fn user_exists(&self, local_part: &str, domain: &str) -> bool {
        matches!(
            self.local_mailbox(local_part, domain),
            Decision::Local(_) | Decision::Group(_)
        )
    }

    fn accepts_logins(&self) -> bool {
        true
    }

    fn check_password(&self, address: &str, password: &str) -> bool {
        self.login(address, password).is_ok()
    }

    fn local_mailbox(&self, local_part: &str, domain: &str) -> Decision {
        let address = format!("{local_part}@{domain}");
        let postmaster = local_part.eq_ignore_ascii_case("postmaster");
        match self.lookup(&address) {
            Ok(Lookup::Mailbox(mailbox)) => Decision::Local(mailbox),
            Ok(Lookup::Group(mailboxes)) => Decision::Group(mailboxes),
            Ok(Lookup::NotFound) if postmaster => postmaster_of(domain),
            Ok(Lookup::NotFound) => Decision::NoSuchUser,
            Err(e) if postmaster => {
                log::warn!(
                    "directory {}: {e}; postmaster accepted anyway",
                    self.pool.url()
                );
                postmaster_of(domain)
            }
            Err(e) => {
                log::warn!(
                    "directory {}: cannot check <{address}>: {e}",
                    self.pool.url()
                );
                Decision::TryLater
            }
        }
    }

    fn authenticate(&self, address: &str, password: &str) -> Result<(), LoginFailure> {
        self.log_in(address, password).map(drop)
    }

    fn login(&self, address: &str, password: &str) -> Result<MailboxPath, LoginFailure> {
        self.log_in(address, password)
    }
}
// ANCHOR_END: policy

/// The domain's own `postmaster` mailbox.
fn postmaster_of(domain: &str) -> Decision {
    match (
        domain_name(&domain.to_ascii_lowercase()),
        mailbox_name("postmaster"),
    ) {
        (Ok(domain), Ok(mailbox)) => Decision::Local(MailboxPath { domain, mailbox }),
        (Err(e), _) | (_, Err(e)) => Decision::BadMailboxName(e),
    }
}
