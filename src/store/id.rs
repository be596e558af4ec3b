//! Message ids: one per accepted message, shared by the 250 reply, the `Received:`
//! header, the Maildir file name and the queue entry.
//!
//! An id is made from the clock, the process id and a process-wide counter, never from
//! anything a client sent. All of postie's threads share one pid, so the counter is what
//! keeps two messages accepted in the same microsecond apart. An id read back (a queue
//! file's name) goes through [`FromStr`], which takes only what [`fmt::Display`] writes.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::status::Malformed;

/// Ids handed out by this process: the `Q<n>` part.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Our process id, asked of the kernel once: `std::process::id()` is a system call
/// each time, and a process keeps its id for life (postie never forks).
static PID: OnceLock<u32> = OnceLock::new();

/// A unique message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId {
    secs: u64,
    micros: u32,
    pid: u32,
    n: u64,
}

impl MessageId {
    // ANCHOR: new
    pub fn new() -> MessageId {
        // A clock before 1970 gives 0 here; pid and counter still differ.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        MessageId {
            secs: now.as_secs(),
            micros: now.subsec_micros(),
            pid: *PID.get_or_init(std::process::id),
            // Relaxed is enough: fetch_add never hands out one value twice.
            n: COUNTER.fetch_add(1, Ordering::Relaxed),
        }
    }
    // ANCHOR_END: new

    /// The Maildir unique name `<secs>.M<usec>P<pid>Q<n>.<host>`
    /// (<https://cr.yp.to/proto/maildir.html>); `host` must already be escaped.
    pub fn file_name(&self, host: &str) -> String {
        format!(
            "{}.M{}P{}Q{}.{host}",
            self.secs, self.micros, self.pid, self.n
        )
    }

    /// When the id was made (seconds since 1970).
    pub fn secs(&self) -> u64 {
        self.secs
    }
}

impl Default for MessageId {
    fn default() -> MessageId {
        MessageId::new()
    }
}

// ANCHOR: display
/// `<secs>M<usec>P<pid>Q<n>`: no dots, since RFC 5321 §4.4 wants an Atom after `id`
/// in `Received:`, and no characters that need escaping in a file name.
impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}M{}P{}Q{}", self.secs, self.micros, self.pid, self.n)
    }
}
// ANCHOR_END: display

/// Reads `<secs>M<usec>P<pid>Q<n>` back: four decimal numbers, nothing else, so that
/// the id of a queue file names that file and no other.
impl FromStr for MessageId {
    type Err = Malformed;

    fn from_str(text: &str) -> Result<MessageId, Malformed> {
        let wrong = || Malformed::new("a postie message id", text);
        // `u64::from_str` also takes a leading `+`; the check below refuses it.
        let number = |part: &str| -> Result<u64, Malformed> { part.parse().map_err(|_| wrong()) };
        let (secs, rest) = text.split_once('M').ok_or_else(wrong)?;
        let (micros, rest) = rest.split_once('P').ok_or_else(wrong)?;
        let (pid, n) = rest.split_once('Q').ok_or_else(wrong)?;
        let id = MessageId {
            secs: number(secs)?,
            micros: u32::try_from(number(micros)?).map_err(|_| wrong())?,
            pid: u32::try_from(number(pid)?).map_err(|_| wrong())?,
            n: number(n)?,
        };
        // One spelling per id: no leading zeros and no `+`, which Display never writes.
        if id.to_string() != text {
            return Err(wrong());
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..10_000)
                        .map(|_| MessageId::new().to_string())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert!(seen.insert(id.clone()), "duplicate {id}");
            }
        }
        assert_eq!(seen.len(), 80_000);
    }

    #[test]
    fn shapes() {
        let id = MessageId {
            secs: 1795827860,
            micros: 42,
            pid: 7,
            n: 3,
        };
        assert_eq!(id.to_string(), "1795827860M42P7Q3");
        assert_eq!(id.file_name("mx.example"), "1795827860.M42P7Q3.mx.example");
        assert!(!id.to_string().contains('.'));
    }

    #[test]
    fn from_str_reads_what_display_writes() {
        let id = MessageId::new();
        assert_eq!(id.to_string().parse::<MessageId>(), Ok(id));
        let id: MessageId = "1795827860M42P7Q3".parse().unwrap();
        assert_eq!(id.secs(), 1795827860);
        for wrong in [
            "",
            "1795827860M42P7",
            "1795827860.M42P7Q3",
            "1795827860M42P7Q3.host",
            "1795827860M042P7Q3",
            "1795827860M+42P7Q3",
            "+1795827860M42P7Q3",
            "1795827860M42P7Q+3",
            "x795827860M42P7Q3",
            "1795827860M42P99999999999Q3",
            "../1795827860M42P7Q3",
        ] {
            assert!(wrong.parse::<MessageId>().is_err(), "{wrong:?}");
        }
    }
}
