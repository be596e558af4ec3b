//! Passwords: how the users file stores them and how AUTH and POP3 check them.
//!
//! A password is never stored, only an Argon2id hash of it (RFC 9106), written as a
//! PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. The string
//! carries its own salt and cost parameters, so the file needs nothing else. The
//! hashing itself comes from the `argon2` crate: this is exactly the kind of code a
//! teaching project must not write by hand.
//!
//! Also here: `postie user add`, which edits the users file in place (write a new
//! file, fsync, rename: a crash leaves the old file or the new one, never half).
//!
//! Left out: changing the cost parameters of existing hashes (rehash on login), and
//! account lockout across connections (each session counts its own failures).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

// ANCHOR: hash
/// Hashes a password for the users file, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks that `text` is a PHC string we can verify against (used when loading the file).
pub fn check_hash(text: &str) -> Result<(), String> {
    let complaint = |why: &dyn std::fmt::Display| {
        format!("{text:?} is not an Argon2 password hash ({why}); use `postie user add`")
    };
    let parsed = PasswordHash::new(text).map_err(|e| complaint(&e))?;
    if argon2::Algorithm::try_from(parsed.algorithm).is_err() {
        return Err(complaint(&"unknown algorithm"));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(complaint(&"no salt or no hash"));
    }
    Ok(())
}
// ANCHOR_END: hash

// ANCHOR: verify
/// True when `password` matches `hash`.
///
/// A user who does not exist, or has no password, is checked against a dummy hash and
/// then refused, so the answer takes as long as for a real user: the time taken must
/// not tell an attacker which accounts exist (RFC 4954 §9 warns about such probing).
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    let (hash, real) = match hash {
        Some(hash) => (hash, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user").unwrap_or_default())
}
// ANCHOR_END: verify

/// `postie user add`: sets `address`'s password hash in the users file at `path`,
/// adding the line if the address is new and keeping every other line (and comment)
/// as it was. The file is created with mode 0600 if it does not exist.
pub fn set_password(path: &Path, address: &str, hash: &str) -> Result<(), String> {
    let old = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut replaced = false;
    let mut new = String::new();
    for line in old.lines() {
        let fields = line.split('#').next().unwrap_or("");
        let first = fields.split_whitespace().next().unwrap_or("");
        if !replaced && first.eq_ignore_ascii_case(address) {
            // Keep any other fields (and the comment); swap the hash in or add it.
            let comment = line.find('#').map(|i| &line[i..]);
            let mut words: Vec<&str> = fields
                .split_whitespace()
                .filter(|w| !w.starts_with('$'))
                .collect();
            words.push(hash);
            new.push_str(&words.join(" "));
            if let Some(comment) = comment {
                new.push_str("  ");
                new.push_str(comment);
            }
            replaced = true;
        } else {
            new.push_str(line);
        }
        new.push('\n');
    }
    if !replaced {
        new.push_str(&format!("{address} {hash}\n"));
    }
    replace_file(path, &new).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes `text` to a temporary file beside `path`, syncs it, and renames it over `path`.
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mode = fs::metadata(path).map_or(0o600, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions())
    });
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::rename(tmp, path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(check_hash(&hash).is_ok());
        assert!(verify_password(Some(&hash), "correct horse"));
        assert!(!verify_password(Some(&hash), "Correct horse"));
        assert!(!verify_password(None, "no such user"), "no hash, no entry");
        assert!(!verify_password(Some("plaintext"), "plaintext"));
        assert!(check_hash("plaintext").is_err());
        let again = hash_password("correct horse").unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
    }

    #[test]
    fn set_password_edits_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(
            &path,
            "# staff\nalice@localhost $old  # the boss\nbob@localhost\n",
        )
        .unwrap();
        set_password(&path, "Alice@localhost", "$new").unwrap();
        set_password(&path, "carol@localhost", "$c").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# staff\nalice@localhost $new  # the boss\nbob@localhost\ncarol@localhost $c\n"
        );
        let fresh = dir.path().join("new-users");
        set_password(&fresh, "dave@localhost", "$d").unwrap();
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&fresh).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "a new users file is private");
    }
}
