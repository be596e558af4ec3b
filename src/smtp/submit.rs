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
