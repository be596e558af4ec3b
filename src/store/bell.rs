//! A bell: how one thread tells others that something changed on disk, without them
//! looking every few milliseconds.
//!
//! The Maildir rings its bell after every delivery, the spool after every message it
//! queues. The bell counts its rings; a listener remembers the count it last saw and
//! [`Bell::wait_past`] returns as soon as the count differs (or a timeout passes). No
//! ring is missed between two waits, because the count, unlike a flag, remembers it.
//! This is what the relay sleeps on, and what an IMAP IDLE (RFC 2177) will wait for.
//!
//! Left out: the bell does not say *what* changed; a listener looks again (lists the
//! queue, the mailbox). It rings within one process only: mail that another program
//! puts into the Maildir rings nothing.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A change counter that threads can wait on.
#[derive(Debug, Default)]
pub struct Bell {
    rings: Mutex<u64>,
    rung: Condvar,
}

impl Bell {
    pub fn new() -> Bell {
        Bell::default()
    }

    /// Something changed: wake every waiting thread.
    pub fn ring(&self) {
        *self.lock() += 1;
        self.rung.notify_all();
    }

    /// How many times the bell has rung so far.
    pub fn rings(&self) -> u64 {
        *self.lock()
    }

    /// Waits until the count is no longer `seen` or `timeout` passes; returns the count.
    pub fn wait_past(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.lock();
        let (guard, _) = self
            .rung
            .wait_timeout_while(guard, timeout, |rings| *rings == seen)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }

    /// A thread that panicked while holding the lock left a plain number behind: still
    /// good.
    fn lock(&self) -> MutexGuard<'_, u64> {
        self.rings.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_ring_before_the_wait_is_not_missed() {
        let bell = Bell::new();
        let seen = bell.rings();
        bell.ring();
        let start = Instant::now();
        assert_eq!(bell.wait_past(seen, Duration::from_secs(10)), seen + 1);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_wait_without_a_ring_times_out() {
        let bell = Bell::new();
        let seen = bell.rings();
        assert_eq!(bell.wait_past(seen, Duration::from_millis(20)), seen);
    }

    #[test]
    fn a_ring_from_another_thread_wakes_the_waiter() {
        let bell = Arc::new(Bell::new());
        let seen = bell.rings();
        let ringer = {
            let bell = Arc::clone(&bell);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                bell.ring();
            })
        };
        let start = Instant::now();
        assert_eq!(bell.wait_past(seen, Duration::from_secs(10)), seen + 1);
        assert!(start.elapsed() < Duration::from_secs(5));
        ringer.join().unwrap();
    }
}
