//! SMTP AUTH (RFC 4954): the mechanisms SMTP advertises, and what `--trace` may show
//! of an AUTH exchange. The SASL mechanisms themselves (PLAIN, LOGIN, base64) are
//! shared by every protocol and live in [`crate::sasl`].

// ANCHOR: mechanism
/// The SASL mechanisms postie offers, in the order advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// RFC 4616: one message, `authzid NUL authcid NUL password`.
    Plain,
    /// Two questions, "Username:" and "Password:", each answered in base64.
    Login,
}

impl Mechanism {
    /// The EHLO keyword: `AUTH PLAIN LOGIN`.
    pub const ADVERTISED: &'static str = "AUTH PLAIN LOGIN";

    /// RFC 4954 §4: mechanism names are case-insensitive.
    pub fn parse(name: &str) -> Option<Mechanism> {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(Mechanism::Plain),
            "LOGIN" => Some(Mechanism::Login),
            _ => None,
        }
    }
}
// ANCHOR_END: mechanism

// ANCHOR: mask
/// What `--trace` shows of an AUTH command: the verb and mechanism, never the
/// initial response (base64 is an encoding, not a secret-keeper).
pub fn mask_command(text: &str) -> Option<String> {
    let mut words = text.splitn(3, ' ');
    let verb = words.next()?;
    if !verb.eq_ignore_ascii_case("AUTH") {
        return None;
    }
    let mechanism = words.next().unwrap_or("");
    Some(match words.next() {
        Some(_) => format!("{verb} {mechanism} {HIDDEN}"),
        None => text.to_string(),
    })
}

/// Shown instead of any AUTH response.
pub const HIDDEN: &str = "<hidden>";
// ANCHOR_END: mask

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_are_case_insensitive() {
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::parse("Login"), Some(Mechanism::Login));
        assert_eq!(Mechanism::parse("CRAM-MD5"), None);
    }

    #[test]
    fn trace_masks_the_initial_response() {
        assert_eq!(
            mask_command("AUTH PLAIN AGFsaWNlAHNlY3JldA=="),
            Some("AUTH PLAIN <hidden>".into())
        );
        assert_eq!(mask_command("auth login"), Some("auth login".into()));
        assert_eq!(mask_command("MAIL FROM:<a@b>"), None);
    }
}
