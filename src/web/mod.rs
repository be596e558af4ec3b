//! The web view: postie's mail, and the SMTP sessions that brought it, in a browser
//! (server-rendered pages, a little hand-written JavaScript) and over a JSON API that
//! Mailpit's clients understand.
//!
//! | what | module |
//! |---|---|
//! | the mail at rest, as the web view asks for it | [`mail`], [`store`] |
//! | one message decoded: MIME, RFC 2047, charsets; Mailpit's shapes | [`message`] |
//! | what a viewer may see, listed, searched, paged | [`view`], [`search`] |
//! | the JSON API (Mailpit's v1 subset, and postie's own) | [`api`] |
//! | live updates (Server-Sent Events) | [`events`] |
//! | the SMTP sessions and their transcripts | [`sessions`] |
//! | the pages; HTML mail sanitized and sandboxed | [`pages`], [`html`] |
//! | logins, Basic auth, CSRF and `Origin` | [`auth`] |
//!
//! [`Web`] is the [`crate::http::Handler`]: it finds out who is asking, refuses a
//! cross-site request that would change something, and hands the request to the API
//! or to the pages. It stands on `http` (the protocol), `store` (through [`Mail`]),
//! `wire` (the transcripts) and `policy` (the passwords); only `server.rs` builds it.

pub mod api;
pub mod auth;
pub mod events;
pub mod html;
pub mod invitation;
pub mod mail;
pub mod meeting_pages;
pub mod meetings;
pub mod message;
pub mod pages;
pub mod search;
pub mod sessions;
pub mod store;
pub mod view;

use std::sync::Arc;
use std::time::Instant;

use crate::http::{Handler, Request, Response, Status};
use crate::peer::Peer;
use crate::policy::Policy;
use crate::wire::Recorder;
use auth::{Auth, Viewer};
pub use mail::Mail;
use view::View;

/// The web application: the view of the mail, the accounts, and when it started.
pub struct Web {
    view: View,
    auth: Auth,
    started: Instant,
    /// Meetings (`crate::calendar`), when the server gave the store to send with.
    meetings: Option<meetings::Meetings>,
}

impl Web {
    pub fn new(
        mail: Arc<dyn Mail>,
        recorder: Option<Arc<Recorder>>,
        policy: Arc<dyn Policy>,
        admins: Vec<String>,
    ) -> Web {
        Web {
            view: View { mail, recorder },
            auth: Auth::new(policy, admins),
            started: Instant::now(),
            meetings: None,
        }
    }

    /// Lets the web view send and keep meetings (see [`meetings`]).
    pub fn with_meetings(mut self, meetings: meetings::Meetings) -> Web {
        self.meetings = Some(meetings);
        self
    }
}

impl Handler for Web {
    // ANCHOR: handle
    fn handle(&self, request: &Request, peer: &Peer) -> Response {
        let Some(segments) = request.segments() else {
            return Response::text(Status::BAD_REQUEST, "The path is not valid UTF-8.");
        };
        // RFC 6454 §7: a browser says where a request comes from; one that would
        // change something and comes from another site is refused, whoever is logged in.
        let changes = !matches!(request.method.as_str(), "GET" | "HEAD");
        if changes && !auth::origin_allowed(request) {
            return Response::text(
                Status::FORBIDDEN,
                "This request comes from another site (its Origin is not ours); nothing was changed.",
            );
        }
        let viewer = self.auth.viewer(request);
        let response = match segments.first().map(String::as_str) {
            Some("api") if segments.get(1).map(String::as_str) == Some("v1") => {
                if viewer == Viewer::Nobody {
                    Response::text(
                        Status::UNAUTHORIZED,
                        "Log in: this API takes HTTP Basic authentication.",
                    )
                    .with(
                        "WWW-Authenticate",
                        "Basic realm=\"postie\", charset=\"UTF-8\"",
                    )
                } else if segments.get(2).map(String::as_str) == Some("events")
                    && segments.len() == 3
                {
                    events::stream(self.view.clone(), viewer)
                } else if segments.get(2).map(String::as_str) == Some("meetings") {
                    meetings::api(self.meetings.as_ref(), &viewer, request, &segments[3..])
                } else {
                    api::route(&self.view, &viewer, request, &segments[2..], self.started)
                }
            }
            // A calendar client asks with Basic, as the API does (RFC 7617).
            Some("calendar") if segments.len() == 2 && viewer == Viewer::Nobody => Response::text(
                Status::UNAUTHORIZED,
                "Log in: the calendar takes HTTP Basic authentication.",
            )
            .with(
                "WWW-Authenticate",
                "Basic realm=\"postie\", charset=\"UTF-8\"",
            ),
            Some("calendar") if segments.len() == 2 => {
                meetings::feed(self.meetings.as_ref(), &viewer, request, &segments[1])
            }
            Some("meetings") if viewer != Viewer::Nobody => meeting_pages::route(
                self.meetings.as_ref(),
                &self.auth,
                &viewer,
                request,
                &segments[1..],
            ),
            _ => pages::route(&self.view, &self.auth, &viewer, request, &segments, peer),
        };
        secure(response)
    }
    // ANCHOR_END: handle
}

/// What every response says about itself to a browser: nothing here may be framed by
/// another site, sniffed into another type, or leak its address in a Referer to
/// another site. (Not `no-referrer`: with it, browsers send `Origin: null` even on our
/// own forms, and the Origin rule could not tell them from a foreign page's.)
fn secure(response: Response) -> Response {
    let has = |name: &str| {
        response
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let frame = has("Content-Security-Policy");
    let mut response = response
        .with("X-Content-Type-Options", "nosniff")
        .with("Referrer-Policy", "same-origin");
    if !frame {
        response = response.with(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        );
    }
    response
}
