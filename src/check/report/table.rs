//! The report for people: one row per check, then each failure with the exact bytes
//! of its conversation. Colour only when writing to a terminal (and `NO_COLOR` is
//! unset): red for a failed MUST, yellow for a failed SHOULD, green for a pass.

use std::fmt::Write;

use super::{Outcome, Report};
use crate::check::checks::{chapter, Level};
use crate::check::conn::{escape, Direction, Exchange};

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn red(self, t: &str) -> String {
        self.paint("31;1", t)
    }
    fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
    fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// The table, as text.
pub fn render(report: &Report, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!("postie check {}", report.target))
    );
    match &report.store {
        Some(store) => {
            let _ = writeln!(out, "stored mail: {store}");
        }
        None => {
            let _ = writeln!(
                out,
                "stored mail: not looked at (give --maildir DIR or --mbox FILE)"
            );
        }
    }
    let id_width = report
        .results
        .iter()
        .map(|r| r.check.id.len())
        .max()
        .unwrap_or(2);
    let mut stage = 0;
    for r in &report.results {
        if r.check.stage != stage {
            stage = r.check.stage;
            let _ = writeln!(
                out,
                "\n{}",
                paint.bold(&format!("Stage {stage}: {}", chapter(stage)))
            );
        }
        let result = match (r.outcome, r.check.level) {
            (Outcome::Pass, _) => paint.green("pass"),
            (Outcome::Fail, Level::Must) => paint.red("FAIL"),
            (Outcome::Fail, Level::Should) => paint.yellow("fail"),
            (Outcome::NotChecked, _) => paint.dim("not checked"),
        };
        let _ = writeln!(
            out,
            "  {:<id_width$}  {:<6}  {:<32}  {}",
            r.check.id,
            r.check.level.as_str(),
            r.check.section,
            result
        );
        if r.outcome == Outcome::NotChecked {
            let _ = writeln!(out, "  {:<id_width$}  {}", "", paint.dim(&r.detail));
        }
    }
    let failures: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\n{}", paint.bold("Failures"));
    }
    for r in failures {
        let _ = writeln!(
            out,
            "\n{} {} ({}, {}): {}\n  {}",
            match r.check.level {
                Level::Must => paint.red("FAIL"),
                Level::Should => paint.yellow("fail"),
            },
            r.check.id,
            r.check.level.as_str(),
            r.check.section,
            r.check.title,
            r.detail
        );
        out.push_str(&transcript(&r.transcript));
    }
    let _ = writeln!(
        out,
        "\n{} in {:.1} s",
        report.summary(),
        report.elapsed.as_secs_f64()
    );
    let verdict = if report.ok() {
        paint.green("every MUST holds")
    } else {
        paint.red("some MUST does not hold")
    };
    let _ = writeln!(out, "{verdict}");
    out
}

// ANCHOR: transcript
/// `C:` and `S:` lines (with the connection's number when there were several),
/// every octet shown by [`escape`], a line break after each LF.
pub fn transcript(exchanges: &[Exchange]) -> String {
    let several = exchanges.iter().any(|e| e.conn > 1);
    let mut out = String::new();
    for e in exchanges {
        let who = match e.direction {
            Direction::Sent => "C:",
            Direction::Received => "S:",
            Direction::Closed => {
                let _ = writeln!(
                    out,
                    "    {}(the server closed the connection)",
                    prefix(e, several)
                );
                continue;
            }
        };
        for piece in e.bytes.split_inclusive(|&b| b == b'\n') {
            let shown = escape(piece);
            let shown = if shown.len() > 300 {
                let cut = shown
                    .char_indices()
                    .nth(300)
                    .map_or(shown.len(), |(i, _)| i);
                format!("{}... ({} octets in all)", &shown[..cut], piece.len())
            } else {
                shown
            };
            let _ = writeln!(out, "    {}{who} {shown}", prefix(e, several));
        }
        if e.omitted > 0 {
            let _ = writeln!(
                out,
                "    {}{who} ... {} more octets",
                prefix(e, several),
                e.omitted
            );
        }
    }
    out
}
// ANCHOR_END: transcript

fn prefix(e: &Exchange, several: bool) -> String {
    if several {
        format!("[{}] ", e.conn)
    } else {
        String::new()
    }
}
