//! POP3 (RFC 1939, with CAPA and response codes from RFC 2449): reading back the mail
//! that SMTP delivered into the Maildir.
//!
//! The same shape as the SMTP side, read in the same order: the server's listener and
//! threads ([`crate::server`]), the shared line reader ([`crate::line`]), a connection
//! loop ([`connection`]), a sans-IO session with an explicit state enum ([`session`]),
//! commands ([`command`]) and responses ([`reply`]); then the maildrop ([`maildrop`])
//! and the message on the wire ([`message`]).
//!
//! TLS is SMTP's too ([`crate::tls`]): `STLS` (RFC 2595 §4) upgrades the connection in
//! AUTHORIZATION, and `--pop3s-listen` speaks TLS from the first byte (RFC 8314).
//!
//! Left out: APOP, SASL, and IMAP, which is a protocol of another size (Dovecot can
//! serve postie's Maildir over IMAP).

pub mod command;
pub mod connection;
pub mod maildrop;
pub mod message;
pub mod reply;
pub mod session;
