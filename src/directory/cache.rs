//! Answers remembered for a short time (`--directory-cache-ttl`), so that a message to
//! fifty people at one company, or fifty messages to one person, ask the directory once.
//!
//! Only definite answers are kept ("this mailbox", "this list", "nobody"), never an
//! outage (the next client must ask again) and never anything about a password.
//! An answer may be up to the TTL old: an address removed from the directory still
//! receives mail that long, the price of not asking for every RCPT.
//!
//! Left out: invalidation on change (RFC 4533 sync, persistent search) and any order of
//! eviction cleverer than "drop what expired; if still full, drop everything".

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most answers kept at once.
pub const MAX_ENTRIES: usize = 10_000;

/// Answers by key, each for `ttl`.
pub struct Cache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> Cache<V> {
    pub fn new(ttl: Duration) -> Cache<V> {
        Cache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key`, if one younger than the TTL is kept.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn put(&self, key: String, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire() {
        let cache = Cache::new(Duration::from_millis(50));
        cache.put("a".into(), 1);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("a"), None);
        let off = Cache::new(Duration::ZERO);
        off.put("a".into(), 1);
        assert_eq!(off.get("a"), None);
    }
}
