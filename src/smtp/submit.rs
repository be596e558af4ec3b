//! Mail that postie writes for a logged-in user (the web view's meeting requests and
//! replies) taken through the very path a message from the submission port takes
//! (RFC 6409): each recipient decided by the policy as `RCPT TO` would be, then
//! [`Incoming::begin`], `write`, [`Incoming::commit`]. So it is delivered into local
//! Maildirs or queued for the relay like any mail, durably before `Ok`
//! (ARCHITECTURE.md, *250 only after the fsyncs*), and a local copy that carries a
//! meeting reaches the calendar the same way (`calendar::deliver`).
//!
//! Every recipient is checked before anything is written: one refused recipient
//! refuses the whole message and nothing is kept, so a page can say what to fix.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr};

use crate::address::{parse_ehlo_argument, parse_forward_path, parse_reverse_path};
use crate::policy::{Decision, Policy};
use crate::security::Security;
use crate::smtp::accept::{Incoming, Storage};
use crate::smtp::command::{Body, MailParameters};
use crate::smtp::session::{Destination, Envelope, Hello, Recipient};
use crate::store::id::MessageId;

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A recipient or the sender cannot be used (RFC 5321 §4.2.2's 550, 553): the
    /// sentence says which and why.
    Recipient(String),
    /// Who-is-who cannot be asked now (451 4.3.0): try again later.
    TryLater(String),
    /// The disk failed before the commit (451 or 452): nothing was kept.
    Store(ErrorKind),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Recipient(why) | Refused::TryLater(why) => f.write_str(why),
            Refused::Store(kind) => write!(f, "the mail store failed ({kind}); nothing was sent"),
        }
    }
}

// ANCHOR: submit
/// Accepts `message` from the logged-in `user` for `recipients`, as submission
/// would: the message id once it is durably delivered or queued.
pub fn submit(
    storage: &Storage,
    policy: &dyn Policy,
    hostname: &str,
    user: &str,
    recipients: &[String],
    message: &[u8],
) -> Result<MessageId, Refused> {
    let reverse_path = parse_reverse_path(&format!("<{user}>"))
        .map_err(|e| Refused::Recipient(format!("the sender <{user}> is not an address: {e}")))?;
    // From this machine, as a logged-in client: RFC 6409 §4.3 and the session's rule
    // that a client that logged in may relay.
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut accepted = Vec::new();
    for address in recipients {
        let forward_path = parse_forward_path(&format!("<{address}>"))
            .map_err(|e| Refused::Recipient(format!("<{address}> is not an address: {e}")))?;
        let destinations = match policy.decide(&forward_path, client) {
            Decision::Local(mailbox) => vec![Destination::Local(mailbox)],
            Decision::Relay | Decision::RelayDenied => vec![Destination::Remote],
            Decision::Group(members) if !members.is_empty() => {
                members.into_iter().map(Destination::Local).collect()
            }
            Decision::Group(_) | Decision::NoSuchUser => {
                return Err(Refused::Recipient(format!(
                    "there is no mailbox <{address}> here"
                )))
            }
            Decision::BadMailboxName(why) => {
                return Err(Refused::Recipient(format!(
                    "<{address}> cannot be a mailbox: {why}"
                )))
            }
            Decision::TryLater => {
                return Err(Refused::TryLater(format!(
                    "<{address}> cannot be checked just now; try again in a minute"
                )))
            }
        };
        for destination in destinations {
            accepted.push(Recipient {
                forward_path: forward_path.clone(),
                destination,
            });
        }
    }
    let hello = Hello {
        host: parse_ehlo_argument(hostname)
            .or_else(|_| parse_ehlo_argument("localhost"))
            .map_err(|e| Refused::Recipient(e.to_string()))?,
        extended: true,
    };
    let envelope = Envelope {
        reverse_path,
        parameters: MailParameters {
            body: match message.is_ascii() {
                true => Body::SevenBit,
                false => Body::EightBitMime,
            },
            ..MailParameters::default()
        },
        recipients: accepted,
    };
    let security = Security {
        tls: None,
        user: Some(user.to_string()),
    };
    let mut incoming = Incoming::begin(storage, hostname, client, &hello, &envelope, &security);
    incoming.write(message);
    incoming.commit().map_err(Refused::Store)
}
// ANCHOR_END: submit

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::Stub;
    use std::path::Path;

    const HOST: &str = "mx.example.test";

    fn storage(root: &Path) -> Storage {
        Storage::open(&root.join("mail"), &root.join("spool"), HOST).unwrap()
    }

    /// What the web view does for alice: `submit` as her, to `recipients`.
    fn from_alice(
        storage: &Storage,
        recipients: &[&str],
        text: &[u8],
    ) -> Result<MessageId, Refused> {
        let recipients: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
        submit(storage, &Stub, HOST, "alice@localhost", &recipients, text)
    }

    /// The files in `<user>@localhost`'s `new/`: (name, contents).
    fn new_mail(root: &Path, user: &str) -> Vec<(String, String)> {
        let new = root.join("mail/localhost").join(user).join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect()
    }

    /// A list is one recipient and a copy for each member (as RCPT makes it), and the
    /// id `submit` returns is the one the copies are stored under, after the trace
    /// fields of final delivery.
    #[test]
    fn a_list_gets_a_copy_for_each_member_under_the_id_returned() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"Subject: lunch\r\n\r\nNoon?\r\n";
        let id = from_alice(&storage(dir.path()), &["list@localhost"], text).unwrap();
        for member in ["ann", "bob"] {
            let mail = new_mail(dir.path(), member);
            assert_eq!(mail.len(), 1, "{member}: {mail:?}");
            let (name, contents) = &mail[0];
            // The name starts with the id (Maildir++ may add `,S=<size>` after it).
            assert!(name.starts_with(&id.file_name(HOST)), "{member}: {name}");
            assert!(
                contents.starts_with("Return-Path: <alice@localhost>\r\n"),
                "{contents}"
            );
            assert!(contents.ends_with("\r\n\r\nNoon?\r\n"), "{contents}");
        }
    }

    /// One recipient that cannot be used refuses the whole message, and nothing is
    /// kept for the others: a list of no one is no mailbox.
    #[test]
    fn an_empty_list_refuses_the_whole_message() {
        let dir = tempfile::tempdir().unwrap();
        let recipients = ["bob@localhost", "empty@localhost"];
        let refused = from_alice(&storage(dir.path()), &recipients, b"x\r\n");
        assert_eq!(
            refused,
            Err(Refused::Recipient(
                "there is no mailbox <empty@localhost> here".into()
            ))
        );
        assert!(new_mail(dir.path(), "bob").is_empty());
    }

    /// A copy for another domain is queued, and the queue knows whether its text is
    /// 8-bit (RFC 6152), so the relay can ask the next server for BODY=8BITMIME.
    #[test]
    fn a_remote_copy_is_queued_with_its_body_type() {
        let dir = tempfile::tempdir().unwrap();
        let storage = storage(dir.path());
        let queued = |text: &[u8]| {
            let id = from_alice(&storage, &["carol@remote.test"], text).unwrap();
            storage.spool.load(&id).unwrap()
        };
        let plain = queued(b"Subject: hi\r\n\r\nHello\r\n");
        let eight_bit = queued("Subject: café\r\n\r\nBonjour\r\n".as_bytes());
        assert_eq!(plain.recipients.len(), 1);
        assert!(!plain.eight_bit && eight_bit.eight_bit);
    }

    /// What a page shows: the reason itself, or what the disk did.
    #[test]
    fn a_refusal_reads_as_a_sentence() {
        let why = "<x> cannot be checked just now; try again in a minute";
        assert_eq!(Refused::TryLater(why.into()).to_string(), why);
        assert_eq!(Refused::Recipient(why.into()).to_string(), why);
        let full = Refused::Store(ErrorKind::StorageFull).to_string();
        assert_eq!(
            full,
            format!(
                "the mail store failed ({}); nothing was sent",
                ErrorKind::StorageFull
            )
        );
    }
}
