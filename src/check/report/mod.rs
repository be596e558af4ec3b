//! What a run found, and three ways to print it: a table for people ([`table`]), JSON
//! for scripts ([`json`]), JUnit XML for autograders such as GitHub Classroom and
//! Gradescope ([`junit`]).
//!
//! Exit status: 0 when no MUST check failed. A SHOULD that fails is reported and
//! counted, but does not fail the run; a check that could not be run ("not checked":
//! an extension not offered, no `--maildir`) is neither passed nor failed.

pub mod json;
pub mod junit;
pub mod table;

use std::collections::BTreeMap;
use std::time::Duration;

use super::checks::{Check, Level};
use super::conn::Exchange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Fail,
    NotChecked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotChecked => "not checked",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub check: &'static Check,
    pub outcome: Outcome,
    /// Why it failed or was not checked (empty when it passed).
    pub detail: String,
    /// The bytes sent and received (failures only).
    pub transcript: Vec<Exchange>,
    pub elapsed: Duration,
}

impl CheckReport {
    pub fn new(check: &'static Check, outcome: Outcome, detail: &str) -> CheckReport {
        CheckReport {
            check,
            outcome,
            detail: detail.to_string(),
            transcript: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: String,
    /// Where stored mail was looked for, if anywhere.
    pub store: Option<String>,
    pub results: Vec<CheckReport>,
    pub elapsed: Duration,
}

/// How many checks ended how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed_must: usize,
    pub failed_should: usize,
    pub not_checked: usize,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for r in &self.results {
            match (r.outcome, r.check.level) {
                (Outcome::Pass, _) => counts.passed += 1,
                (Outcome::Fail, Level::Must) => counts.failed_must += 1,
                (Outcome::Fail, Level::Should) => counts.failed_should += 1,
                (Outcome::NotChecked, _) => counts.not_checked += 1,
            }
        }
        counts
    }

    /// True when no MUST check failed: the exit status is then 0.
    pub fn ok(&self) -> bool {
        self.counts().failed_must == 0
    }

    /// Check id → outcome: how tests compare runs, without text or timings.
    pub fn outcomes(&self) -> BTreeMap<&'static str, Outcome> {
        self.results
            .iter()
            .map(|r| (r.check.id, r.outcome))
            .collect()
    }

    /// The one-line summary under every format.
    pub fn summary(&self) -> String {
        let c = self.counts();
        format!(
            "{} checks: {} passed, {} failed MUST, {} failed SHOULD, {} not checked",
            self.results.len(),
            c.passed,
            c.failed_must,
            c.failed_should,
            c.not_checked
        )
    }
}
