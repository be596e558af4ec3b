// ANCHOR: map
//! # postie — a teaching mail server
//!
//! Read the modules in the order a message meets them (RFC 5321 §3); ARCHITECTURE.md
//! at the root of the repository has the same map with what each part may not touch.
//!
//! | step of the dialogue | module |
//! |---|---|
//! | the listeners, one per (protocol, address); the relay beside them | [`server`] |
//! | accept a client; one thread per client; the cap; shutdown | [`wire::listener`] |
//! | bytes become lines (CRLF, limits, deadlines) | [`wire::line`] |
//! | the socket, plain or TLS | [`wire::transport`], [`tls`] |
//! | the loop: read a line, ask the session, write the reply (every protocol) | [`wire::conversation`] |
//! | 220 greeting, EHLO, MAIL, RCPT, DATA, QUIT: the state machine | [`smtp::session`] |
//! | one line becomes a command | [`smtp::command`] |
//! | paths, mailboxes, domains (every part uses them) | [`address`] |
//! | every reply, with its code and enhanced status code | [`smtp::reply`], [`status`] |
//! | AUTH: the mechanisms, masked in the trace; SASL itself | [`smtp::auth`], [`sasl`] |
//! | message text after 354 | [`smtp::connection`] |
//! | message text: the lone dot, dot-stuffing, smuggling defence | [`smtp::data`] |
//! | who is who: our domains, relaying, users, passwords | [`policy`], [`accounts`], [`security`] |
//! | the client as every session keeps it: address, TLS, login, mistakes | [`peer`] |
//! | who is who, asked of LDAP: users, aliases, lists, logins | [`directory`] |
//! | Received: and Return-Path: trace headers; dates | [`received`], [`date`] |
//! | "250" only once it is on disk | [`smtp::accept`], [`store`] |
//! | the outbound queue's schedule, MX lookup, the client, bounces | [`relay`] |
//! | flags and limits | [`config`], [`cli`] |
//! | reading the mail back: POP3 on the same Maildir ([`store::folder`]) | [`pop3`] |
//! | reading and filing it: IMAP, folders and all ([`store::maildirpp`]) | [`imap`] |
//! | HTTP/1.1: requests, limits, keep-alive | [`http`] |
//! | the web view: pages, a Mailpit-compatible API, the SMTP sessions | [`web`] |
//! | grading any SMTP server, chapter by chapter (`postie check`) | [`check`] |
// ANCHOR_END: map

#![forbid(unsafe_code)]

pub mod accounts;
pub mod address;
pub mod calendar;
pub mod check;
pub mod cli;
pub mod config;
pub mod date;
pub mod directory;
pub mod http;
pub mod imap;
pub mod peer;
pub mod policy;
pub mod pop3;
pub mod received;
pub mod relay;
pub mod sasl;
pub mod security;
pub mod server;
pub mod smtp;
pub mod status;
pub mod store;
pub mod tls;
pub mod web;
pub mod wire;

// Round-trip properties of the parsers and writers (proptest).
#[cfg(test)]
mod logged;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod skip;

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
