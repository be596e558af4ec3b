//! The listeners: accept a client, give it a thread, keep count (RFC 5321 §3.1,
//! §4.5.3.2 timeouts) — the same machinery for every protocol.
//!
//! One thread per client is the simplest design that works: each conversation reads
//! like straight-line code, and the operating system does the scheduling. The costs are
//! a stack per client and a thread start per connection, so the stack is small and the
//! number of clients is capped across all listeners (over the cap: the protocol's "too
//! busy" words, such as `421 4.3.2`, and close; the listener keeps serving).
//!
//! A listener serves one [`Service`]: SMTP, submission, POP3… Each service says how it
//! is named, how long its clients may be silent, what it tells a client over the cap,
//! and how it serves one client — usually by building its session and handing it to
//! [`converse`], the one conversation every protocol shares.
//!
//! Shutdown ([`Stopper::shutdown`]): stop accepting; idle clients are woken (their
//! socket is closed for reading) and say goodbye in their protocol's words at once; a
//! client marked busy (SMTP message text) finishes first; then [`Listeners::wait`]
//! returns.
//!
//! Each client's thread comes from the ready threads of [`super::pool`], or is started
//! for it with `--threads spawn`.
//!
//! Left out: per-IP limits (an exercise in the book).

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::ServerConfig;

use super::conversation::{Conversation, Dialogue, End, Event, Render, Watch};
use super::pool::{Pool, Threads};
use super::transport::{Stream, Transport};

// ANCHOR: client_stack
/// Each client thread's stack. The conversation keeps its buffers on the heap, so a
/// small stack is plenty, and 1,000 clients cost 256 MiB of address space, not 2 GiB.
const CLIENT_STACK: usize = 256 * 1024;
// ANCHOR_END: client_stack

// ANCHOR: service
/// What a listener offers, and how it serves one client.
pub trait Service: Send + Sync + 'static {
    /// How long a client may stay silent (the socket's read and write timeout).
    fn timeout(&self) -> Duration;
    /// What to tell a client over the connection cap, before closing; nothing on an
    /// implicit-TLS listener, where the client expects a handshake, not words.
    fn too_busy(&self) -> Vec<u8>;
    /// Serves one client, on its own thread, from the greeting to the goodbye.
    fn serve(&self, client: Accepted);
}
// ANCHOR_END: service

/// A client the listener let in: its socket, its address, and its watch on shutdown.
pub struct Accepted {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub watch: Watch,
}

// ANCHOR: idle_thread
/// How long a pool thread waits for its next client before it ends.
const IDLE_THREAD: Duration = Duration::from_secs(60);
// ANCHOR_END: idle_thread

/// What the accept loops, the client threads and a shutdown share.
struct Shared {
    stopping: Watch,
    max_clients: usize,
    /// Ready threads, or `None` for a new thread per client (`--threads spawn`).
    pool: Option<Pool>,
    clients: Mutex<HashMap<u64, Client>>,
    /// Signalled whenever a client leaves, so shutdown can wait for the last one.
    client_left: Condvar,
    next_id: AtomicU64,
}

/// What is kept of a running client: a handle on its socket, and its busy flag.
struct Client {
    stream: TcpStream,
    busy: Arc<std::sync::atomic::AtomicBool>,
}

impl Shared {
    fn clients(&self) -> MutexGuard<'_, HashMap<u64, Client>> {
        // A client thread that panicked while holding the lock leaves the map intact.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every bound listener, ready to run, and a handle to stop them.
pub struct Listeners {
    /// Each bound listener: its name (`smtp`, `pop3s`…, for thread names and logs),
    /// its socket, and the service it offers.
    bound: Vec<(&'static str, TcpListener, Arc<dyn Service>)>,
    running: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// One address per listener, to wake its accept loop at shutdown.
    wake: Vec<SocketAddr>,
}

impl Listeners {
    /// No listeners yet; at most `max_clients` clients at once across all of them,
    /// each on a thread as `threads` says.
    pub fn new(max_clients: usize, threads: Threads) -> Listeners {
        let pool = match threads {
            Threads::Pool => Some(Pool::new("client", CLIENT_STACK, IDLE_THREAD)),
            Threads::Spawn => None,
        };
        Listeners {
            bound: Vec::new(),
            running: Vec::new(),
            shared: Arc::new(Shared {
                stopping: Watch::default(),
                max_clients,
                pool,
                clients: Mutex::new(HashMap::new()),
                client_left: Condvar::new(),
                next_id: AtomicU64::new(0),
            }),
            wake: Vec::new(),
        }
    }

    /// Binds `addr` for `service`, the listener called `name` (`smtp`, `pop3s`…); the
    /// error says which address. Returns the address really bound (port 0 asks for any
    /// free port).
    pub fn bind(
        &mut self,
        name: &'static str,
        addr: SocketAddr,
        service: Arc<dyn Service>,
    ) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let local = listener.local_addr()?;
        self.wake.push(wake_address(local));
        self.bound.push((name, listener, service));
        Ok(local)
    }

    /// Starts an accept loop on a thread of its own for every bound listener.
    pub fn start(&mut self) -> io::Result<()> {
        for (name, listener, service) in self.bound.drain(..) {
            let shared = self.shared.clone();
            let thread = thread::Builder::new()
                .name(format!("{name} listener"))
                .spawn(move || accept_loop(name, listener, service, shared))?;
            self.running.push(thread);
        }
        Ok(())
    }

    /// The flag that says shutdown has begun, for threads beside the listeners (the
    /// relay) to watch.
    pub fn stopping_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.shared.stopping.stopping.clone()
    }

    /// A handle that stops every listener from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            shared: self.shared.clone(),
            wake: self.wake.clone(),
        }
    }

    /// Waits until every accept loop has stopped and every client has left.
    pub fn wait(self) {
        for thread in self.running {
            let _ = thread.join();
        }
        let mut clients = self.shared.clients();
        while !clients.is_empty() {
            clients = self
                .shared
                .client_left
                .wait(clients)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if let Some(pool) = &self.shared.pool {
            pool.close();
        }
    }
}

/// Stops the listeners (a signal handler, a test).
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
    wake: Vec<SocketAddr>,
}

// ANCHOR: shutdown
impl Stopper {
    /// Stops accepting and wakes every idle client; true the first time only.
    pub fn shutdown(&self) -> bool {
        if self.shared.stopping.stopping.swap(true, Ordering::SeqCst) {
            return false;
        }
        // Wake clients blocked reading their next command: they see end-of-input, notice
        // the server is stopping and say goodbye. Busy clients are left alone.
        for client in self.shared.clients().values() {
            if !client.busy.load(Ordering::SeqCst) {
                let _ = client.stream.shutdown(Shutdown::Read);
            }
        }
        // Wake each accept loop with a connection of our own.
        for wake in &self.wake {
            let _ = TcpStream::connect_timeout(wake, Duration::from_secs(1));
        }
        true
    }

    /// Has shutdown begun?
    pub fn is_stopping(&self) -> bool {
        self.shared.stopping.stopping.load(Ordering::SeqCst)
    }
}
// ANCHOR_END: shutdown

/// Where to connect to wake a listener bound to `local` (an unspecified address
/// such as 0.0.0.0 is reached through loopback).
fn wake_address(local: SocketAddr) -> SocketAddr {
    let mut wake = local;
    if wake.ip().is_unspecified() {
        wake.set_ip(match wake {
            SocketAddr::V4(_) => [127, 0, 0, 1].into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    wake
}

// ANCHOR: accept_loop
/// Accepts clients until shutdown.
fn accept_loop(name: &str, listener: TcpListener, service: Arc<dyn Service>, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.stopping.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => accept(stream, &service, &shared),
            // A client that gave up before we accepted it, or a file-descriptor limit:
            // log it and keep serving the others.
            Err(e) => {
                log::warn!("{name}: accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
// ANCHOR_END: accept_loop

// ANCHOR: accept
/// One accepted client: configure its socket, check the cap, start its thread.
fn accept(stream: TcpStream, service: &Arc<dyn Service>, shared: &Arc<Shared>) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let timeout = service.timeout();
    let configured = stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        // Replies are batched (PIPELINING); Nagle's algorithm would only delay them.
        .and_then(|()| stream.set_nodelay(true));
    if let Err(e) = configured {
        log::warn!("{peer}: cannot configure socket: {e}");
        return;
    }
    let mut clients = shared.clients();
    if clients.len() >= shared.max_clients {
        drop(clients);
        log::warn!("{peer}: refused, {} clients already", shared.max_clients);
        refuse(stream, &service.too_busy());
        return;
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let watch = Watch {
        stopping: shared.stopping.stopping.clone(),
        busy: Default::default(),
    };
    let Ok(handle) = stream.try_clone() else {
        return;
    };
    let busy = watch.busy.clone();
    clients.insert(
        id,
        Client {
            stream: handle,
            busy,
        },
    );
    drop(clients);

    let (service, leaving) = (service.clone(), shared.clone());
    let conversation = move || {
        service.serve(Accepted {
            stream,
            peer,
            watch,
        });
        leaving.clients().remove(&id);
        leaving.client_left.notify_all();
    };
    let started = match &shared.pool {
        Some(pool) => pool.execute(Box::new(conversation)),
        None => thread::Builder::new()
            .name(format!("client {peer}"))
            .stack_size(CLIENT_STACK)
            .spawn(conversation)
            .map(|_| ()),
    };
    if let Err(e) = started {
        log::error!("{peer}: cannot start a thread: {e}");
        shared.clients().remove(&id);
    }
}
// ANCHOR_END: accept

// ANCHOR: refuse
/// Tells a client we cannot serve it (`words`, perhaps none), without a thread.
pub fn refuse(mut stream: TcpStream, words: &[u8]) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(words);
    let _ = stream.shutdown(Shutdown::Both);
}
// ANCHOR_END: refuse

// ANCHOR: converse
/// How a conversation may use TLS.
#[derive(Clone, Default)]
pub struct TlsMode {
    /// The certificate; `None`: no TLS at all.
    pub config: Option<Arc<ServerConfig>>,
    /// RFC 8314 §3.3: the handshake comes before the greeting.
    pub implicit: bool,
}

impl TlsMode {
    /// TLS with `config` (`None`: none at all), first thing when `implicit`.
    pub fn new(config: Option<Arc<ServerConfig>>, implicit: bool) -> TlsMode {
        TlsMode { config, implicit }
    }

    /// What a [`Service::too_busy`] says: the protocol's line for "come back later"
    /// (`reply`, given the sentence of [`too_many_connections`]), or nothing on an
    /// implicit-TLS listener, where the client expects a handshake, not words.
    pub fn too_busy<R: Render>(&self, hostname: &str, reply: impl FnOnce(&str) -> R) -> Vec<u8> {
        let mut words = Vec::new();
        if !self.implicit {
            reply(&too_many_connections(hostname)).write_to(&mut words);
        }
        words
    }
}

/// The sentence every protocol tells a client over the connection cap, in its own
/// words around it (SMTP's 421, POP3's `-ERR [SYS/TEMP]`, IMAP's `* BYE`).
pub fn too_many_connections(hostname: &str) -> String {
    format!("{hostname} too many connections, try again later")
}

/// The one conversation every protocol shares, on a client's own thread: the
/// handshake first on an implicit-TLS listener, then the greeting, then the loop.
pub fn converse<P: Dialogue>(
    client: Accepted,
    tls: &TlsMode,
    line_timeout: Duration,
    mut dialogue: P,
    greeting: P::Reply,
) {
    let Accepted {
        stream,
        peer,
        watch,
    } = client;
    let name = P::NAME;
    let mut transport = Transport::new(stream);
    if let (true, Some(config)) = (tls.implicit, &tls.config) {
        match transport.start_tls(config) {
            Ok(info) => {
                dialogue.handle(Event::TlsEstablished(info));
            }
            Err(e) => {
                log::info!("{peer} TLS handshake failed ({name}): {e}");
                return;
            }
        }
    }
    let conversation = Conversation::new(transport, peer, line_timeout)
        .with_tls(tls.config.clone())
        .watch(watch);
    match conversation.run(&mut dialogue, greeting) {
        Ok(End::Closed) => log::info!("{peer} closed ({name})"),
        Ok(End::Disconnected) => log::info!("{peer} disconnected ({name})"),
        Err(e) => log::info!("{peer} dropped ({name}): {e}"),
    }
}
// ANCHOR_END: converse
