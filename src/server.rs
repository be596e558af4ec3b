//! The whole house: a listener for each (protocol, address) of the configuration, the
//! storage they deliver into, and the relay that sends mail on.
//!
//! This is the one place that knows every protocol. It builds each listener's
//! [`Service`] — SMTP's three ([`SmtpService`]: plain SMTP, submission, submission
//! over implicit TLS), POP3's two ([`Pop3Service`]), IMAP's two ([`ImapService`]) and
//! the web view's two ([`HttpService`] serving [`Web`]: HTTP and HTTPS) — and hands
//! them to the shared listeners ([`crate::wire::Listeners`]), which accept, give
//! each client a thread, keep the cap and run the shutdown. Every protocol shares the
//! connection cap and the shutdown (an idle POP3 client hears `-ERR [SYS/TEMP]`).
//!
//! Shutdown (SIGINT/SIGTERM, see `main.rs`): stop accepting; idle clients hear their
//! protocol's goodbye at once; a client in the middle of DATA finishes its message (or
//! times out) first; the relay's scheduler stops; then `run` returns.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::{Config, Protocol};
use crate::directory::Directory;
use crate::http::HttpService;
use crate::imap::connection::{ImapService, Opener};
use crate::imap::maildir::{Deliveries, MaildirFolders};
use crate::policy::Policy;
use crate::pop3::connection::Pop3Service;
use crate::relay;
use crate::smtp::accept::Storage;
use crate::smtp::listener::SmtpService;
use crate::web::store::StoreMail;
use crate::web::Web;
use crate::wire::{Listeners, Recorder, Service, Stopper};

/// A bound server, ready to `run`.
pub struct Server {
    listeners: Listeners,
    /// Each listener's protocol and the address it really got.
    addresses: Vec<(Protocol, SocketAddr)>,
    config: Arc<Config>,
    storage: Arc<Storage>,
}

/// Stops a running server from another thread (a signal handler, a test).
#[derive(Clone)]
pub struct ShutdownHandle {
    listeners: Stopper,
    storage: Arc<Storage>,
}

impl ShutdownHandle {
    pub fn shutdown(&self) {
        if self.listeners.shutdown() {
            log::info!("shutting down: no new clients; waiting for messages in progress");
        }
        // Wake the relay's scheduler.
        self.storage.spool.bell().ring();
    }
}

/// How IMAP opens a user's folders: the Maildir++ tree under the Maildir root.
/// IDLE hears of new mail from the Maildir's bell.
fn imap_folders(config: &Config, storage: &Arc<Storage>) -> Opener {
    let (root, hostname) = (config.maildir.clone(), config.hostname.clone());
    let storage = storage.clone();
    Arc::new(move |user| {
        let storage = storage.clone();
        let deliveries: Deliveries = Arc::new(move || storage.maildir.bell().rings());
        let folders = MaildirFolders::open(&root, &user.mailbox, &hostname, Some(deliveries))?;
        Ok(Box::new(folders) as Box<dyn crate::imap::folders::Folders>)
    })
}

impl Server {
    /// Opens the Maildir and the spool and binds every listener, with the policy the
    /// flags describe: the directory with `--directory`, else the users file; each
    /// error is the user's to fix, and says which flag to look at.
    pub fn bind(config: Config) -> io::Result<Server> {
        let policy: Arc<dyn Policy> = match &config.directory {
            Some(directory) => Arc::new(Directory::new(
                directory.clone(),
                config.policy.clone(),
                config.limits.max_recipients,
            )),
            None => Arc::new(config.policy.clone()),
        };
        Server::bind_with_policy(config, policy)
    }

    // ANCHOR: bind
    /// [`Server::bind`] with another [`Policy`]: who is who, decided elsewhere.
    pub fn bind_with_policy(config: Config, policy: Arc<dyn Policy>) -> io::Result<Server> {
        let storage = Arc::new(Storage::open(
            &config.maildir,
            &config.spool,
            &config.hostname,
        )?);
        let mut listeners = Listeners::new(config.max_connections, config.threads);
        let mut addresses = Vec::new();
        // The web view's sessions page: a ring of the last SMTP transcripts, kept only
        // when there is a web listener to show them.
        let web_listens = config
            .listeners
            .iter()
            .any(|(p, _)| matches!(p, Protocol::Http | Protocol::Https));
        let recorder = if web_listens {
            Recorder::new(config.web.keep_sessions)
        } else {
            None
        };
        let web: Arc<Web> = Arc::new(
            Web::new(
                Arc::new(StoreMail::new(storage.clone())),
                recorder.clone(),
                policy.clone(),
                config.web.admins.clone(),
            )
            .with_meetings(crate::web::meetings::Meetings::new(
                storage.clone(),
                policy.clone(),
                &config.hostname,
            )),
        );
        for &(protocol, addr) in &config.listeners {
            if protocol.implicit_tls() && config.tls.is_none() {
                return Err(io::Error::other(format!(
                    "{} needs a certificate (--tls-cert or --tls-self-signed)",
                    protocol.flag()
                )));
            }
            let service: Arc<dyn Service> = match protocol {
                Protocol::Smtp(service) => Arc::new(
                    SmtpService::new(&config, service, policy.clone(), storage.clone())
                        .with_recorder(recorder.clone()),
                ),
                Protocol::Pop3 => Arc::new(Pop3Service::new(&config, policy.clone(), false)),
                Protocol::Pop3s => Arc::new(Pop3Service::new(&config, policy.clone(), true)),
                Protocol::Imap | Protocol::Imaps => Arc::new(ImapService::new(
                    &config,
                    policy.clone(),
                    imap_folders(&config, &storage),
                    protocol == Protocol::Imaps,
                )),
                Protocol::Http => Arc::new(HttpService::new(
                    web.clone(),
                    config.web.limits.clone(),
                    None,
                )),
                Protocol::Https => Arc::new(HttpService::new(
                    web.clone(),
                    config.web.limits.clone(),
                    config.tls.clone(),
                )),
            };
            addresses.push((protocol, listeners.bind(protocol.name(), addr, service)?));
        }
        Ok(Server {
            listeners,
            addresses,
            config: Arc::new(config),
            storage,
        })
    }
    // ANCHOR_END: bind

    /// The Maildir and the queue this server delivers into.
    pub fn storage(&self) -> Arc<Storage> {
        self.storage.clone()
    }

    /// Where SMTP is served.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.addr_of(Protocol::Smtp(crate::config::Service::Smtp))
            .ok_or_else(|| io::Error::other("no SMTP listener"))
    }

    /// Where `protocol` is served, if it has a listener.
    pub fn addr_of(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.addresses
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, addr)| *addr)
    }

    /// Every listener, with the address it really got.
    pub fn addresses(&self) -> &[(Protocol, SocketAddr)] {
        &self.addresses
    }

    pub fn shutdown_handle(&self) -> io::Result<ShutdownHandle> {
        Ok(ShutdownHandle {
            listeners: self.listeners.stopper(),
            storage: self.storage.clone(),
        })
    }

    // ANCHOR: run
    /// Serves every listener until shut down, then waits for the clients still talking.
    pub fn run(self) -> io::Result<()> {
        self.start()?.wait();
        Ok(())
    }

    /// Starts the relay and every listener, each on threads of its own, and returns
    /// at once: the server is serving when this returns.
    pub fn start(mut self) -> io::Result<Running> {
        // The relay delivers what we queue, on its own threads, until we stop.
        let relay = relay::runner::start(
            self.config.clone(),
            self.storage.clone(),
            self.listeners.stopping_flag(),
        )?;
        self.listeners.start()?;
        Ok(Running {
            listeners: self.listeners,
            relay,
        })
    }
    // ANCHOR_END: run
}

/// A started server (see [`Server::start`]).
pub struct Running {
    listeners: Listeners,
    relay: JoinHandle<()>,
}

impl Running {
    /// Waits until the server has been shut down and the last client has gone.
    pub fn wait(self) {
        self.listeners.wait();
        let _ = self.relay.join();
        log::info!("all clients gone; stopped");
    }
}
