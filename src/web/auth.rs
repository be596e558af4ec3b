//! Who is asking, and may they: logins for the pages, HTTP Basic for the API, and the
//! rules against cross-site requests.
//!
//! - **Without `--users`** there are no accounts: everyone who can reach the listener
//!   sees every mailbox, which is why postie refuses to start with a non-loopback
//!   `--http-listen` and no `--users`.
//! - **With `--users`** the pages need a login (a form; the password checked by the
//!   policy, Argon2id; then a random session cookie, `HttpOnly`, `SameSite=Strict`,
//!   `Secure` over TLS, RFC 6265 §4.1.2), and the API takes HTTP Basic (RFC 7617). A
//!   user sees their own mailbox only; an `--admin` sees every mailbox, the sessions
//!   and the queue.
//! - **Cross-site requests.** Every request that changes something (any method but GET
//!   and HEAD) is refused with 403 when its `Origin` (RFC 6454 §7) names another site
//!   than ours; no `Origin` at all (curl, a test client) is allowed. The pages' forms
//!   also carry a CSRF token tied to the login (or, without accounts, to a random
//!   token of this server's run).
//!
//! Left out: logins expire only after [`LOGIN_LIFETIME`] or at logout or restart (they
//! live in memory); no rate limit on failed logins beyond Argon2's cost.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

use crate::http::Request;
use crate::policy::{LoginFailure, Policy};

/// The login cookie's name.
pub const COOKIE: &str = "postie_session";
/// How long a login lasts.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

// ANCHOR: viewer
/// Who a request comes from, as far as the web view is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No accounts (`--users` not given): everyone sees everything.
    Everyone,
    /// A logged-in user: their own mailbox (`local@domain`).
    User(String),
    /// A logged-in `--admin`: every mailbox, the sessions, the queue.
    Admin(String),
    /// Accounts exist and this request proved none.
    Nobody,
}
// ANCHOR_END: viewer

impl Viewer {
    /// May this viewer see `mailbox`?
    pub fn sees(&self, mailbox: &str) -> bool {
        match self {
            Viewer::Everyone | Viewer::Admin(_) => true,
            Viewer::User(own) => own == mailbox,
            Viewer::Nobody => false,
        }
    }

    /// Sessions, the queue, every mailbox.
    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::Everyone | Viewer::Admin(_))
    }

    /// The name to show, if logged in.
    pub fn name(&self) -> Option<&str> {
        match self {
            Viewer::User(name) | Viewer::Admin(name) => Some(name),
            _ => None,
        }
    }
}

/// A login: who, until when, and the CSRF token of its forms.
#[derive(Debug, Clone)]
struct Login {
    viewer: Viewer,
    until: Instant,
    csrf: String,
}

/// The accounts side of the web view.
pub struct Auth {
    policy: Arc<dyn Policy>,
    /// Are there accounts (`--users`)?
    accounts: bool,
    admins: Vec<String>,
    logins: Mutex<HashMap<String, Login>>,
    /// Basic credentials already checked (their SHA-256), so Argon2 runs once per
    /// client, not once per request.
    basic: Mutex<HashMap<Vec<u8>, (Viewer, Instant)>>,
    /// Without accounts, the forms' CSRF token for this run of the server.
    anonymous_csrf: String,
    random: SystemRandom,
}

impl Auth {
    pub fn new(policy: Arc<dyn Policy>, admins: Vec<String>) -> Auth {
        let random = SystemRandom::new();
        Auth {
            accounts: policy.accepts_logins(),
            policy,
            admins: admins.iter().map(|a| fold(a)).collect(),
            logins: Mutex::new(HashMap::new()),
            basic: Mutex::new(HashMap::new()),
            anonymous_csrf: token(&random),
            random,
        }
    }

    pub fn has_accounts(&self) -> bool {
        self.accounts
    }

    /// Checks a password; the viewer it makes, or why not: wrong, or cannot be checked
    /// now (a directory that cannot be asked, too many failures just now), which the
    /// login page says in its own words, with 503.
    pub fn login(&self, address: &str, password: &str) -> Result<Viewer, LoginFailure> {
        let mailbox = self.policy.login(address.trim(), password)?;
        let name = format!("{}@{}", mailbox.mailbox, mailbox.domain);
        Ok(if self.admins.contains(&name) {
            Viewer::Admin(name)
        } else {
            Viewer::User(name)
        })
    }

    /// Starts a login session; the cookie's value.
    pub fn start_session(&self, viewer: Viewer) -> String {
        let id = token(&self.random);
        let login = Login {
            viewer,
            until: Instant::now() + LOGIN_LIFETIME,
            csrf: token(&self.random),
        };
        let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        logins.retain(|_, l| l.until > Instant::now());
        logins.insert(id.clone(), login);
        id
    }

    /// Ends the login session of this request, if any.
    pub fn end_session(&self, request: &Request) {
        if let Some(id) = request.cookie(COOKIE) {
            let mut logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
            logins.remove(id);
        }
    }

    // ANCHOR: viewer_of
    /// Who sent this request: by its login cookie (pages) or its Basic credentials
    /// (API).
    pub fn viewer(&self, request: &Request) -> Viewer {
        if !self.accounts {
            return Viewer::Everyone;
        }
        if let Some(login) = self.session(request) {
            return login.viewer;
        }
        if let Some(viewer) = self.basic(request) {
            return viewer;
        }
        Viewer::Nobody
    }
    // ANCHOR_END: viewer_of

    /// The CSRF token the pages' forms carry for this request's viewer.
    pub fn csrf_token(&self, request: &Request) -> String {
        match self.session(request) {
            Some(login) => login.csrf,
            None => self.anonymous_csrf.clone(),
        }
    }

    /// Does a form's token match the viewer's?
    pub fn csrf_ok(&self, request: &Request, token: Option<&str>) -> bool {
        let want = self.csrf_token(request);
        token.is_some_and(|t| same(t.as_bytes(), want.as_bytes()))
    }

    fn session(&self, request: &Request) -> Option<Login> {
        let id = request.cookie(COOKIE)?;
        let logins = self.logins.lock().unwrap_or_else(|p| p.into_inner());
        logins.get(id).filter(|l| l.until > Instant::now()).cloned()
    }

    /// RFC 7617: `Authorization: Basic base64(user:password)`.
    fn basic(&self, request: &Request) -> Option<Viewer> {
        let value = request.header("authorization")?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let key = ring::digest::digest(&ring::digest::SHA256, encoded.trim().as_bytes())
            .as_ref()
            .to_vec();
        {
            let cache = self.basic.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((viewer, until)) = cache.get(&key) {
                if *until > Instant::now() {
                    return Some(viewer.clone());
                }
            }
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        let viewer = self.login(user, password).ok()?;
        let mut cache = self.basic.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (_, until)| *until > Instant::now());
        cache.insert(
            key,
            (viewer.clone(), Instant::now() + Duration::from_secs(300)),
        );
        Some(viewer)
    }
}

// ANCHOR: same_origin
/// RFC 6454 §7, the rule for requests that change something: no `Origin` (not a
/// browser, or a same-origin GET) is allowed; otherwise it must name this very host.
pub fn origin_allowed(request: &Request) -> bool {
    let Some(origin) = request.header("origin") else {
        return true;
    };
    let Some(host) = request.header("host") else {
        return false;
    };
    let origin = origin.trim();
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host.trim()))
}
// ANCHOR_END: same_origin

/// Is this request from this machine (the only place without accounts may be)?
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
        || matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

/// An address folded as the store folds it: `Bob@LocalHost` → `bob@localhost`.
pub fn fold(address: &str) -> String {
    address.trim().to_lowercase()
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random octets, URL-safe base64.
fn token(random: &SystemRandom) -> String {
    let mut bytes = [0u8; 32];
    // The system's random source does not fail on a working machine; if it did, a
    // token of zeros would be guessable, so make it fail closed: a fresh pid-time mix
    // is still better than nothing, and the failure is logged.
    if random.fill(&mut bytes).is_err() {
        log::error!("the system's random source failed; tokens are weak");
        let seed = format!("{:?}{}", Instant::now(), std::process::id());
        bytes
            .copy_from_slice(ring::digest::digest(&ring::digest::SHA256, seed.as_bytes()).as_ref());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        Request::for_test("POST", "/", headers)
    }

    #[test]
    fn origins() {
        assert!(origin_allowed(&request(&[("Host", "127.0.0.1:8025")])));
        assert!(origin_allowed(&request(&[
            ("Host", "127.0.0.1:8025"),
            ("Origin", "http://127.0.0.1:8025")
        ])));
        for foreign in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:9999",
            "http://127.0.0.1:8025.evil",
        ] {
            assert!(
                !origin_allowed(&request(&[("Host", "127.0.0.1:8025"), ("Origin", foreign)])),
                "{foreign}"
            );
        }
    }

    #[test]
    fn viewers() {
        assert!(Viewer::Everyone.sees("a@b") && Viewer::Everyone.is_admin());
        let bob = Viewer::User("bob@localhost".into());
        assert!(bob.sees("bob@localhost") && !bob.sees("alice@localhost") && !bob.is_admin());
        assert!(!Viewer::Nobody.sees("bob@localhost"));
    }
}
