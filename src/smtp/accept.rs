//! Taking responsibility for a message: where its bytes go while DATA lasts, and the
//! moment it becomes ours (RFC 5321 §6.1; ARCHITECTURE.md, *250 only after the fsyncs*).
//!
//! A message can have local recipients (their copies go into the Maildir) and remote
//! ones (one copy goes into the outbound queue). An [`Incoming`] message writes to both
//! as the lines arrive, and [`Incoming::commit`] makes both durable before the session
//! may say 250. Any failure on the way means 451 and nothing acknowledged.
//!
//! The trace headers (RFC 5321 §4.4) are written first: `Received:` on every copy, and
//! `Return-Path:` only on local copies, because only final delivery adds it.
//!
//! Left out: if the Maildir commit succeeds and the queue commit then fails, the
//! client gets 451 and will send again, so local recipients may see the message twice.
//! That needs a failing disk between two syncs; a production MTA avoids it by queueing
//! every message first and delivering locally from the queue.

use std::io::{self, ErrorKind, Write};
use std::net::IpAddr;

use crate::received::{received, return_path, Trace};
use crate::security::Security;
use crate::smtp::command::Body;
use crate::smtp::session::{Destination, Envelope, Hello};
use crate::store::id::MessageId;
use crate::store::maildir::Delivery;
use crate::store::spool::{Entry, QueuedRecipient, SpoolWriter};
/// Where accepted mail is kept; it lives in [`crate::store`].
pub use crate::store::Storage;

// ANCHOR: incoming
/// A message being received: its local copy, its queued copy, or both.
pub struct Incoming {
    id: MessageId,
    local: Option<Delivery>,
    remote: Option<(SpoolWriter, Entry)>,
    /// The first write error; the message will get 451 after the dot.
    failed: Option<ErrorKind>,
    /// Local copies are watched for a meeting (`calendar::deliver`), applied only
    /// after the commit.
    calendar: Option<crate::calendar::deliver::Pending>,
}
// ANCHOR_END: incoming

impl Incoming {
    // ANCHOR: begin
    /// Opens a file for each kind of recipient, starting with the trace headers.
    pub fn begin(
        storage: &Storage,
        hostname: &str,
        client: IpAddr,
        hello: &Hello,
        envelope: &Envelope,
        security: &Security,
    ) -> Incoming {
        let id = MessageId::new();
        let received = trace_header(&id, hostname, client, hello, envelope, security);
        let reverse_path = envelope.reverse_path.to_string();
        let mut incoming = Incoming {
            id,
            local: None,
            remote: None,
            failed: None,
            calendar: None,
        };

        let mailboxes: Vec<_> = envelope
            .recipients
            .iter()
            .filter_map(|r| match &r.destination {
                Destination::Local(mailbox) => Some(mailbox.clone()),
                Destination::Remote => None,
            })
            .collect();
        if !mailboxes.is_empty() {
            let opened =
                storage
                    .maildir
                    .begin(&incoming.id, &mailboxes)
                    .and_then(|mut delivery| {
                        // Return-Path: only at final delivery (RFC 5321 §4.4).
                        delivery.write_all(return_path(&reverse_path).as_bytes())?;
                        delivery.write_all(received.as_bytes())?;
                        Ok(delivery)
                    });
            incoming.local = incoming.keep(opened);
            incoming.calendar = Some(crate::calendar::deliver::Pending::new(
                storage.maildir.root().to_path_buf(),
                mailboxes,
                reverse_path.clone(),
            ));
        }

        let remote: Vec<_> = envelope
            .recipients
            .iter()
            .filter(|r| r.destination == Destination::Remote)
            .map(|r| QueuedRecipient::pending(r.forward_path.to_string()))
            .collect();
        if !remote.is_empty() {
            let mut entry = Entry::new(&incoming.id, &reverse_path, remote);
            entry.eight_bit = envelope.parameters.body == Body::EightBitMime;
            entry.smtputf8 = envelope.parameters.smtputf8;
            let opened = storage.spool.begin(&incoming.id).and_then(|mut writer| {
                writer.write_all(received.as_bytes())?;
                Ok(writer)
            });
            incoming.remote = incoming.keep(opened).map(|writer| (writer, entry));
        }
        incoming
    }
    // ANCHOR_END: begin

    /// Appends message text to every copy.
    pub fn write(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        let result = match (&mut self.local, &mut self.remote) {
            (Some(local), Some((remote, _))) => local
                .write_all(bytes)
                .and_then(|()| remote.write_all(bytes)),
            (Some(local), None) => local.write_all(bytes),
            (None, Some((remote, _))) => remote.write_all(bytes),
            (None, None) => Ok(()),
        };
        if let Some(calendar) = &mut self.calendar {
            calendar.write(bytes);
        }
        if let Err(e) = result {
            log::error!("message {}: write failed: {e}", self.id);
            self.failed = Some(e.kind());
        }
    }

    // ANCHOR: commit
    /// Makes every copy durable. `Ok` means the message is ours: the session says 250.
    /// `Err` means nothing was acknowledged: the session says 451 (or 452 if the disk is full).
    pub fn commit(self) -> Result<MessageId, ErrorKind> {
        if let Some(kind) = self.failed {
            return Err(kind);
        }
        if let Some(local) = self.local {
            local
                .commit()
                .map_err(|e| log_error(&self.id, "Maildir", e))?;
            // Durably delivered: now, and only now, a meeting in it may change the
            // recipients' calendars (see `calendar::deliver`).
            if let Some(calendar) = self.calendar {
                calendar.delivered();
            }
        }
        if let Some((writer, entry)) = self.remote {
            writer
                .commit(&entry)
                .map_err(|e| log_error(&self.id, "queue", e))?;
        }
        Ok(self.id)
    }
    // ANCHOR_END: commit

    /// Keeps an opened file, or records why it could not be opened.
    fn keep<T>(&mut self, opened: io::Result<T>) -> Option<T> {
        match opened {
            Ok(file) => Some(file),
            Err(e) => {
                log::error!("message {}: cannot open: {e}", self.id);
                self.failed.get_or_insert(e.kind());
                None
            }
        }
    }
}

// ANCHOR: trace_header
/// The `Received:` header every copy starts with (RFC 5321 §4.4).
fn trace_header(
    id: &MessageId,
    hostname: &str,
    client: IpAddr,
    hello: &Hello,
    envelope: &Envelope,
    security: &Security,
) -> String {
    // §4.4: name the recipient only when there is exactly one.
    let single = match envelope.recipients.as_slice() {
        [only] => Some(only.forward_path.to_string()),
        _ => None,
    };
    received(&Trace {
        helo: &hello.host.to_string(),
        peer: client,
        by: hostname,
        protocol: &protocol(hello, envelope, security),
        tls: security
            .tls
            .as_ref()
            .map(|tls| (tls.version.as_str(), tls.cipher.as_str())),
        id: &id.to_string(),
        for_recipient: single.as_deref(),
        date: time::OffsetDateTime::now_utc(),
    })
}
// ANCHOR_END: trace_header

// ANCHOR: protocol
/// RFC 3848 protocol names for `with`: ESMTP, then S for TLS and A for AUTH
/// (ESMTPS, ESMTPA, ESMTPSA); RFC 6531 §3.7.3 does the same for UTF8SMTP.
fn protocol(hello: &Hello, envelope: &Envelope, security: &Security) -> String {
    if !hello.extended {
        return "SMTP".to_string();
    }
    let base = if envelope.parameters.smtputf8 {
        "UTF8SMTP"
    } else {
        "ESMTP"
    };
    let tls = if security.tls.is_some() { "S" } else { "" };
    let auth = if security.user.is_some() { "A" } else { "" };
    format!("{base}{tls}{auth}")
}
// ANCHOR_END: protocol

fn log_error(id: &MessageId, place: &str, e: io::Error) -> ErrorKind {
    log::error!("message {id}: cannot commit to the {place}: {e}");
    e.kind()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::parse_ehlo_argument;
    use crate::smtp::command::MailParameters;
    use crate::smtp::session::TlsInfo;

    #[test]
    fn protocol_names_of_rfc_3848() {
        let hello = |extended| Hello {
            host: parse_ehlo_argument("c.example").unwrap(),
            extended,
        };
        let envelope = |smtputf8| Envelope {
            reverse_path: crate::address::ReversePath::Null,
            parameters: MailParameters {
                smtputf8,
                ..MailParameters::default()
            },
            recipients: vec![],
        };
        let tls = Some(TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
        });
        let user = Some("alice@localhost".to_string());
        let security = |tls: &Option<TlsInfo>, user: &Option<String>| Security {
            tls: tls.clone(),
            user: user.clone(),
        };
        // (EHLO?, SMTPUTF8?, TLS?, AUTH?, protocol)
        let table = [
            (false, false, &None, &None, "SMTP"),
            (false, false, &tls, &user, "SMTP"),
            (true, false, &None, &None, "ESMTP"),
            (true, false, &tls, &None, "ESMTPS"),
            (true, false, &None, &user, "ESMTPA"),
            (true, false, &tls, &user, "ESMTPSA"),
            (true, true, &tls, &user, "UTF8SMTPSA"),
        ];
        for (extended, utf8, tls, user, expected) in table {
            let got = protocol(&hello(extended), &envelope(utf8), &security(tls, user));
            assert_eq!(got, expected);
        }
    }
}
