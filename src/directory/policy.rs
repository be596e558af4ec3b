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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::connection::describe;
    use crate::directory::fake::{bind_response, FakeDirectory};
    use crate::directory::{trust, DirectoryConfig};
    use crate::policy::Rules;
    use rasn::types::{OctetString, SetOf};
    use rasn_ldap::{
        AuthenticationChoice, LdapResult, PartialAttribute, ProtocolOp, ResultCode,
        SearchResultDone, SearchResultEntry,
    };

    /// dan (password "right"), and the list team, whose entry has a password too.
    fn answer(request: &ProtocolOp) -> Vec<ProtocolOp> {
        let attribute = |name: &str, value: &str| {
            let value = OctetString::from(value.as_bytes().to_vec());
            PartialAttribute::new(name.into(), SetOf::from_vec(vec![value]))
        };
        let dan = || {
            let mail = attribute("mail", "dan@example.test");
            SearchResultEntry::new("uid=dan".into(), vec![mail])
        };
        let team = || {
            let attributes = vec![
                attribute("objectClass", "groupOfNames"),
                attribute("mail", "team@example.test"),
                attribute("member", "uid=dan"),
            ];
            SearchResultEntry::new("cn=team".into(), attributes)
        };
        match request {
            ProtocolOp::BindRequest(bind) => {
                let AuthenticationChoice::Simple(password) = &bind.authentication else {
                    return vec![];
                };
                let right = matches!(
                    (bind.name.0.as_str(), &password[..]),
                    ("", b"") | ("uid=dan" | "cn=team", b"right")
                );
                let code = if right {
                    ResultCode::Success
                } else {
                    ResultCode::InvalidCredentials
                };
                vec![bind_response(code)]
            }
            ProtocolOp::SearchRequest(_) => {
                let shown = describe(request);
                let found = if shown.contains("base=\"uid=dan\"") || shown.contains("dan@") {
                    vec![ProtocolOp::SearchResEntry(dan())]
                } else if shown.contains("team@") {
                    vec![ProtocolOp::SearchResEntry(team())]
                } else {
                    vec![]
                };
                let done = LdapResult::new(ResultCode::Success, "".into(), "".into());
                let done = ProtocolOp::SearchResDone(SearchResultDone(done));
                found.into_iter().chain([done]).collect()
            }
            _ => vec![],
        }
    }

    fn directory(url: &str) -> Directory {
        let config = DirectoryConfig::new(url.parse().unwrap(), "dc=x", trust(None).unwrap());
        let rules = Rules {
            local_domains: vec!["example.test".into(), "other.test".into()],
            ..Rules::default()
        };
        Directory::new(config, rules, 100)
    }

    #[test]
    fn domains_and_relaying_come_from_the_flags() {
        let directory = directory("ldap://127.0.0.1:9");
        assert_eq!(directory.primary_domain(), "example.test");
        assert!(directory.may_relay("127.0.0.1".parse().unwrap()));
        assert!(!directory.may_relay("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn people_and_lists_exist_and_only_people_log_in() {
        let fake = FakeDirectory::start(answer);
        let directory = directory(&fake.url.to_string());
        assert!(directory.user_exists("dan", "example.test"));
        assert!(directory.user_exists("team", "example.test"));
        assert!(!directory.user_exists("nobody", "example.test"));
        assert!(directory.check_password("dan@example.test", "right"));
        assert!(!directory.check_password("dan@example.test", "wrong"));
        // A list's address is no account, even if its entry has a password.
        assert!(!directory.check_password("team@example.test", "right"));
    }
}
