//! Transcripts: what `--trace` prints, kept in memory for the last few sessions, so
//! the web view can show how each message arrived (and how each refused client was
//! refused).
//!
//! A [`Recorder`] keeps the last N sessions in a ring; each session's [`Transcript`]
//! holds its client and server lines, its state transitions with their RFC sections,
//! and notes (such as how much message text came), as the conversation feeds them.
//! Lines are shown as the trace shows them: passwords masked by the protocol's
//! `Dialogue::shown`. Every transcript is bounded ([`MAX_LINES`], [`MAX_LINE`]), and
//! a conversation without a recorder records nothing and allocates nothing.
//!
//! Nothing here knows any protocol's words; a protocol says what is a transition,
//! who the client said it was (`HELO`), which messages it delivered, and how the
//! session ended.
//!
//! Left out: persistence (a restart forgets every transcript), and message text
//! (only its size is noted; the message itself is in the store).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// Most lines kept of one session; later ones are counted, not kept.
pub const MAX_LINES: usize = 500;
/// Most characters kept of one line.
pub const MAX_LINE: usize = 1000;

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Side {
    /// The client (`C:`).
    Client,
    /// The server (`S:`).
    Server,
    /// A change of state, with the section of the RFC behind it.
    State,
    /// Something the conversation noticed (message text received, TLS begun…).
    Note,
}

/// One line of a transcript.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// Milliseconds since the session began.
    #[serde(rename = "Millis")]
    pub millis: u64,
    #[serde(rename = "Side")]
    pub side: Side,
    #[serde(rename = "Text")]
    pub text: String,
}

/// What is known of one session so far.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub helo: String,
    pub ended: Option<SystemTime>,
    /// How it ended, in a few words: `delivered 2`, `refused: 554 …`, `disconnected`.
    pub outcome: String,
    /// The store's ids of the messages this session delivered.
    pub message_ids: Vec<String>,
    pub lines: Vec<Entry>,
    /// Lines beyond [`MAX_LINES`], not kept.
    pub dropped: usize,
}

// ANCHOR: transcript
/// One session's transcript, fed by its conversation.
#[derive(Debug)]
pub struct Transcript {
    pub id: u64,
    pub protocol: &'static str,
    pub remote: SocketAddr,
    pub started: SystemTime,
    record: Mutex<Record>,
    recorder: Arc<Recorder>,
}
// ANCHOR_END: transcript

impl Transcript {
    /// Adds a line.
    pub fn push(&self, side: Side, text: &str) {
        let millis = self.started.elapsed().map_or(0, |d| d.as_millis() as u64);
        let mut record = self.lock();
        if record.lines.len() >= MAX_LINES {
            record.dropped += 1;
            return;
        }
        let text = match text.char_indices().nth(MAX_LINE) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_string(),
        };
        record.lines.push(Entry { millis, side, text });
    }

    /// The name the client gave in HELO or EHLO.
    pub fn set_helo(&self, name: &str) {
        let name: String = name.chars().take(255).collect();
        self.lock().helo = name;
    }

    /// A message was stored under this id.
    pub fn delivered(&self, message_id: &str) {
        self.lock().message_ids.push(message_id.to_string());
        self.recorder.link(message_id, self.id);
    }

    /// The session is over.
    pub fn end(&self, outcome: &str) {
        let mut record = self.lock();
        record.ended = Some(SystemTime::now());
        record.outcome = outcome.to_string();
    }

    /// A copy of what has been recorded so far.
    pub fn snapshot(&self) -> Record {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }
}

// ANCHOR: recorder
/// The last `keep` sessions' transcripts, newest last, and which session delivered
/// which message.
#[derive(Debug)]
pub struct Recorder {
    keep: usize,
    next_id: AtomicU64,
    ring: Mutex<VecDeque<Arc<Transcript>>>,
    by_message: Mutex<HashMap<String, u64>>,
}
// ANCHOR_END: recorder

impl Recorder {
    /// A recorder for the last `keep` sessions; `None` for 0: record nothing.
    pub fn new(keep: usize) -> Option<Arc<Recorder>> {
        (keep > 0).then(|| {
            Arc::new(Recorder {
                keep,
                next_id: AtomicU64::new(1),
                ring: Mutex::new(VecDeque::with_capacity(keep.min(1024))),
                by_message: Mutex::new(HashMap::new()),
            })
        })
    }

    /// Starts a transcript for a new session; the oldest is forgotten if the ring is
    /// full.
    pub fn begin(self: &Arc<Self>, protocol: &'static str, remote: SocketAddr) -> Arc<Transcript> {
        let transcript = Arc::new(Transcript {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            protocol,
            remote,
            started: SystemTime::now(),
            record: Mutex::new(Record::default()),
            recorder: self.clone(),
        });
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        if ring.len() >= self.keep {
            if let Some(old) = ring.pop_front() {
                let ids = old.snapshot().message_ids;
                let mut links = self.by_message.lock().unwrap_or_else(|p| p.into_inner());
                for id in ids {
                    links.remove(&id);
                }
            }
        }
        ring.push_back(transcript.clone());
        transcript
    }

    /// Every kept session, newest first.
    pub fn sessions(&self) -> Vec<Arc<Transcript>> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.iter().rev().cloned().collect()
    }

    /// One kept session.
    pub fn session(&self, id: u64) -> Option<Arc<Transcript>> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.iter().find(|t| t.id == id).cloned()
    }

    /// The session that delivered a message, while it is kept.
    pub fn session_of(&self, message_id: &str) -> Option<u64> {
        let links = self.by_message.lock().unwrap_or_else(|p| p.into_inner());
        links.get(message_id).copied()
    }

    fn link(&self, message_id: &str, session: u64) {
        let mut links = self.by_message.lock().unwrap_or_else(|p| p.into_inner());
        links.insert(message_id.to_string(), session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_of_bounded_transcripts() {
        assert!(Recorder::new(0).is_none(), "off costs nothing");
        let recorder = Recorder::new(2).unwrap();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let first = recorder.begin("smtp", peer);
        first.delivered("m1");
        for i in 0..MAX_LINES + 5 {
            first.push(Side::Client, &format!("NOOP {i}"));
        }
        first.push(Side::Server, &"x".repeat(MAX_LINE + 10));
        let record = first.snapshot();
        assert_eq!((record.lines.len(), record.dropped), (MAX_LINES, 6));
        assert_eq!(recorder.session_of("m1"), Some(first.id));
        let second = recorder.begin("smtp", peer);
        let third = recorder.begin("smtp", peer);
        let ids: Vec<u64> = recorder.sessions().iter().map(|t| t.id).collect();
        assert_eq!(
            ids,
            [third.id, second.id],
            "newest first, the oldest forgotten"
        );
        assert_eq!(recorder.session_of("m1"), None, "its links go with it");
        let long = recorder.begin("smtp", peer);
        long.push(Side::Server, &"é".repeat(MAX_LINE + 10));
        assert_eq!(long.snapshot().lines[0].text.chars().count(), MAX_LINE + 1);
    }
}
