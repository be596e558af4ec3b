//! Failed logins, counted per address across every connection and protocol, so that
//! guessing one person's password gets slower with each wrong guess however many
//! connections the guesser opens (a per-connection limit alone, like SMTP's three
//! AUTH failures, costs them only a reconnect).
//!
//! The first [`Backoff::free`] failures in a row cost nothing; after each further one,
//! the next attempt for that address must wait [`Backoff::first`], doubled for each
//! failure after that, up to [`Backoff::longest`].
//! An attempt that comes sooner is answered "temporarily unavailable" without asking
//! the directory, whatever the password: the guesser learns nothing, and the directory
//! sees no flood. A success forgets the address. The owner can be slowed too, by
//! someone guessing at them; the wait is kept short (a minute at most) so that this
//! costs them a retry, not their mail.
//!
//! Left out: limits per client address (a guesser spreading over many accounts), and
//! keeping the counts across a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

// ANCHOR: backoff
/// How quickly failed logins are slowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures in a row that cost no wait.
    pub free: u32,
    /// The first wait; each further failure doubles it.
    pub first: Duration,
    /// The longest wait.
    pub longest: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            free: 3,
            first: Duration::from_secs(1),
            longest: Duration::from_secs(60),
        }
    }
}
// ANCHOR_END: backoff

/// Addresses tracked at once; past this, the oldest quiet ones are forgotten.
const MAX_TRACKED: usize = 10_000;

struct Record {
    failures: u32,
    /// No attempt is checked before this.
    not_before: Instant,
}

/// The failure counts, shared by every session.
pub struct Throttle {
    backoff: Backoff,
    records: Mutex<HashMap<String, Record>>,
}

impl Throttle {
    pub fn new(backoff: Backoff) -> Throttle {
        Throttle {
            backoff,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// May a login for `address` be checked now? `Err(wait)`: not for `wait` yet.
    pub fn check(&self, address: &str) -> Result<(), Duration> {
        self.check_at(address, Instant::now())
    }

    /// A login for `address` failed.
    pub fn failed(&self, address: &str) {
        self.failed_at(address, Instant::now())
    }

    // The clock is an argument below, so that a test can stand on a wait's edge
    // without sleeping.

    fn check_at(&self, address: &str, now: Instant) -> Result<(), Duration> {
        let Ok(records) = self.records.lock() else {
            return Ok(());
        };
        match records.get(&key(address)) {
            Some(r) if r.not_before > now => Err(r.not_before - now),
            _ => Ok(()),
        }
    }

    fn failed_at(&self, address: &str, now: Instant) {
        let Ok(mut records) = self.records.lock() else {
            return;
        };
        if records.len() >= MAX_TRACKED {
            let longest = self.backoff.longest;
            records.retain(|_, r| r.not_before + longest > now);
        }
        let record = records.entry(key(address)).or_insert(Record {
            failures: 0,
            not_before: now,
        });
        record.failures = record.failures.saturating_add(1);
        if let Some(over) = record.failures.checked_sub(self.backoff.free + 1) {
            let wait = self
                .backoff
                .first
                .saturating_mul(2u32.saturating_pow(over.min(20)))
                .min(self.backoff.longest);
            record.not_before = now + wait;
        }
    }

    pub fn succeeded(&self, address: &str) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(&key(address));
        }
    }
}

/// Addresses are compared without case, so `Bob@` and `bob@` share one count.
fn key(address: &str) -> String {
    address.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures() {
        let throttle = Throttle::new(Backoff {
            free: 2,
            first: Duration::from_millis(40),
            longest: Duration::from_millis(100),
        });
        for _ in 0..2 {
            assert!(throttle.check("bob@x").is_ok());
            throttle.failed("BOB@x");
        }
        assert!(throttle.check("bob@x").is_ok(), "two failures are free");
        throttle.failed("bob@x");
        let wait = throttle.check("Bob@X").unwrap_err();
        assert!(wait <= Duration::from_millis(40) && wait > Duration::ZERO);
        assert!(throttle.check("alice@x").is_ok(), "per address");
        std::thread::sleep(Duration::from_millis(45));
        assert!(throttle.check("bob@x").is_ok());
        throttle.failed("bob@x");
        assert!(throttle.check("bob@x").unwrap_err() > Duration::from_millis(45));
        throttle.failed("bob@x");
        assert!(throttle.check("bob@x").unwrap_err() <= Duration::from_millis(100));
        throttle.succeeded("bob@x");
        assert!(throttle.check("bob@x").is_ok());
    }

    const MINUTE: Duration = Duration::from_secs(60);

    fn throttle() -> Throttle {
        Throttle::new(Backoff {
            free: 1,
            first: Duration::from_secs(10),
            longest: MINUTE,
        })
    }

    #[test]
    fn a_wait_ends_at_its_instant() {
        let throttle = throttle();
        let t0 = Instant::now();
        throttle.failed_at("bob@x", t0);
        throttle.failed_at("bob@x", t0);
        let ten = Duration::from_secs(10);
        assert_eq!(throttle.check_at("bob@x", t0), Err(ten));
        assert!(throttle.check_at("bob@x", t0 + ten).is_ok());
    }

    #[test]
    fn failures_are_remembered_until_the_count_is_full() {
        // Whatever time passed between them: the count is of failures in a row.
        let throttle = throttle();
        let t0 = Instant::now();
        throttle.failed_at("bob@x", t0);
        let later = t0 + MINUTE + Duration::from_secs(1);
        throttle.failed_at("alice@x", later);
        throttle.failed_at("bob@x", later);
        assert!(
            throttle.check_at("bob@x", later).is_err(),
            "bob's second failure"
        );
    }

    #[test]
    fn a_full_count_forgets_only_the_quiet() {
        let throttle = throttle();
        let t0 = Instant::now();
        let now = t0 + 2 * MINUTE;
        // Half were last slowed exactly `longest` ago (quiet), half more recently.
        for i in 0..MAX_TRACKED {
            let at = if i % 2 == 0 {
                now - MINUTE
            } else {
                t0 + MINUTE + MINUTE / 2
            };
            throttle.failed_at(&format!("{i}@x"), at);
        }
        throttle.failed_at("new@x", now);
        let records = throttle.records.lock().unwrap();
        assert_eq!(records.len(), MAX_TRACKED / 2 + 1);
        assert!(records.contains_key("1@x") && !records.contains_key("0@x"));
    }
}
