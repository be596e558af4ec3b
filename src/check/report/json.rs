//! The report as JSON, written by hand (a dozen fields need no library): one object
//! with the counts and `checks`, an array with one object per check.
//!
//! ```text
//! {"target": "127.0.0.1:2525", "ok": true, "passed": 58, ..., "checks": [
//!   {"id": "greeting.220", "stage": 4, "chapter": "The greeting: 220",
//!    "section": "RFC 5321 §3.1, §4.3.1", "level": "MUST", "slow": false,
//!    "outcome": "pass", "detail": "", "millis": 2, "transcript": []}, ...]}
//! ```
//!
//! A transcript entry is `{"conn": 1, "dir": "C", "bytes": "EHLO x\\r\\n"}`, the bytes
//! escaped as in the table (so any octet survives), then JSON-escaped.

use std::fmt::Write;

use super::Report;
use crate::check::checks::chapter;
use crate::check::conn::{escape, Direction};

/// A JSON string literal.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn render(report: &Report) -> String {
    let c = report.counts();
    let mut out = String::new();
    let store = report.store.as_deref().map_or("null".to_string(), string);
    let _ = write!(
        out,
        "{{\"target\": {}, \"store\": {store}, \"ok\": {}, \"passed\": {}, \"failed_must\": {}, \
         \"failed_should\": {}, \"not_checked\": {}, \"millis\": {}, \"checks\": [",
        string(&report.target),
        report.ok(),
        c.passed,
        c.failed_must,
        c.failed_should,
        c.not_checked,
        report.elapsed.as_millis()
    );
    for (i, r) in report.results.iter().enumerate() {
        let separator = if i == 0 { "\n" } else { ",\n" };
        let transcript: Vec<String> = r
            .transcript
            .iter()
            .map(|e| {
                let dir = match e.direction {
                    Direction::Sent => "C",
                    Direction::Received => "S",
                    Direction::Closed => "closed",
                };
                format!(
                    "{{\"conn\": {}, \"dir\": \"{dir}\", \"bytes\": {}, \"omitted\": {}}}",
                    e.conn,
                    string(&escape(&e.bytes)),
                    e.omitted
                )
            })
            .collect();
        let _ = write!(
            out,
            "{separator}  {{\"id\": {}, \"stage\": {}, \"chapter\": {}, \"section\": {}, \
             \"level\": \"{}\", \"slow\": {}, \"title\": {}, \"outcome\": \"{}\", \"detail\": {}, \
             \"millis\": {}, \"transcript\": [{}]}}",
            string(r.check.id),
            r.check.stage,
            string(chapter(r.check.stage)),
            string(r.check.section),
            r.check.level.as_str(),
            r.check.slow,
            string(r.check.title),
            r.outcome.as_str(),
            string(&r.detail),
            r.elapsed.as_millis(),
            transcript.join(", ")
        );
    }
    out.push_str("\n]}\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            super::string("a\"b\\c\n\u{1}é"),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
    }
}
