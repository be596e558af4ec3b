//! Accounts: the users file, read and written in this one place, and how its
//! passwords are stored and checked (SMTP AUTH, POP3, and every login to come).
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

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::address::parse_mailbox;

/// The accounts listed in a `--users` file: one address per line, `#` starts a comment.
/// An address may be followed by its password hash (`postie user add` writes it); only
/// users with a hash can log in (SMTP AUTH, POP3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users(HashMap<String, Account>);

/// What the users file says about one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// An Argon2id PHC string (see `accounts.rs`), or `None`: mail only, no login.
    pub password_hash: Option<String>,
}

impl Users {
    pub fn load(path: &Path) -> Result<Users, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read users file {}: {e}", path.display()))?;
        Users::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Users, String> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |e: &dyn fmt::Display| format!("line {}: {e}", n + 1);
            let mut fields = line.split_whitespace();
            let address = fields.next().unwrap_or_default();
            let mailbox = parse_mailbox(address).map_err(|e| at(&e))?;
            let mut account = Account::default();
            for field in fields {
                if !field.starts_with('$') {
                    return Err(at(&format!("{field:?}: a password hash starts with $")));
                }
                // A hash is checked now, not when someone tries to log in.
                check_hash(field).map_err(|e| at(&e))?;
                account.password_hash = Some(field.to_string());
            }
            users.insert(
                user_key(&mailbox.local_part, &mailbox.host.to_string()),
                account,
            );
        }
        Ok(Users(users))
    }

    pub fn contains(&self, local_part: &str, domain: &str) -> bool {
        self.0.contains_key(&user_key(local_part, domain))
    }

    /// True when `address` (`local@domain`) has an account whose password is `password`.
    pub fn verify(&self, address: &str, password: &str) -> bool {
        let hash = parse_mailbox(address)
            .ok()
            .and_then(|m| self.0.get(&user_key(&m.local_part, &m.host.to_string())))
            .and_then(|account| account.password_hash.as_deref());
        // Unknown users are hashed too (against a dummy): see verify_password.
        verify_password(hash, password)
    }
}

// ANCHOR: users
/// Mailboxes are matched without regard to case (RFC 5321 §2.4 lets us choose; it
/// recommends not depending on case).
fn user_key(local_part: &str, domain: &str) -> String {
    format!("{}@{}", local_part.to_lowercase(), domain.to_lowercase())
}
// ANCHOR_END: users

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
    fn users_file() {
        let users =
            Users::parse("# staff\nAlice@Localhost\n\n bob@example.test # the boss\n").unwrap();
        assert!(users.contains("alice", "localhost"));
        assert!(users.contains("BOB", "EXAMPLE.test"));
        assert!(!users.contains("carol", "localhost"));
        assert!(Users::parse("not an address\n")
            .unwrap_err()
            .contains("line 1"));
        assert!(Users::parse("alice@localhost secret\n")
            .unwrap_err()
            .contains("line 1: \"secret\": a password hash starts with $"));
        assert!(Users::parse("alice@localhost $argon2id$nonsense\n")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn passwords() {
        let hash = crate::accounts::hash_password("s3cret").unwrap();
        let users = Users::parse(&format!("Alice@localhost {hash}\nbob@localhost\n")).unwrap();
        assert!(users.verify("alice@LOCALHOST", "s3cret"));
        assert!(!users.verify("alice@localhost", "wrong"));
        assert!(!users.verify("bob@localhost", ""), "no hash: no login");
        assert!(!users.verify("carol@localhost", "s3cret"), "unknown user");
        assert!(!users.verify("not an address", "s3cret"));
    }

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
