//! The pages: server-rendered HTML from `askama` templates (`src/web/templates/`),
//! which are compiled with the program and escape every value they print, so a
//! `<script>` in a subject, a name or a file name is shown, never run.
//!
//! | page | what |
//! |---|---|
//! | `/` | the messages, newest first, paged; mailboxes; search; live (SSE) |
//! | `/message/{ID}` | headers, text, HTML (sandboxed), attachments, raw; the session |
//! | `/message/{ID}/html` | the HTML part, sanitized, under its own CSP |
//! | `POST /message/{ID}/read`, `/unread`, `/delete` | the Maildir flag, the file |
//! | `/sessions`, `/sessions/{ID}` | the last SMTP sessions and their transcripts |
//! | `/queue`, `POST /queue/retry` | the outbound queue, and "retry now" (admins) |
//! | `/login`, `POST /login`, `POST /logout` | with `--users` |
//! | `/static/app.js`, `/static/style.css` | the only script and style |
//!
//! Every form carries the CSRF token of [`super::auth`]; the pages' own policy
//! allows scripts from this origin only (no inline script, no CDN).
//!
//! Left out: a page of its own per mailbox (the list filters by mailbox instead).

use askama::Template;

use super::auth::{self, Auth, Viewer};
use super::html;
use super::mail::{Item, MessageRef};
use super::message::{self, EmailAddress};
use super::search::Query;
use super::sessions;
use super::view::{View, DEFAULT_LIMIT};
use crate::http::request::percent_encode;
use crate::http::{Request, Response, Status};
use crate::peer::Peer;
use crate::policy::LoginFailure;
use crate::wire::transcript::Side;

/// What every page's header shows.
pub struct Nav {
    pub user: Option<String>,
    pub admin: bool,
    pub accounts: bool,
    pub csrf: String,
}

/// One row of the message list.
pub struct Row {
    pub href: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub size: String,
    pub unread: bool,
    pub attachments: usize,
    pub mailbox: String,
}

pub struct BoxLink {
    pub name: String,
    pub href: String,
    pub current: bool,
}

// ANCHOR: list_page
#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub nav: Nav,
    pub mailboxes: Vec<BoxLink>,
    pub all_href: String,
    pub rows: Vec<Row>,
    pub query: String,
    pub mailbox: String,
    pub total: usize,
    pub unread: usize,
    pub matched: usize,
    pub first: usize,
    pub last: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// New messages are added by the script only on the first page of everything.
    pub live: bool,
}
// ANCHOR_END: list_page

pub struct AttachmentRow {
    pub name: String,
    pub content_type: String,
    pub size: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub nav: Nav,
    pub id: String,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub reply_to: String,
    pub date: String,
    pub size: String,
    pub mailbox: String,
    pub read: bool,
    pub text: String,
    pub html_href: Option<String>,
    pub raw_href: String,
    pub attachments: Vec<AttachmentRow>,
    pub headers: Vec<(String, String)>,
    pub session_href: Option<String>,
    pub session_id: String,
    pub action: String,
    /// A meeting this message carries (see `invitation`).
    pub invitation: Option<super::invitation::Card>,
}

pub struct SessionRow {
    pub href: String,
    pub id: String,
    pub remote: String,
    pub helo: String,
    pub started: String,
    pub outcome: String,
    pub refused: bool,
    pub messages: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage {
    pub nav: Nav,
    pub rows: Vec<SessionRow>,
    pub keeping: bool,
}

pub struct Line {
    pub millis: u64,
    pub class: &'static str,
    pub prefix: &'static str,
    pub text: String,
}

#[derive(Template)]
#[template(path = "session.html")]
pub struct SessionPage {
    pub nav: Nav,
    pub row: SessionRow,
    pub lines: Vec<Line>,
    pub dropped: usize,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub nav: Nav,
    pub entries: Vec<super::mail::Queued>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub nav: Nav,
    pub error: Option<String>,
    pub address: String,
}

/// A page, or a 500 with the reason when its template cannot be rendered.
pub(super) fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(body) => Response::html(body).with("Cache-Control", "no-store"),
        Err(e) => Response::text(
            Status::INTERNAL_ERROR,
            format!("cannot render the page: {e}"),
        ),
    }
}

fn not_found() -> Response {
    Response::text(Status::NOT_FOUND, "No such page or message.")
}

fn method_not_allowed(allow: &str) -> Response {
    Response::text(
        Status::METHOD_NOT_ALLOWED,
        "That method is not allowed here.",
    )
    .with("Allow", allow)
}

/// `1.2 KiB`.
pub fn size(octets: u64) -> String {
    match octets {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

fn show(address: &EmailAddress) -> String {
    match (address.name.is_empty(), address.address.is_empty()) {
        (true, _) => address.address.clone(),
        (false, true) => address.name.clone(),
        (false, false) => format!("{} <{}>", address.name, address.address),
    }
}

fn show_all(addresses: &[EmailAddress]) -> String {
    addresses.iter().map(show).collect::<Vec<_>>().join(", ")
}

/// `2026-11-28 01:35` from RFC 3339.
fn short_date(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

pub fn message_href(id: &str) -> String {
    format!("/message/{}", percent_encode(id))
}

// ANCHOR: route
/// Answers a request for a page.
pub fn route(
    view: &View,
    auth: &Auth,
    viewer: &Viewer,
    request: &Request,
    segments: &[String],
    peer: &Peer,
) -> Response {
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    let get = method == "GET" || method == "HEAD";
    // Files anyone may have: the login page needs its style.
    match (path.as_slice(), get) {
        (["static", "app.js"], true) => {
            return Response::new(
                Status::OK,
                "text/javascript; charset=utf-8",
                include_str!("assets/app.js"),
            )
        }
        (["static", "style.css"], true) => {
            return Response::new(
                Status::OK,
                "text/css; charset=utf-8",
                include_str!("assets/style.css"),
            )
        }
        (["login"], true) => return login_page(auth, request, None, String::new()),
        (["login"], false) if method == "POST" => return login(auth, request, peer),
        (["logout"], false) if method == "POST" => {
            auth.end_session(request);
            return Response::redirect("/login").with("Set-Cookie", &cookie("", peer, 0));
        }
        _ => {}
    }
    if *viewer == Viewer::Nobody {
        return Response::redirect("/login");
    }
    let nav = Nav {
        user: viewer.name().map(str::to_string),
        admin: viewer.is_admin(),
        accounts: auth.has_accounts(),
        csrf: auth.csrf_token(request),
    };
    match (path.as_slice(), method) {
        ([""], "GET" | "HEAD") => list(view, viewer, request, nav),
        (["message", id], "GET" | "HEAD") => message_page(view, viewer, id, nav),
        (["message", id, "html"], "GET" | "HEAD") => html_part(view, viewer, id),
        (["message", id, action @ ("read" | "unread" | "delete")], "POST") => {
            let form = request.form();
            if !auth.csrf_ok(request, form.get("csrf").map(String::as_str)) {
                return Response::text(
                    Status::FORBIDDEN,
                    "The form's CSRF token is missing or stale; reload the page and try again.",
                );
            }
            change(view, viewer, id, action)
        }
        (["sessions"], "GET" | "HEAD") => sessions_page(view, viewer, nav),
        (["sessions", id], "GET" | "HEAD") => session_page(view, viewer, id, nav),
        (["queue"], "GET" | "HEAD") if viewer.is_admin() => match view.mail.queue() {
            Ok(entries) => render(QueuePage { nav, entries }),
            Err(e) => Response::text(
                Status::INTERNAL_ERROR,
                format!("The queue cannot be read: {e}"),
            ),
        },
        (["queue", "retry"], "POST") if viewer.is_admin() => {
            let form = request.form();
            if !auth.csrf_ok(request, form.get("csrf").map(String::as_str)) {
                return Response::text(
                    Status::FORBIDDEN,
                    "The form's CSRF token is missing or stale; reload the page and try again.",
                );
            }
            match view.mail.retry_queue() {
                Ok(()) => Response::redirect("/queue"),
                Err(e) => Response::text(
                    Status::INTERNAL_ERROR,
                    format!("Cannot ask for a retry: {e}"),
                ),
            }
        }
        ([""] | ["message", _] | ["message", _, "html"] | ["sessions"] | ["sessions", _], _) => {
            method_not_allowed("GET, HEAD")
        }
        (["message", _, "read" | "unread" | "delete"], _) => method_not_allowed("POST"),
        _ => not_found(),
    }
}
// ANCHOR_END: route

/// `Set-Cookie` for the login (RFC 6265 §4.1): never readable by scripts, never sent
/// by another site's requests, only over TLS when we have it.
fn cookie(value: &str, peer: &Peer, max_age: u64) -> String {
    let secure = if peer.security.tls.is_some() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        auth::COOKIE
    )
}

fn login_page(auth: &Auth, request: &Request, error: Option<String>, address: String) -> Response {
    render(LoginPage {
        nav: Nav {
            user: None,
            admin: false,
            accounts: auth.has_accounts(),
            csrf: auth.csrf_token(request),
        },
        error,
        address,
    })
}

fn login(auth: &Auth, request: &Request, peer: &Peer) -> Response {
    if !auth.has_accounts() {
        return Response::redirect("/");
    }
    let form = request.form();
    let address = form.get("address").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match auth.login(&address, &password) {
        Ok(viewer) => {
            log::info!(
                "{} logged in to the web view as {}",
                peer.address,
                viewer.name().unwrap_or("")
            );
            let id = auth.start_session(viewer);
            Response::redirect("/").with(
                "Set-Cookie",
                &cookie(&id, peer, auth::LOGIN_LIFETIME.as_secs()),
            )
        }
        Err(failure) => {
            let (status, error) = match failure {
                LoginFailure::TryLater => (
                    Status::UNAVAILABLE,
                    "Passwords cannot be checked just now; try again in a minute.",
                ),
                LoginFailure::Refused => {
                    log::info!("{} failed to log in to the web view", peer.address);
                    (
                        Status::UNAUTHORIZED,
                        "That address and password do not match an account.",
                    )
                }
            };
            let mut page = login_page(auth, request, Some(error.into()), address);
            page.status = status;
            page
        }
    }
}

fn row(summary: &message::Summary) -> Row {
    Row {
        href: message_href(&summary.id),
        from: show(&summary.from),
        to: show_all(&summary.to),
        subject: summary.subject.clone(),
        date: short_date(&summary.created),
        size: size(summary.size),
        unread: !summary.read,
        attachments: summary.attachments,
        mailbox: summary.mailbox.clone(),
    }
}

fn list(view: &View, viewer: &Viewer, request: &Request, nav: Nav) -> Response {
    let params = request.query_map();
    let query = params.get("q").cloned().unwrap_or_default();
    let mailbox = params.get("mailbox").cloned().unwrap_or_default();
    let start: usize = params
        .get("start")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let parsed = (!query.trim().is_empty()).then(|| Query::parse(&query));
    let only = (!mailbox.is_empty()).then_some(mailbox.as_str());
    let page = match view.page(viewer, only, parsed.as_ref(), start, DEFAULT_LIMIT) {
        Ok(page) => page,
        Err(e) => {
            return Response::text(
                Status::INTERNAL_ERROR,
                format!("The mail store failed: {e}"),
            )
        }
    };
    let link = |start: usize| {
        format!(
            "/?q={}&mailbox={}&start={start}",
            percent_encode(&query),
            percent_encode(&mailbox)
        )
    };
    let mailboxes = view
        .mailboxes(viewer)
        .unwrap_or_default()
        .into_iter()
        .map(|name| BoxLink {
            href: format!("/?mailbox={}", percent_encode(&name)),
            current: name == mailbox,
            name,
        })
        .collect();
    render(ListPage {
        nav,
        mailboxes,
        all_href: "/".into(),
        rows: page.messages.iter().map(row).collect(),
        live: start == 0 && parsed.is_none() && mailbox.is_empty(),
        total: page.total,
        unread: page.unread,
        matched: page.messages_count,
        first: if page.count == 0 { 0 } else { start + 1 },
        last: start + page.count,
        prev: (start > 0).then(|| link(start.saturating_sub(DEFAULT_LIMIT))),
        next: (start + page.count < page.messages_count).then(|| link(start + DEFAULT_LIMIT)),
        query,
        mailbox,
    })
}

fn message_page(view: &View, viewer: &Viewer, id: &str, nav: Nav) -> Response {
    let found = match view.find(viewer, id) {
        Ok(found) => found,
        Err(e) => {
            return Response::text(
                Status::INTERNAL_ERROR,
                format!("The mail store failed: {e}"),
            )
        }
    };
    let Some((mailbox, mut item, bytes)) = found else {
        return not_found();
    };
    // Opening a message reads it, as in any mail reader (and in Mailpit).
    if !item.read
        && view
            .mail
            .set_read(&mailbox, &item.unique, true)
            .unwrap_or(false)
    {
        item.read = true;
    }
    let session = view.session_of(&item);
    let detail = message::detail(&item, &mailbox, &bytes, session);
    let href = message_href(&detail.id);
    render(MessagePage {
        nav,
        subject: detail.subject.clone(),
        from: show(&detail.from),
        to: show_all(&detail.to),
        cc: show_all(&detail.cc),
        reply_to: show_all(&detail.reply_to),
        date: detail.date.replace('T', " "),
        size: size(detail.size),
        mailbox: mailbox.clone(),
        read: item.read,
        text: detail.text.clone(),
        html_href: (!detail.html.is_empty()).then(|| format!("{href}/html")),
        raw_href: format!("/api/v1/message/{}/raw", percent_encode(&detail.id)),
        attachments: detail
            .attachments
            .iter()
            .map(|a| AttachmentRow {
                name: if a.file_name.is_empty() {
                    format!("part {}", a.part_id)
                } else {
                    a.file_name.clone()
                },
                content_type: a.content_type.clone(),
                size: size(a.size as u64),
                href: format!(
                    "/api/v1/message/{}/part/{}",
                    percent_encode(&detail.id),
                    a.part_id
                ),
            })
            .collect(),
        headers: message::headers(&bytes)
            .into_iter()
            .flat_map(|(name, values)| values.into_iter().map(move |v| (name.clone(), v)))
            .collect(),
        session_href: session.map(|s| format!("/sessions/{s}")),
        session_id: session.map(|s| s.to_string()).unwrap_or_default(),
        action: href,
        invitation: super::invitation::card(&bytes),
        id: detail.id,
    })
}

fn html_part(view: &View, viewer: &Viewer, id: &str) -> Response {
    match view.find(viewer, id) {
        Ok(Some((mailbox, item, bytes))) => {
            let detail = message::detail(&item, &mailbox, &bytes, None);
            html::document(&detail.html)
        }
        Ok(None) => not_found(),
        Err(e) => Response::text(
            Status::INTERNAL_ERROR,
            format!("The mail store failed: {e}"),
        ),
    }
}

fn change(view: &View, viewer: &Viewer, id: &str, action: &str) -> Response {
    let Some(target) = MessageRef::parse(id).filter(|r| viewer.sees(&r.mailbox)) else {
        return not_found();
    };
    let result = match action {
        "read" => view.mail.set_read(&target.mailbox, &target.unique, true),
        "unread" => view.mail.set_read(&target.mailbox, &target.unique, false),
        _ => view.mail.delete(&target.mailbox, &target.unique),
    };
    match result {
        Ok(true) if action == "delete" => Response::redirect("/"),
        Ok(true) if action == "unread" => Response::redirect("/"),
        Ok(true) => Response::redirect(&message_href(id)),
        Ok(false) => not_found(),
        Err(e) => Response::text(
            Status::INTERNAL_ERROR,
            format!("The mail store failed: {e}"),
        ),
    }
}

fn session_row(detail: &sessions::SessionDetail) -> SessionRow {
    let s = &detail.summary;
    SessionRow {
        href: format!("/sessions/{}", s.id),
        id: s.id.clone(),
        remote: s.remote.clone(),
        helo: s.helo.clone(),
        started: s.started.replace('T', " "),
        refused: s.outcome.starts_with("refused"),
        outcome: s.outcome.clone(),
        messages: s
            .message_ids
            .iter()
            .map(|id| {
                (
                    message_href(id),
                    Item {
                        unique: id
                            .split_once(':')
                            .map_or(id.as_str(), |(_, u)| u)
                            .to_string(),
                        read: true,
                        octets: 0,
                        stored: None,
                    }
                    .smtp_id(),
                )
            })
            .collect(),
    }
}

fn sessions_page(view: &View, viewer: &Viewer, nav: Nav) -> Response {
    match sessions::sessions(view, viewer) {
        Ok(list) => render(SessionsPage {
            nav,
            rows: list.iter().map(session_row).collect(),
            keeping: view.recorder.is_some(),
        }),
        Err(response) => response,
    }
}

fn session_page(view: &View, viewer: &Viewer, id: &str, nav: Nav) -> Response {
    match sessions::session(view, viewer, id) {
        Ok(detail) => render(SessionPage {
            nav,
            row: session_row(&detail),
            dropped: detail.dropped,
            lines: detail
                .lines
                .iter()
                .map(|l| {
                    let (class, prefix) = match l.side {
                        Side::Client => ("client", "C:"),
                        Side::Server => ("server", "S:"),
                        Side::State => ("state", "→"),
                        Side::Note => ("note", "·"),
                    };
                    Line {
                        millis: l.millis,
                        class,
                        prefix,
                        text: l.text.clone(),
                    }
                })
                .collect(),
        }),
        Err(response) => response,
    }
}
