//! What a test logged (test builds only): one logger for the whole test binary, which
//! keeps each thread's records apart, since tests run on many threads at once.
//!
//! The log is behaviour too: an operator reads it to learn that a crashed delivery was
//! cleaned up, that a queue entry is corrupt, or what `--trace` saw. A test calls
//! [`start`] first, does its work on its own thread, then reads [`take`].

use std::cell::RefCell;

/// One record: its level, its target and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub level: log::Level,
    pub target: String,
    pub text: String,
}

struct Keeper;

thread_local! {
    static KEPT: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
}

impl log::Log for Keeper {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        KEPT.with(|kept| {
            kept.borrow_mut().push(Record {
                level: record.level(),
                target: record.target().to_string(),
                text: record.args().to_string(),
            })
        });
    }
    fn flush(&self) {}
}

/// Installs the logger (once per test binary) and forgets what this thread logged so
/// far.
pub fn start() {
    static KEEPER: Keeper = Keeper;
    let _ = log::set_logger(&KEEPER);
    log::set_max_level(log::LevelFilter::Trace);
    KEPT.with(|kept| kept.borrow_mut().clear());
}

/// What this thread logged since [`start`], oldest first.
pub fn take() -> Vec<Record> {
    KEPT.with(|kept| kept.take())
}
