//! A handful of connections to the directory, kept open and reused, so that a client's
//! RCPT does not wait for a TCP and TLS handshake it does not need.
//!
//! Every connection in the pool is bound as the service account (`--directory-bind-dn`)
//! or anonymous (RFC 4513 §5.1.1) when there is none. A login binds as the user (RFC
//! 4511 §4.2.1: a bind replaces the connection's identity), so afterwards the pool binds
//! the connection back before anyone else may search with it.
//!
//! A connection that sat in the pool while the directory restarted is dead without
//! knowing it: the first write may succeed and the read then fails. So an I/O error on
//! a reused connection is tried once more on a fresh one; a timeout is not (it would
//! double the wait), and nor is a fresh connection's failure: that is an outage.
//!
//! Left out: a cap on connections open at once (each client thread opens one when none
//! is idle; `--max-connections` bounds them), health checks, and several servers.

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::ClientConfig;

use super::connection::{Connection, Error};
use super::url::DirectoryUrl;

/// How many idle connections are kept.
pub const MAX_IDLE: usize = 4;

/// Where and as whom to connect.
pub struct Pool {
    url: DirectoryUrl,
    tls: Arc<ClientConfig>,
    force_starttls: bool,
    timeout: Duration,
    /// The service account: DN and password; `None`: anonymous searches.
    service: Option<(String, String)>,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub fn new(
        url: DirectoryUrl,
        tls: Arc<ClientConfig>,
        force_starttls: bool,
        timeout: Duration,
        service: Option<(String, String)>,
    ) -> Pool {
        Pool {
            url,
            tls,
            force_starttls,
            timeout,
            service,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn url(&self) -> &DirectoryUrl {
        &self.url
    }

    // ANCHOR: with
    /// Runs `work` on a connection bound as the service account, then keeps the
    /// connection for the next caller (unless it failed).
    pub fn with<T>(
        &self,
        mut work: impl FnMut(&mut Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if let Some(mut reused) = self.take_idle() {
            match work(&mut reused) {
                Ok(answer) => {
                    self.give_back(reused);
                    return Ok(answer);
                }
                // Dead while it waited (the directory restarted): try a fresh one.
                Err(Error::Io(e)) if !is_timeout(e.kind()) => {
                    log::debug!("directory: a pooled connection failed ({e}); reconnecting");
                }
                Err(e) => return Err(e),
            }
        }
        let mut fresh = self.open()?;
        let answer = work(&mut fresh)?;
        self.give_back(fresh);
        Ok(answer)
    }
    // ANCHOR_END: with

    /// A simple bind as `dn` (a login), then back to the service identity.
    pub fn check_password(&self, dn: &str, password: &str) -> Result<bool, Error> {
        self.with(|connection| {
            let right = connection.bind(dn, password)?;
            self.bind_service(connection)?;
            Ok(right)
        })
    }

    fn open(&self) -> Result<Connection, Error> {
        let mut connection =
            Connection::open(&self.url, &self.tls, self.force_starttls, self.timeout)?;
        if self.service.is_some() {
            self.bind_service(&mut connection)?;
        }
        Ok(connection)
    }

    /// Binds as the service account (an anonymous connection needs no bind, but after
    /// a login it must say so: RFC 4513 §5.1.1, a bind with an empty name).
    fn bind_service(&self, connection: &mut Connection) -> Result<(), Error> {
        let refused = |what: &str| {
            Error::Protocol(format!(
                "the directory refused the {what} bind (check --directory-bind-dn and --directory-password-file)"
            ))
        };
        match &self.service {
            Some((dn, password)) => match connection.bind(dn, password)? {
                true => Ok(()),
                false => Err(refused("service account's")),
            },
            None => match connection.bind_anonymous()? {
                true => Ok(()),
                false => Err(refused("anonymous")),
            },
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(connection);
                return;
            }
        }
        connection.unbind();
    }
}

fn is_timeout(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::fake::{bind_response, FakeDirectory};
    use rasn_ldap::{AuthenticationChoice, ProtocolOp, ResultCode};

    const ALICE: &str = "uid=alice,dc=example,dc=test";

    /// A directory where alice's password is "right" and anonymous binds are `anonymous`.
    fn directory(anonymous: ResultCode) -> FakeDirectory {
        FakeDirectory::start(move |request| match request {
            ProtocolOp::BindRequest(bind) => {
                let AuthenticationChoice::Simple(password) = &bind.authentication else {
                    return vec![bind_response(ResultCode::AuthMethodNotSupported)];
                };
                vec![bind_response(match (bind.name.0.as_str(), &password[..]) {
                    ("", b"") => anonymous,
                    (ALICE, b"right") => ResultCode::Success,
                    _ => ResultCode::InvalidCredentials,
                })]
            }
            _ => vec![],
        })
    }

    fn pool(directory: &FakeDirectory) -> Pool {
        let tls = crate::directory::trust(None).unwrap();
        Pool::new(
            directory.url.clone(),
            tls,
            false,
            Duration::from_secs(1),
            None,
        )
    }

    /// Answers every bind with success.
    fn binds(request: &ProtocolOp) -> Vec<ProtocolOp> {
        match request {
            ProtocolOp::BindRequest(_) => vec![bind_response(ResultCode::Success)],
            _ => vec![],
        }
    }

    #[test]
    fn at_most_four_connections_wait_idle() {
        let directory = FakeDirectory::serving(MAX_IDLE + 1, |_, request| Some(binds(request)));
        let pool = pool(&directory);
        let connections: Vec<Connection> = (0..=MAX_IDLE).map(|_| pool.open().unwrap()).collect();
        for connection in connections {
            pool.give_back(connection);
        }
        assert_eq!(pool.idle.lock().unwrap().len(), MAX_IDLE);
        drop(pool);
        // The one too many said goodbye; the idle ones simply closed with the pool.
        assert_eq!(directory.requests(), ["UnbindRequest"]);
    }

    #[test]
    fn a_connection_that_died_while_idle_is_replaced() {
        // The first connection closes at its first request (the directory restarted).
        let directory = FakeDirectory::serving(2, |n, request| (n == 1).then(|| binds(request)));
        let pool = pool(&directory);
        let dead = pool.open().unwrap();
        pool.give_back(dead);
        assert!(pool.check_password(ALICE, "right").unwrap());
        drop(pool);
        assert_eq!(
            directory.requests().len(),
            3,
            "one on the dead, two on the fresh"
        );
    }

    #[test]
    fn a_timeout_is_not_tried_again() {
        // It would double the wait; a directory that does not answer is an outage.
        let directory = FakeDirectory::serving(2, |_, _| Some(vec![]));
        let pool = pool(&directory);
        let silent = pool.open().unwrap();
        pool.give_back(silent);
        let error = pool.check_password(ALICE, "right").unwrap_err();
        assert!(
            matches!(&error, Error::Io(e) if is_timeout(e.kind())),
            "{error}"
        );
        // The fake waits for a second connection, which a retry would have made. The
        // pool made none, so the test makes it, and the fake can finish.
        let second = std::net::TcpStream::connect(directory.addr).unwrap();
        drop(pool);
        drop(second);
        assert_eq!(directory.requests().len(), 1);
    }

    #[test]
    fn after_a_login_the_connection_is_anonymous_again() {
        // RFC 4511 §4.2.1: a bind replaces the connection's identity, so the next
        // search must not run as the user who logged in.
        let directory = directory(ResultCode::Success);
        let pool = pool(&directory);
        assert!(pool.check_password(ALICE, "right").unwrap());
        assert!(!pool.check_password(ALICE, "wrong").unwrap());
        drop(pool);
        let anonymous = "BindRequest v3 dn=\"\" (anonymous)";
        let alice = format!("BindRequest v3 dn=\"{ALICE}\" (simple, password hidden)");
        assert_eq!(directory.requests(), [&alice, anonymous, &alice, anonymous]);
    }

    #[test]
    fn a_refused_anonymous_bind_is_an_error() {
        let directory = directory(ResultCode::InappropriateAuthentication);
        let pool = pool(&directory);
        let error = pool.check_password(ALICE, "right").unwrap_err();
        assert!(
            error.to_string().contains("refused the anonymous bind"),
            "{error}"
        );
        drop(pool);
        assert_eq!(directory.requests().len(), 2);
    }
}
