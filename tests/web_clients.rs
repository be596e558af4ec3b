//! Real clients of the web view: the npm `mailpit-api` client, unchanged, and a real
//! browser (Debian's headless Chromium driven by Python's selenium). A client that is
//! missing skips its test on a developer's machine and fails it in CI; `.ci/run`
//! installs them (`npm ci` in tests/web, `apt-get install chromium chromium-driver`,
//! `pip install selenium`).
//!
//! With `POSTIE_SCREENSHOTS=DIR` the browser test saves its screenshots there (the
//! README's and the book's come from this run).

mod common;
#[path = "common/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::web::{http_addr, web_config};
use common::{users_with_passwords, TestServer, POP3_PASSWORD};
use peers::run_bounded;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web")
}

/// Is this peer here? If not: fail in CI, or say how to get it and skip.
fn present(what: &str, found: bool, how: &str) -> bool {
    if !found {
        common::skip(&format!("{what} is not installed ({how})"));
    }
    found
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_npm_mailpit_client_works_unchanged() {
    let node = succeeds("node", &["--version"]);
    let client = web_dir()
        .join("node_modules/mailpit-api/package.json")
        .exists();
    if !present("node", node, "apt-get install nodejs npm")
        || !present(
            "the npm mailpit-api client",
            client,
            "run npm ci in tests/web",
        )
    {
        return;
    }
    let server = TestServer::start_with(web_config);
    let base = format!("http://{}", http_addr(&server));
    let smtp_port = server.addr.port().to_string();
    let ran = run_bounded(
        Command::new("node")
            .arg(web_dir().join("mailpit.mjs"))
            .args([base.as_str(), "127.0.0.1", smtp_port.as_str()]),
        Duration::from_secs(60),
    );
    let out = format!("{}{}", ran.stdout, ran.stderr);
    assert!(ran.status.success(), "node mailpit.mjs failed:\n{out}");
    for check in [
        "waitForMessage",
        "listMessages",
        "setReadStatus",
        "deleteMessagesBySearch",
        "deleteMessages",
    ] {
        assert!(
            out.contains(&format!("ok {check}\n")),
            "{check} not checked:\n{out}"
        );
    }
}

#[test]
fn a_real_browser_sees_mail_arrive_and_runs_no_mail_script() {
    let python = succeeds("python3", &["-c", "import selenium"]);
    let driver = succeeds("chromedriver", &["--version"]);
    let chromium = Path::new("/usr/bin/chromium").exists();
    if !present("Python's selenium", python, "pip install selenium")
        || !present("chromedriver", driver, "apt-get install chromium-driver")
        || !present("chromium", chromium, "apt-get install chromium")
    {
        return;
    }
    // One server without accounts (this machine only), one with them.
    let open = TestServer::start_with(web_config);
    let guarded = TestServer::start_with(|config| {
        web_config(config);
        config.policy.users = Some(users_with_passwords(&["bob@localhost"]));
    });
    let shots = std::env::var("POSTIE_SCREENSHOTS").unwrap_or_default();
    let ran = run_bounded(
        Command::new("python3")
            .arg(web_dir().join("browser.py"))
            .args(["--url", &format!("http://{}", http_addr(&open))])
            .args(["--smtp-port", &open.addr.port().to_string()])
            .args(["--login-url", &format!("http://{}", http_addr(&guarded))])
            .args(["--login-smtp-port", &guarded.addr.port().to_string()])
            .args(["--password", POP3_PASSWORD])
            .args(["--screenshots", &shots]),
        Duration::from_secs(120),
    );
    let out = format!("{}{}", ran.stdout, ran.stderr);
    assert!(ran.status.success(), "browser.py failed:\n{out}");
    for check in [
        "list loads",
        "live",
        "html mail runs nothing",
        "session page",
        "login",
        "logout",
    ] {
        assert!(
            out.contains(&format!("ok {check}\n")),
            "{check} not checked:\n{out}"
        );
    }
}
