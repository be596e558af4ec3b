//! A tiny SMTP server for grading the grader: correct by default, and broken in
//! exactly one way when asked ([`Break`]), so each check can be shown to fail on the
//! server that breaks its rule and to pass on the one that keeps it.
//!
//! It stores accepted mail as files in a Maildir (`new/`), with Return-Path: and
//! Received: prepended, like a delivering server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The one rule the fake server breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    Nothing,
    SingleThreaded,
    IdleCutoff,
    BareLfEndsLines,
    ShortCommandLines,
    SplitsLongLines,
    RcptWithoutMail,
    DataWithoutRcpt,
    NestedMailOk,
    EhloKeepsTransaction,
    NeedsEhloFirst,
    Greeting250,
    GreetingWithoutName,
    EhloWithoutName,
    BadEhloKeyword,
    NoHelo,
    EmptyEhloOk,
    CaseSensitive,
    MailRefused,
    NullPathRefused,
    LenientPath,
    IgnoresUnknownParams,
    RcptRefused,
    NoPostmaster,
    TenRecipients,
    Data250,
    TwoRepliesAfterDot,
    ShortTextLines,
    NoUnstuffing,
    PipeliningLosesCommands,
    SizeParamRefused,
    SizeIgnored,
    /// Also ends the data at this sequence (SMTP smuggling).
    EndsDataAt(&'static [u8]),
    StoresTwice,
    NoReceived,
    NoReturnPath,
    StoresUnfinished,
    NoopRefused,
    RsetKeepsTransaction,
    RsetArgumentOk,
    NoVrfy,
    NoHelp,
    QuitKeepsOpen,
    BareLfInNoopReply,
    Unknown502,
    NoEnhancedCodes,
    OpenRelay,
    DiesWhenClientVanishes,
}

pub const SIZE_LIMIT: u64 = 1_000_000;

/// A running fake server; it stops accepting when dropped.
pub struct Fake {
    pub addr: SocketAddr,
    pub maildir: PathBuf,
    /// Where mail goes instead, when started with [`Fake::start_mbox`].
    pub mbox: PathBuf,
    _dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

struct Shared {
    rule: Break,
    maildir: PathBuf,
    mbox: Option<PathBuf>,
    stop: Arc<AtomicBool>,
    counter: AtomicUsize,
}

impl Fake {
    pub fn start(rule: Break) -> Fake {
        Fake::start_in(rule, false)
    }

    /// Stores mail in one mbox file instead of a Maildir.
    pub fn start_mbox(rule: Break) -> Fake {
        Fake::start_in(rule, true)
    }

    fn start_in(rule: Break, mbox: bool) -> Fake {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("mail");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mbox_path = dir.path().join("mbox");
        let shared = Arc::new(Shared {
            rule,
            maildir: maildir.clone(),
            mbox: mbox.then(|| mbox_path.clone()),
            stop: stop.clone(),
            counter: AtomicUsize::new(0),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                if shared.rule == Break::SingleThreaded {
                    serve(stream, &shared);
                } else {
                    std::thread::spawn(move || serve(stream, &shared));
                }
            }
        });
        Fake {
            addr,
            maildir,
            mbox: mbox_path,
            _dir: dir,
            stop,
        }
    }
}

struct Session<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    input: Vec<u8>,
    ehlo: bool,
    from: Option<String>,
    rcpts: usize,
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(match shared.rule {
        Break::IdleCutoff => Duration::from_millis(300),
        _ => Duration::from_secs(20),
    }));
    let mut s = Session {
        shared,
        stream,
        input: Vec::new(),
        ehlo: false,
        from: None,
        rcpts: 0,
    };
    let _ = s.run();
}

impl Session<'_> {
    fn rule(&self) -> &Break {
        &self.shared.rule
    }

    fn say(&mut self, text: &str) -> std::io::Result<()> {
        self.stream.write_all(text.as_bytes())
    }

    fn reply(&mut self, code: u16, status: &str, text: &str) -> std::io::Result<()> {
        if *self.rule() == Break::NoEnhancedCodes && code != 220 {
            return self.say(&format!("{code} {text}\r\n"));
        }
        self.say(&format!("{code} {status} {text}\r\n"))
    }

    fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        self.input.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// The next command line, without its ending; None at end of input.
    fn line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if *self.rule() == Break::SplitsLongLines
                && self.input.len() >= 512
                && !self.input[..512].contains(&b'\n')
            {
                return Ok(Some(self.input.drain(..512).collect()));
            }
            let end = if *self.rule() == Break::BareLfEndsLines {
                self.input.iter().position(|&b| b == b'\n').map(|i| (i, 1))
            } else {
                self.input
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map(|i| (i, 2))
            };
            if let Some((i, len)) = end {
                let mut line: Vec<u8> = self.input.drain(..i + len).collect();
                line.truncate(i);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn run(&mut self) -> std::io::Result<()> {
        match self.rule() {
            Break::Greeting250 => self.say("250 fake.example ready\r\n")?,
            Break::GreetingWithoutName => self.say("220 Welcome, friend\r\n")?,
            _ => self.say("220 fake.example ESMTP fake\r\n")?,
        }
        while let Some(line) = self.line()? {
            if *self.rule() == Break::PipeliningLosesCommands {
                self.input.clear();
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            // 512 octets with the CRLF (RFC 5321 §4.5.3.1.4); one reply for a longer line.
            if line.len() > 510 {
                self.reply(500, "5.5.2", "Line too long")?;
                continue;
            }
            if *self.rule() == Break::ShortCommandLines && line.len() > 256 {
                self.reply(500, "5.5.2", "Line too long")?;
                continue;
            }
            let (verb, arg) = match text.split_once(' ') {
                Some((v, a)) => (v.to_string(), a.to_string()),
                None => (text.clone(), String::new()),
            };
            let verb = if *self.rule() == Break::CaseSensitive {
                verb
            } else {
                verb.to_ascii_uppercase()
            };
            if *self.rule() == Break::NeedsEhloFirst
                && !self.ehlo
                && verb != "EHLO"
                && verb != "HELO"
            {
                self.reply(503, "5.5.1", "EHLO first")?;
                continue;
            }
            match verb.as_str() {
                "EHLO" => self.ehlo(&arg)?,
                "HELO" if *self.rule() == Break::NoHelo => self.reply(500, "5.5.2", "Unknown command")?,
                "HELO" if arg.is_empty() => self.reply(501, "5.5.4", "Syntax: HELO domain")?,
                "HELO" => {
                    self.ehlo = true;
                    self.from = None;
                    self.rcpts = 0;
                    self.say("250 fake.example\r\n")?;
                }
                "MAIL" => self.mail(&arg)?,
                "RCPT" => self.rcpt(&arg)?,
                "DATA" => {
                    if !self.data()? {
                        return Ok(());
                    }
                }
                "RSET" if !arg.is_empty() && *self.rule() != Break::RsetArgumentOk => {
                    self.reply(501, "5.5.4", "Syntax: RSET")?
                }
                "RSET" => {
                    if *self.rule() != Break::RsetKeepsTransaction {
                        self.from = None;
                        self.rcpts = 0;
                    }
                    self.reply(250, "2.0.0", "OK")?
                }
                "NOOP" if *self.rule() == Break::NoopRefused => self.reply(502, "5.5.1", "No")?,
                "NOOP" if *self.rule() == Break::BareLfInNoopReply => self.say("250 2.0.0 OK\n")?,
                "NOOP" => self.reply(250, "2.0.0", "OK")?,
                "VRFY" if *self.rule() == Break::NoVrfy => self.reply(502, "5.5.1", "Not implemented")?,
                "VRFY" => self.reply(252, "2.5.0", "Cannot verify, will try")?,
                "HELP" if *self.rule() == Break::NoHelp => self.reply(502, "5.5.1", "Not implemented")?,
                "HELP" => self.say("214-2.0.0 Commands:\r\n214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\r\n")?,
                "QUIT" => {
                    self.reply(221, "2.0.0", "Bye")?;
                    if *self.rule() == Break::QuitKeepsOpen {
                        std::thread::sleep(Duration::from_secs(30));
                    }
                    return Ok(());
                }
                _ if *self.rule() == Break::Unknown502 => self.reply(502, "5.5.1", "Not implemented")?,
                _ => self.reply(500, "5.5.2", "Unknown command")?,
            }
        }
        Ok(())
    }

    fn ehlo(&mut self, arg: &str) -> std::io::Result<()> {
        if arg.is_empty() && *self.rule() != Break::EmptyEhloOk {
            return self.reply(501, "5.5.4", "Syntax: EHLO domain");
        }
        self.ehlo = true;
        if *self.rule() != Break::EhloKeepsTransaction {
            self.from = None;
            self.rcpts = 0;
        }
        let name = if *self.rule() == Break::EhloWithoutName {
            "Hello, friend"
        } else {
            "fake.example"
        };
        let keyword = if *self.rule() == Break::BadEhloKeyword {
            "AUTH=LOGIN"
        } else {
            "8BITMIME"
        };
        self.say(&format!(
            "250-{name}\r\n250-PIPELINING\r\n250-SIZE {SIZE_LIMIT}\r\n250-ENHANCEDSTATUSCODES\r\n250-{keyword}\r\n250 HELP\r\n"
        ))
    }

    fn mail(&mut self, arg: &str) -> std::io::Result<()> {
        if self.from.is_some() && *self.rule() != Break::NestedMailOk {
            return self.reply(503, "5.5.1", "Nested MAIL");
        }
        let Some(rest) = arg.strip_prefix("FROM:").or_else(|| {
            if *self.rule() == Break::CaseSensitive {
                None
            } else {
                arg.strip_prefix("from:")
            }
        }) else {
            return self.reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
        };
        let (path, params) = match rest.split_once(' ') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        let closed = path.starts_with('<') && path.ends_with('>');
        if !closed && *self.rule() != Break::LenientPath {
            return self.reply(501, "5.1.7", "Bad sender address syntax");
        }
        let address = path
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string();
        for param in params.split(' ').filter(|p| !p.is_empty()) {
            match param.split_once('=') {
                Some(("SIZE", n)) => {
                    if *self.rule() == Break::SizeParamRefused {
                        return self.reply(555, "5.5.4", "Unsupported option");
                    }
                    let n: u64 = n.parse().unwrap_or(u64::MAX);
                    if n > SIZE_LIMIT && *self.rule() != Break::SizeIgnored {
                        return self.reply(552, "5.3.4", "Message too big");
                    }
                }
                _ if *self.rule() == Break::IgnoresUnknownParams => {}
                _ => return self.reply(555, "5.5.4", "Unsupported option"),
            }
        }
        if *self.rule() == Break::MailRefused && !address.is_empty() {
            return self.reply(550, "5.7.1", "Not you");
        }
        if *self.rule() == Break::NullPathRefused && address.is_empty() {
            return self.reply(501, "5.1.7", "No null sender");
        }
        self.from = Some(address);
        self.rcpts = 0;
        self.reply(250, "2.1.0", "OK")
    }

    fn rcpt(&mut self, arg: &str) -> std::io::Result<()> {
        if self.from.is_none() && *self.rule() != Break::RcptWithoutMail {
            return self.reply(503, "5.5.1", "MAIL first");
        }
        let Some(path) = arg.strip_prefix("TO:") else {
            return self.reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
        };
        if !(path.starts_with('<') && path.ends_with('>')) {
            return self.reply(501, "5.1.3", "Bad recipient address syntax");
        }
        let address = path[1..path.len() - 1].to_ascii_lowercase();
        if *self.rule() == Break::RcptRefused {
            return self.reply(550, "5.1.1", "No such user");
        }
        let postmaster = address == "postmaster";
        if postmaster && *self.rule() == Break::NoPostmaster {
            return self.reply(550, "5.1.1", "No such user");
        }
        if !postmaster && !address.ends_with("@localhost") && *self.rule() != Break::OpenRelay {
            return self.reply(550, "5.7.1", "Relaying denied");
        }
        if self.rcpts >= 10 && *self.rule() == Break::TenRecipients {
            return self.reply(452, "4.5.3", "Too many recipients");
        }
        self.rcpts += 1;
        self.reply(250, "2.1.5", "OK")
    }

    /// Reads the message; false when the connection is gone.
    fn data(&mut self) -> std::io::Result<bool> {
        if *self.rule() == Break::Data250 {
            self.reply(250, "2.0.0", "OK")?;
        }
        if self.rcpts == 0 && *self.rule() != Break::DataWithoutRcpt {
            self.reply(503, "5.5.1", "RCPT first")?;
            return Ok(true);
        }
        if *self.rule() != Break::Data250 {
            self.say("354 End data with <CR><LF>.<CR><LF>\r\n")?;
        }
        // The data begins right after DATA's CRLF, so "<CRLF>.<CRLF>" may start there.
        let mut text: Vec<u8> = b"\r\n".to_vec();
        let end = loop {
            let extra = match self.rule() {
                Break::EndsDataAt(seq) => Some(*seq),
                _ => None,
            };
            let mut found = None;
            let mut scan = text.clone();
            scan.extend_from_slice(&self.input);
            if let Some(i) = scan.windows(5).position(|w| w == b"\r\n.\r\n") {
                found = Some((i, 5));
            }
            if let Some(seq) = extra {
                if let Some(i) = scan.windows(seq.len()).position(|w| w == seq) {
                    if found.is_none_or(|(j, _)| i < j) {
                        found = Some((i, seq.len()));
                    }
                }
            }
            if let Some((i, len)) = found {
                let rest = scan.split_off(i + len);
                scan.truncate(i);
                self.input = rest;
                break scan;
            }
            text = scan;
            self.input.clear();
            match self.fill() {
                Ok(true) => {}
                _ => {
                    if *self.rule() == Break::StoresUnfinished {
                        let from = self.from.clone().unwrap_or_default();
                        self.store(&text[2..], &from);
                    }
                    if *self.rule() == Break::DiesWhenClientVanishes {
                        self.shared.stop.store(true, Ordering::SeqCst);
                    }
                    return Ok(false);
                }
            }
        };
        // `end` holds "\r\n" + the lines, each but the last followed by CRLF.
        let body = &end[2..];
        let mut message = Vec::new();
        let mut too_long = false;
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > 500 && *self.rule() == Break::ShortTextLines {
                too_long = true;
            }
            let line = if *self.rule() == Break::NoUnstuffing {
                line
            } else {
                line.strip_prefix(b".").unwrap_or(line)
            };
            message.extend_from_slice(line);
            message.extend_from_slice(b"\r\n");
        }
        if too_long {
            self.reply(500, "5.5.2", "Line too long")?;
        } else {
            let from = self.from.clone().unwrap_or_default();
            self.store(&message, &from);
            if *self.rule() == Break::StoresTwice {
                self.store(&message, &from);
            }
            self.reply(250, "2.0.0", "OK: stored")?;
            if *self.rule() == Break::TwoRepliesAfterDot {
                self.reply(250, "2.0.0", "OK: really")?;
            }
        }
        self.from = None;
        self.rcpts = 0;
        Ok(true)
    }

    fn store(&self, message: &[u8], from: &str) {
        let mut file = Vec::new();
        if *self.rule() != Break::NoReturnPath {
            file.extend_from_slice(format!("Return-Path: <{from}>\r\n").as_bytes());
        }
        if *self.rule() != Break::NoReceived {
            file.extend_from_slice(
                b"Received: from client by fake.example; Sat, 5 Dec 2026 12:00:00 +0000\r\n",
            );
        }
        file.extend_from_slice(message);
        if let Some(mbox) = &self.shared.mbox {
            // mboxrd: a separator line, the message with "From " lines quoted, a blank line.
            let mut entry = b"From grader@example.org Sat Dec  5 12:00:00 2026\n".to_vec();
            for line in file.split_inclusive(|&b| b == b'\n') {
                if line.starts_with(b"From ") {
                    entry.push(b'>');
                }
                entry.extend_from_slice(line);
            }
            entry.extend_from_slice(b"\n");
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(mbox)
                .unwrap();
            let _ = f.write_all(&entry);
            return;
        }
        let n = self.shared.counter.fetch_add(1, Ordering::SeqCst);
        let tmp: &Path = &self.shared.maildir.join("tmp").join(n.to_string());
        let _ = std::fs::write(tmp, &file);
        let _ = std::fs::rename(tmp, self.shared.maildir.join("new").join(n.to_string()));
    }
}
