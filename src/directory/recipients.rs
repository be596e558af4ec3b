//! Recipients: from an address to the mailboxes that receive its mail.
//!
//! One search (RFC 4511 §4.5.1) under `--directory-base` with the operator's filter,
//! the address escaped into it (RFC 4515 §3), asking for at most two entries: none is
//! "no such user", two is a directory that cannot decide (an error for its operator, a
//! 451 for the client, never a guess). The entry found is either
//!
//! - a person: the mailbox is named by the entry's *primary* `mail`, whichever of its
//!   addresses matched, so `robert@` (a `mailAlternateAddress`) and `bob@` share
//!   one Maildir; or
//! - a group (`objectClass: groupOfNames`, RFC 4519 §3.5): each `member` DN is read
//!   (a base-scope search) and a member that is itself a group is expanded in turn. A
//!   DN already seen is skipped (a list that contains itself, directly or not, ends),
//!   nesting stops at `max_nesting`, and expansion stops once there are more mailboxes
//!   than one message may have recipients (the session then answers 452).
//!
//! A mailbox is always in one of our domains and passes the store's gate
//! ([`mailbox_name`], [`domain_name`]); an entry whose `mail` does not is skipped and
//! logged, as are members that do not exist or have no `mail`.
//!
//! Left out: `uniqueMember`, `memberUid` and dynamic (`memberURL`) groups, forwarding
//! to addresses outside our domains, and per-list rules on who may send to it.

use std::collections::{HashSet, VecDeque};

use rasn_ldap::{Filter, SearchRequestScope};

use super::connection::{Connection, Entry, Error};
use super::{filter, Directory};
use crate::policy::Policy;
use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;

/// What postie reads of an entry.
pub const ATTRIBUTES: &[&str] = &["mail", "objectClass", "member"];

/// What the directory says about an address (cached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A person: their one mailbox.
    Mailbox(MailboxPath),
    /// A list: its members' mailboxes (each once).
    Group(Vec<MailboxPath>),
    /// No entry has this address.
    NotFound,
}

impl Directory {
    // ANCHOR: lookup
    /// Asks the directory (or the cache) where mail for `address` goes.
    pub fn lookup(&self, address: &str) -> Result<Lookup, Error> {
        let key = address.to_lowercase();
        if let Some(answer) = self.cache.get(&key) {
            return Ok(answer);
        }
        let filter = filter::fill(&self.config.filter, address)
            .map_err(|e| Error::Protocol(format!("--directory-filter: {e}")))?;
        let answer = self.pool.with(|connection| {
            let found = connection.search(
                &self.config.base,
                SearchRequestScope::WholeSubtree,
                filter.clone(),
                ATTRIBUTES,
                2,
            )?;
            match found.as_slice() {
                [] => Ok(Lookup::NotFound),
                [entry] if is_group(entry) => Ok(Lookup::Group(self.expand(connection, entry)?)),
                [entry] => Ok(self
                    .mailbox_of(entry)
                    .map_or(Lookup::NotFound, Lookup::Mailbox)),
                [first, second, ..] => Err(Error::Protocol(format!(
                    "{address} matches more than one entry ({} and {}); fix the directory",
                    first.dn, second.dn
                ))),
            }
        })?;
        self.cache.put(key, answer.clone());
        Ok(answer)
    }
    // ANCHOR_END: lookup

    // ANCHOR: expand
    /// A group's members' mailboxes, nested groups included, each DN visited once.
    fn expand(
        &self,
        connection: &mut Connection,
        group: &Entry,
    ) -> Result<Vec<MailboxPath>, Error> {
        let mut seen = HashSet::from([group.dn.to_lowercase()]);
        let mut queue: VecDeque<(String, usize)> = members(group).map(|dn| (dn, 1)).collect();
        let mut mailboxes = Vec::new();
        while let Some((dn, depth)) = queue.pop_front() {
            // The loop guard: a list that contains itself, directly or not, ends here.
            if !seen.insert(dn.to_lowercase()) {
                continue;
            }
            let any = Filter::Present("objectClass".into());
            let found =
                connection.search(&dn, SearchRequestScope::BaseObject, any, ATTRIBUTES, 1)?;
            let Some(entry) = found.first() else {
                log::warn!("directory: {} lists {dn}, which does not exist", group.dn);
                continue;
            };
            if is_group(entry) {
                if depth < self.config.max_nesting {
                    queue.extend(members(entry).map(|dn| (dn, depth + 1)));
                } else {
                    log::warn!("directory: {dn} is nested too deeply in {}", group.dn);
                }
            } else if let Some(mailbox) = self.mailbox_of(entry) {
                if !mailboxes.contains(&mailbox) {
                    mailboxes.push(mailbox);
                }
                // More than a message may carry: stop asking; the session says 452.
                if mailboxes.len() > self.max_members {
                    break;
                }
            }
        }
        Ok(mailboxes)
    }
    // ANCHOR_END: expand

    /// The mailbox of an entry's primary address, through the store's gate; `None` (and
    /// a log line) when it has none, or it is not in one of our domains.
    pub(crate) fn mailbox_of(&self, entry: &Entry) -> Option<MailboxPath> {
        let Some(mail) = entry.first("mail") else {
            log::warn!("directory: {} has no mail attribute", entry.dn);
            return None;
        };
        let gated = mail.rsplit_once('@').and_then(|(local_part, domain)| {
            if !self.is_local_domain(domain) {
                return None;
            }
            Some(MailboxPath {
                domain: domain_name(&domain.to_ascii_lowercase()).ok()?,
                mailbox: mailbox_name(local_part).ok()?,
            })
        });
        if gated.is_none() {
            log::warn!(
                "directory: {}'s mail {mail:?} is not a mailbox of ours",
                entry.dn
            );
        }
        gated
    }
}

/// A group: `groupOfNames` (RFC 4519 §3.5), or anything with members.
pub fn is_group(entry: &Entry) -> bool {
    entry
        .values("objectClass")
        .any(|class| class.eq_ignore_ascii_case(b"groupOfNames"))
        || entry.values("member").next().is_some()
}

fn members(entry: &Entry) -> impl Iterator<Item = String> + '_ {
    entry
        .values("member")
        .filter_map(|dn| std::str::from_utf8(dn).ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::fake::FakeDirectory;
    use crate::directory::{trust, DirectoryConfig};
    use crate::policy::Rules;
    use rasn::types::{OctetString, SetOf};
    use rasn_ldap::{
        LdapResult, PartialAttribute, ProtocolOp, ResultCode, SearchResultDone, SearchResultEntry,
    };
    use std::time::Duration;

    /// `cn=list1` lists `cn=list2`, which lists `cn=list3`, which lists dan.
    fn chain(request: &ProtocolOp) -> Vec<ProtocolOp> {
        let ProtocolOp::SearchRequest(search) = request else {
            return vec![];
        };
        let attribute = |name: &str, value: &str| {
            let value = OctetString::from(value.as_bytes().to_vec());
            PartialAttribute::new(name.into(), SetOf::from_vec(vec![value]))
        };
        let attributes = match search.base_object.0.as_str() {
            "cn=list1" => vec![attribute("member", "cn=list2")],
            "cn=list2" => vec![attribute("member", "cn=list3")],
            "cn=list3" => vec![attribute("member", "uid=dan")],
            _ => vec![attribute("mail", "dan@example.test")],
        };
        let entry = SearchResultEntry::new(search.base_object.clone(), attributes);
        let done = LdapResult::new(ResultCode::Success, "".into(), "".into());
        vec![
            ProtocolOp::SearchResEntry(entry),
            ProtocolOp::SearchResDone(SearchResultDone(done)),
        ]
    }

    /// The mailboxes `cn=list1` expands to, following lists `max_nesting` deep.
    fn expand_list1(max_nesting: usize) -> usize {
        let fake = FakeDirectory::start(chain);
        let tls = trust(None).unwrap();
        let mut config = DirectoryConfig::new(fake.url.clone(), "dc=example,dc=test", tls);
        config.max_nesting = max_nesting;
        let rules = Rules {
            local_domains: vec!["example.test".into()],
            ..Rules::default()
        };
        let directory = Directory::new(config.clone(), rules, 100);
        let timeout = Duration::from_secs(2);
        let mut connection = Connection::open(&fake.url, &config.tls, false, timeout).unwrap();
        let list1 = Entry {
            dn: "cn=list1".into(),
            attributes: vec![("member".into(), vec![b"cn=list2".to_vec()])],
        };
        let found = directory.expand(&mut connection, &list1).unwrap();
        drop(connection);
        fake.requests();
        found.len()
    }

    #[test]
    fn lists_within_lists_are_followed_max_nesting_deep() {
        // dan is three lists down from list1's own members.
        assert_eq!(expand_list1(3), 1);
        assert_eq!(expand_list1(2), 0);
    }
}
