//! A raw IMAP client for tests: tagged commands in, every response line (literals
//! read in full) out, tags shown as `t`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{TestServer, POP3_PASSWORD};

/// A raw IMAP client: sends a tagged command, reads lines (literals included) up to
/// the tagged response.
pub struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next: u32,
}

impl Imap {
    pub fn connect(server: &TestServer) -> Imap {
        Imap::connect_to(server.imap().expect("IMAP listener"))
    }

    /// Connects to any IMAP server (postie, or Dovecot in the differential test).
    pub fn connect_to(addr: std::net::SocketAddr) -> Imap {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut imap = Imap {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            next: 1,
        };
        let greeting = imap.line();
        assert!(
            greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
            "{greeting}"
        );
        imap
    }

    pub fn login(server: &TestServer) -> Imap {
        let mut imap = Imap::connect(server);
        let r = imap.cmd(&format!("LOGIN alice@localhost \"{POP3_PASSWORD}\""));
        assert!(r.ends_with("OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE SPECIAL-USE UNSELECT CHILDREN] Logged in\r\n"), "{r}");
        imap
    }

    /// One line, with any literal it announces read in full.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("a line");
        while let Some(n) = line
            .strip_suffix("}\r\n")
            .and_then(|l| l.rsplit_once('{'))
            .and_then(|(_, n)| n.parse::<usize>().ok())
        {
            let mut octets = vec![0; n];
            self.reader.read_exact(&mut octets).unwrap();
            line.push_str(&String::from_utf8_lossy(&octets));
            let mut rest = String::new();
            self.reader.read_line(&mut rest).unwrap();
            line.push_str(&rest);
        }
        line
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// Sends `TAG command` and returns every line up to the tagged one, tags as `t`.
    pub fn cmd(&mut self, command: &str) -> String {
        self.lines(command).concat()
    }

    /// As [`Imap::cmd`], one response a string (literals inside).
    pub fn lines(&mut self, command: &str) -> Vec<String> {
        let tag = format!("t{}", self.next);
        self.next += 1;
        self.send(format!("{tag} {command}\r\n").as_bytes());
        self.until_lines(&tag)
    }

    pub fn until(&mut self, tag: &str) -> String {
        self.until_lines(tag).concat()
    }

    fn until_lines(&mut self, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "closed; so far: {out:?}");
            let done = line.starts_with(&format!("{tag} "));
            out.push(line.replacen(&format!("{tag} "), "t ", 1));
            if done {
                return out;
            }
        }
    }
}
