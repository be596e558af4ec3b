//! The shared conversation layer: what every protocol postie speaks stands on.
//!
//! Read it bottom up, as bytes become a conversation:
//!
//! | layer | module |
//! |---|---|
//! | bytes become lines (CRLF, limits, deadlines) | [`line`](mod@line) |
//! | the socket, plain or TLS, owned in one place | [`transport`] |
//! | the loop: a line in, the session's action out, replies flushed per batch | [`conversation`] |
//! | listeners: accept, a thread per client, the cap, shutdown | [`listener`] |
//! | ready threads for new clients | [`pool`] |
//! | the last sessions' transcripts, for the web view | [`transcript`] |
//!
//! A protocol (SMTP, POP3) adds a folder of its own beside this one with its session
//! (lines in, actions out) and its effects, and implements [`Dialogue`] and
//! [`Service`]; it copies no loop. Nothing here knows any protocol's words.

pub mod conversation;
pub mod line;
pub mod listener;
pub mod pool;
pub mod transcript;
pub mod transport;

pub use conversation::{Action, Conversation, Dialogue, End, Event, Render, Watch};
pub use line::{Line, LineReader, ReadError};
pub use listener::{converse, Accepted, Listeners, Service, Stopper, TlsMode};
pub use pool::Threads;
pub use transcript::{Recorder, Side, Transcript};
pub use transport::{Duplex, Stream, Transport};
