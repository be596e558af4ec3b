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

    /// Passes the session's transitions, and the name it was given in HELO or EHLO,
    /// on to the transcript.
    fn note(&mut self, line: Option<&[u8]>) {
        let Some(transcript) = &self.transcript else {
            return;
        };
        if let Some(line) = line {
            let text = String::from_utf8_lossy(line);
            let mut words = text.split_whitespace();
            if let (Some(verb), Some(name)) = (words.next(), words.next()) {
                if verb.eq_ignore_ascii_case("EHLO") || verb.eq_ignore_ascii_case("HELO") {
                    transcript.set_helo(name);
                }
            }
        }
        for transition in self.session.take_transitions() {
            transcript.push(Side::State, &transition);
        }
    }
}

impl Dialogue for Smtp {
    type Reply = Reply;
    type Effect = Effect;
    const NAME: &'static str = "SMTP";

    fn handle(&mut self, event: Event<'_>) -> Action {
        let line = match &event {
            Event::Line(line) if self.transcript.is_some() => Some(line.text().to_vec()),
            _ => None,
        };
        let action = self.session.handle(Input::from(event));
        self.note(line.as_deref());
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
            transcript.push(
                Side::Note,
                &format!("message text: {lines} lines, {octets} octets{how}"),
            );
            if let Input::MessageEnd(MessageOutcome::Stored { id }) = &end {
                transcript.delivered(id);
            }
        }
        let action = self.session.handle(end);
        self.note(None);
        Ok(Some(action))
    }
    // ANCHOR_END: receive_message

    // ANCHOR: end_of_data
    /// The lone dot arrived. Only a complete message that reached the disk gets 250;
    /// an `Incoming` dropped without `commit` leaves nothing behind.
    fn end_of_data(&self, outcome: Result<u64, Refusal>, message: Incoming) -> MessageOutcome {
        let result = match outcome {
            Ok(_size) => match message.commit() {
                Ok(id) => MessageOutcome::Stored { id: id.to_string() },
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
