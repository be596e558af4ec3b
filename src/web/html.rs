//! HTML mail, made harmless to show: three walls, each enough on its own.
//!
//! 1. **Sanitized** by `ammonia` (an allow-list of tags and attributes, built on
//!    html5ever's parser, the same one a browser uses): no `<script>`, no `on*`
//!    handlers, no `javascript:` URLs, no `<iframe>`, `<form>`, `<object>`, `<base>`.
//!    Images and links to other sites are removed too (a remote image tells the
//!    sender you read the mail); `data:` images stay.
//! 2. **Served with a Content-Security-Policy** whose `sandbox` directive gives the
//!    document an origin of its own and no scripts, and whose `default-src 'none'`
//!    stops every load but inline styles and `data:` images (CSP Level 3 §6.3.2.2).
//! 3. **Framed in a sandboxed iframe** by the message page: `sandbox` without
//!    `allow-scripts` or `allow-same-origin` (HTML Living Standard §4.8.5).
//!
//! Left out: `cid:` images from the message's own parts are not yet resolved to their
//! attachment (they show as missing images).

use std::collections::HashSet;

use crate::http::{Response, Status};

/// The policy the message's HTML is served with.
pub const HTML_MAIL_CSP: &str =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

// ANCHOR: sanitize
/// The message's HTML with everything active taken out.
pub fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(HashSet::from(["mailto", "data"]))
        .link_rel(Some("noopener noreferrer"))
        .add_generic_attributes(["style"])
        .clean(html)
        .to_string()
}
// ANCHOR_END: sanitize

/// A whole document for the iframe, with its policy.
pub fn document(html: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{}</body></html>",
        sanitize(html)
    );
    Response::new(Status::OK, "text/html; charset=utf-8", body)
        .with("Content-Security-Policy", HTML_MAIL_CSP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_active_survives() {
        let hostile = r#"<p onclick="alert(1)">Hi <b>there</b></p>
            <script>document.title='owned'</script>
            <img src="http://127.0.0.1:8025/api/v1/messages" onerror="alert(2)">
            <img src="data:image/png;base64,iVBORw0KGgo=">
            <a href="javascript:alert(3)">x</a><a href="mailto:a@b">mail</a>
            <iframe src="/"></iframe><form action="/x"><input></form>
            <svg onload="alert(4)"></svg><style>body{}</style><base href="http://evil/">
            <span style="color:red">red</span>"#;
        let clean = sanitize(hostile);
        for gone in [
            "<script",
            "onclick",
            "onerror",
            "onload",
            "javascript:",
            "<iframe",
            "<form",
            "<base",
            "127.0.0.1",
            "<svg",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        for kept in ["<b>there</b>", "data:image/png", "mailto:a@b", "color:red"] {
            assert!(clean.contains(kept), "{kept} missing in {clean}");
        }
        let doc = document("<p>x</p>");
        assert!(doc
            .headers
            .iter()
            .any(|(n, v)| n == "Content-Security-Policy" && v.starts_with("sandbox;")));
    }
}
