//! A policy of your own. postie's sessions never read the configuration to decide who
//! is who: they ask a `Policy` (src/policy.rs) four questions — is this domain ours,
//! may this client relay, does this user exist, is this password right — and build
//! every decision on the answers. A new answer is a new type, not an edit of the core.
//! A policy that knows more than yes or no overrides the provided methods too:
//! `local_mailbox` (an alias's mailbox, a list's `Decision::Group`, or `Decision::TryLater`
//! when it cannot ask now), `authenticate` and `login`; `src/directory/policy.rs` is
//! one.
//!
//! This one is a classroom's: mail for `class.test` is taken only for the students on
//! the roster; nobody may relay, not even this machine; nobody logs in.
//!
//! ```console
//! cargo run --example custom_policy
//! ```
//!
//! then, in another terminal, `nc -C 127.0.0.1 2526` and try `RCPT TO:<ada@class.test>`
//! (250), `RCPT TO:<eve@class.test>` (550 5.1.1, not on the roster) and
//! `RCPT TO:<someone@example.org>` (550 5.7.1, no relaying). Mail lands in
//! `./class-mail/class.test/ada/new/`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use postie::config::{Config, Protocol, Service};
use postie::policy::Policy;
use postie::server::Server;

// ANCHOR: classroom
/// Mail for one domain, for the students on a roster, and nothing else.
struct Classroom {
    domain: String,
    roster: Vec<String>,
}

impl Policy for Classroom {
    fn is_local_domain(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.domain)
    }

    fn primary_domain(&self) -> &str {
        &self.domain
    }

    /// A classroom server sends nothing on: no relaying, from anywhere.
    fn may_relay(&self, _client: IpAddr) -> bool {
        false
    }

    fn user_exists(&self, local_part: &str, _domain: &str) -> bool {
        self.roster
            .iter()
            .any(|student| student.eq_ignore_ascii_case(local_part))
    }

    /// No logins: AUTH is not even offered.
    fn accepts_logins(&self) -> bool {
        false
    }

    fn check_password(&self, _address: &str, _password: &str) -> bool {
        false
    }
}
// ANCHOR_END: classroom

fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut config = Config::new("classroom.local");
    let listen = SocketAddr::from(([127, 0, 0, 1], 2526));
    config.listeners = vec![(Protocol::Smtp(Service::Smtp), listen)];
    config.maildir = "./class-mail".into();
    config.spool = "./class-spool".into();
    let classroom = Classroom {
        domain: "class.test".into(),
        roster: vec!["ada".into(), "grace".into(), "linus".into()],
    };
    let server = Server::bind_with_policy(config, Arc::new(classroom))?;
    log::info!("classroom postie listening on {listen}; mail for class.test");
    server.run()
}
