//! IMAP4rev1 (RFC 3501, with LITERAL+, SASL-IR, ID, ENABLE, IDLE, NAMESPACE, UIDPLUS,
//! MOVE, SPECIAL-USE, UNSELECT and CHILDREN): reading, filing and searching the mail
//! that SMTP delivered, from any mail program, with the mail kept on the server.
//!
//! The same shape as SMTP and POP3, on the same shared conversation ([`crate::wire`]):
//!
//! | step | module |
//! |---|---|
//! | a command's pieces: atoms, strings, literals, sets, dates | [`parse`] |
//! | commands and their arguments | [`command`] |
//! | mailbox names on the wire (modified UTF-7) | [`utf7`] |
//! | the state machine: not authenticated, authenticated, selected, logout | [`session`] |
//! | responses: tagged, untagged, continuation; strings and literals | [`response`] |
//! | the folders as IMAP sees them (UIDs, flags), and one in memory | [`folders`] |
//! | the commands that work on mail | [`mailbox`] |
//! | the selected mailbox as a session knows it; other sessions' changes | [`selected`] |
//! | FETCH's items: ENVELOPE, BODYSTRUCTURE, sections | [`fetch`] |
//! | SEARCH's keys | [`search`] |
//! | IMAP's effects (literals, folders, IDLE) and its listener | [`connection`] |
//!
//! Left out: IMAP4rev2 (RFC 9051), CONDSTORE/QRESYNC (RFC 7162), keywords, ACLs,
//! quotas, shared folders, NOTIFY, COMPRESS. A production server (Dovecot) keeps an
//! index beside the Maildir so that SELECT need not list the directory.

pub mod command;
pub mod connection;
pub mod fetch;
pub mod folders;
pub mod mailbox;
pub mod maildir;
pub mod parse;
pub mod response;
pub mod search;
pub mod selected;
pub mod session;
pub mod utf7;
