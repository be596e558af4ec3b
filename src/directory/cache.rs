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
        self.get_at(key, Instant::now())
    }

    /// Keeps `value` for `key`, from now until the TTL has passed.
    pub fn put(&self, key: String, value: V) {
        self.put_at(key, value, Instant::now())
    }

    // The clock is an argument below, so that a test can stand on the TTL's edge
    // without sleeping.

    fn get_at(&self, key: &str, now: Instant) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (at, value) = entries.get(key)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| value.clone())
    }

    fn put_at(&self, key: String, value: V, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30);

    #[test]
    fn an_answer_lasts_until_its_ttl() {
        let cache = Cache::new(TTL);
        let t0 = Instant::now();
        cache.put_at("a".into(), 1, t0);
        cache.put_at("b".into(), 2, t0);
        assert_eq!(cache.get_at("a", t0), Some(1));
        assert_eq!(cache.get_at("b", t0), Some(2));
        assert_eq!(cache.get_at("c", t0), None);
        let almost = TTL - Duration::from_millis(1);
        assert_eq!(cache.get_at("a", t0 + almost), Some(1));
        assert_eq!(cache.get_at("a", t0 + TTL), None);
    }

    #[test]
    fn a_ttl_of_zero_keeps_nothing() {
        let off = Cache::new(Duration::ZERO);
        off.put("a".into(), 1);
        assert_eq!(off.get("a"), None);
        let on = Cache::new(TTL);
        on.put("a".into(), 1);
        assert_eq!(on.get("a"), Some(1));
    }

    #[test]
    fn a_full_cache_drops_what_expired_and_keeps_the_rest() {
        let cache = Cache::new(TTL);
        let t0 = Instant::now();
        let now = t0 + TTL + Duration::from_secs(1);
        // Half the entries are exactly the TTL old at `now`, half are younger.
        for i in 0..MAX_ENTRIES {
            let at = if i % 2 == 0 { now - TTL } else { t0 + TTL };
            cache.put_at(i.to_string(), i, at);
        }
        cache.put_at("new".into(), 0, now);
        assert_eq!(cache.get_at("1", now), Some(1), "a younger one is kept");
        assert_eq!(cache.get_at("new", now), Some(0));
        assert_eq!(cache.entries.lock().unwrap().len(), MAX_ENTRIES / 2 + 1);
    }

    #[test]
    fn a_cache_full_of_young_answers_starts_again() {
        let cache = Cache::new(TTL);
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES {
            cache.put_at(i.to_string(), i, t0);
        }
        cache.put_at("new".into(), 0, t0);
        assert_eq!(cache.get_at("1", t0), None);
        assert_eq!(cache.get_at("new", t0), Some(0));
        assert_eq!(cache.entries.lock().unwrap().len(), 1);
    }
}
