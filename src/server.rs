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
use crate::config::Config;
use crate::connection::Connection;
use crate::relay;
use crate::smtp::reply::Reply;
use crate::smtp::session::Session;

// ANCHOR: client_stack
/// Each client thread's stack. The conversation keeps its buffers on the heap, so a
/// small stack is plenty, and 1,000 clients cost 256 MiB of address space, not 2 GiB.
const CLIENT_STACK: usize = 256 * 1024;
// ANCHOR_END: client_stack

/// A bound listener, ready to `run`.
pub struct Server {
    listener: TcpListener,
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
    wake: SocketAddr,
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
        let _ = TcpStream::connect_timeout(&self.wake, Duration::from_secs(1));
    }
}
// ANCHOR_END: shutdown

impl Server {
    /// Opens the Maildir and the spool and binds the listener; each error is the user's
    /// to fix, and says which flag to look at.
    pub fn bind(config: Config) -> io::Result<Server> {
        let storage = Storage::open(&config.maildir, &config.spool, &config.hostname)?;
        let listener = TcpListener::bind(config.listen).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.listen))
        })?;
        Ok(Server {
            listener,
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

    pub fn shutdown_handle(&self) -> io::Result<ShutdownHandle> {
        let mut wake = self.local_addr()?;
        // Listening on every address (0.0.0.0 or ::): wake ourselves over loopback.
        if wake.ip().is_unspecified() {
            wake.set_ip(if wake.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
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
        for stream in self.listener.incoming() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            match stream {
                Ok(stream) => self.accept(stream),
                // A client that vanished before we accepted it, or a momentary lack of
                // file descriptors: log it and keep serving everyone else.
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
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

    // ANCHOR: accept
    /// Gives one client its own thread, unless we are at the cap.
    fn accept(&self, stream: TcpStream) {
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
    config: Arc<Config>,
    storage: Arc<Storage>,
    stopping: Arc<AtomicBool>,
    in_data: Arc<AtomicBool>,
) {
    // Debug, not info: the line that ends the connection names the client too, and
    // one log line less per connection is measurable (see the performance chapter).
    log::debug!("{peer} connected");
    let (session, greeting) = Session::new(config.clone(), peer);
    let connection =
        Connection::new(&stream, &stream, session, config, storage).watch(stopping, in_data);
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
