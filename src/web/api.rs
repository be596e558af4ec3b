//! The JSON API: a compatible subset of Mailpit's API v1, so that the clients and test
//! helpers people use with Mailpit (the npm `mailpit-api` client and its
//! `waitForMessage`) work with postie unchanged, and postie's own additions.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/info` | version, message and unread totals |
//! | `GET /api/v1/messages?start=&limit=` | a page of summaries, newest first |
//! | `PUT /api/v1/messages` `{"IDs":[…],"Read":true}` | `ok` (no IDs: every message) |
//! | `DELETE /api/v1/messages` `{"IDs":[…]}` | `ok` (no IDs: every message) |
//! | `GET /api/v1/message/{ID}` (or `latest`) | the whole message; marks it read |
//! | `GET /api/v1/message/{ID}/raw` | the stored bytes, exactly |
//! | `GET /api/v1/message/{ID}/headers` | every header field, by name |
//! | `GET /api/v1/message/{ID}/part/{PartID}` | an attachment's bytes |
//! | `GET`, `DELETE /api/v1/search?query=` | like `/messages`, for a search |
//! | `GET /api/v1/sessions`, `/api/v1/sessions/{ID}` | postie's own: SMTP transcripts |
//! | `GET /api/v1/events` | postie's own: `event: new` per new message (SSE) |
//! | `GET /api/v1/queue` | postie's own: the outbound queue (admins) |
//!
//! Shapes as in Mailpit's swagger: PUT and DELETE answer `200` with the body `ok`
//! (its client treats anything else as an error); lists are `[]`, never null.
//!
//! Left out (404, as for any unknown path): sending (`/api/v1/send`), tags, release,
//! HTML and link checks, SpamAssassin, chaos, thumbnails, `/api/v1/webui`.

use serde::{Deserialize, Serialize};

use super::auth::Viewer;
use super::mail::MessageRef;
use super::message;
use super::search::Query;
use super::view::{View, DEFAULT_LIMIT};
use crate::http::{Request, Response, Status};

/// `{"IDs": [...], "Read": bool, "Search": "..."}` (Mailpit's PUT and DELETE bodies).
#[derive(Debug, Default, Deserialize)]
struct Selection {
    #[serde(rename = "IDs", default)]
    ids: Vec<String>,
    #[serde(rename = "Read", default)]
    read: bool,
    #[serde(rename = "Search", default)]
    search: String,
}

/// `GET /api/v1/info`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Info {
    version: &'static str,
    latest_version: &'static str,
    database: String,
    database_size: u64,
    messages: usize,
    unread: usize,
    tags: std::collections::BTreeMap<String, usize>,
    runtime_stats: RuntimeStats,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeStats {
    uptime: u64,
}

fn io_error(e: std::io::Error) -> Response {
    log::warn!("web: the store failed: {e}");
    Response::text(
        Status::INTERNAL_ERROR,
        format!("The mail store failed: {e}"),
    )
}

fn not_found(what: &str) -> Response {
    Response::text(Status::NOT_FOUND, format!("No such {what}."))
}

fn number(request: &Request, name: &str, default: usize) -> Result<usize, Response> {
    match request.query_map().get(name) {
        None => Ok(default),
        Some(text) if text.is_empty() => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            Response::text(
                Status::BAD_REQUEST,
                format!("The parameter {name} must be a whole number, not {text:?}."),
            )
        }),
    }
}

/// The body of a PUT or DELETE, or an empty selection when there is none.
fn selection(request: &Request) -> Result<Selection, Response> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Selection::default());
    }
    serde_json::from_slice(&request.body).map_err(|e| {
        Response::text(
            Status::BAD_REQUEST,
            format!("The body must be JSON like {{\"IDs\": [\"…\"]}}: {e}"),
        )
    })
}

// ANCHOR: route
/// Answers a request under `/api/v1/`; `rest` is the path after it, decoded.
pub fn route(
    view: &View,
    viewer: &Viewer,
    request: &Request,
    rest: &[String],
    started: std::time::Instant,
) -> Response {
    let method = request.method.as_str();
    let get = method == "GET" || method == "HEAD";
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let result = match (rest.as_slice(), method) {
        (["info"], _) if get => info(view, viewer, started),
        (["messages"], _) if get => list(view, viewer, request, None),
        (["messages"], "PUT") => set_read(view, viewer, request),
        (["messages"], "DELETE") => delete(view, viewer, request, None),
        (["search"], _) if get => {
            let query = request
                .query_map()
                .get("query")
                .cloned()
                .unwrap_or_default();
            list(view, viewer, request, Some(Query::parse(&query)))
        }
        (["search"], "DELETE") => {
            let query = request
                .query_map()
                .get("query")
                .cloned()
                .unwrap_or_default();
            delete(view, viewer, request, Some(Query::parse(&query)))
        }
        (["message", id], _) if get => one(view, viewer, id),
        (["message", id, "raw"], _) if get => raw(view, viewer, id),
        (["message", id, "headers"], _) if get => headers(view, viewer, id),
        (["message", id, "part", part], _) if get => attachment(view, viewer, id, part),
        (["sessions"], _) if get => super::sessions::list_json(view, viewer),
        (["sessions", id], _) if get => super::sessions::one_json(view, viewer, id),
        (["queue"], _) if get => queue(view, viewer),
        (["info" | "messages" | "search" | "sessions" | "queue"], _)
        | (["message", _] | ["message", _, "raw" | "headers"], _)
        | (["message", _, "part", _], _)
        | (["sessions", _], _) => Ok(Response::text(
            Status::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here."),
        )
        .with("Allow", allowed(&rest))),
        _ => Ok(not_found("API endpoint")),
    };
    result.unwrap_or_else(io_error)
}
// ANCHOR_END: route

/// The methods a known path answers (RFC 9110 §10.2.1, with 405).
fn allowed(rest: &[&str]) -> &'static str {
    match rest {
        ["messages"] | ["search"] => "GET, HEAD, PUT, DELETE",
        _ => "GET, HEAD",
    }
}

type Answer = std::io::Result<Response>;

/// `{"queue": [...]}`: each queued message, its recipients, attempts, next attempt and
/// last error. Only an admin sees it (it names other people's mail).
fn queue(view: &View, viewer: &Viewer) -> Answer {
    if !viewer.is_admin() {
        return Ok(not_found("API endpoint"));
    }
    #[derive(Serialize)]
    struct Queue {
        queue: Vec<super::mail::Queued>,
    }
    Ok(Response::json(&Queue {
        queue: view.mail.queue()?,
    }))
}

fn info(view: &View, viewer: &Viewer, started: std::time::Instant) -> Answer {
    let items = view.items(viewer, None)?;
    Ok(Response::json(&Info {
        version: concat!("postie ", env!("CARGO_PKG_VERSION")),
        latest_version: "",
        database: "maildir".into(),
        database_size: items.iter().map(|(_, i)| i.octets).sum(),
        messages: items.len(),
        unread: items.iter().filter(|(_, i)| !i.read).count(),
        tags: Default::default(),
        runtime_stats: RuntimeStats {
            uptime: started.elapsed().as_secs(),
        },
    }))
}

fn list(view: &View, viewer: &Viewer, request: &Request, query: Option<Query>) -> Answer {
    let (start, limit) = match (
        number(request, "start", 0),
        number(request, "limit", DEFAULT_LIMIT),
    ) {
        (Ok(s), Ok(l)) => (s, l),
        (Err(e), _) | (_, Err(e)) => return Ok(e),
    };
    let mailbox = request.query_map().get("mailbox").cloned();
    let page = view.page(viewer, mailbox.as_deref(), query.as_ref(), start, limit)?;
    Ok(Response::json(&page))
}

/// The messages a PUT or DELETE is about: its IDs, its search, or every message.
fn selected(
    view: &View,
    viewer: &Viewer,
    ids: &[String],
    query: Option<Query>,
) -> std::io::Result<Result<Vec<MessageRef>, Response>> {
    if !ids.is_empty() {
        let mut refs = Vec::new();
        for id in ids {
            match MessageRef::parse(id).filter(|r| viewer.sees(&r.mailbox)) {
                Some(r) => refs.push(r),
                None => return Ok(Err(not_found(&format!("message {id:?}")))),
            }
        }
        return Ok(Ok(refs));
    }
    let page = view.page(viewer, None, query.as_ref(), 0, usize::MAX)?;
    Ok(Ok(page
        .messages
        .iter()
        .filter_map(|s| MessageRef::parse(&s.id))
        .collect()))
}

fn set_read(view: &View, viewer: &Viewer, request: &Request) -> Answer {
    let body = match selection(request) {
        Ok(body) => body,
        Err(e) => return Ok(e),
    };
    let query = (!body.search.is_empty()).then(|| Query::parse(&body.search));
    let refs = match selected(view, viewer, &body.ids, query)? {
        Ok(refs) => refs,
        Err(e) => return Ok(e),
    };
    for r in refs {
        view.mail.set_read(&r.mailbox, &r.unique, body.read)?;
    }
    Ok(ok())
}

fn delete(view: &View, viewer: &Viewer, request: &Request, query: Option<Query>) -> Answer {
    let ids = match query {
        Some(_) => vec![],
        None => match selection(request) {
            Ok(body) => body.ids,
            Err(e) => return Ok(e),
        },
    };
    let refs = match selected(view, viewer, &ids, query)? {
        Ok(refs) => refs,
        Err(e) => return Ok(e),
    };
    for r in refs {
        view.mail.delete(&r.mailbox, &r.unique)?;
    }
    Ok(ok())
}

fn one(view: &View, viewer: &Viewer, id: &str) -> Answer {
    let Some((mailbox, mut item, bytes)) = view.find(viewer, id)? else {
        return Ok(not_found("message"));
    };
    // Mailpit marks a message read when a client fetches it.
    if !item.read && view.mail.set_read(&mailbox, &item.unique, true)? {
        item.read = true;
    }
    let session = view.session_of(&item);
    Ok(Response::json(&message::detail(
        &item, &mailbox, &bytes, session,
    )))
}

fn raw(view: &View, viewer: &Viewer, id: &str) -> Answer {
    Ok(match view.find(viewer, id)? {
        Some((_, _, bytes)) => Response::new(Status::OK, "text/plain; charset=utf-8", bytes),
        None => not_found("message"),
    })
}

fn headers(view: &View, viewer: &Viewer, id: &str) -> Answer {
    Ok(match view.find(viewer, id)? {
        Some((_, _, bytes)) => Response::json(&message::headers(&bytes)),
        None => not_found("message"),
    })
}

fn attachment(view: &View, viewer: &Viewer, id: &str, part: &str) -> Answer {
    let Some((_, _, bytes)) = view.find(viewer, id)? else {
        return Ok(not_found("message"));
    };
    Ok(match message::part(&bytes, part) {
        Some((contents, info)) => {
            let name = if info.file_name.is_empty() {
                format!("part-{part}")
            } else {
                info.file_name.clone()
            };
            // Always a download, never rendered on our origin (an HTML attachment
            // would run with the pages' rights): RFC 6266 attachment, nosniff.
            Response::new(Status::OK, &info.content_type, contents)
                .with("Content-Disposition", &content_disposition(&name))
                .with("X-Content-Type-Options", "nosniff")
                .with("Content-Security-Policy", "sandbox; default-src 'none'")
        }
        None => not_found("part"),
    })
}

/// RFC 6266 §4.3 with RFC 8187's `filename*` for names that are not plain ASCII.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::http::request::percent_encode(name)
    )
}

/// Mailpit answers PUT and DELETE with exactly `ok` (no newline).
fn ok() -> Response {
    Response::new(Status::OK, "text/plain; charset=utf-8", "ok")
}
