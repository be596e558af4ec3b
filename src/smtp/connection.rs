//! SMTP's side of the shared conversation: its session, and the one thing only SMTP
//! does with the wire — reading message text after 354 and taking responsibility for
//! it (RFC 5321 §4.1.1.4, §6.1).
//!
//! The loop itself (lines in, replies out, PIPELINING, STARTTLS, deadlines, the trace)
//! is [`crate::wire::Conversation`]'s, shared with every protocol. [`Smtp`] supplies the
//! session and performs [`Effect::ReceiveData`]: it streams the message to disk as the
//! lines arrive, and only a message that reached the disk gets 250.

use std::io;
use std::sync::Arc;

use super::accept::{Incoming, Storage};
use super::data::{DataDecoder, DataLine, Refusal};
use super::reply::Reply;
use super::session::{Action, Effect, Input, MessageOutcome, Session};
use crate::config::Limits;
use crate::store::witness;
use crate::wire::conversation::trace_line;
use crate::wire::{Conversation, Dialogue, Event, ReadError, Render, Side, Stream, Transcript};

impl Render for Reply {
    fn write_to(&self, out: &mut Vec<u8>) {
        Reply::write_to(self, out)
    }
}

// ANCHOR: smtp
/// One SMTP client's dialogue: the session, and where its messages go.
pub struct Smtp {
    pub session: Session,
    storage: Arc<Storage>,
    /// Our name, for the `Received:` field.
    hostname: String,
    limits: Limits,
    /// Where the web view's sessions page gets this session from, if it keeps them.
    transcript: Option<Arc<Transcript>>,
}
// ANCHOR_END: smtp

impl Smtp {
    pub fn new(session: Session, storage: Arc<Storage>, hostname: &str, limits: Limits) -> Smtp {
        Smtp {
            session,
            storage,
            hostname: hostname.to_string(),
            limits,
            transcript: None,
        }
    }

    /// Records this session (lines, transitions, what it delivered) in `transcript`.
    pub fn with_transcript(mut self, transcript: Option<Arc<Transcript>>) -> Smtp {
        if transcript.is_some() {
            self.session.record_transitions();
        }
        self.transcript = transcript;
        self
    }

    /// Gives the transcript the name the client gives in HELO or EHLO, whether or not
    /// the session takes it: the sessions page shows who the client said it was.
    fn note_helo(&self, line: &[u8]) {
        let Some(transcript) = &self.transcript else {
            return;
        };
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_whitespace();
        if let (Some(verb), Some(name)) = (words.next(), words.next()) {
            if verb.eq_ignore_ascii_case("EHLO") || verb.eq_ignore_ascii_case("HELO") {
                transcript.set_helo(name);
            }
        }
    }

    /// Passes the session's transitions on to the transcript.
    fn note_transitions(&mut self) {
        if let Some(transcript) = &self.transcript {
            for transition in self.session.take_transitions() {
                transcript.push(Side::State, &transition);
            }
        }
    }
}

impl Dialogue for Smtp {
    type Reply = Reply;
    type Effect = Effect;
    const NAME: &'static str = "SMTP";

    fn handle(&mut self, event: Event<'_>) -> Action {
        if let Event::Line(line) = &event {
            self.note_helo(line.text());
        }
        let action = self.session.handle(Input::Wire(event));
        self.note_transitions();
        action
    }

    fn transcript(&self) -> Option<Arc<Transcript>> {
        self.transcript.clone()
    }

    fn line_limit(&self) -> usize {
        self.session.line_limit()
    }

    fn shown(&self, text: &[u8]) -> String {
        self.session.shown(&String::from_utf8_lossy(text))
    }

    fn perform<S: Stream>(
        &mut self,
        effect: Effect,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Action>> {
        match effect {
            Effect::ReceiveData(go_ahead) => self.data(go_ahead, conversation),
        }
    }
}

impl Smtp {
    // ANCHOR: data
    /// DATA was accepted: send the 354, receive the message, return the one reply.
    /// `None` means the client went away.
    fn data<S: Stream>(
        &mut self,
        go_ahead: Reply,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Action>> {
        // Say we are busy before the 354 leaves: a stopping server then either sees
        // it and lets us finish, or we see here that it is stopping and say 421.
        conversation.set_busy(true);
        let result = if conversation.stopping() {
            Ok(Some(self.session.handle(Input::Wire(Event::ShuttingDown))))
        } else {
            conversation.send(&go_ahead);
            conversation
                .flush()
                .and_then(|()| self.receive_message(conversation))
        };
        conversation.set_busy(false);
        result
    }
    // ANCHOR_END: data

    // ANCHOR: receive_message
    /// Reads message text after the 354 until the lone dot, streaming it to disk, and
    /// returns the session's one reply (RFC 5321 §4.1.1.4). `None` means the client
    /// went away: whatever was written is removed, nothing is delivered.
    fn receive_message<S: Stream>(
        &mut self,
        conversation: &mut Conversation<S>,
    ) -> io::Result<Option<Action>> {
        let limits = &self.limits;
        let mut decoder = DataDecoder::new(limits.max_message_size, limits.max_received_headers)
            .with_max_line(limits.text_line);
        let session = &self.session;
        let (hello, envelope) = session.transaction().ok_or_else(|| {
            io::Error::other("message text without a transaction (DATA follows RCPT)")
        })?;
        let client = session.client();
        // If the disk fails, we keep reading to the dot and answer 451 then:
        // replying in the middle would make the rest of the message look like commands.
        let mut message = Incoming::begin(
            &self.storage,
            &self.hostname,
            client.ip(),
            hello,
            envelope,
            session.security(),
        );
        let (mut lines, mut octets) = (0u64, 0u64);
        let end = loop {
            // Each line of text too must arrive in time (a message is bounded by its
            // size limit, so the number of lines is bounded too).
            match conversation.read_line(decoder.read_limit()) {
                Ok(line) => {
                    let line = trace_line(client, line, |text| {
                        session.shown(&String::from_utf8_lossy(text))
                    });
                    lines += 1;
                    octets += line.raw().len() as u64;
                    match decoder.feed(line) {
                        DataLine::Content(bytes) => message.write(bytes),
                        DataLine::Discard => {}
                        DataLine::End => {
                            break Input::MessageEnd(self.end_of_data(decoder.outcome(), message))
                        }
                        // RFC 5321 §2.3.8, §4.1.1.4: a bare CR or LF could be a smuggled
                        // end of data. Refuse and close; never guess where the message ended.
                        DataLine::BareNewline => break Input::BareNewlineInData,
                    }
                }
                Err(ReadError::TooLong) => decoder.line_too_long(),
                Err(ReadError::TimedOut) => break Input::Wire(Event::TimedOut),
                Err(ReadError::Closed) => return Ok(None),
                Err(ReadError::Io(e)) => return Err(e),
            }
        };
        if let Some(transcript) = &self.transcript {
            let how = match &end {
                Input::BareNewlineInData => ", the last not ended by CRLF alone",
                Input::Wire(Event::TimedOut) => ", then silence",
                _ => "",
            };
            let plural = if lines == 1 { "" } else { "s" };
            transcript.push(
                Side::Note,
                &format!("message text: {lines} line{plural}, {octets} octets{how}"),
            );
            if let Input::MessageEnd(MessageOutcome::Stored { id }) = &end {
                transcript.delivered(id);
            }
        }
        let action = self.session.handle(end);
        self.note_transitions();
        Ok(Some(action))
    }
    // ANCHOR_END: receive_message

    // ANCHOR: end_of_data
    /// The lone dot arrived. Only a complete message that reached the disk gets 250;
    /// an `Incoming` dropped without `commit` leaves nothing behind.
    fn end_of_data(&self, outcome: Result<u64, Refusal>, message: Incoming) -> MessageOutcome {
        let result = match outcome {
            Ok(_size) => match message.commit() {
                Ok(id) => {
                    // From here on the 250 may be sent: the witness (test builds)
                    // checks that every sync covering the message came before.
                    witness::record(|| witness::Event::Acknowledged(id.to_string()));
                    MessageOutcome::Stored { id: id.to_string() }
                }
                Err(kind) => MessageOutcome::NotStored(kind),
            },
            Err(refusal) => MessageOutcome::Refused(refusal),
        };
        if let (MessageOutcome::Stored { id }, Some((_, envelope))) =
            (&result, self.session.transaction())
        {
            log::info!(
                "{} accepted {id} from <{}> for {} recipient(s)",
                self.session.client(),
                envelope.reverse_path,
                envelope.recipients.len()
            );
        }
        result
    }
    // ANCHOR_END: end_of_data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Service, Settings};
    use crate::store::id::MessageId;
    use crate::store::witness::{events, Event as Seen};
    use crate::wire::Duplex;
    use std::path::{Path, PathBuf};

    /// One whole SMTP conversation without a socket: `input` is everything the client
    /// sends, the server's words go to `output`; mail is stored under `dir`.
    fn converse(dir: &Path, input: &[u8], output: &mut impl std::io::Write) {
        converse_recorded(dir, input, output, None);
    }

    /// The same, with the session recorded in `transcript` as for the web view's
    /// sessions page.
    fn converse_recorded(
        dir: &Path,
        input: impl std::io::Read,
        output: &mut impl std::io::Write,
        transcript: Option<Arc<Transcript>>,
    ) {
        let mut config = Config::new("mx.example.test");
        config.maildir = dir.join("mail");
        config.spool = dir.join("spool");
        let storage =
            Arc::new(Storage::open(&config.maildir, &config.spool, "mx.example.test").unwrap());
        let stream = Duplex { input, output };
        let client = "127.0.0.1:4000".parse().unwrap();
        let (session, greeting) = Session::new(
            Settings::new(&config),
            Service::Smtp,
            Arc::new(config.policy.clone()),
            client,
        );
        let mut smtp = Smtp::new(session, storage, "mx.example.test", config.limits.clone())
            .with_transcript(transcript);
        let conversation = Conversation::new(stream, client, config.limits.command_timeout);
        conversation.run(&mut smtp, greeting).unwrap();
    }

    /// A session recorded for the sessions page, and what it recorded.
    fn recorded(input: impl std::io::Read) -> crate::wire::transcript::Record {
        let dir = tempfile::tempdir().unwrap();
        let recorder = crate::wire::transcript::Recorder::new(1).unwrap();
        let transcript = recorder.begin("SMTP", "127.0.0.1:4000".parse().unwrap());
        converse_recorded(dir.path(), input, &mut Vec::new(), Some(transcript.clone()));
        transcript.snapshot()
    }

    /// The lines of one side of a record.
    fn said(record: &crate::wire::transcript::Record, side: Side) -> Vec<&str> {
        let lines = record.lines.iter().filter(|entry| entry.side == side);
        lines.map(|entry| entry.text.as_str()).collect()
    }

    /// ARCHITECTURE.md, *250 only after the fsyncs*, seen from inside: a message for two
    /// local mailboxes and one remote recipient, and then, for every name the message
    /// got, the file's fsync and a directory fsync that began after the name was made
    /// and ended before the acknowledgement. Removing any of those fsyncs fails this.
    #[test]
    fn a_250_never_precedes_the_syncs_that_cover_it() {
        let dir = tempfile::tempdir().unwrap();
        let input: &[u8] = b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n\
            RCPT TO:<bob@localhost>\r\nRCPT TO:<carol@localhost>\r\n\
            RCPT TO:<dave@remote.test>\r\nDATA\r\nSubject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n";
        let mut output = Vec::new();
        converse(dir.path(), input, &mut output);
        let replies = String::from_utf8(output).unwrap();
        assert!(
            replies.contains("\r\n250 2.0.0 OK: queued as "),
            "{replies}"
        );

        // Only this test's files: other tests write down their own at the same time.
        let ours = |path: &Path| path.starts_with(dir.path());
        let seen: Vec<Seen> = events()
            .into_iter()
            .filter(|event| match event {
                Seen::FileSynced(p) | Seen::DirSyncStarted(p) | Seen::DirSyncDone(p) => ours(p),
                Seen::Named { to, .. } => ours(to),
                Seen::Acknowledged(_) => true,
            })
            .collect();
        let id = replies
            .split("queued as ")
            .nth(1)
            .and_then(|rest| rest.split("\r\n").next())
            .unwrap()
            .to_string();
        let acked = seen
            .iter()
            .position(|e| *e == Seen::Acknowledged(id.clone()))
            .expect("the message was acknowledged");
        let names: Vec<(usize, &PathBuf, &PathBuf)> = seen[..acked]
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Seen::Named { from, to } => Some((i, from, to)),
                _ => None,
            })
            .collect();
        // bob's and carol's new/, the queue's messages/ and envelopes/.
        let places = |part: &str| {
            names
                .iter()
                .filter(|(_, _, to)| to.to_string_lossy().contains(part))
                .count()
        };
        assert_eq!(places("/new/"), 2, "{seen:#?}");
        assert_eq!(places("/messages/"), 1, "{seen:#?}");
        assert_eq!(places("/envelopes/"), 1, "{seen:#?}");
        for (named_at, from, to) in names {
            // The bytes were on disk before the name pointed at them...
            assert!(
                seen[..named_at].contains(&Seen::FileSynced(from.clone())),
                "{} named before its fsync: {seen:#?}",
                to.display()
            );
            // ...and the name was on disk before the 250: a directory fsync that
            // began after the name was made, and ended before the acknowledgement.
            let parent = to.parent().unwrap().to_path_buf();
            let started = seen[named_at..acked]
                .iter()
                .position(|e| *e == Seen::DirSyncStarted(parent.clone()))
                .map(|i| named_at + i);
            let covered = started.is_some_and(|started| {
                seen[started..acked].contains(&Seen::DirSyncDone(parent.clone()))
            });
            assert!(
                covered,
                "{} acknowledged before its directory was synced: {seen:#?}",
                to.display()
            );
        }
    }

    /// RFC 6152 and RFC 6531 §3.4: what MAIL said about the body travels with the
    /// queued copy, so that the relay client can ask the next server for the same (or
    /// bounce the message if it cannot). Two transactions: one with BODY=8BITMIME and
    /// SMTPUTF8, one with neither.
    #[test]
    fn the_queue_keeps_what_mail_said_about_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let input: &[u8] = b"EHLO client.example\r\n\
            MAIL FROM:<a@example.org> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<dave@remote.test>\r\n\
            DATA\r\nSubject: caf\xc3\xa9\r\n\r\nHello\r\n.\r\n\
            MAIL FROM:<a@example.org>\r\nRCPT TO:<dave@remote.test>\r\n\
            DATA\r\nSubject: plain\r\n\r\nHello\r\n.\r\nQUIT\r\n";
        let mut output = Vec::new();
        converse(dir.path(), input, &mut output);
        let replies = String::from_utf8(output).unwrap();
        let ids: Vec<MessageId> = replies
            .split("queued as ")
            .skip(1)
            .map(|rest| rest.split("\r\n").next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "{replies}");

        let spool = crate::store::spool::Spool::open(dir.path().join("spool")).unwrap();
        let marks = |id: &MessageId| {
            let entry = spool.load(id).unwrap();
            (entry.eight_bit, entry.smtputf8)
        };
        assert_eq!(marks(&ids[0]), (true, true));
        assert_eq!(marks(&ids[1]), (false, false));
    }

    /// The sessions page's record of a whole delivery: the client's lines as `--trace`
    /// would show them, the name from EHLO, each change of state, the size of the
    /// message text, the id it was stored under, and how the session ended.
    #[test]
    fn a_recorded_session_keeps_the_dialogue_and_the_delivery() {
        let record = recorded(
            &b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@localhost>\r\n\
              DATA\r\nSubject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n"[..],
        );
        assert_eq!(record.helo, "client.example");
        let client = said(&record, Side::Client);
        assert_eq!(client[0], "EHLO client.example", "{client:?}");
        // Four lines, the dot included: 13 + 2 + 7 + 3 octets.
        assert_eq!(
            said(&record, Side::Note),
            ["message text: 4 lines, 25 octets"]
        );
        assert_eq!(record.message_ids.len(), 1, "{record:?}");
        let states = said(&record, Side::State);
        assert!(
            states.len() >= 4,
            "greeted, MAIL, RCPT, DATA, stored: {states:?}"
        );
        assert_eq!(record.outcome, "closed");

        // HELO names the client just as EHLO does.
        let record = recorded(&b"HELO old.example\r\nQUIT\r\n"[..]);
        assert_eq!(record.helo, "old.example");
    }

    /// How message text ended is part of the record: a bare LF (RFC 5321 §2.3.8), or
    /// a client that fell silent before the dot.
    #[test]
    fn a_recorded_session_says_how_the_message_text_ended() {
        let start = "EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n\
                     RCPT TO:<bob@localhost>\r\nDATA\r\nSubject: hi\r\n";
        let bare = format!("{start}Hello\n.\r\nQUIT\r\n");
        let record = recorded(bare.as_bytes());
        assert_eq!(
            said(&record, Side::Note),
            ["message text: 2 lines, 19 octets, the last not ended by CRLF alone"]
        );

        /// A client that says nothing more: every read times out.
        struct Silent;
        impl std::io::Read for Silent {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::TimedOut.into())
            }
        }
        let record = recorded(std::io::Read::chain(start.as_bytes(), Silent));
        assert_eq!(
            said(&record, Side::Note),
            ["message text: 1 line, 13 octets, then silence"]
        );
        assert!(record.message_ids.is_empty(), "{record:?}");
    }

    /// Every write the conversation makes, kept apart.
    struct Writes(Vec<Vec<u8>>);

    impl std::io::Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// RFC 2920 §3.2, without a clock: a hundred pipelined NOOPs that arrive together
    /// are answered together, in one write, not a write (and a round trip) each; and a
    /// command the client waits on gets its reply before the server reads on. The
    /// flood test (tests/flood.rs) sends ten thousand over a socket and prints the time.
    #[test]
    fn pipelined_commands_are_answered_in_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let input = [b"NOOP\r\n".repeat(100), b"QUIT\r\n".to_vec()].concat();
        let mut writes = Writes(Vec::new());
        converse(dir.path(), &input, &mut writes);
        let writes: Vec<String> = writes
            .0
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        // The greeting, flushed before the first read; then every reply of the batch.
        assert_eq!(writes.len(), 2, "{writes:#?}");
        assert!(writes[0].starts_with("220 "), "{writes:#?}");
        assert_eq!(writes[1].matches("250 ").count(), 100, "{writes:#?}");
        assert!(writes[1].ends_with("\r\n") && writes[1].contains("\r\n221 "));
    }
}
