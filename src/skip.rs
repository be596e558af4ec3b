//! Skipping a unit test whose peer program is missing (test builds only).
//!
//! The same rule as the integration tests' `tests/common`: in CI (`CI` set) a missing
//! peer fails the test, so CI cannot pass without really talking to it. Elsewhere the
//! test is skipped and says so where `cargo test` shows it: straight to stderr, past
//! libtest's capture of `eprintln!`, so a developer sees how much did not run.

use std::io::Write;

/// Fails the test in CI; elsewhere prints `SKIPPED <test>: <why>` for all to see.
/// The caller returns right after.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}: required in CI");
    }
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}
