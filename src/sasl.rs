//! SASL, the exchange behind SMTP AUTH (RFC 4954) and every other protocol's login
//! (POP3's AUTH, RFC 5034; IMAP's AUTHENTICATE, RFC 3501 §6.2.2): the PLAIN (RFC 4616)
//! and LOGIN mechanisms and their base64 framing.
//!
//! Everything here is pure: bytes in, credentials or an error out. Each protocol
//! decides when a login is allowed, counts failures and asks its policy whether a
//! password is right. base64 itself comes from the `base64` crate.
//!
//! LOGIN is not in any RFC (draft-murchison-sasl-login), but Outlook and many older
//! clients speak only LOGIN, so servers offer it next to PLAIN.
//!
//! Left out: CRAM-MD5, DIGEST-MD5 and SCRAM (they need the password, or a derived key,
//! stored on the server; postie stores only an Argon2 hash), and authorization
//! identities other than the user's own (RFC 4616 §2: the server may refuse them).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The LOGIN mechanism's two challenges, base64 of "Username:" and "Password:".
pub const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
pub const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// A user name and a password, as the client sent them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// Never print a password, even in a debug dump.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

/// Why a response could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslError {
    /// Not base64 (RFC 4954 §4: 501).
    NotBase64,
    /// Decoded, but not `authzid NUL authcid NUL password` in UTF-8.
    Malformed,
    /// RFC 4616 §2: an authorization identity other than the user's own.
    OtherIdentity,
}

// ANCHOR: decode
/// Decodes one base64 response line. RFC 4954 §4: `=` alone is an empty response.
pub fn decode(response: &str) -> Result<Vec<u8>, SaslError> {
    if response == "=" {
        return Ok(Vec::new());
    }
    STANDARD
        .decode(response.trim_end())
        .map_err(|_| SaslError::NotBase64)
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`, all UTF-8.
pub fn plain(message: &[u8]) -> Result<Credentials, SaslError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| SaslError::Malformed);
    let (authzid, user, password) = (text(authzid)?, text(authcid)?, text(password)?);
    if user.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    // Acting for someone else would need a rule saying who may; postie has none.
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(&user) {
        return Err(SaslError::OtherIdentity);
    }
    Ok(Credentials { user, password })
}
// ANCHOR_END: decode

/// A LOGIN answer (user name or password) as UTF-8 text.
pub fn login_text(answer: &[u8]) -> Result<String, SaslError> {
    String::from_utf8(answer.to_vec()).map_err(|_| SaslError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    #[test]
    fn plain_messages() {
        let ok = Credentials {
            user: "alice@localhost".into(),
            password: "pw".into(),
        };
        // (message, result)
        let table: &[(&[u8], Result<Credentials, SaslError>)] = &[
            (b"\0alice@localhost\0pw", Ok(ok.clone())),
            (b"alice@localhost\0alice@localhost\0pw", Ok(ok.clone())),
            (b"ALICE@localhost\0alice@localhost\0pw", Ok(ok)),
            (
                b"bob@localhost\0alice@localhost\0pw",
                Err(SaslError::OtherIdentity),
            ),
            (b"\0alice@localhost", Err(SaslError::Malformed)),
            (b"\0alice@localhost\0pw\0extra", Err(SaslError::Malformed)),
            (b"\0\0pw", Err(SaslError::Malformed)),
            (b"\0alice@localhost\0", Err(SaslError::Malformed)),
            (b"\0al\xffice\0pw", Err(SaslError::Malformed)),
        ];
        for (message, expected) in table {
            assert_eq!(&plain(message), expected, "{}", message.escape_ascii());
            // And through base64, as it arrives.
            let decoded = decode(&b64(message)).unwrap();
            assert_eq!(&plain(&decoded), expected);
        }
    }

    #[test]
    fn base64_framing() {
        assert_eq!(decode("="), Ok(vec![]));
        assert_eq!(decode("YWxpY2U="), Ok(b"alice".to_vec()));
        assert_eq!(decode("not base64!"), Err(SaslError::NotBase64));
        assert_eq!(
            decode("YWxpY2U"),
            Err(SaslError::NotBase64),
            "padding required"
        );
        assert_eq!(
            login_text(&decode(LOGIN_USERNAME).unwrap()),
            Ok("Username:".into())
        );
        assert_eq!(
            login_text(&decode(LOGIN_PASSWORD).unwrap()),
            Ok("Password:".into())
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = Credentials {
            user: "alice@localhost".into(),
            password: "s3cret".into(),
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
