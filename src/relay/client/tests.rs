//! Client tests: a scripted fake server, a real postie, and smtp-sink.
use super::*;
use std::collections::VecDeque;

/// A fake server. Each read hands out its next turn (one or more reply lines; `\n` in
/// the script becomes CRLF); after the last turn it closes. Every write and every
/// timeout the client sets is recorded.
#[derive(Default)]
struct Script {
    turns: VecDeque<Vec<u8>>,
    writes: Vec<Vec<u8>>,
    timeouts: Vec<Duration>,
}

impl Script {
    fn new(turns: &[&str]) -> Script {
        let crlf = |turn: &&str| turn.lines().map(|l| format!("{l}\r\n")).collect::<String>();
        Script {
            turns: turns.iter().map(|t| crlf(t).into_bytes()).collect(),
            ..Script::default()
        }
    }

    /// Everything the client wrote, as one string.
    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.writes.concat()).into_owned()
    }

    /// Asserts that the client's last words were `tail`.
    fn assert_sent_ends_with(&self, tail: &str) {
        let sent = self.sent();
        assert!(sent.ends_with(tail), "{sent}");
    }

    /// Asserts that the client said `words` somewhere.
    fn assert_sent_contains(&self, words: &str) {
        let sent = self.sent();
        assert!(sent.contains(words), "{sent}");
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(mut turn) = self.turns.pop_front() else {
            return Ok(0);
        };
        let n = turn.len().min(buf.len());
        buf[..n].copy_from_slice(&turn[..n]);
        if n < turn.len() {
            self.turns.push_front(turn.split_off(n));
        }
        Ok(n)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.push(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SetTimeout for Script {
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.timeouts.push(timeout);
        Ok(())
    }
}

const MESSAGE: &[u8] = b"Subject: hi\r\n\r\nhello\r\n";

fn recipients(list: &[&str]) -> Vec<String> {
    list.iter().map(|r| r.to_string()).collect()
}

fn envelope(recipients: &[String]) -> Envelope<'_> {
    Envelope {
        reverse_path: "alice@a.test",
        recipients,
        size: MESSAGE.len() as u64,
        eight_bit: false,
        smtputf8: false,
    }
}

fn run(script: &mut Script, envelope: &Envelope) -> Result<Vec<RecipientOutcome>, ClientError> {
    deliver(
        script,
        "client.a.test",
        envelope,
        MESSAGE,
        &Timeouts::default(),
    )
}

/// Delivers `MESSAGE` from alice to `rcpts` through a server that plays `turns`:
/// the outcomes, and the server, which knows what the client sent.
fn session(rcpts: &[&str], turns: &[&str]) -> (Vec<RecipientOutcome>, Script) {
    let rcpts = recipients(rcpts);
    let mut server = Script::new(turns);
    let outcomes = run(&mut server, &envelope(&rcpts)).unwrap();
    (outcomes, server)
}

/// Asserts that `outcome` is a deferral whose reason begins with `why`.
fn assert_deferred(outcome: &RecipientOutcome, why: &str) {
    let RecipientOutcome::Deferred(reason) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.starts_with(why), "{reason}");
}

fn reply(code: u16, text: &str) -> ServerReply {
    ServerReply {
        code,
        lines: vec![text.to_string()],
    }
}

fn read_one(input: &str) -> Result<ServerReply, ClientError> {
    read_reply(&mut LineReader::new(input.as_bytes()))
}

// --- replies -------------------------------------------------------------------

#[test]
fn replies_are_parsed() {
    // (wire, code, lines)
    let table: &[(&str, u16, &[&str])] = &[
        ("250 OK\r\n", 250, &["OK"]),
        ("250\r\n", 250, &[""]),
        ("250 \r\n", 250, &[""]),
        (
            "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
            250,
            &["mx", "PIPELINING", "SIZE 100"],
        ),
        ("250-first\r\n250\r\n", 250, &["first", ""]),
        (
            "550 5.1.1 <b@b.test>: no\r\n",
            550,
            &["5.1.1 <b@b.test>: no"],
        ),
        // A bare LF is tolerated in replies.
        ("220 mx ready\n", 220, &["mx ready"]),
        ("421 4.3.0 bye caf\u{e9}\r\n", 421, &["4.3.0 bye caf\u{e9}"]),
    ];
    for &(wire, code, lines) in table {
        let reply = read_one(wire).unwrap_or_else(|e| panic!("{wire:?}: {e}"));
        assert_eq!(reply.code, code, "{wire:?}");
        assert_eq!(reply.lines, lines, "{wire:?}");
    }
}

#[test]
fn malformed_replies_are_protocol_errors() {
    let table = [
        "hello\r\n",
        "25\r\n",
        "2500 x\r\n",
        "250x\r\n",
        "150 too small\r\n",
        "650 too big\r\n",
        "25a ok\r\n",
        // §4.2.1: every line of one reply has the same code.
        "250-a\r\n251 b\r\n",
    ];
    for wire in table {
        match read_one(wire) {
            Err(ClientError::Protocol(_)) => {}
            other => panic!("{wire:?}: expected a protocol error, got {other:?}"),
        }
    }
    let endless = "250-x\r\n".repeat(REPLY_MAX_LINES + 1);
    assert!(matches!(read_one(&endless), Err(ClientError::Protocol(_))));
    let long = format!("250 {}\r\n", "x".repeat(REPLY_LINE_LIMIT));
    assert!(matches!(read_one(&long), Err(ClientError::Protocol(_))));
    // A reply cut off by the end of the connection is an I/O error.
    assert!(matches!(read_one("250-a\r\n"), Err(ClientError::Io(_))));
}

#[test]
fn enhanced_codes_and_summaries() {
    let r = reply(550, "5.1.1 <bob@b.test>: no such user");
    assert_eq!(
        r.enhanced().map(|s| s.to_string()).as_deref(),
        Some("5.1.1")
    );
    assert_eq!(r.summary(), "550 5.1.1 <bob@b.test>: no such user");
    assert_eq!(r.to_string(), r.summary());
    assert_eq!(
        reply(250, "2.0.0")
            .enhanced()
            .map(|s| s.to_string())
            .as_deref(),
        Some("2.0.0")
    );
    assert_eq!(
        reply(452, "4.5.3 too many")
            .enhanced()
            .map(|s| s.to_string())
            .as_deref(),
        Some("4.5.3")
    );
    for text in [
        "OK",
        "",
        "3.1.1 x",
        "5.1 x",
        "5.1.1.1 x",
        "5.1000.1 x",
        "5.a.1 x",
        "55.1.1 x",
        // RFC 3463 §2: no leading zeros.
        "5.01.1 x",
    ] {
        assert_eq!(reply(550, text).enhanced(), None, "{text:?}");
    }
    assert_eq!(reply(250, "").summary(), "250");
    let multi = ServerReply {
        code: 451,
        lines: vec!["4.3.0 first".into(), "second".into()],
    };
    assert_eq!(multi.summary(), "451 4.3.0 first / second");
}

#[test]
fn ehlo_keywords_are_read_case_insensitively() {
    let ehlo = ServerReply {
        code: 250,
        lines: vec![
            "mx.b.test greets you".into(),
            "pipelining".into(),
            "SIZE 1000".into(),
            "8bitmime".into(),
            "SMTPUTF8".into(),
            "AUTH PLAIN".into(),
        ],
    };
    let offered = Extensions::from_ehlo(&ehlo);
    let expected = Extensions {
        pipelining: true,
        size: true,
        max_size: Some(1000),
        eight_bit_mime: true,
        smtputf8: true,
    };
    assert_eq!(offered, expected);
    // RFC 1870 §3: "SIZE 0" and a bare "SIZE" set no limit; the first line is a name.
    for size in ["SIZE", "SIZE 0"] {
        let r = ServerReply {
            code: 250,
            lines: vec!["PIPELINING".into(), size.into()],
        };
        let offered = Extensions::from_ehlo(&r);
        assert!(
            offered.size && offered.max_size.is_none() && !offered.pipelining,
            "{size}"
        );
    }
}

// --- dot-stuffing --------------------------------------------------------------

fn stuffed(message: &[u8]) -> String {
    let mut out = Vec::new();
    write_stuffed(&mut out, message).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn dot_stuffing() {
    // (message, on the wire)
    let table: &[(&[u8], &str)] = &[
        (b"a\r\n.x\r\nb\r\n", "a\r\n..x\r\nb\r\n.\r\n"),
        (b".\r\n", "..\r\n.\r\n"),
        (b"..\r\n", "...\r\n.\r\n"),
        (b".first line\r\n", "..first line\r\n.\r\n"),
        (b"a.b\r\n x.\r\n", "a.b\r\n x.\r\n.\r\n"),
        // No CRLF at the end: one is added before the dot line.
        (b"no newline", "no newline\r\n.\r\n"),
        (b"a\r\n.", "a\r\n..\r\n.\r\n"),
        (b"", ".\r\n"),
    ];
    for &(message, wire) in table {
        assert_eq!(stuffed(message), wire, "{}", message.escape_ascii());
    }
}

#[test]
fn message_text_goes_out_in_large_chunks() {
    let line = b".0123456789012345678901234567890123456789012345678901234567890123456789\r\n";
    let message = line.repeat(10_000); // about 720 KB
    let mut out = Script::default();
    write_stuffed(&mut out, &message).unwrap();
    assert!(
        out.writes.len() <= message.len() / CHUNK + 2,
        "{} writes",
        out.writes.len()
    );
    let wire = out.writes.concat();
    assert_eq!(wire.len(), message.len() + 10_000 + 3);
    assert!(wire.starts_with(b"..0123") && wire.ends_with(b"789\r\n.\r\n"));
}

// --- whole sessions --------------------------------------------------------------

#[test]
fn happy_path_without_pipelining_one_command_per_write() {
    let (outcomes, server) = session(
        &["bob@b.test", "carol@b.test"],
        &[
            "220 mx.b.test ESMTP",
            "250-mx.b.test\n250-SIZE 1000\n250 8BITMIME",
            "250 2.1.0 ok",
            "250 2.1.5 ok",
            "251 2.1.5 will forward",
            "354 go ahead",
            "250 2.0.0 queued as 42",
            "221 2.0.0 bye",
        ],
    );
    let delivered = RecipientOutcome::Delivered(reply(250, "2.0.0 queued as 42"));
    assert_eq!(outcomes, [delivered.clone(), delivered]);
    let size = MESSAGE.len();
    assert_eq!(
        server.sent(),
        format!(
            "EHLO client.a.test\r\n\
             MAIL FROM:<alice@a.test> SIZE={size}\r\n\
             RCPT TO:<bob@b.test>\r\n\
             RCPT TO:<carol@b.test>\r\n\
             DATA\r\n\
             Subject: hi\r\n\r\nhello\r\n.\r\n\
             QUIT\r\n"
        )
    );
    // One write per command, one for the message text and its dot.
    assert_eq!(server.writes.len(), 7);
}

#[test]
fn happy_path_with_pipelining_sends_mail_rcpts_and_data_in_one_write() {
    let (outcomes, server) = session(
        &["bob@b.test", "carol@b.test"],
        &[
            "220 mx.b.test ESMTP",
            "250-mx.b.test\n250-PIPELINING\n250 SIZE",
            // A pipelining server answers the whole batch at once.
            "250 ok\n250 ok\n250 ok\n354 go ahead",
            "250 queued",
            "221 bye",
        ],
    );
    let delivered = RecipientOutcome::Delivered(reply(250, "queued"));
    assert_eq!(outcomes, [delivered.clone(), delivered]);
    let batch = format!(
        "MAIL FROM:<alice@a.test> SIZE={}\r\nRCPT TO:<bob@b.test>\r\nRCPT TO:<carol@b.test>\r\nDATA\r\n",
        MESSAGE.len()
    );
    let writes: Vec<String> = server
        .writes
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    assert_eq!(
        writes,
        [
            "EHLO client.a.test\r\n".to_string(),
            batch,
            "Subject: hi\r\n\r\nhello\r\n.\r\n".to_string(),
            "QUIT\r\n".to_string(),
        ]
    );
}

/// RFC 2920 §3.1's window, to the octet: a batch of MAIL, the RCPTs and DATA that
/// fills 4,096 octets (CRLFs included) goes out in one write; one octet more, and each
/// command goes alone.
#[test]
fn a_batch_of_exactly_the_tcp_window_is_pipelined_one_octet_more_is_not() {
    // MAIL FROM:<alice@a.test> and DATA take 26 + 6 octets; each RCPT TO:<userNNN@b.test>
    // takes 26, so 156 of them make 4,088, and the first address gets `pad` more.
    for (pad, pipelined) in [(8, true), (9, false)] {
        let mut rcpts: Vec<String> = (0..156).map(|i| format!("user{i:03}@b.test")).collect();
        rcpts[0] = format!("user000{}@b.test", "x".repeat(pad));
        let mut turns = vec!["220 mx", "250-mx\n250 PIPELINING"];
        turns.extend(std::iter::repeat_n("250 ok", 1 + rcpts.len()));
        turns.extend(["354 go", "250 queued", "221 bye"]);
        let mut server = Script::new(&turns);
        let outcomes = run(&mut server, &envelope(&rcpts)).unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, RecipientOutcome::Delivered(_))));
        if pipelined {
            // EHLO, the batch, the text, QUIT.
            assert_eq!(server.writes.len(), 4);
            assert_eq!(server.writes[1].len(), 4096);
        } else {
            // EHLO, MAIL, 156 RCPTs, DATA, the text, QUIT.
            assert_eq!(server.writes.len(), 161);
        }
    }
}

/// RFC 1870 §3: SIZE names the largest message the server takes, so a message of
/// exactly that size is sent.
#[test]
fn a_message_of_exactly_the_servers_size_is_sent() {
    let size = MESSAGE.len();
    let ehlo = format!("250-mx\n250 SIZE {size}");
    let turns = [
        "220 mx",
        &ehlo,
        "250 ok",
        "250 ok",
        "354 go",
        "250 queued",
        "221 bye",
    ];
    let (outcomes, server) = session(&["bob@b.test"], &turns);
    assert_eq!(
        outcomes,
        [RecipientOutcome::Delivered(reply(250, "queued"))]
    );
    server.assert_sent_contains(&format!("MAIL FROM:<alice@a.test> SIZE={size}\r\n"));
}

#[test]
fn a_batch_too_big_for_the_tcp_window_is_not_pipelined() {
    let many: Vec<String> = (0..200).map(|i| format!("user{i}@b.test")).collect();
    let mut turns = vec!["220 mx", "250-mx\n250 PIPELINING", "250 ok"];
    turns.extend(std::iter::repeat_n("250 ok", many.len()));
    turns.extend(["354 go", "250 queued", "221 bye"]);
    let mut server = Script::new(&turns);
    let outcomes = run(&mut server, &envelope(&many)).unwrap();
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, RecipientOutcome::Delivered(_))));
    // EHLO, MAIL, 200 RCPTs, DATA, the text, QUIT: one write each.
    assert_eq!(server.writes.len(), 205);
}

/// Each character that could end an address early is refused on its own: any control
/// character (CR, LF, NUL), and either angle bracket (RFC 5321 §4.1.2: `Path`).
#[test]
fn no_control_character_or_angle_bracket_is_sendable() {
    for bad in [
        "a\rb@b.test",
        "a\nb@b.test",
        "a\0b@b.test",
        "a<b@b.test",
        "a>b@b.test",
    ] {
        assert!(!sendable(bad), "{bad:?}");
    }
    assert!(sendable("bob@b.test"));
    assert!(sendable("\"odd one\"@b.test"));
}

#[test]
fn an_address_with_a_line_break_cannot_smuggle_a_command() {
    let rcpts = recipients(&["evil@b.test>\r\nRCPT TO:<spy@c.test", "bob@b.test"]);
    for ehlo in ["250 mx", "250-mx\n250 PIPELINING"] {
        let mut server = Script::new(&[
            "220 mx",
            ehlo,
            "250 ok",
            "250 ok",
            "354 go",
            "250 queued",
            "221 bye",
        ]);
        let outcomes = run(&mut server, &envelope(&rcpts)).unwrap();
        let RecipientOutcome::Failed(refused) = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(
            refused.enhanced().map(|s| s.to_string()).as_deref(),
            Some("5.1.3")
        );
        assert_eq!(
            outcomes[1],
            RecipientOutcome::Delivered(reply(250, "queued"))
        );
        assert!(!server.sent().contains("spy"), "{}", server.sent());
    }
    // A bad sender fails everyone, and no session is even begun.
    let rcpts = recipients(&["bob@b.test"]);
    let env = Envelope {
        reverse_path: "a@a.test>\r\nRSET",
        ..envelope(&rcpts)
    };
    let mut server = Script::new(&["220 mx"]);
    let outcomes = run(&mut server, &env).unwrap();
    assert!(matches!(&outcomes[..], [RecipientOutcome::Failed(r)] if r.code == 553));
    assert!(server.writes.is_empty());
}

#[test]
fn ehlo_refused_with_5xx_falls_back_to_helo_without_parameters() {
    let rcpts = recipients(&["bob@b.test"]);
    let mut env = envelope(&rcpts);
    env.eight_bit = true;
    let mut server = Script::new(&[
        "220 old.b.test SMTP",
        "502 5.5.1 command not recognized",
        "250 old.b.test",
        "250 ok",
        "250 ok",
        "354 go",
        "250 ok",
        "221 bye",
    ]);
    let outcomes = run(&mut server, &env).unwrap();
    assert_eq!(outcomes, [RecipientOutcome::Delivered(reply(250, "ok"))]);
    let sent = server.sent();
    assert!(
        sent.starts_with(
            "EHLO client.a.test\r\nHELO client.a.test\r\nMAIL FROM:<alice@a.test>\r\n"
        ),
        "{sent}"
    );
}

/// Only a permanent "I do not know EHLO" earns a HELO (RFC 5321 §3.2); a 4xx is the
/// server's trouble, and the session is refused (the next MX host is tried).
#[test]
fn ehlo_refused_for_now_is_a_refusal_not_a_helo() {
    let rcpts = recipients(&["bob@b.test"]);
    let mut server = Script::new(&["220 mx", "451 4.3.0 try later", "221 bye"]);
    match run(&mut server, &envelope(&rcpts)) {
        Err(ClientError::Refused(r)) => assert_eq!(r, reply(451, "4.3.0 try later")),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.sent(), "EHLO client.a.test\r\nQUIT\r\n");
}

#[test]
fn helo_refused_too_is_a_refusal() {
    let rcpts = recipients(&["bob@b.test"]);
    let mut server = Script::new(&["220 mx", "500 no", "550 no either", "221 bye"]);
    match run(&mut server, &envelope(&rcpts)) {
        Err(ClientError::Refused(r)) => assert_eq!(r, reply(550, "no either")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.sent(),
        "EHLO client.a.test\r\nHELO client.a.test\r\nQUIT\r\n"
    );
}

#[test]
fn message_over_the_advertised_size_fails_without_being_sent() {
    let (outcomes, server) = session(
        &["bob@b.test", "carol@b.test"],
        &["220 mx", "250-mx\n250-PIPELINING\n250 SIZE 10", "221 bye"],
    );
    for outcome in &outcomes {
        let RecipientOutcome::Failed(r) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(r.code, 552);
        assert_eq!(
            r.enhanced().map(|s| s.to_string()).as_deref(),
            Some("5.3.4")
        );
    }
    assert_eq!(outcomes.len(), 2);
    assert_eq!(server.sent(), "EHLO client.a.test\r\nQUIT\r\n");
}

#[test]
fn smtputf8_message_fails_when_the_server_does_not_offer_it() {
    let rcpts = recipients(&["bob@b.test"]);
    let mut env = envelope(&rcpts);
    env.smtputf8 = true;
    let mut server = Script::new(&["220 mx", "250-mx\n250 8BITMIME", "221 bye"]);
    let outcomes = run(&mut server, &env).unwrap();
    let [RecipientOutcome::Failed(r)] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(
        (r.code, r.enhanced().map(|s| s.to_string()).as_deref()),
        (553, Some("5.6.7"))
    );
    assert_eq!(server.sent(), "EHLO client.a.test\r\nQUIT\r\n");
}

#[test]
fn mail_parameters_follow_the_offer() {
    let rcpts = recipients(&["bob@b.test"]);
    let mut env = envelope(&rcpts);
    env.eight_bit = true;
    env.smtputf8 = true;
    env.reverse_path = "";
    let mut server = Script::new(&[
        "220 mx",
        "250-mx\n250-8BITMIME\n250 SMTPUTF8",
        "250 ok",
        "250 ok",
        "354 go",
        "250 ok",
        "221 bye",
    ]);
    run(&mut server, &env).unwrap();
    server.assert_sent_contains("\r\nMAIL FROM:<> BODY=8BITMIME SMTPUTF8\r\n");
    // No 8BITMIME offered: the message goes anyway, without BODY= (see the module header).
    env.smtputf8 = false;
    let mut server = Script::new(&[
        "220 mx",
        "250-mx\n250 HELP",
        "250 ok",
        "250 ok",
        "354 go",
        "250 ok",
        "221 bye",
    ]);
    run(&mut server, &env).unwrap();
    server.assert_sent_contains("\r\nMAIL FROM:<>\r\n");
}

#[test]
fn each_recipient_gets_its_own_rcpt_outcome() {
    let rcpts = recipients(&["ok@b.test", "later@b.test", "never@b.test"]);
    for pipelining in [false, true] {
        let ehlo = if pipelining {
            "250-mx\n250 PIPELINING"
        } else {
            "250 mx"
        };
        let mut server = Script::new(&[
            "220 mx",
            ehlo,
            "250 ok",
            "250 2.1.5 ok",
            "450 4.2.1 mailbox busy",
            "550 5.1.1 <never@b.test>: no such user",
            "354 go",
            "250 2.0.0 queued",
            "221 bye",
        ]);
        let outcomes = run(&mut server, &envelope(&rcpts)).unwrap();
        assert_eq!(
            outcomes,
            [
                RecipientOutcome::Delivered(reply(250, "2.0.0 queued")),
                RecipientOutcome::Deferred("450 4.2.1 mailbox busy".into()),
                RecipientOutcome::Failed(reply(550, "5.1.1 <never@b.test>: no such user")),
            ],
            "pipelining {pipelining}"
        );
    }
}

#[test]
fn no_accepted_recipient_means_no_data() {
    let (outcomes, server) = session(
        &["a@b.test", "c@b.test"],
        &[
            "220 mx",
            "250 mx",
            "250 ok",
            "550 no",
            "450 later",
            "221 bye",
        ],
    );
    assert_eq!(
        outcomes,
        [
            RecipientOutcome::Failed(reply(550, "no")),
            RecipientOutcome::Deferred("450 later".into())
        ]
    );
    server.assert_sent_ends_with("RCPT TO:<c@b.test>\r\nQUIT\r\n");
}

#[test]
fn pipelined_data_accepted_without_recipients_gets_a_lone_dot() {
    // RFC 2920 §3.1: the client must check the DATA reply and, on 354, send the dot.
    let (outcomes, server) = session(
        &["a@b.test"],
        &[
            "220 mx",
            "250-mx\n250 PIPELINING",
            "250 ok\n550 no\n354 go",
            "554 no valid recipients",
            "221 bye",
        ],
    );
    assert_eq!(outcomes, [RecipientOutcome::Failed(reply(550, "no"))]);
    server.assert_sent_ends_with("DATA\r\n.\r\nQUIT\r\n");
    assert!(!server.sent().contains("hello"));
}

#[test]
fn pipelined_data_refused_without_recipients() {
    let (outcomes, server) = session(
        &["a@b.test"],
        &[
            "220 mx",
            "250-mx\n250 PIPELINING",
            "250 ok\n550 no\n554 5.5.1 no valid recipients",
            "221 bye",
        ],
    );
    assert_eq!(outcomes, [RecipientOutcome::Failed(reply(550, "no"))]);
    server.assert_sent_ends_with("DATA\r\nQUIT\r\n");
}

#[test]
fn mail_refused_decides_every_recipient() {
    let rcpts = &["a@b.test", "c@b.test"];
    // Without PIPELINING no RCPT is sent at all.
    let (outcomes, server) = session(
        rcpts,
        &["220 mx", "250 mx", "451 4.3.0 try later", "221 bye"],
    );
    let later = RecipientOutcome::Deferred("451 4.3.0 try later".into());
    assert_eq!(outcomes, [later.clone(), later]);
    server.assert_sent_ends_with("MAIL FROM:<alice@a.test>\r\nQUIT\r\n");
    // With PIPELINING the RCPTs and DATA are already out: their 503s are read and ignored.
    let (outcomes, server) = session(
        rcpts,
        &[
            "220 mx",
            "250-mx\n250 PIPELINING",
            "553 5.1.8 bad sender\n503 5.5.1 MAIL first\n503 5.5.1 MAIL first\n503 5.5.1 MAIL first",
            "221 bye",
        ],
    );
    let failed = RecipientOutcome::Failed(reply(553, "5.1.8 bad sender"));
    assert_eq!(outcomes, [failed.clone(), failed]);
    server.assert_sent_ends_with("DATA\r\nQUIT\r\n");
}

#[test]
fn final_reply_decides_the_accepted_recipients() {
    let rcpts = recipients(&["a@b.test", "c@b.test"]);
    for (last, expected) in [
        (
            "451 4.3.0 local error",
            RecipientOutcome::Deferred("451 4.3.0 local error".into()),
        ),
        (
            "554 5.6.0 rejected",
            RecipientOutcome::Failed(reply(554, "5.6.0 rejected")),
        ),
    ] {
        let mut server = Script::new(&[
            "220 mx", "250 mx", "250 ok", "250 ok", "550 no", "354 go", last, "221 bye",
        ]);
        let outcomes = run(&mut server, &envelope(&rcpts)).unwrap();
        assert_eq!(
            outcomes,
            [expected, RecipientOutcome::Failed(reply(550, "no"))],
            "{last}"
        );
    }
}

#[test]
fn data_refused_decides_the_accepted_recipients() {
    let rcpts = recipients(&["a@b.test"]);
    for (data, expected) in [
        (
            "451 4.3.1 disk full",
            RecipientOutcome::Deferred("451 4.3.1 disk full".into()),
        ),
        (
            "554 5.7.1 go away",
            RecipientOutcome::Failed(reply(554, "5.7.1 go away")),
        ),
    ] {
        let mut server = Script::new(&["220 mx", "250 mx", "250 ok", "250 ok", data, "221 bye"]);
        let outcomes = run(&mut server, &envelope(&rcpts)).unwrap();
        assert_eq!(outcomes, [expected], "{data}");
        assert!(server.sent().ends_with("DATA\r\nQUIT\r\n"));
    }
}

#[test]
fn greeting_other_than_220_is_a_refusal_and_we_still_quit() {
    let rcpts = recipients(&["a@b.test"]);
    let mut server = Script::new(&["554 5.7.1 no service for you", "221 bye"]);
    match run(&mut server, &envelope(&rcpts)) {
        Err(ClientError::Refused(r)) => assert_eq!(r.code, 554),
        other => panic!("{other:?}"),
    }
    // §3.1: the server waits for QUIT after a 554 greeting.
    assert_eq!(server.sent(), "QUIT\r\n");
}

#[test]
fn a_421_before_any_decision_is_a_refusal_without_quit() {
    let rcpts = recipients(&["a@b.test"]);
    for script in [
        &["421 4.3.2 too busy"][..],
        &["220 mx", "421 4.3.0 shutting down"],
        &["220 mx", "250 mx", "421 4.3.0 shutting down"],
    ] {
        let mut server = Script::new(script);
        match run(&mut server, &envelope(&rcpts)) {
            Err(ClientError::Refused(r)) => assert_eq!(r.code, 421),
            other => panic!("{script:?}: {other:?}"),
        }
        assert!(!server.sent().contains("QUIT"), "{script:?}");
    }
}

#[test]
fn a_421_after_mail_defers_everyone_undecided() {
    let (outcomes, server) = session(
        &["a@b.test", "c@b.test", "d@b.test"],
        &[
            "220 mx",
            "250 mx",
            "250 ok",
            "250 ok",
            "550 no",
            "421 4.3.0 bye now",
        ],
    );
    let later = RecipientOutcome::Deferred("421 4.3.0 bye now".into());
    assert_eq!(
        outcomes,
        [
            later.clone(),
            RecipientOutcome::Failed(reply(550, "no")),
            later
        ]
    );
    assert!(!server.sent().contains("QUIT"));
}

#[test]
fn connection_closed_mid_rcpt_defers_the_rest() {
    let (outcomes, _) = session(
        &["a@b.test", "c@b.test", "d@b.test"],
        &["220 mx", "250 mx", "250 ok", "550 no"],
    );
    assert_eq!(outcomes[0], RecipientOutcome::Failed(reply(550, "no")));
    for outcome in &outcomes[1..] {
        assert_deferred(outcome, "connection lost: ");
    }
}

#[test]
fn connection_closed_after_the_dot_defers_accepted_and_after_250_is_delivered() {
    let (outcomes, _) = session(
        &["a@b.test"],
        &["220 mx", "250 mx", "250 ok", "250 ok", "354 go"],
    );
    assert!(
        matches!(&outcomes[..], [RecipientOutcome::Deferred(_)]),
        "{outcomes:?}"
    );
    // §6.1: once the 250 is in, a lost QUIT changes nothing.
    let (outcomes, _) = session(
        &["a@b.test"],
        &[
            "220 mx",
            "250 mx",
            "250 ok",
            "250 ok",
            "354 go",
            "250 queued",
        ],
    );
    assert_eq!(
        outcomes,
        [RecipientOutcome::Delivered(reply(250, "queued"))]
    );
}

#[test]
fn connection_closed_before_any_decision_is_an_error() {
    let rcpts = recipients(&["a@b.test"]);
    for script in [&[][..], &["220 mx"], &["220 mx", "250 mx"]] {
        let mut server = Script::new(script);
        match run(&mut server, &envelope(&rcpts)) {
            Err(ClientError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("{script:?}: {other:?}"),
        }
    }
}

#[test]
fn malformed_reply_is_a_protocol_error_or_defers() {
    let rcpts = recipients(&["a@b.test"]);
    let mut server = Script::new(&["hello there"]);
    assert!(matches!(
        run(&mut server, &envelope(&rcpts)),
        Err(ClientError::Protocol(_))
    ));
    // After MAIL was accepted, the same fault defers the recipient (temporary).
    let (outcomes, _) = session(&["a@b.test"], &["220 mx", "250 mx", "250 ok", "2 5 0"]);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_deferred(&outcomes[0], "protocol error: ");
}

#[test]
fn multi_line_replies_anywhere() {
    let (outcomes, _) = session(
        &["a@b.test"],
        &[
            "220-mx.b.test ESMTP\n220-welcome\n220 really",
            "250-mx\n250 PIPELINING",
            "250-sender\n250 ok\n250-recipient\n250 ok\n354-go\n354 ahead",
            "250-2.0.0 queued\n250 2.0.0 as 42",
            "221-bye\n221 bye",
        ],
    );
    let final_reply = ServerReply {
        code: 250,
        lines: vec!["2.0.0 queued".into(), "2.0.0 as 42".into()],
    };
    assert_eq!(outcomes, [RecipientOutcome::Delivered(final_reply)]);
}

#[test]
fn dot_stuffing_in_a_session() {
    let rcpts = recipients(&["a@b.test"]);
    let mut server = Script::new(&[
        "220 mx", "250 mx", "250 ok", "250 ok", "354 go", "250 ok", "221 bye",
    ]);
    let message = b"Subject: dots\r\n\r\n.x\r\n..\r\n.\r\nlast line, no CRLF";
    deliver(
        &mut server,
        "c",
        &envelope(&rcpts),
        message,
        &Timeouts::default(),
    )
    .unwrap();
    let text = "Subject: dots\r\n\r\n..x\r\n...\r\n..\r\nlast line, no CRLF\r\n.\r\n";
    server.assert_sent_contains(&format!("DATA\r\n{text}QUIT\r\n"));
}

#[test]
fn each_stage_has_its_own_timeout() {
    let secs = Duration::from_secs;
    let timeouts = Timeouts {
        greeting: secs(1),
        command: secs(2),
        data_init: secs(3),
        data_block: secs(4),
        data_end: secs(5),
    };
    let rcpts = recipients(&["a@b.test"]);
    let mut server = Script::new(&[
        "220 mx", "250 mx", "250 ok", "250 ok", "354 go", "250 ok", "221 bye",
    ]);
    deliver(&mut server, "c", &envelope(&rcpts), MESSAGE, &timeouts).unwrap();
    assert_eq!(server.timeouts, [1, 2, 3, 4, 5, 2].map(secs));
}

#[test]
fn no_recipients_no_session() {
    let mut server = Script::new(&["220 mx"]);
    assert_eq!(run(&mut server, &envelope(&[])).unwrap(), []);
    assert!(server.writes.is_empty());
}

#[test]
fn default_timeouts_are_the_rfc_minimums() {
    let t = Timeouts::default();
    let minutes = |m: u64| Duration::from_secs(m * 60);
    assert_eq!(
        [t.greeting, t.command, t.data_init, t.data_block, t.data_end],
        [5, 5, 2, 3, 10].map(minutes)
    );
}

#[test]
fn the_trace_shows_every_line_and_every_transition() {
    crate::logged::start();
    let rcpts = recipients(&["bob@b.test"]);
    let mut server = Script::new(&[
        "220 mx.b.test ESMTP",
        "250 mx",
        "250 ok",
        "250 ok",
        "354 go",
        "250 queued",
        "221 bye",
    ]);
    run(&mut server, &envelope(&rcpts)).unwrap();
    let trace: Vec<String> = crate::logged::take()
        .into_iter()
        .filter(|record| record.target == TRACE)
        .map(|record| record.text)
        .collect();
    let expected = [
        "relay S: 220 mx.b.test ESMTP",
        "mx.b.test: Greeting -> Ehlo (RFC 5321 §4.1.1.1)",
        "relay C: EHLO client.a.test",
        "relay S: 250 mx",
        "mx.b.test: Ehlo -> Mail (RFC 5321 §4.1.1.2)",
        "relay C: MAIL FROM:<alice@a.test>",
        "relay S: 250 ok",
        "mx.b.test: Mail -> Rcpt(0) (RFC 5321 §4.1.1.3)",
        "relay C: RCPT TO:<bob@b.test>",
        "relay S: 250 ok",
        "mx.b.test: Rcpt(0) -> Data (RFC 5321 §4.1.1.4)",
        "relay C: DATA",
        "relay S: 354 go",
        "mx.b.test: Data -> Body (RFC 5321 §4.1.1.4)",
        "relay C: (22 octets of message text)",
        "relay C: .",
        "mx.b.test: Body -> Dot (RFC 5321 §4.2.5)",
        "relay S: 250 queued",
        "mx.b.test: Dot -> Quit (RFC 5321 §4.1.1.10)",
        "relay C: QUIT",
        "relay S: 221 bye",
        "mx.b.test: Quit -> Done (RFC 5321 §4.1.1.10)",
    ];
    assert_eq!(trace, expected);
}

// --- real peers ------------------------------------------------------------------

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::config::Config;
use crate::server::Server;

/// Short limits, so a broken test fails instead of hanging.
fn test_timeouts() -> Timeouts {
    let t = Duration::from_secs(10);
    Timeouts {
        greeting: t,
        command: t,
        data_init: t,
        data_block: t,
        data_end: t,
    }
}

fn deliver_to(
    addr: SocketAddr,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Vec<RecipientOutcome>, ClientError> {
    let stream = TcpStream::connect(addr).expect("connect");
    deliver(
        &stream,
        "client.example.test",
        envelope,
        message,
        &test_timeouts(),
    )
}

/// The outcome in a word, for the fault tables.
fn kind(result: &Result<Vec<RecipientOutcome>, ClientError>) -> String {
    match result {
        Ok(outcomes) => outcomes
            .iter()
            .map(|o| match o {
                RecipientOutcome::Delivered(_) => "Delivered",
                RecipientOutcome::Deferred(_) => "Deferred",
                RecipientOutcome::Failed(_) => "Failed",
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(ClientError::Io(_)) => "Err(Io)".into(),
        Err(ClientError::Protocol(_)) => "Err(Protocol)".into(),
        Err(ClientError::Refused(r)) => format!("Err(Refused {})", r.code),
    }
}

#[test]
fn against_postie_stuffing_round_trips_and_relaying_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new("mx.example.test");
    config.set_listener(
        crate::config::Protocol::Smtp(crate::config::Service::Smtp),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.maildir = dir.path().join("mail");
    config.limits.timeout = Duration::from_secs(10);
    // Nobody may relay, so other.test is refused at RCPT (550 5.7.1).
    config.policy.relay_networks = vec![];
    let server = Server::bind(config).expect("bind");
    let addr = server.local_addr().unwrap();
    let stop = server.shutdown_handle().unwrap();
    let thread = std::thread::spawn(move || server.run());

    let message = b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nend\r\n";
    let rcpts = recipients(&["bob@localhost", "x@other.test"]);
    let env = Envelope {
        size: message.len() as u64,
        ..envelope(&rcpts)
    };
    let outcomes = deliver_to(addr, &env, message).unwrap();
    let [RecipientOutcome::Delivered(ok), RecipientOutcome::Failed(refused)] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(
        (ok.code, ok.enhanced().map(|s| s.to_string()).as_deref()),
        (250, Some("2.0.0"))
    );
    assert_eq!(
        (
            refused.code,
            refused.enhanced().map(|s| s.to_string()).as_deref()
        ),
        (550, Some("5.7.1"))
    );

    // Larger than postie's SIZE: refused before MAIL, for everyone.
    let big = Envelope {
        size: 26 * 1024 * 1024,
        ..env
    };
    let outcomes = deliver_to(addr, &big, message).unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, RecipientOutcome::Failed(r) if r.code == 552)),
        "{outcomes:?}"
    );

    stop.shutdown();
    thread.join().unwrap().unwrap();
    let new = dir.path().join("mail/localhost/bob/new");
    let files: Vec<_> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let stored = std::fs::read(&files[0]).unwrap();
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.ends_with("\r\n\r\n.leading dot\r\n..two\r\nend\r\n"),
        "{text}"
    );
}

const SINK: &str = "/usr/sbin/smtp-sink";

/// Postfix's smtp-sink on a free loopback port; killed when dropped.
struct Sink {
    child: Child,
    addr: SocketAddr,
}

impl Sink {
    /// `None` (with a SKIP note) when smtp-sink is not installed, except in CI.
    fn start(options: &[&str]) -> Option<Sink> {
        if !Path::new(SINK).exists() {
            crate::skip::skip(&format!("{SINK} is missing (apt-get install postfix)"));
            return None;
        }
        let addr = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let mut command = Command::new(SINK);
        // As root, smtp-sink insists on dropping privileges.
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
            command.args(["-u", "nobody"]);
        }
        let child = command
            .args(options)
            .arg(addr.to_string())
            .arg("10")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-sink");
        let sink = Sink { child, addr };
        let start = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "smtp-sink did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(sink)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_silent_server_times_out_at_the_greeting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // The kernel completes the connection; nobody ever says 220.
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let timeouts = Timeouts {
        greeting: Duration::from_millis(200),
        ..test_timeouts()
    };
    let rcpts = recipients(&["bob@b.test"]);
    let start = Instant::now();
    match deliver(&stream, "c", &envelope(&rcpts), MESSAGE, &timeouts) {
        Err(ClientError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn against_smtp_sink_a_slow_final_reply_defers() {
    // smtp-sink waits 2 s before answering the dot; we wait 300 ms.
    let Some(sink) = Sink::start(&["-W", ".:2"]) else {
        return;
    };
    let timeouts = Timeouts {
        data_end: Duration::from_millis(300),
        ..test_timeouts()
    };
    let stream = TcpStream::connect(sink.addr).unwrap();
    let rcpts = recipients(&["bob@b.test"]);
    let outcomes = deliver(&stream, "c", &envelope(&rcpts), MESSAGE, &timeouts).unwrap();
    let [RecipientOutcome::Deferred(why)] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert!(why.contains("timed out"), "{why}");
}

#[test]
fn against_smtp_sink_fault_matrix() {
    // (smtp-sink options, what the client must make of it)
    let table: &[(&[&str], &str)] = &[
        (&[], "Delivered"),
        (&["-p"], "Delivered"),        // no PIPELINING
        (&["-r", "RCPT"], "Deferred"), // 450 to RCPT
        (&["-f", "RCPT"], "Failed"),   // 500 to RCPT
        (&["-r", "MAIL"], "Deferred"),
        (&["-f", "MAIL"], "Failed"),
        (&["-r", "DATA"], "Deferred"),
        (&["-f", "DATA"], "Failed"),
        (&["-r", "."], "Deferred"),     // 4xx after the dot
        (&["-f", "."], "Failed"),       // 5xx after the dot
        (&["-f", "EHLO"], "Delivered"), // HELO fallback
        (&["-e"], "Delivered"),         // no ESMTP at all
        (&["-f", "EHLO,HELO"], "Err(Refused 500)"),
        (&["-f", "CONNECT"], "Err(Refused 500)"), // 5xx greeting
        (&["-r", "CONNECT"], "Err(Refused 450)"),
        (&["-Q", "CONNECT"], "Err(Refused 421)"),
        (&["-Q", "EHLO"], "Err(Refused 421)"),
        (&["-Q", "MAIL"], "Err(Refused 421)"), // 421 before any decision
        (&["-Q", "RCPT"], "Deferred"),         // 421 after MAIL: per recipient
        (&["-q", "EHLO"], "Err(Io)"),
        (&["-q", "MAIL"], "Err(Io)"),  // disconnect before MAIL's reply
        (&["-q", "RCPT"], "Deferred"), // disconnect after MAIL's 250
        (&["-q", "DATA"], "Deferred"),
        (&["-q", "."], "Deferred"),     // the dot's reply lost
        (&["-q", "QUIT"], "Delivered"), // §6.1: delivered with the 250
        (&["-A", "0"], "Failed"),       // 550 in the middle of the text
    ];
    let rcpts = recipients(&["bob@b.test"]);
    let env = envelope(&rcpts);
    let mut failures = Vec::new();
    for &(options, expected) in table {
        let Some(sink) = Sink::start(options) else {
            return;
        };
        let result = deliver_to(sink.addr, &env, MESSAGE);
        let got = kind(&result);
        eprintln!(
            "smtp-sink {:<16} -> {got:<18} {result:?}",
            options.join(" ")
        );
        if got != expected {
            failures.push(format!(
                "{options:?}: expected {expected}, got {got}: {result:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Delivers `message` to an smtp-sink started with `options` that dumps what it
/// receives; returns the outcome and the dump (`None` when smtp-sink is missing).
fn sink_dump(options: &[&str], rcpts: &[String], message: &[u8]) -> Option<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    // smtp-sink writes the dump as `nobody`.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let template = format!("{}/%Y%m%d%H%M%S.", dir.path().display());
    let sink = Sink::start(&[options, &["-d", &template]].concat())?;
    let env = Envelope {
        size: message.len() as u64,
        ..envelope(rcpts)
    };
    let outcome = kind(&deliver_to(sink.addr, &env, message));
    drop(sink);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let dump = String::from_utf8_lossy(&std::fs::read(&files[0]).unwrap()).into_owned();
    Some((outcome, dump))
}

#[test]
fn against_smtp_sink_the_dump_shows_the_message_unstuffed() {
    let message = b"Subject: dots\r\n\r\n.leading dot\r\n.\r\nend";
    let rcpts = recipients(&["bob@b.test", "carol@b.test"]);
    let Some((outcome, dump)) = sink_dump(&[], &rcpts, message) else {
        return;
    };
    assert_eq!(outcome, "Delivered,Delivered");
    assert!(dump.contains("X-Client-Proto: ESMTP"), "{dump}");
    assert!(dump.contains("X-Helo-Args: client.example.test"), "{dump}");
    assert!(
        dump.contains("X-Rcpt-Args: <bob@b.test>") && dump.contains("X-Rcpt-Args: <carol@b.test>"),
        "{dump}"
    );
    assert!(dump.contains("\n\n.leading dot\n.\nend\n"), "{dump:?}");
}

#[test]
fn against_smtp_sink_ehlo_refused_falls_back_to_helo() {
    let rcpts = recipients(&["bob@b.test"]);
    let Some((outcome, dump)) = sink_dump(&["-f", "EHLO"], &rcpts, MESSAGE) else {
        return;
    };
    assert_eq!(outcome, "Delivered");
    assert!(dump.contains("X-Client-Proto: SMTP\n"), "{dump}");
    // HELO offers no extensions, so MAIL carries no parameters.
    assert!(dump.contains("X-Mail-Args: <alice@a.test>\n"), "{dump}");
}

/// An I/O failure keeps its cause for whoever reports it (`Error::source`); a protocol
/// error or a refusal is its own cause.
#[test]
fn an_io_error_keeps_its_cause() {
    use std::error::Error;
    let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
    let error = ClientError::Io(timed_out);
    let cause = error.source().map(|cause| cause.to_string());
    assert_eq!(cause.as_deref(), Some("read timed out"));
    assert!(ClientError::Protocol("a reply without a code".into())
        .source()
        .is_none());
}
