//! The whole sans-IO conversation on any input: the line reader, the session's state
//! machine and, after a 354, the DATA decoder, driven the way src/connection.rs drives
//! them (with a pretend disk that always succeeds). It must never panic, every reply must
//! be well formed (RFC 5321 §4.2: same code on every line, at most 512 octets, CRLF), and
//! nothing is read after a closing reply.
#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use postie::config::Settings;
use postie::config::{Config, Service};
use postie::smtp::data::{DataDecoder, DataLine};
use postie::smtp::reply::Reply;
use postie::smtp::session::{Action, Effect, Input, MessageOutcome, Session, State};
use postie::wire::line::{LineReader, ReadError};
use postie::wire::Event;

fn check(reply: &Reply) {
    let wire = reply.to_wire_string();
    let code = reply.code().to_string();
    assert!((200..600).contains(&reply.code()));
    let lines: Vec<&str> = wire.split_inclusive("\r\n").collect();
    assert_eq!(lines.len(), reply.lines().len(), "{wire:?}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.len() <= 512 && line.ends_with("\r\n") && line.starts_with(&code));
        assert_eq!(line.matches('\n').count(), 1, "{wire:?}");
        let separator = if i + 1 == lines.len() { ' ' } else { '-' };
        assert_eq!(line.as_bytes()[3], separator as u8, "{wire:?}");
    }
}

fuzz_target!(|input: &[u8]| {
    let mut config = Config::new("mx.example.test");
    config.policy.local_domains = vec!["localhost".into(), "example.test".into()];
    config.limits.max_recipients = 3;
    config.limits.max_message_size = 300;
    let client: SocketAddr = "192.0.2.1:1025".parse().unwrap();
    let limits = config.limits.clone();
    let settings = Settings::new(&config);
    let (mut session, greeting) = Session::new(
        settings,
        Service::Smtp,
        Arc::new(config.policy.clone()),
        client,
    );
    check(&greeting);
    let mut reader = LineReader::new(input);
    loop {
        let action = match reader.read_line(limits.command_line) {
            Ok(line) => session.handle(Input::Wire(Event::Line(line))),
            Err(ReadError::TooLong) => session.handle(Input::Wire(Event::LineTooLong)),
            Err(_) => return,
        };
        // Every action a command line gets carries a reply.
        check(action.reply().expect("a reply"));
        match action {
            Action::Reply(_) => assert!(!matches!(
                session.state(),
                State::Closed | State::Data { .. }
            )),
            // The configuration has no certificate, so STARTTLS is never offered; a
            // session that asked for a handshake anyway would be a bug.
            Action::StartTls(reply) => panic!("STARTTLS without TLS configured: {reply}"),
            Action::Close(_) => {
                assert_eq!(session.state(), &State::Closed);
                return;
            }
            Action::Listen => panic!("a command line always gets a reply"),
            Action::Effect(Effect::ReceiveData(reply)) => {
                assert_eq!(reply.code(), 354);
                assert!(session.transaction().is_some());
                let mut decoder =
                    DataDecoder::new(limits.max_message_size, limits.max_received_headers);
                let end = loop {
                    match reader.read_line(decoder.read_limit()) {
                        Ok(line) => match decoder.feed(line) {
                            DataLine::Content(_) | DataLine::Discard => {}
                            DataLine::End => break true,
                            DataLine::BareNewline => break false,
                        },
                        Err(ReadError::TooLong) => decoder.line_too_long(),
                        Err(_) => return,
                    }
                };
                if !end {
                    let action = session.handle(Input::BareNewlineInData);
                    check(action.reply().expect("a reply"));
                    assert_eq!(session.state(), &State::Closed);
                    return;
                }
                let outcome = match decoder.outcome() {
                    Ok(_) => MessageOutcome::Stored { id: "id".into() },
                    Err(refusal) => MessageOutcome::Refused(refusal),
                };
                let action = session.handle(Input::MessageEnd(outcome));
                check(action.reply().expect("a reply"));
                assert!(matches!(
                    session.state(),
                    State::Ready { .. } | State::Closed
                ));
                if let Action::Close(_) = action {
                    return;
                }
            }
        }
    }
});
