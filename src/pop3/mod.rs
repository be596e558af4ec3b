//! POP3 (RFC 1939, with CAPA and response codes from RFC 2449): reading back the mail
//! that SMTP delivered into the Maildir.
//!
//! The same shape as the SMTP side, on the same shared conversation ([`crate::wire`]:
//! listeners, threads, the line reader, the loop): a sans-IO session with an explicit
//! state enum ([`session`]), commands ([`command`]) and responses ([`reply`]); POP3's
//! effects and its listener's service ([`connection`]); then the maildrop
//! ([`maildrop`]) and the message on the wire ([`message`]).
//!
//! TLS is the conversation's too: `STLS` (RFC 2595 §4) upgrades the connection in
//! AUTHORIZATION, and `--pop3s-listen` speaks TLS from the first byte (RFC 8314).
//!
//! Left out: APOP and SASL. IMAP, a protocol of another size, is [`crate::imap`], on
//! the same Maildir.

pub mod command;
pub mod connection;
pub mod maildrop;
pub mod message;
pub mod reply;
pub mod session;
