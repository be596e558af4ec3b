//! The listener: accept a client, give it a thread, keep count (RFC 5321 §3.1,
//! §4.5.3.2 timeouts).
//!
//! One thread per client is the simplest design that works: each conversation reads
//! like straight-line code, and the operating system does the scheduling. The costs are
//! a stack per client and a thread start per connection, so the stack is small and the
//! number of clients is capped (over the cap: `421 4.3.2` and close; the listener keeps
//! serving).
//!
//! With `--greeting-delay`, an SMTP client's thread first waits that long before greeting:
//! a client that talks during the pause has not waited for the greeting (RFC 5321
//! §3.1) and gets `554` and the door, as Postfix's postscreen does.
//!
//! `run` also starts the relay (see [`crate::relay::runner`]), which delivers what the
//! clients queue for other domains.
//!
//! The same machinery serves every protocol postie speaks: each listener has a
//! [`Protocol`], and a client accepted on it gets that protocol's conversation on its
//! thread (SMTP's [`Connection`], or POP3's with `--pop3-listen`, and over implicit TLS
//! with `--pop3s-listen`). SMTP comes in three
//! services ([`Service`]): plain SMTP, submission (`--submission-listen`) and
//! submission over implicit TLS (`--smtps-listen`); only `serve` and the session tell
//! them apart. The SMTP listener accepts on the caller's thread, every other one on a
//! thread of its own; all share the connection cap and the shutdown (an idle POP3
//! client hears `-ERR [SYS/TEMP]`).
//!
//! Shutdown (SIGINT/SIGTERM, see `main.rs`): stop accepting; idle clients get
//! `421 4.3.0` at once; a client in the middle of DATA finishes its message (or times
//! out) first; the relay's scheduler stops; then `run` returns.
//!
//! Left out: a thread pool (threads are cheap enough here; the performance chapter
//! measures it), per-IP limits (an exercise in the book).

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::accept::Storage;
use crate::config::{Config, Service};
use crate::connection::Connection;
use crate::pop3;
use crate::relay;
use crate::smtp::reply::Reply;
use crate::smtp::session::Session;
use crate::tls::Upgradable;

// ANCHOR: client_stack
/// Each client thread's stack. The conversation keeps its buffers on the heap, so a
/// small stack is plenty, and 1,000 clients cost 256 MiB of address space, not 2 GiB.
const CLIENT_STACK: usize = 256 * 1024;
// ANCHOR_END: client_stack

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
}

impl Protocol {
    /// For thread names and logs: `smtp`, `submission`, `smtps`, `pop3`, `pop3s`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp(Service::Smtp) => "smtp",
            Protocol::Smtp(Service::Submission) => "submission",
            Protocol::Smtp(Service::SubmissionTls) => "smtps",
            Protocol::Pop3 => "pop3",
            Protocol::Pop3s => "pop3s",
        }
    }
}
// ANCHOR_END: protocol

/// A bound listener, ready to `run`.
pub struct Server {
    listener: TcpListener,
    /// The listeners beside SMTP's, each with its protocol.
    others: Vec<(Protocol, TcpListener)>,
    config: Arc<Config>,
    storage: Arc<Storage>,
    shared: Arc<Shared>,
}

/// What the accept loop, the client threads and a shutdown handle share.
#[derive(Default)]
struct Shared {
    stopping: Arc<AtomicBool>,
    clients: Mutex<HashMap<u64, Client>>,
    /// Signalled whenever a client leaves, so shutdown can wait for the last one.
    client_left: Condvar,
    next_id: AtomicU64,
}

/// What the server keeps of a running client: a handle on its socket, and whether it
/// is in the middle of DATA.
struct Client {
    stream: TcpStream,
    in_data: Arc<AtomicBool>,
}

impl Shared {
    fn clients(&self) -> MutexGuard<'_, HashMap<u64, Client>> {
        // A client thread that panicked while holding the lock leaves the map intact.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Stops a running server from another thread (a signal handler, a test).
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
    storage: Arc<Storage>,
    /// One address per listener, to wake its accept loop.
    wake: Vec<SocketAddr>,
}

// ANCHOR: shutdown
impl ShutdownHandle {
    pub fn shutdown(&self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        log::info!("shutting down: no new clients; waiting for messages in progress");
        // Wake clients blocked reading their next command: they see end-of-input, notice
        // the server is stopping and send 421. Clients inside DATA are left alone.
        for client in self.shared.clients().values() {
            if !client.in_data.load(Ordering::SeqCst) {
                let _ = client.stream.shutdown(Shutdown::Read);
            }
        }
        // Wake the relay's scheduler, and each accept loop with a connection of our own.
        self.storage.spool.bell().ring();
        for wake in &self.wake {
            let _ = TcpStream::connect_timeout(wake, Duration::from_secs(1));
        }
    }
}
// ANCHOR_END: shutdown

impl Server {
    /// Opens the Maildir and the spool and binds the listener; each error is the user's
    /// to fix, and says which flag to look at.
    pub fn bind(config: Config) -> io::Result<Server> {
        let storage = Storage::open(&config.maildir, &config.spool, &config.hostname)?;
        let listener = bind(config.listen)?;
        let mut others = Vec::new();
        if let Some(addr) = config.submission_listen {
            others.push((Protocol::Smtp(Service::Submission), bind(addr)?));
        }
        if let Some(addr) = config.smtps_listen {
            if config.tls.is_none() {
                return Err(io::Error::other(
                    "--smtps-listen needs a certificate (--tls-cert or --tls-self-signed)",
                ));
            }
            others.push((Protocol::Smtp(Service::SubmissionTls), bind(addr)?));
        }
        if let Some(addr) = config.pop3_listen {
            others.push((Protocol::Pop3, bind(addr)?));
        }
        if let Some(addr) = config.pop3s_listen {
            if config.tls.is_none() {
                return Err(io::Error::other(
                    "--pop3s-listen needs a certificate (--tls-cert or --tls-self-signed)",
                ));
            }
            others.push((Protocol::Pop3s, bind(addr)?));
        }
        Ok(Server {
            listener,
            others,
            config: Arc::new(config),
            storage: Arc::new(storage),
            shared: Arc::new(Shared::default()),
        })
    }

    /// The Maildir and the queue this server delivers into.
    pub fn storage(&self) -> Arc<Storage> {
        self.storage.clone()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where POP3 is served, with `--pop3-listen`.
    pub fn pop3_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Protocol::Pop3)
    }

    /// Where `protocol` is served, if it has a listener.
    pub fn addr_of(&self, protocol: Protocol) -> Option<SocketAddr> {
        if protocol == Protocol::Smtp(Service::Smtp) {
            return self.local_addr().ok();
        }
        self.others
            .iter()
            .find(|(p, _)| *p == protocol)
            .and_then(|(_, listener)| listener.local_addr().ok())
    }

    pub fn shutdown_handle(&self) -> io::Result<ShutdownHandle> {
        let mut wake = vec![self.local_addr()?];
        for (_, listener) in &self.others {
            wake.push(listener.local_addr()?);
        }
        // Listening on every address (0.0.0.0 or ::): wake ourselves over loopback.
        for wake in &mut wake {
            if wake.ip().is_unspecified() {
                wake.set_ip(if wake.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
        }
        Ok(ShutdownHandle {
            shared: self.shared.clone(),
            storage: self.storage.clone(),
            wake,
        })
    }

    // ANCHOR: accept_loop
    /// Accepts clients until shut down, then waits for the ones still talking.
    pub fn run(self) -> io::Result<()> {
        // The relay delivers what we queue, on its own threads, until we stop.
        let relay = relay::runner::start(
            self.config.clone(),
            self.storage.clone(),
            self.shared.stopping.clone(),
        )?;
        // Every other listener accepts on a thread of its own, SMTP's on this one.
        let server = &self;
        thread::scope(|scope| {
            for (protocol, listener) in &server.others {
                scope.spawn(move || server.accept_loop(listener, *protocol));
            }
            self.accept_loop(&self.listener, Protocol::Smtp(Service::Smtp));
        });
        let mut clients = self.shared.clients();
        while !clients.is_empty() {
            clients = self
                .shared
                .client_left
                .wait(clients)
                .unwrap_or_else(|p| p.into_inner());
        }
        let _ = relay.join();
        log::info!("all clients gone; stopped");
        Ok(())
    }
    // ANCHOR_END: accept_loop

    // ANCHOR: accept_each
    /// Accepts clients on one listener until the server stops.
    fn accept_loop(&self, listener: &TcpListener, protocol: Protocol) {
        for stream in listener.incoming() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            match stream {
                Ok(stream) => self.accept(stream, protocol),
                // A client that vanished before we accepted it, or a momentary lack of
                // file descriptors: log it and keep serving everyone else.
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
    // ANCHOR_END: accept_each

    // ANCHOR: accept
    /// Gives one client its own thread, unless we are at the cap.
    fn accept(&self, stream: TcpStream, protocol: Protocol) {
        let Ok(peer) = stream.peer_addr() else { return };
        let limits = &self.config.limits;
        // RFC 5321 §4.5.3.2.7: never wait forever on a client, reading or writing.
        // RFC 1939 §3: POP3's autologout timer is at least 10 minutes.
        let timeout = match protocol {
            Protocol::Smtp(_) => limits.timeout,
            Protocol::Pop3 | Protocol::Pop3s => limits.pop3_timeout,
        };
        let configured = stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            // Replies are batched (PIPELINING); Nagle's algorithm would only delay them.
            .and_then(|()| stream.set_nodelay(true));
        if let Err(e) = configured {
            log::warn!("{peer}: cannot configure socket: {e}");
            return;
        }
        let mut clients = self.shared.clients();
        if clients.len() >= self.config.max_connections {
            drop(clients);
            log::warn!(
                "{peer}: refused, {} clients already",
                self.config.max_connections
            );
            // No EHLO yet, so no enhanced status code (RFC 2034 §3).
            let reply = Reply::too_many_connections(&self.config.hostname).without_status();
            refuse(stream, protocol, &reply);
            return;
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let in_data = Arc::new(AtomicBool::new(false));
        let Ok(handle) = stream.try_clone() else {
            return;
        };
        clients.insert(
            id,
            Client {
                stream: handle,
                in_data: in_data.clone(),
            },
        );
        drop(clients);

        let (config, storage, shared) = (
            self.config.clone(),
            self.storage.clone(),
            self.shared.clone(),
        );
        let spawned = thread::Builder::new()
            .name(format!("{} {peer}", protocol.name()))
            .stack_size(CLIENT_STACK)
            .spawn(move || {
                let stopping = shared.stopping.clone();
                match protocol {
                    Protocol::Smtp(service) => {
                        serve(stream, peer, service, config, storage, stopping, in_data)
                    }
                    Protocol::Pop3 => {
                        pop3::connection::serve(stream, peer, config, stopping, false)
                    }
                    Protocol::Pop3s => {
                        pop3::connection::serve(stream, peer, config, stopping, true)
                    }
                }
                shared.clients().remove(&id);
                shared.client_left.notify_all();
            });
        if let Err(e) = spawned {
            log::error!("{peer}: cannot start a thread: {e}");
            self.shared.clients().remove(&id);
        }
    }
    // ANCHOR_END: accept
}

// ANCHOR: serve
/// One client, on its own thread, from the greeting to the close.
fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    service: Service,
    config: Arc<Config>,
    storage: Arc<Storage>,
    stopping: Arc<AtomicBool>,
    in_data: Arc<AtomicBool>,
) {
    // Debug, not info: the line that ends the connection names the client too, and
    // one log line less per connection is measurable (see the performance chapter).
    log::debug!("{peer} connected ({service:?})");
    // The greeting pause (--greeting-delay). Not on implicit TLS, where the client
    // rightly speaks first: its TLS handshake comes before any greeting.
    let pause = config.limits.greeting_delay;
    if !pause.is_zero()
        && service != Service::SubmissionTls
        && talks_first(&stream, pause, config.limits.timeout)
    {
        log::warn!("{peer}: refused, talked before the greeting");
        // No EHLO yet, so no enhanced status code (RFC 2034 §3).
        let reply = Reply::talked_before_greeting(&config.hostname).without_status();
        refuse(stream, Protocol::Smtp(service), &reply);
        return;
    }
    let (mut session, greeting) = Session::for_service(config.clone(), peer, service);
    // The reader and the writer share one socket, which STARTTLS may turn into TLS.
    let socket = Upgradable::new(stream);
    // RFC 8314 §3.3: implicit TLS, the handshake before the greeting.
    if let (Service::SubmissionTls, Some(tls)) = (service, &config.tls) {
        match socket.start_tls(tls) {
            Ok(info) => session.tls_established(info),
            Err(e) => {
                log::info!("{peer} TLS handshake failed: {e}");
                return;
            }
        }
    }
    let mut connection = Connection::new(
        socket.clone(),
        socket.clone(),
        session,
        config.clone(),
        storage,
    )
    .watch(stopping, in_data);
    if let Some(tls) = config.tls.clone() {
        connection = connection.with_tls(socket.upgrade_with(tls));
    }
    match connection.run(greeting) {
        Ok(end) => log::info!(
            "{peer} {}",
            if end == crate::connection::End::Closed {
                "closed"
            } else {
                "disconnected"
            }
        ),
        Err(e) => log::info!("{peer} dropped: {e}"),
    }
}
// ANCHOR_END: serve

// ANCHOR: talks_first
/// The greeting pause (`--greeting-delay`): waits up to `pause` for the client to say
/// something, which a client that follows RFC 5321 §3.1 never does before our 220.
/// True if it did. Postfix's postscreen calls this the pregreet test.
fn talks_first(mut stream: &TcpStream, pause: Duration, timeout: Duration) -> bool {
    use std::io::Read;
    let mut input = [0u8; 4096];
    // peek waits for the first byte, or the pause to run out (an error, WouldBlock).
    let talked = stream.set_read_timeout(Some(pause)).is_ok()
        && matches!(stream.peek(&mut input[..1]), Ok(n) if n > 0);
    if talked {
        // Read what it sent: closing a socket with unread input sends a reset, and
        // the client would never see our reply.
        let _ = stream.read(&mut input);
    }
    let _ = stream.set_read_timeout(Some(timeout));
    talked
}
// ANCHOR_END: talks_first

/// Binds one listener; the error says which address.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

// ANCHOR: refuse
/// Tells a client we cannot serve it, without giving it a thread.
fn refuse(mut stream: TcpStream, protocol: Protocol, reply: &Reply) {
    let mut out = Vec::new();
    match protocol {
        // Implicit TLS: the client expects a TLS handshake, not words; just close.
        Protocol::Smtp(Service::SubmissionTls) | Protocol::Pop3s => {}
        Protocol::Smtp(_) => reply.write_to(&mut out),
        // The same words after POP3's "-ERR [SYS/TEMP]" (RFC 2449 §8, RFC 3206).
        Protocol::Pop3 => {
            pop3::reply::Reply::err(Some("SYS/TEMP"), reply.lines().join(" ")).write_to(&mut out)
        }
    }
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(&out);
    let _ = stream.shutdown(Shutdown::Both);
}
// ANCHOR_END: refuse
