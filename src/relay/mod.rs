//! Sending mail onward: scheduling the queue, finding the next hop, the outbound client,
//! bounces (RFC 5321 §3.6 relaying, §4.5.4 retries, §5 address resolution, §6
//! reliability). The queue itself is durable storage and lives in [`crate::store`].
//!
//! Read them in the order a queued message meets them:
//!
//! | step | module |
//! |---|---|
//! | the message waits on disk, with its envelope | [`crate::store::spool`] |
//! | a worker picks it up, groups recipients by domain, retries, gives up | [`runner`] |
//! | which hosts receive mail for the domain (RFC 5321 §5.1, RFC 7505) | [`mx`] |
//! | asking DNS for MX and address records | [`dns`] |
//! | the SMTP dialogue from the client's side | [`client`] |
//! | telling the sender what failed (RFC 3464) | [`bounce`] |

pub mod bounce;
pub mod client;
pub mod dns;
pub mod mx;
pub mod runner;
