//! Choosing the checks (`--stage`, `--only`, `--skip-slow`) and running them, one after
//! another, each with its own connections and transcript.
//!
//! A check that panics (a bug in the grader, never the server's doing) is reported as
//! failed with the panic's message; the run goes on.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::checks::{self, Check, Ctx, Verdict};
use super::report::{CheckReport, Outcome, Report};
use super::Settings;

/// The checks these settings ask for, in order (slow ones included: they are
/// reported as not checked under `--skip-slow`).
pub fn selected(settings: &Settings) -> Vec<&'static Check> {
    checks::all()
        .filter(|c| c.stage <= settings.stage)
        .filter(|c| settings.only.is_empty() || settings.only.iter().any(|id| id == c.id))
        .collect()
}

// ANCHOR: run
/// Runs the selected checks against the server and reports on each.
pub fn run(settings: &Settings) -> Report {
    let started = Instant::now();
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut results = Vec::new();
    for check in selected(settings) {
        if check.slow && settings.skip_slow {
            results.push(CheckReport::new(
                check,
                Outcome::NotChecked,
                "left out by --skip-slow",
            ));
            continue;
        }
        let transcript = Rc::new(RefCell::new(Vec::new()));
        let token = format!("pc{:x}-{run_id:x}-{}", std::process::id(), check.id);
        let mut ctx = Ctx::new(settings, transcript.clone(), token);
        let start = Instant::now();
        let verdict =
            catch_unwind(AssertUnwindSafe(|| (check.run)(&mut ctx))).unwrap_or_else(|panic| {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(Verdict::Fail(format!(
                    "the grader itself failed (a bug): {text}"
                )))
            });
        drop(ctx);
        let mut result = match verdict {
            Ok(()) => CheckReport::new(check, Outcome::Pass, ""),
            Err(Verdict::Fail(why)) => CheckReport::new(check, Outcome::Fail, &why),
            Err(Verdict::NotChecked(why)) => CheckReport::new(check, Outcome::NotChecked, &why),
        };
        result.elapsed = start.elapsed();
        // The exact bytes are kept for failures only: they are what a student reads.
        if result.outcome == Outcome::Fail {
            result.transcript = transcript.take();
        }
        results.push(result);
    }
    Report {
        target: settings.target_name.clone(),
        store: settings.store.as_ref().map(|s| s.describe()),
        results,
        elapsed: started.elapsed(),
    }
}
// ANCHOR_END: run
