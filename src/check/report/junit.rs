//! The report as JUnit XML, the format autograders read (GitHub Classroom, Gradescope,
//! GitLab, Jenkins): one `<testsuite>` per stage inside `<testsuites>`, one
//! `<testcase>` per check (`classname` the stage, `name` the check id), `<failure>`
//! for a failed check (`type` says MUST or SHOULD, the body holds the transcript),
//! `<skipped>` for one not checked.

use std::fmt::Write;

use super::{Outcome, Report};
use crate::check::checks::{chapter, STAGES};
use crate::check::report::table::transcript;

/// Text for an XML attribute or element: the five special characters escaped, and
/// any character XML 1.0 forbids (controls other than TAB, LF, CR) replaced.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    let c = report.counts();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"postie check {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        escape(&report.target),
        report.results.len(),
        c.failed_must + c.failed_should,
        c.not_checked,
        report.elapsed.as_secs_f64()
    );
    for stage in STAGES {
        let results: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.check.stage == stage.number)
            .collect();
        if results.is_empty() {
            continue;
        }
        let failures = results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .count();
        let skipped = results
            .iter()
            .filter(|r| r.outcome == Outcome::NotChecked)
            .count();
        let time: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"stage {} {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">",
            stage.number,
            escape(stage.chapter),
            results.len()
        );
        for r in results {
            let _ = write!(
                out,
                "    <testcase classname=\"stage{:02} {}\" name=\"{} ({} {})\" time=\"{:.3}\"",
                r.check.stage,
                escape(chapter(r.check.stage)),
                escape(r.check.id),
                r.check.level.as_str(),
                escape(r.check.section),
                r.elapsed.as_secs_f64()
            );
            match r.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::NotChecked => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(&r.detail)
                    );
                }
                Outcome::Fail => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"{}\" message=\"{}\">{}\n{}</failure>\n    </testcase>",
                        r.check.level.as_str(),
                        escape(&r.detail),
                        escape(r.check.title),
                        escape(&transcript(&r.transcript))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
