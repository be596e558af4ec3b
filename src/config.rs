//! Configuration: what the flags decide, with every limit in one place.
//!
//! Each default cites the rule it comes from, so a student can check it against the
//! RFC. The command-line flags that fill these in live in `cli.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::policy::Rules;
pub use crate::wire::Threads;

// ANCHOR: limits
/// The limits a session enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
    pub command_line: usize,
    /// RFC 5321 §4.5.3.1.6: a line of message text is at most 1000 octets including CRLF.
    pub text_line: usize,
    /// RFC 4954 §4: an answer in an AUTH exchange may be 12288 octets, CRLF included.
    pub auth_line: usize,
    /// RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per message.
    pub max_recipients: usize,
    /// RFC 1870: advertised in EHLO as SIZE; RFC 5321 §4.5.3.1.7 asks for at least 64 KiB.
    pub max_message_size: u64,
    /// Bad commands before we give up with 421 (Postfix's smtpd_hard_error_limit is 20).
    pub max_errors: u32,
    /// RFC 5321 §6.3: count Received: headers to detect loops; "SHOULD use a large
    /// rejection threshold, normally at least 100". More than this is a loop.
    pub max_received_headers: usize,
    /// RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for each command,
    /// and for each read while message text arrives.
    pub timeout: Duration,
    /// The longest a whole line may take to arrive, however busily its bytes trickle in:
    /// `timeout` bounds each read, this bounds the command (or the line of text), so a
    /// client sending one byte at a time cannot hold a thread for ever.
    pub command_timeout: Duration,
    /// How long to wait before the greeting (0: greet at once). A client that talks
    /// during the pause has not waited for the greeting (RFC 5321 §3.1): refused.
    pub greeting_delay: Duration,
    /// RFC 2449 §4: a POP3 command line is at most 255 octets including CRLF.
    pub pop3_command_line: usize,
    /// RFC 1939 §3: a POP3 server's autologout timer "MUST be of at least 10 minutes".
    pub pop3_timeout: Duration,
    /// RFC 7162 §4 asks IMAP servers to take command lines of at least 8192 octets
    /// (literals are counted apart).
    pub imap_command_line: usize,
    /// The largest literal in any IMAP command but APPEND (whose literal is a message,
    /// bounded by `max_message_size`): names, passwords, search strings.
    pub imap_literal: usize,
    /// RFC 3501 §5.4: an IMAP server's autologout timer "MUST be at least 30 minutes".
    pub imap_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            command_line: 512,
            text_line: 1000,
            auth_line: 12288,
            max_recipients: 100,
            max_message_size: 25 * 1024 * 1024,
            max_errors: 10,
            max_received_headers: 100,
            timeout: Duration::from_secs(5 * 60),
            // RFC 5321 §4.5.3.2.7 gives a server 5 minutes for a command. (The flag's
            // default is the --timeout value, whatever it is.)
            command_timeout: Duration::from_secs(5 * 60),
            greeting_delay: Duration::ZERO,
            pop3_command_line: 255,
            pop3_timeout: Duration::from_secs(10 * 60),
            imap_command_line: 8192,
            imap_literal: 64 * 1024,
            imap_timeout: Duration::from_secs(30 * 60),
        }
    }
}
// ANCHOR_END: limits

// ANCHOR: http_limits
/// The web view's HTTP limits (RFC 9110, RFC 9112 leave them to the server).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// A request's head (request line and header fields): larger is 431 (RFC 6585 §5).
    /// 16 KiB, as nginx's and Go's defaults are of the same order (8 KiB, 1 MiB).
    pub max_head: usize,
    /// A request's body: larger is 413. The API's bodies are short lists of ids.
    pub max_body: usize,
    /// A whole head must arrive within this, however its bytes trickle in (408).
    pub head_timeout: Duration,
    /// A body, once its head has arrived.
    pub body_timeout: Duration,
    /// Each read and write on the socket (the listener's timeout).
    pub idle_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_head: 16 * 1024,
            max_body: 1024 * 1024,
            head_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
        }
    }
}
// ANCHOR_END: http_limits

// ANCHOR: service
/// What a listening socket offers. Each listener serves one kind; the accept loop is
/// the same for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// SMTP (RFC 5321): mail for our domains, relay for trusted clients; STARTTLS
    /// and AUTH when configured. Port 25 in production.
    Smtp,
    /// Message submission (RFC 6409): AUTH before MAIL, and only from the user's own
    /// address. Port 587 in production.
    Submission,
    /// Submission over implicit TLS (RFC 8314 §3.3): TLS from the first byte.
    /// Port 465 in production.
    SubmissionTls,
}
// ANCHOR_END: service

// ANCHOR: protocol
/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// RFC 5321, as one of the services of [`Service`].
    Smtp(Service),
    /// RFC 1939, with `--pop3-listen`; STLS when a certificate is configured.
    Pop3,
    /// POP3 over implicit TLS (RFC 8314 §3.3), with `--pop3s-listen`.
    Pop3s,
    /// RFC 3501, with `--imap-listen`; STARTTLS when a certificate is configured.
    Imap,
    /// IMAP over implicit TLS (RFC 8314 §3.3), with `--imaps-listen`.
    Imaps,
    /// The web view and its API over HTTP/1.1 (RFC 9112), with `--http-listen`.
    Http,
    /// The same over TLS (RFC 9110 §4.2.2), with `--https-listen`.
    Https,
}

impl Protocol {
    /// For thread names and logs: `smtp`, `submission`, `smtps`, `pop3`, `pop3s`, `imap`,
    /// `imaps`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp(Service::Smtp) => "smtp",
            Protocol::Smtp(Service::Submission) => "submission",
            Protocol::Smtp(Service::SubmissionTls) => "smtps",
            Protocol::Pop3 => "pop3",
            Protocol::Pop3s => "pop3s",
            Protocol::Imap => "imap",
            Protocol::Imaps => "imaps",
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }

    /// Does the client start with a TLS handshake (RFC 8314 §3.3)?
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            Protocol::Smtp(Service::SubmissionTls)
                | Protocol::Pop3s
                | Protocol::Imaps
                | Protocol::Https
        )
    }

    /// The flag that asks for a listener of this protocol.
    pub fn flag(self) -> &'static str {
        match self {
            Protocol::Smtp(Service::Smtp) => "--listen",
            Protocol::Smtp(Service::Submission) => "--submission-listen",
            Protocol::Smtp(Service::SubmissionTls) => "--smtps-listen",
            Protocol::Pop3 => "--pop3-listen",
            Protocol::Pop3s => "--pop3s-listen",
            Protocol::Imap => "--imap-listen",
            Protocol::Imaps => "--imaps-listen",
            Protocol::Http => "--http-listen",
            Protocol::Https => "--https-listen",
        }
    }
}
// ANCHOR_END: protocol

/// Everything a running server needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, and what to speak there: SMTP on 127.0.0.1:2525 by default (no
    /// root needed, not reachable from outside); submission and POP3 when asked.
    pub listeners: Vec<(Protocol, SocketAddr)>,
    /// Our name in the greeting, EHLO reply and Received: headers.
    pub hostname: String,
    /// Root of the Maildir tree: `<maildir>/<domain>/<mailbox>/{tmp,new,cur}`.
    pub maildir: PathBuf,
    /// The outbound queue: mail for other domains waits here.
    pub spool: PathBuf,
    /// Who we accept mail for, and from whom we would relay.
    pub policy: Rules,
    pub limits: Limits,
    /// Concurrent clients; the next one gets 421 4.3.2 and is closed.
    pub max_connections: usize,
    /// How a client gets its thread: a ready one from a pool, or a new one.
    pub threads: Threads,
    /// How mail for other domains is sent on.
    pub relay: RelayConfig,
    /// The certificate and key for STARTTLS (RFC 3207); `None`: STARTTLS is not offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Allow password logins without TLS, but only from loopback clients: for trying
    /// AUTH and POP3 by hand in class. Anywhere else a password in clear text can be read
    /// by everyone on the path.
    pub allow_plaintext_auth: bool,
    /// `--directory`: users, aliases, lists and passwords from LDAP instead of the users
    /// file (see `crate::directory`).
    pub directory: Option<crate::directory::DirectoryConfig>,
    /// The web view's settings.
    pub web: WebConfig,
}

// ANCHOR: web_config
/// The web view's settings (`--http-listen`, `--keep-sessions`, `--admin`).
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub limits: HttpLimits,
    /// How many SMTP sessions' transcripts to keep in memory for the sessions page
    /// (0: record none, and pay nothing).
    pub keep_sessions: usize,
    /// Accounts that may see every mailbox, the sessions and the queue (with
    /// `--users`; without it, everyone on loopback may).
    pub admins: Vec<String>,
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            limits: HttpLimits::default(),
            keep_sessions: 100,
            admins: Vec::new(),
        }
    }
}
// ANCHOR_END: web_config

/// A static route, like a Postfix transport map entry: mail for `domain` goes to
/// `host:port`, whatever DNS says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub domain: String,
    pub host: String,
    pub port: u16,
}

// ANCHOR: timeouts
/// How long to wait at each stage (RFC 5321 §4.5.3.2). The limit applies to each read
/// and each write again: "a timer is set for each SMTP command and for each buffer of
/// the data transfer", never one timer for the whole session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// §4.5.3.2.1: for the 220 greeting (busy servers delay it on purpose).
    pub greeting: Duration,
    /// §4.5.3.2.2, §4.5.3.2.3: for the reply to EHLO, MAIL, RCPT and QUIT.
    pub command: Duration,
    /// §4.5.3.2.4: for the 354 after DATA.
    pub data_init: Duration,
    /// §4.5.3.2.5: for each write of message text.
    pub data_block: Duration,
    /// §4.5.3.2.6: for the reply after the final dot. Long, because giving up here while
    /// the server delivers means the message arrives twice.
    pub data_end: Duration,
}
// ANCHOR_END: timeouts

impl Default for Timeouts {
    /// The minimums of RFC 5321 §4.5.3.2.
    fn default() -> Timeouts {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            greeting: minutes(5),
            command: minutes(5),
            data_init: minutes(2),
            data_block: minutes(3),
            data_end: minutes(10),
        }
    }
}

// ANCHOR: relay_config
/// The relay's settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// `--route DOMAIN=HOST:PORT`: checked before DNS.
    pub routes: Vec<Route>,
    /// The port of MX hosts: 25 (RFC 5321 §4.5.4.2); another for experiments.
    pub remote_port: u16,
    /// Ask this DNS server for MX and addresses, instead of the system's.
    pub dns_server: Option<SocketAddr>,
    /// RFC 5321 §4.5.4.1: "the retry interval SHOULD be at least 30 minutes"; postie
    /// starts lower and doubles, which suits a laptop and still backs off.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// RFC 5321 §4.5.4.1: "give-up time generally needs to be at least 4-5 days".
    pub queue_lifetime: Duration,
    /// Worker threads delivering at the same time.
    pub workers: usize,
    /// How long to wait for a TCP connection to a remote host.
    pub connect_timeout: Duration,
    /// How long to wait for each reply of a remote server (RFC 5321 §4.5.3.2).
    pub timeouts: Timeouts,
}

impl Default for RelayConfig {
    fn default() -> RelayConfig {
        RelayConfig {
            routes: vec![],
            remote_port: 25,
            dns_server: None,
            retry_min: Duration::from_secs(5 * 60),
            retry_max: Duration::from_secs(60 * 60),
            queue_lifetime: Duration::from_secs(5 * 24 * 60 * 60),
            workers: 4,
            connect_timeout: Duration::from_secs(30),
            timeouts: Timeouts::default(),
        }
    }
}
// ANCHOR_END: relay_config

impl Config {
    /// The teaching defaults: localhost only, mail for `localhost` into `./mail`.
    pub fn new(hostname: impl Into<String>) -> Config {
        Config {
            listeners: vec![(
                Protocol::Smtp(Service::Smtp),
                SocketAddr::from(([127, 0, 0, 1], 2525)),
            )],
            hostname: hostname.into(),
            maildir: PathBuf::from("./mail"),
            spool: PathBuf::from("./spool"),
            policy: Rules::default(),
            limits: Limits::default(),
            max_connections: 100,
            threads: Threads::Pool,
            relay: RelayConfig::default(),
            tls: None,
            allow_plaintext_auth: false,
            directory: None,
            web: WebConfig::default(),
        }
    }

    /// Where `protocol` is to be served, if anywhere.
    pub fn listen_address(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, addr)| *addr)
    }

    /// Serves `protocol` at `addr` (instead of where it was served before).
    pub fn set_listener(&mut self, protocol: Protocol, addr: SocketAddr) {
        self.listeners.retain(|(p, _)| *p != protocol);
        self.listeners.push((protocol, addr));
    }
}

// ANCHOR: settings
/// What a session needs to know of the configuration, and nothing more: sessions never
/// see [`Config`] (ARCHITECTURE.md, *The session never does I/O*).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our name in greetings and goodbyes (shared, so a session can hold it cheaply
    /// while its state changes).
    pub hostname: Arc<str>,
    pub limits: Limits,
    /// A certificate is loaded: STARTTLS (STLS) may be offered.
    pub tls: bool,
    /// `--allow-plaintext-auth`: logins without TLS, from loopback clients only.
    pub allow_plaintext_auth: bool,
}

impl Settings {
    pub fn new(config: &Config) -> Settings {
        Settings {
            hostname: config.hostname.as_str().into(),
            limits: config.limits.clone(),
            tls: config.tls.is_some(),
            allow_plaintext_auth: config.allow_plaintext_auth,
        }
    }
}
// ANCHOR_END: settings
