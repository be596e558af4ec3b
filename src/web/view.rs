//! What the pages and the API both show: the messages a viewer may see, newest first,
//! searched and paged; one message found by its id (or `latest`); the session that
//! delivered it.
//!
//! Listing is cheap where it can be: the list of files, their sizes and flags come
//! from the directory alone, and only the page's messages are read and parsed. A
//! search reads every message it has to look into (a production server keeps an
//! index; Mailpit keeps a database).

use std::io;
use std::sync::Arc;

use super::auth::Viewer;
use super::mail::{Item, Mail, MessageRef};
use super::message::{self, Summary};
use super::search::Query;
use crate::wire::Recorder;

/// Mailpit's default page size.
pub const DEFAULT_LIMIT: usize = 50;

/// A page of a list, with Mailpit's counts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page {
    /// Messages the viewer can see.
    pub total: usize,
    /// Of those, unread.
    pub unread: usize,
    /// Messages on this page (Mailpit keeps it for older clients).
    pub count: usize,
    /// Messages that match the query (all of them without one).
    pub messages_count: usize,
    /// Of those, unread.
    pub messages_unread: usize,
    pub start: usize,
    pub tags: Vec<String>,
    pub messages: Vec<Summary>,
}

/// The mail and the transcripts, as a viewer may see them.
#[derive(Clone)]
pub struct View {
    pub mail: Arc<dyn Mail>,
    pub recorder: Option<Arc<Recorder>>,
}

impl View {
    /// The mailboxes this viewer may see.
    pub fn mailboxes(&self, viewer: &Viewer) -> io::Result<Vec<String>> {
        let mut boxes: Vec<String> = self
            .mail
            .mailboxes()?
            .into_iter()
            .filter(|m| viewer.sees(m))
            .collect();
        if let Viewer::User(own) = viewer {
            if !boxes.contains(own) {
                boxes.push(own.clone());
            }
        }
        Ok(boxes)
    }

    /// Every message the viewer may see (in `only`, if given), newest first.
    pub fn items(&self, viewer: &Viewer, only: Option<&str>) -> io::Result<Vec<(String, Item)>> {
        let mut all = Vec::new();
        for mailbox in self.mailboxes(viewer)? {
            if only.is_some_and(|o| o != mailbox) {
                continue;
            }
            for item in self.mail.list(&mailbox)? {
                all.push((mailbox.clone(), item));
            }
        }
        all.sort_by_cached_key(|(_, item)| std::cmp::Reverse(item.received()));
        Ok(all)
    }

    // ANCHOR: page
    /// A page of messages, newest first, matching `query` when there is one.
    pub fn page(
        &self,
        viewer: &Viewer,
        only: Option<&str>,
        query: Option<&Query>,
        start: usize,
        limit: usize,
    ) -> io::Result<Page> {
        let items = self.items(viewer, only)?;
        let total = items.len();
        let unread = items.iter().filter(|(_, i)| !i.read).count();
        let mut page = Page {
            total,
            unread,
            count: 0,
            messages_count: total,
            messages_unread: unread,
            start,
            tags: vec![],
            messages: vec![],
        };
        match query {
            None => {
                for (mailbox, item) in items.iter().skip(start).take(limit) {
                    if let Some(summary) = self.summary(mailbox, item)? {
                        page.messages.push(summary);
                    }
                }
            }
            Some(query) => {
                let (mut matched, mut matched_unread) = (0, 0);
                for (mailbox, item) in &items {
                    let hit = if query.needs_content() {
                        let Some(bytes) = self.mail.read(mailbox, item)? else {
                            continue;
                        };
                        let summary =
                            message::summary(item, mailbox, &bytes, self.session_of(item));
                        query
                            .matches(&summary, || body_text(&bytes))
                            .then_some(summary)
                    } else {
                        let summary = message::summary(item, mailbox, b"", None);
                        query.matches(&summary, String::new).then_some(summary)
                    };
                    if let Some(summary) = hit {
                        matched += 1;
                        matched_unread += usize::from(!item.read);
                        if matched > start && page.messages.len() < limit {
                            page.messages.push(match query.needs_content() {
                                true => summary,
                                false => match self.summary(mailbox, item)? {
                                    Some(s) => s,
                                    None => continue,
                                },
                            });
                        }
                    }
                }
                page.messages_count = matched;
                page.messages_unread = matched_unread;
            }
        }
        page.count = page.messages.len();
        Ok(page)
    }
    // ANCHOR_END: page

    /// One message's list item; `None` if it went away meanwhile.
    pub fn summary(&self, mailbox: &str, item: &Item) -> io::Result<Option<Summary>> {
        Ok(self
            .mail
            .read(mailbox, item)?
            .map(|bytes| message::summary(item, mailbox, &bytes, self.session_of(item))))
    }

    // ANCHOR: find
    /// The message called `id` (or the newest, for `latest`), if this viewer may see
    /// it: its mailbox, its list entry and its bytes. Another user's message is
    /// `None`, exactly as a message that does not exist.
    pub fn find(&self, viewer: &Viewer, id: &str) -> io::Result<Option<(String, Item, Vec<u8>)>> {
        let (mailbox, item) = if id == "latest" {
            match self.items(viewer, None)?.into_iter().next() {
                Some(found) => found,
                None => return Ok(None),
            }
        } else {
            let Some(wanted) = MessageRef::parse(id) else {
                return Ok(None);
            };
            if !viewer.sees(&wanted.mailbox) {
                return Ok(None);
            }
            let found = self
                .mail
                .list(&wanted.mailbox)?
                .into_iter()
                .find(|i| i.unique == wanted.unique);
            match found {
                Some(item) => (wanted.mailbox, item),
                None => return Ok(None),
            }
        };
        Ok(self
            .mail
            .read(&mailbox, &item)?
            .map(|bytes| (mailbox, item, bytes)))
    }
    // ANCHOR_END: find

    /// The kept session that delivered this message.
    pub fn session_of(&self, item: &Item) -> Option<u64> {
        self.recorder.as_ref()?.session_of(&item.smtp_id())
    }
}

/// The words of a message, for search: its text body, or its HTML without tags.
fn body_text(bytes: &[u8]) -> String {
    let Some(m) = mail_parser::MessageParser::default().parse(bytes) else {
        return String::from_utf8_lossy(bytes).into_owned();
    };
    m.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}
