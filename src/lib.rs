// ANCHOR: map
//! # postie — a teaching SMTP server
//!
//! Read the modules in the order a message meets them (RFC 5321 §3):
//!
//! | step of the dialogue | module |
//! |---|---|
//! | a client connects (SMTP, submission); one thread per client; the cap | [`server`] |
//! | bytes become lines (CRLF, limits, timeouts) | [`line`](mod@line) |
//! | the loop: read a line, ask the session, write the reply | [`connection`] |
//! | STARTTLS: the certificate, and a socket that turns into TLS | [`tls`] |
//! | 220 greeting, EHLO, MAIL, RCPT, DATA, QUIT: the state machine | [`smtp::session`] |
//! | AUTH PLAIN and LOGIN: base64 answers, masked in the trace | [`smtp::auth`] |
//! | one line becomes a command | [`smtp::command`] |
//! | paths, mailboxes, domains | [`smtp::address`] |
//! | every reply, with its code and enhanced status code | [`smtp::reply`], [`status`] |
//! | message text: the lone dot, dot-stuffing, smuggling defence | [`smtp::data`] |
//! | who we accept mail for; no open relay | [`policy`] |
//! | passwords: Argon2id hashes in the users file | [`accounts`] |
//! | Received: and Return-Path: trace headers | [`smtp::received`] |
//! | "250" only once it is on disk: Maildir and queue | [`accept`], [`store`] |
//! | the outbound queue's schedule, MX lookup, the client, bounces | [`relay`] |
//! | flags and limits | [`config`], [`cli`] |
//! | reading the mail back: POP3 on the same Maildir ([`store::folder`]) | [`pop3`] |
// ANCHOR_END: map

pub mod accept;
pub mod accounts;
pub mod cli;
pub mod config;
pub mod connection;
pub mod line;
pub mod policy;
pub mod pop3;
pub mod relay;
pub mod server;
pub mod smtp;
pub mod status;
pub mod store;
pub mod tls;

// Round-trip properties of the parsers and writers (proptest).
#[cfg(test)]
mod properties;

/// The log target of the dialogue trace (`--trace`): every line in and out, and every
/// state transition with the section of RFC 5321 that governs it.
pub const TRACE: &str = "postie::trace";

// The book's runnable examples are doctests: `cargo test --doc` compiles and runs every
// ```rust block of these chapters (tests/book.rs checks that none is forgotten).
#[cfg(doctest)]
#[doc = include_str!("../book/src/reading-lines.md")]
pub struct BookReadingLines;

#[cfg(doctest)]
#[doc = include_str!("../book/src/state-machine.md")]
pub struct BookStateMachine;

#[cfg(doctest)]
#[doc = include_str!("../book/src/ehlo.md")]
pub struct BookEhlo;

#[cfg(doctest)]
#[doc = include_str!("../book/src/mail-from.md")]
pub struct BookMailFrom;

#[cfg(doctest)]
#[doc = include_str!("../book/src/rcpt-to.md")]
pub struct BookRcptTo;

#[cfg(doctest)]
#[doc = include_str!("../book/src/data.md")]
pub struct BookData;

#[cfg(doctest)]
#[doc = include_str!("../book/src/taking-responsibility.md")]
pub struct BookTakingResponsibility;

#[cfg(doctest)]
#[doc = include_str!("../book/src/replies.md")]
pub struct BookReplies;
