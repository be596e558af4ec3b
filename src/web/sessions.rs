//! The last SMTP sessions, as the web view shows them: who connected, what name it
//! gave, when, how it ended, what it delivered, and its transcript — the lines of
//! `--trace`, kept by [`crate::wire::transcript`]. Only an admin (or everyone,
//! without accounts) sees them: a transcript shows every sender and recipient.

use serde::Serialize;

use super::auth::Viewer;
use super::mail::Item;
use super::message::rfc3339;
use super::view::View;
use crate::http::{Response, Status};
use crate::wire::transcript::{Entry, Side};
use crate::wire::Transcript;

// ANCHOR: session_json
/// One session in `GET /api/v1/sessions`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionSummary {
    #[serde(rename = "ID")]
    pub id: String,
    pub protocol: &'static str,
    pub remote: String,
    pub helo: String,
    pub started: String,
    /// `null` while the session is still going.
    pub ended: Option<String>,
    /// `delivered 1`, `refused: 554 5.7.1 …`, `disconnected`…
    pub outcome: String,
    /// The API ids (`mailbox:unique`) of the messages it delivered that are still
    /// in a mailbox this viewer sees.
    #[serde(rename = "MessageIDs")]
    pub message_ids: Vec<String>,
}
// ANCHOR_END: session_json

/// One session with its transcript (`GET /api/v1/sessions/{ID}`).
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    #[serde(rename = "Lines")]
    pub lines: Vec<Entry>,
    /// Lines beyond the limit, not kept.
    #[serde(rename = "Dropped")]
    pub dropped: usize,
}

/// `{"sessions": [...]}`.
#[derive(Serialize)]
struct List {
    sessions: Vec<SessionSummary>,
}

/// What a transcript says of how its session ended.
fn outcome(lines: &[Entry], delivered: usize, ended: Option<&str>) -> String {
    let Some(ended) = ended else {
        return "in progress".into();
    };
    if delivered > 0 {
        return format!("delivered {delivered}, {ended}");
    }
    // The last refusal the server gave, if any: the lesson of the session.
    let refusal = lines
        .iter()
        .rev()
        .filter(|l| l.side == Side::Server)
        .find(|l| l.text.starts_with('4') || l.text.starts_with('5'));
    match refusal {
        Some(line) => format!("refused: {}", line.text),
        None => ended.to_string(),
    }
}

/// The session with its lines, and the ids of its messages that the viewer may see.
pub fn summarize(view: &View, viewer: &Viewer, transcript: &Transcript) -> SessionDetail {
    let items = view.items(viewer, None).unwrap_or_default();
    summarize_with(transcript, &items)
}

/// Every kept session, newest first, or why not.
pub fn sessions(view: &View, viewer: &Viewer) -> Result<Vec<SessionDetail>, Response> {
    if !viewer.is_admin() {
        return Err(Response::text(Status::NOT_FOUND, "No such page."));
    }
    let Some(recorder) = &view.recorder else {
        return Ok(vec![]);
    };
    // One listing of the mailboxes for all sessions, not one per session.
    let items: Vec<(String, Item)> = view.items(viewer, None).unwrap_or_default();
    Ok(recorder
        .sessions()
        .iter()
        .map(|t| {
            let mut detail = summarize_with(t, &items);
            detail.lines.clear();
            detail
        })
        .collect())
}

fn summarize_with(transcript: &Transcript, items: &[(String, Item)]) -> SessionDetail {
    let record = transcript.snapshot();
    let message_ids = items
        .iter()
        .filter(|(_, item)| record.message_ids.contains(&item.smtp_id()))
        .map(|(mailbox, item)| {
            super::mail::MessageRef {
                mailbox: mailbox.clone(),
                unique: item.unique.clone(),
            }
            .id()
        })
        .collect();
    let ended = record.ended.map(|_| record.outcome.clone());
    let outcome = outcome(&record.lines, record.message_ids.len(), ended.as_deref());
    SessionDetail {
        summary: SessionSummary {
            id: transcript.id.to_string(),
            protocol: transcript.protocol,
            remote: transcript.remote.to_string(),
            helo: record.helo,
            started: rfc3339(transcript.started),
            ended: record.ended.map(rfc3339),
            outcome,
            message_ids,
        },
        lines: record.lines,
        dropped: record.dropped,
    }
}

/// One kept session, with its lines, or why not.
pub fn session(view: &View, viewer: &Viewer, id: &str) -> Result<SessionDetail, Response> {
    let missing = || {
        Response::text(
            Status::NOT_FOUND,
            "No such session (only the last ones are kept).",
        )
    };
    if !viewer.is_admin() {
        return Err(missing());
    }
    let transcript = view
        .recorder
        .as_ref()
        .zip(id.parse::<u64>().ok())
        .and_then(|(recorder, id)| recorder.session(id))
        .ok_or_else(missing)?;
    Ok(summarize(view, viewer, &transcript))
}

pub fn list_json(view: &View, viewer: &Viewer) -> std::io::Result<Response> {
    Ok(match sessions(view, viewer) {
        Ok(list) => Response::json(&List {
            sessions: list.into_iter().map(|d| d.summary).collect(),
        }),
        Err(response) => response,
    })
}

pub fn one_json(view: &View, viewer: &Viewer, id: &str) -> std::io::Result<Response> {
    Ok(match session(view, viewer, id) {
        Ok(detail) => Response::json(&detail),
        Err(response) => response,
    })
}
