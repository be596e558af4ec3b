//! Live updates: Server-Sent Events (the HTML Living Standard, §9.2), one
//! `event: new` per message that arrives, its `data` the message's list item as JSON
//! (the same shape as in `GET /api/v1/messages`).
//!
//! The stream waits on the store's bell, not on a timer: a delivery wakes it, it
//! lists the viewer's mailboxes again and sends what it had not seen. Every 15
//! seconds of quiet it sends a comment line, so a client that went away is noticed
//! (the write fails) and proxies do not time the stream out. A stopping server ends
//! every stream within a second.
//!
//! Left out: `Last-Event-ID` (a reconnecting client reloads the list instead), events
//! for deletions and flag changes.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::auth::Viewer;
use super::view::View;
use crate::http::Response;
use crate::wire::Watch;

/// How long the stream stays silent before a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

// ANCHOR: events
/// `GET /api/v1/events`: a stream of new messages for this viewer.
pub fn stream(view: View, viewer: Viewer) -> Response {
    Response::stream(
        "text/event-stream",
        Box::new(move |out: &mut dyn Write, watch: &Watch| {
            let mut rings = view.mail.deliveries();
            let mut seen: HashSet<String> = ids(&view, &viewer)?;
            // The first bytes tell the browser the stream is open (and how soon to
            // reconnect if it breaks).
            out.write_all(b"retry: 2000\n: postie events\n\n")?;
            out.flush()?;
            let mut quiet_since = Instant::now();
            while !watch.stopping.load(Ordering::SeqCst) {
                let now = view.mail.wait_for_delivery(rings, Duration::from_secs(1));
                if now != rings {
                    rings = now;
                    let mut fresh = view.items(&viewer, None)?;
                    fresh.retain(|(mailbox, item)| !seen.contains(&key(mailbox, &item.unique)));
                    // Oldest first, so a client that prepends each shows newest on top.
                    for (mailbox, item) in fresh.iter().rev() {
                        seen.insert(key(mailbox, &item.unique));
                        if let Some(summary) = view.summary(mailbox, item)? {
                            let json = serde_json::to_string(&summary).map_err(io::Error::other)?;
                            write!(out, "event: new\ndata: {json}\n\n")?;
                        }
                    }
                    out.flush()?;
                    quiet_since = Instant::now();
                } else if quiet_since.elapsed() >= KEEP_ALIVE {
                    out.write_all(b": still here\n\n")?;
                    out.flush()?;
                    quiet_since = Instant::now();
                }
            }
            Ok(())
        }),
    )
}
// ANCHOR_END: events

fn key(mailbox: &str, unique: &str) -> String {
    format!("{mailbox}:{unique}")
}

fn ids(view: &View, viewer: &Viewer) -> io::Result<HashSet<String>> {
    Ok(view
        .items(viewer, None)?
        .into_iter()
        .map(|(mailbox, item)| key(&mailbox, &item.unique))
        .collect())
}
