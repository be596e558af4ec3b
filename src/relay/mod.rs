//! Sending mail onward: the queue, finding the next hop, the outbound client, bounces
//! (RFC 5321 §3.6 relaying, §4.5.4 retries, §5 address resolution, §6 reliability).

pub mod bounce;
pub mod client;
pub mod dns;
pub mod mx;
pub mod queue;
pub mod runner;
