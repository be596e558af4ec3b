//! The queue runner: finds entries that are due, delivers them, retries, bounces
//! (RFC 5321 §4.5.4.1 retry strategy, §4.5.5 and §6.2 bounces, §6.1 responsibility).
//!
//! One scheduler thread lists the spool every second (or at once when a message is
//! queued) and hands due entries to a small, fixed pool of worker threads. A worker
//! takes one entry, groups its pending recipients by domain, and for each domain (on a
//! thread of its own) finds the next hop and runs the SMTP client; then it writes down
//! what happened to every recipient. A slow or dead host ties up one worker and one
//! domain, never the whole queue or the other domains of the same message.
//!
//! Retries back off exponentially from `--retry-min` to `--retry-max`; after
//! `--queue-lifetime` the remaining recipients fail with `4.4.7`. Every failure is
//! reported to the sender in one bounce from `<>` — unless the failed message was
//! itself a bounce (reverse path `<>`), which would only start a loop.
//!
//! Left out: a worker is not interrupted when the server stops; an attempt in flight
//! is simply retried at the next start. Delivery is "at least once": RFC 5321 §6.1
//! prefers a rare duplicate to a lost message.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::address::{parse_mailbox, Host};
use crate::config::Config;
use crate::policy::{Decision, Policy};
use crate::received::return_path;
use crate::relay::bounce::{bounce_message, Action as DsnAction, Bounce, FailedRecipient};
use crate::relay::client::{deliver, Envelope as ClientEnvelope, RecipientOutcome};
use crate::relay::dns::{DnsClient, Resolver, SystemResolver};
use crate::relay::mx::{next_hops, Hop, RouteError};
use crate::status::Status;
use crate::store::id::MessageId;
use crate::store::spool::{Entry, QueuedRecipient, RecipientState};
use crate::store::{Place, Storage};

/// The running relay: stop it with the flag given to [`start`].
pub struct Relay {
    config: Arc<Config>,
    storage: Arc<Storage>,
    resolver: Box<dyn Resolver>,
    /// Entries a worker is busy with, so the scheduler does not hand them out twice.
    busy: Mutex<HashSet<MessageId>>,
}

/// Starts the scheduler and the workers. They run until `stopping` is set.
pub fn start(
    config: Arc<Config>,
    storage: Arc<Storage>,
    stopping: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    // With --dns-server, one server answers MX and address queries (tests use
    // dnsmasq); otherwise MX from /etc/resolv.conf and addresses from getaddrinfo.
    let resolver: Box<dyn Resolver> = match config.relay.dns_server {
        Some(server) => Box::new(DnsClient::new(vec![server])),
        None => match SystemResolver::new() {
            Ok(resolver) => Box::new(resolver),
            // No resolv.conf: local mail and --route still work; MX lookups defer.
            Err(e) => {
                log::warn!("no DNS resolver ({e}); mail needing MX lookups will wait in the queue");
                Box::new(NoResolver(e.to_string()))
            }
        },
    };
    let relay = Arc::new(Relay {
        config,
        storage,
        resolver,
        busy: Mutex::new(HashSet::new()),
    });
    let workers = relay.config.relay.workers;
    let (jobs, queue) = sync_channel::<MessageId>(workers);
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..workers {
        let (relay, queue) = (relay.clone(), queue.clone());
        thread::Builder::new()
            .name(format!("relay {n}"))
            .spawn(move || relay.work(&queue))?;
    }
    thread::Builder::new()
        .name("queue runner".into())
        .spawn(move || {
            // The spool's bell rings for every message queued, and a worker rings it
            // when it is free again: either way, look at once instead of in a second.
            let bell = relay.storage.spool.bell();
            let mut rings = bell.rings();
            while !stopping.load(Ordering::SeqCst) {
                for id in relay.due() {
                    // Never block here: with every worker busy, the entry waits a tick.
                    match jobs.try_send(id) {
                        Ok(()) => {}
                        Err(TrySendError::Full(id)) => relay.release(&id),
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
                rings = bell.wait_past(rings, Duration::from_secs(1));
            }
            // Dropping `jobs` ends the workers once they finish what they are doing.
        })
}

impl Relay {
    // ANCHOR: due
    /// Entries whose next attempt is due and that no worker holds; marks them busy.
    fn due(&self) -> Vec<MessageId> {
        let entries = match self.storage.spool.list() {
            Ok(entries) => entries,
            Err(e) => {
                log::error!("cannot read the queue: {e}");
                return vec![];
            }
        };
        let now = unix_now();
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        // `postie queue --flush`: every entry no worker holds becomes due now. Only
        // this thread hands entries out, so no worker can be writing these envelopes.
        let mut entries = entries;
        if self.storage.spool.take_flush_request() {
            for entry in entries.iter_mut().filter(|e| !busy.contains(&e.id)) {
                entry.next_attempt = 0;
                if let Err(e) = self.storage.spool.update(entry) {
                    log::error!("{}: cannot flush: {e}", entry.id);
                }
            }
        }
        entries
            .into_iter()
            .filter(|e| e.next_attempt <= now && busy.insert(e.id.clone()))
            .map(|e| e.id)
            .collect()
    }
    // ANCHOR_END: due

    fn work(&self, queue: &Mutex<Receiver<MessageId>>) {
        loop {
            let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
            let Ok(id) = job else { return };
            if let Err(e) = self.attempt(&id) {
                log::error!("queue entry {id}: {e}");
            }
            self.release(&id);
            // A worker is free: wake the runner, which may have left due entries for the
            // next tick when every worker was busy (without this, a flushed queue drains
            // only a few entries per second).
            self.storage.spool.bell().ring();
        }
    }

    fn release(&self, id: &MessageId) {
        self.busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    // ANCHOR: attempt
    /// One delivery attempt for one queue entry: every pending recipient, each domain
    /// in parallel.
    fn attempt(&self, id: &MessageId) -> io::Result<()> {
        let mut entry = self.storage.spool.load(id)?;
        let message = match self.storage.spool.read_message(id) {
            Ok(message) => message,
            // An envelope without its message cannot be delivered or bounced; without
            // this, the scheduler would trip over it every second.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                log::error!("{id}: the message file is missing; removing its envelope");
                return self.storage.spool.remove(id).or(Ok(()));
            }
            Err(e) => return Err(e),
        };
        // Every domain at once, each on its own thread: a dead host of one domain must
        // not hold up the others (it may take minutes to time out).
        let results = thread::scope(|scope| {
            let attempts: Vec<_> = pending_by_domain(&entry)
                .into_iter()
                .map(|(domain, indexes)| {
                    let addresses: Vec<String> = indexes
                        .iter()
                        .map(|&i| entry.recipients[i].address.clone())
                        .collect();
                    let (entry, message) = (&entry, &message);
                    let worker = scope
                        .spawn(move || self.deliver_to_domain(&domain, entry, &addresses, message));
                    (indexes, worker)
                })
                .collect();
            attempts
                .into_iter()
                .map(|(indexes, worker)| {
                    let result = worker.join().unwrap_or_else(|_| {
                        let why = Outcome::Deferred("internal error while delivering".into());
                        (vec![why; indexes.len()], None)
                    });
                    (indexes, result)
                })
                .collect::<Vec<_>>()
        });
        let mut newly_failed = Vec::new();
        for (indexes, (outcomes, remote)) in results {
            for (&i, outcome) in indexes.iter().zip(outcomes) {
                let recipient = &mut entry.recipients[i];
                recipient.remote = remote.clone();
                match outcome {
                    Outcome::Delivered(reply) => {
                        log::info!(
                            "{id}: delivered to <{}> via {}: {reply}",
                            recipient.address,
                            remote.as_deref().unwrap_or("?")
                        );
                        recipient.state = RecipientState::Delivered;
                        recipient.diagnostic = Some(reply);
                    }
                    Outcome::Deferred(why) => {
                        log::info!("{id}: deferred <{}>: {why}", recipient.address);
                        entry.last_error = Some(why);
                    }
                    Outcome::Failed { status, diagnostic } => {
                        log::info!("{id}: failed <{}>: {diagnostic}", recipient.address);
                        recipient.state = RecipientState::Failed;
                        recipient.status = Some(status);
                        recipient.diagnostic = Some(diagnostic);
                        newly_failed.push(i);
                    }
                }
            }
        }
        entry.attempts += 1;
        let now = unix_now();
        let relay = &self.config.relay;
        if entry.pending().next().is_some() {
            // RFC 5321 §4.5.4.1: give up after "at least 4-5 days" (--queue-lifetime).
            if now.saturating_sub(entry.arrived) >= relay.queue_lifetime.as_secs() {
                let why = entry
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "no delivery attempt succeeded".into());
                for (i, recipient) in entry.recipients.iter_mut().enumerate() {
                    if recipient.state == RecipientState::Pending {
                        recipient.state = RecipientState::Failed;
                        // RFC 3463 X.4.7: "delivery time expired".
                        recipient.status = Some(Status(4, 4, 7));
                        recipient.diagnostic = Some(format!(
                            "gave up after {} attempts; last error: {why}",
                            entry.attempts
                        ));
                        newly_failed.push(i);
                    }
                }
            } else {
                entry.next_attempt =
                    now + backoff(entry.attempts, relay.retry_min, relay.retry_max).as_secs();
            }
        }
        if !newly_failed.is_empty() {
            self.bounce(&entry, &newly_failed, &message);
        }
        if entry.pending().next().is_some() {
            self.storage.spool.update(&entry)
        } else {
            self.storage.spool.remove(&entry.id)
        }
    }
    // ANCHOR_END: attempt

    // ANCHOR: deliver_to_domain
    /// Tries the hosts of one domain in order until one of them gives an answer for
    /// every recipient (RFC 5321 §5.1: "try each address in order").
    fn deliver_to_domain(
        &self,
        domain: &str,
        entry: &Entry,
        recipients: &[String],
        message: &[u8],
    ) -> (Vec<Outcome>, Option<String>) {
        let all = |outcome: Outcome| recipients.iter().map(|_| outcome.clone()).collect();
        let hops = match self.route(domain) {
            Ok(hops) => hops,
            Err(e) if e.is_permanent() => {
                return (
                    all(Outcome::Failed {
                        status: e.status(),
                        diagnostic: e.to_string(),
                    }),
                    None,
                );
            }
            Err(e) => return (all(Outcome::Deferred(e.to_string())), None),
        };
        let envelope = ClientEnvelope {
            reverse_path: &entry.reverse_path,
            recipients,
            size: message.len() as u64,
            eight_bit: entry.eight_bit,
            smtputf8: entry.smtputf8,
        };
        let mut last_error = format!("no address to try for {domain}");
        for hop in &hops {
            for address in &hop.addresses {
                let stream =
                    match TcpStream::connect_timeout(address, self.config.relay.connect_timeout) {
                        Ok(stream) => stream,
                        Err(e) => {
                            last_error = format!("{} [{}]: {e}", hop.host, address.ip());
                            log::info!("{}: cannot connect: {last_error}", entry.id);
                            continue;
                        }
                    };
                match deliver(
                    &stream,
                    &self.config.hostname,
                    &envelope,
                    message,
                    &self.config.relay.timeouts,
                ) {
                    Ok(outcomes) => {
                        return (
                            outcomes.into_iter().map(Outcome::from).collect(),
                            Some(hop.host.clone()),
                        )
                    }
                    Err(e) => {
                        last_error = format!("{} [{}]: {e}", hop.host, address.ip());
                        log::info!("{}: {last_error}", entry.id);
                    }
                }
            }
        }
        (all(Outcome::Deferred(last_error)), None)
    }
    // ANCHOR_END: deliver_to_domain

    // ANCHOR: static_route
    /// A static route (`--route`) if there is one, else the MX records (RFC 5321 §5.1).
    fn route(&self, domain: &str) -> Result<Vec<Hop>, RouteError> {
        let relay = &self.config.relay;
        let Some(route) = relay
            .routes
            .iter()
            .find(|r| r.domain.eq_ignore_ascii_case(domain))
        else {
            return next_hops(
                domain,
                self.resolver.as_ref(),
                std::slice::from_ref(&self.config.hostname),
                relay.remote_port,
            );
        };
        let addresses: Vec<IpAddr> = match route.host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => self
                .resolver
                .addresses(&route.host)
                .map_err(|e| RouteError::Temporary(e.to_string()))?,
        };
        Ok(vec![Hop {
            host: route.host.clone(),
            preference: 0,
            addresses: addresses
                .into_iter()
                .map(|ip| SocketAddr::new(ip, route.port))
                .collect(),
        }])
    }
    // ANCHOR_END: static_route

    // ANCHOR: bounce
    /// Tells the sender which recipients failed, in one DSN from `<>` (RFC 3464).
    fn bounce(&self, entry: &Entry, failed: &[usize], message: &[u8]) {
        // RFC 5321 §4.5.5: never send a notification about a notification.
        if entry.reverse_path.is_empty() {
            log::info!("{}: not bouncing a bounce", entry.id);
            return;
        }
        let recipients: Vec<FailedRecipient> = failed
            .iter()
            .map(|&i| &entry.recipients[i])
            .map(|r| FailedRecipient {
                address: r.address.clone(),
                status: r.status,
                diagnostic: r.diagnostic.clone(),
                remote_mta: r.remote.clone(),
                action: DsnAction::Failed,
            })
            .collect();
        let id = MessageId::new();
        let now = time::OffsetDateTime::now_utc();
        let dsn = bounce_message(&Bounce {
            reporting_mta: &self.config.hostname,
            original_sender: &entry.reverse_path,
            original_id: &entry.id.to_string(),
            arrival_date: time::OffsetDateTime::from_unix_timestamp(entry.arrived as i64)
                .unwrap_or(now),
            recipients: &recipients,
            original_message: message,
            now,
            boundary: &format!("{id}/{}", self.config.hostname),
        });
        if let Err(e) = self.send_bounce(&id, &entry.reverse_path, &dsn) {
            log::error!(
                "{}: cannot send the bounce to <{}>: {e}",
                entry.id,
                entry.reverse_path
            );
        }
    }
    // ANCHOR_END: bounce

    // ANCHOR: send_bounce
    /// A bounce travels like any message from `<>`: into a local mailbox, or the queue.
    fn send_bounce(&self, id: &MessageId, to: &str, dsn: &[u8]) -> io::Result<()> {
        let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
        let mailbox = parse_mailbox(to).map_err(|e| invalid(e.to_string()))?;
        // Our own notice, not a client's request: who may relay does not matter.
        let policy = &self.config.policy;
        let decision = match &mailbox.host {
            Host::Domain(domain) if policy.is_local_domain(domain) => {
                policy.local_mailbox(mailbox.local_part.as_str(), domain.as_str())
            }
            _ => Decision::Relay,
        };
        let (place, message) = match decision {
            // Return-Path: only at final delivery (RFC 5321 §4.4).
            Decision::Local(path) => (
                Place::Mailbox(path),
                [return_path("").as_bytes(), dsn].concat(),
            ),
            Decision::Relay => (
                Place::Queue(Entry::new(id, "", vec![QueuedRecipient::pending(to)])),
                dsn.to_vec(),
            ),
            other => {
                return Err(invalid(format!(
                    "the sender's address is not deliverable: {other:?}"
                )))
            }
        };
        self.storage.keep(id, place, &message)?;
        log::info!("bounce {id} sent to <{to}>");
        Ok(())
    }
    // ANCHOR_END: send_bounce
}

/// Stands in when the system has no DNS configuration: every lookup is a temporary
/// failure, so the mail waits (and expires) instead of being lost.
struct NoResolver(String);

impl Resolver for NoResolver {
    fn mx(&self, _: &str) -> Result<Vec<crate::relay::dns::Mx>, crate::relay::dns::DnsError> {
        Err(crate::relay::dns::DnsError::Temporary(self.0.clone()))
    }
    fn addresses(&self, _: &str) -> Result<Vec<IpAddr>, crate::relay::dns::DnsError> {
        Err(crate::relay::dns::DnsError::Temporary(self.0.clone()))
    }
}

// ANCHOR: outcome
/// What happened to one recipient in this attempt.
#[derive(Debug, Clone)]
enum Outcome {
    Delivered(String),
    Deferred(String),
    Failed { status: Status, diagnostic: String },
}

impl From<RecipientOutcome> for Outcome {
    fn from(outcome: RecipientOutcome) -> Outcome {
        match outcome {
            RecipientOutcome::Delivered(reply) => Outcome::Delivered(reply.summary()),
            RecipientOutcome::Deferred(why) => Outcome::Deferred(why),
            // RFC 3463: use the server's enhanced code if it sent one, else the class.
            RecipientOutcome::Failed(reply) => Outcome::Failed {
                status: reply
                    .enhanced()
                    .unwrap_or_else(|| Status::other((reply.code / 100) as u8)),
                diagnostic: reply.summary(),
            },
        }
    }
}
// ANCHOR_END: outcome

/// Pending recipients grouped by domain (case-insensitively), as indexes into the entry.
fn pending_by_domain(entry: &Entry) -> BTreeMap<String, Vec<usize>> {
    let mut domains: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, recipient) in entry.recipients.iter().enumerate() {
        if recipient.state == RecipientState::Pending {
            domains
                .entry(recipient.domain().to_ascii_lowercase())
                .or_default()
                .push(i);
        }
    }
    domains
}

// ANCHOR: backoff
/// The wait after the `attempts`-th failure: `min`, then doubling, never above `max`.
pub fn backoff(attempts: u32, min: Duration, max: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1);
    min.saturating_mul(2u32.saturating_pow(doublings)).min(max)
}
// ANCHOR_END: backoff

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let (min, max) = (Duration::from_secs(300), Duration::from_secs(3600));
        let waits: Vec<u64> = (1..=6).map(|n| backoff(n, min, max).as_secs()).collect();
        assert_eq!(waits, [300, 600, 1200, 2400, 3600, 3600]);
        assert_eq!(backoff(1000, min, max), max);
    }

    #[test]
    fn recipients_are_grouped_by_domain() {
        let mut entry = Entry::new(
            &MessageId::new(),
            "a@example.org",
            vec![
                QueuedRecipient::pending("x@B.test"),
                QueuedRecipient::pending("y@c.test"),
                QueuedRecipient::pending("z@b.test"),
            ],
        );
        entry.recipients[1].state = RecipientState::Delivered;
        let groups = pending_by_domain(&entry);
        assert_eq!(
            groups.into_iter().collect::<Vec<_>>(),
            vec![("b.test".to_string(), vec![0, 2])]
        );
    }
}
