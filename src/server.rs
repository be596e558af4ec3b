//! The listener: accept a client, give it a thread, keep count (RFC 5321 §3.1,
//! §4.5.3.2 timeouts).
//!
//! One thread per client is the simplest design that works: each conversation reads
//! like straight-line code, and the operating system does the scheduling. The costs are
//! a stack per client and a thread start per connection, so the stack is small and the
//! number of clients is capped (over the cap: `421 4.3.2` and close; the listener keeps
//! serving).
//!
//! `run` also starts the relay (see [`crate::relay::runner`]), which delivers what the
//! clients queue for other domains.
//!
//! Shutdown (SIGINT/SIGTERM, see `main.rs`): stop accepting; idle clients get
//! `421 4.3.0` at once; a client in the middle of DATA finishes its message (or times
//! out) first; the relay's scheduler stops; then `run` returns.
//!
//! A server may listen on several sockets, each for one [`Service`] (SMTP, submission,
//! submission over implicit TLS). Every listener runs the same accept loop on its own
//! thread; only `serve` looks at the service.
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
use crate::relay;
use crate::smtp::reply::Reply;
use crate::smtp::session::Session;
use crate::tls::Upgradable;

// ANCHOR: client_stack
/// Each client thread's stack. The conversation keeps its buffers on the heap, so a
/// small stack is plenty, and 1,000 clients cost 256 MiB of address space, not 2 GiB.
const CLIENT_STACK: usize = 256 * 1024;
// ANCHOR_END: client_stack

/// The bound listeners, ready to `run`.
pub struct Server {
    listeners: Vec<Listener>,
    config: Arc<Config>,
    storage: Arc<Storage>,
    shared: Arc<Shared>,
}

/// A listening socket and what it offers.
struct Listener {
    socket: TcpListener,
    service: Service,
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
    /// One address per listener: connecting to it wakes that accept loop.
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
        // Wake the relay's scheduler, and the accept loop with a connection of our own.
        self.storage.notify_queued();
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
        let wanted = [
            (Some(config.listen), Service::Smtp),
            (config.submission_listen, Service::Submission),
            (config.smtps_listen, Service::SubmissionTls),
        ];
        let mut listeners = Vec::new();
        for (addr, service) in wanted {
            let Some(addr) = addr else { continue };
            if service == Service::SubmissionTls && config.tls.is_none() {
                return Err(io::Error::other(
                    "--smtps-listen needs a certificate (--tls-cert or --tls-self-signed)",
                ));
            }
            let socket = TcpListener::bind(addr)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            listeners.push(Listener { socket, service });
        }
        Ok(Server {
            listeners,
            config: Arc::new(config),
            storage: Arc::new(storage),
            shared: Arc::new(Shared::default()),
        })
    }

    /// The Maildir and the queue this server delivers into.
    pub fn storage(&self) -> Arc<Storage> {
        self.storage.clone()
    }

    /// The address of the SMTP listener (`--listen`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.local_addr_of(Service::Smtp)
    }

    /// The address of the listener for `service`.
    pub fn local_addr_of(&self, service: Service) -> io::Result<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.service == service)
            .ok_or_else(|| io::Error::other(format!("no listener for {service:?}")))?
            .socket
            .local_addr()
    }

    pub fn shutdown_handle(&self) -> io::Result<ShutdownHandle> {
        let mut wake = Vec::new();
        for listener in &self.listeners {
            let mut addr = listener.socket.local_addr()?;
            // Listening on every address (0.0.0.0 or ::): wake ourselves over loopback.
            if addr.ip().is_unspecified() {
                addr.set_ip(if addr.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            wake.push(addr);
        }
        Ok(ShutdownHandle {
            shared: self.shared.clone(),
            storage: self.storage.clone(),
            wake,
        })
    }

    // ANCHOR: run
    /// Accepts clients on every listener until shut down, then waits for the ones
    /// still talking.
    pub fn run(self) -> io::Result<()> {
        // The relay delivers what we queue, on its own threads, until we stop.
        let relay = relay::runner::start(
            self.config.clone(),
            self.storage.clone(),
            self.shared.stopping.clone(),
        )?;
        // One accept loop per listener, each on its own thread; all end on shutdown.
        thread::scope(|scope| {
            for listener in &self.listeners {
                scope.spawn(|| self.accept_loop(listener));
            }
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
    // ANCHOR_END: run

    // ANCHOR: accept_loop
    /// Takes connections from one listener, one at a time, until shut down.
    fn accept_loop(&self, listener: &Listener) {
        for stream in listener.socket.incoming() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            match stream {
                Ok(stream) => self.accept(stream, listener.service),
                // A client that vanished before we accepted it, or a momentary lack of
                // file descriptors: log it and keep serving everyone else.
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
    // ANCHOR_END: accept_loop

    // ANCHOR: accept
    /// Gives one client its own thread, unless we are at the cap.
    fn accept(&self, stream: TcpStream, service: Service) {
        let Ok(peer) = stream.peer_addr() else { return };
        let limits = &self.config.limits;
        // RFC 5321 §4.5.3.2.7: never wait forever on a client, reading or writing.
        let configured = stream
            .set_read_timeout(Some(limits.timeout))
            .and_then(|()| stream.set_write_timeout(Some(limits.timeout)))
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
            refuse(stream, &reply);
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
            .name(format!("smtp {peer}"))
            .stack_size(CLIENT_STACK)
            .spawn(move || {
                serve(
                    stream,
                    peer,
                    service,
                    config,
                    storage,
                    shared.stopping.clone(),
                    in_data,
                );
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
    log::info!("{peer} connected ({service:?})");
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
        connection = connection.with_tls(Box::new(move || socket.start_tls(&tls)));
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

// ANCHOR: refuse
/// Tells a client we cannot serve it, without giving it a thread.
fn refuse(mut stream: TcpStream, reply: &Reply) {
    let mut out = Vec::new();
    reply.write_to(&mut out);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(&out);
    let _ = stream.shutdown(Shutdown::Both);
}
// ANCHOR_END: refuse
