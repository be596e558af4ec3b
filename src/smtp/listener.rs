//! An SMTP listener (plain SMTP, submission, or submission over implicit TLS): what it
//! tells a client over the connection cap, the greeting pause, and how one client is
//! served — a session handed to the shared conversation ([`crate::wire::converse`]).
//!
//! With `--greeting-delay`, a client's thread first waits that long before greeting: a
//! client that talks during the pause has not waited for the greeting (RFC 5321 §3.1)
//! and gets `554` and the door, as Postfix's postscreen does.

use std::io::Read;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use super::accept::Storage;
use super::connection::Smtp;
use super::reply::Reply;
use super::session::Session;
use crate::config::{Config, Limits, Protocol, Service, Settings};
use crate::policy::Policy;
use crate::wire::{self, Accepted, Recorder, TlsMode};

// ANCHOR: smtp_service
/// One SMTP listener's service.
pub struct SmtpService {
    settings: Settings,
    service: Service,
    policy: Arc<dyn Policy>,
    storage: Arc<Storage>,
    tls: TlsMode,
    /// The last sessions' transcripts, for the web view; `None`: none kept.
    recorder: Option<Arc<Recorder>>,
}
// ANCHOR_END: smtp_service

impl SmtpService {
    pub fn new(
        config: &Config,
        service: Service,
        policy: Arc<dyn Policy>,
        storage: Arc<Storage>,
    ) -> SmtpService {
        SmtpService {
            settings: Settings::new(config),
            service,
            policy,
            storage,
            tls: TlsMode {
                config: config.tls.clone(),
                implicit: service == Service::SubmissionTls,
            },
            recorder: None,
        }
    }

    /// Keeps each session's transcript in `recorder`.
    pub fn with_recorder(mut self, recorder: Option<Arc<Recorder>>) -> SmtpService {
        self.recorder = recorder;
        self
    }

    fn limits(&self) -> &Limits {
        &self.settings.limits
    }
}

impl wire::Service for SmtpService {
    /// RFC 5321 §4.5.3.2.7: never wait forever on a client, reading or writing.
    fn timeout(&self) -> Duration {
        self.limits().timeout
    }

    fn too_busy(&self) -> Vec<u8> {
        let mut words = Vec::new();
        if !self.tls.implicit {
            // No EHLO yet, so no enhanced status code (RFC 2034 §3).
            Reply::too_many_connections(&self.settings.hostname)
                .without_status()
                .write_to(&mut words);
        }
        words
    }

    // ANCHOR: serve
    fn serve(&self, client: Accepted) {
        let peer = client.peer;
        // Debug, not info: the line that ends the connection names the client too, and
        // one log line less per connection is measurable (see the performance chapter).
        log::debug!("{peer} connected ({:?})", self.service);
        // The greeting pause (--greeting-delay). Not on implicit TLS, where the client
        // rightly speaks first: its TLS handshake comes before any greeting.
        let pause = self.limits().greeting_delay;
        if !pause.is_zero()
            && !self.tls.implicit
            && talks_first(&client.stream, pause, self.timeout())
        {
            log::warn!("{peer}: refused, talked before the greeting");
            // No EHLO yet, so no enhanced status code (RFC 2034 §3).
            let mut words = Vec::new();
            Reply::talked_before_greeting(&self.settings.hostname)
                .without_status()
                .write_to(&mut words);
            wire::listener::refuse(client.stream, &words);
            return;
        }
        let service = self.service;
        let (session, greeting) =
            Session::new(self.settings.clone(), service, self.policy.clone(), peer);
        let smtp = Smtp::new(
            session,
            self.storage.clone(),
            &self.settings.hostname,
            self.limits().clone(),
        )
        .with_transcript(
            self.recorder
                .as_ref()
                .map(|recorder| recorder.begin(Protocol::Smtp(self.service).name(), peer)),
        );
        let line_timeout = self.limits().command_timeout;
        wire::converse(client, &self.tls, line_timeout, smtp, greeting);
    }
    // ANCHOR_END: serve
}

// ANCHOR: talks_first
/// The greeting pause (`--greeting-delay`): waits up to `pause` for the client to say
/// something, which a client that follows RFC 5321 §3.1 never does before our 220.
/// True if it did. Postfix's postscreen calls this the pregreet test.
fn talks_first(mut stream: &TcpStream, pause: Duration, timeout: Duration) -> bool {
    // peek waits for the first byte, or the pause to run out (an error, WouldBlock).
    let talked = stream.set_read_timeout(Some(pause)).is_ok()
        && matches!(stream.peek(&mut [0u8; 1]), Ok(n) if n > 0);
    if talked {
        // Read what it sent: closing a socket with unread input sends a reset, and
        // the client would never see our reply. On the heap: a buffer on the stack
        // would sit in every session's stack (this is inlined into `serve`), used or
        // not: see the Performance chapter.
        let _ = stream.read(&mut vec![0u8; 4096]);
    }
    let _ = stream.set_read_timeout(Some(timeout));
    talked
}
// ANCHOR_END: talks_first
