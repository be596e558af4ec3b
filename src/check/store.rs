//! What the server stored: the checks that must see a delivered message (it arrived
//! once, its dots were unstuffed, it carries trace headers) look here.
//!
//! Two layouts, the two a class server writes: a Maildir (any folder below the given
//! directory whose files sit in `new/` or `cur/`, so the root of a tree of mailboxes
//! works too), or one mbox file (messages separated by lines starting `From `). Each
//! test message carries a unique token, and a message is found by its token. Without
//! a store those checks are "not checked": the grader never guesses.

use std::path::{Path, PathBuf};

/// Where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Maildir(PathBuf),
    Mbox(PathBuf),
}

impl Store {
    /// Every stored message that contains `token`, as stored.
    pub fn messages_with(&self, token: &[u8]) -> std::io::Result<Vec<Vec<u8>>> {
        let all = match self {
            Store::Maildir(dir) => {
                let mut files = Vec::new();
                maildir_files(dir, 0, &mut files);
                files.sort();
                // A file can be renamed from new/ to cur/ under us: skip what vanished.
                files
                    .iter()
                    .filter_map(|path| std::fs::read(path).ok())
                    .collect()
            }
            Store::Mbox(file) => match std::fs::read(file) {
                Ok(bytes) => mbox_messages(&bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
        };
        Ok(all
            .into_iter()
            .filter(|message| contains(message, token))
            .collect())
    }

    /// For the report.
    pub fn describe(&self) -> String {
        match self {
            Store::Maildir(dir) => format!("Maildir {}", dir.display()),
            Store::Mbox(file) => format!("mbox {}", file.display()),
        }
    }
}

/// Files in `new/` and `cur/` folders at or below `dir` (at most 8 levels down).
fn maildir_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let in_mail_folder = matches!(
        dir.file_name().and_then(|n| n.to_str()),
        Some("new" | "cur")
    );
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            maildir_files(&path, depth + 1, out);
        } else if kind.is_file() && in_mail_folder {
            out.push(path);
        }
    }
}

/// Splits an mbox file at its `From ` separator lines (at the start of the file, or
/// after an empty line).
pub fn mbox_messages(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut previous_blank = true;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") && previous_blank {
            if !current.is_empty() {
                messages.push(std::mem::take(&mut current));
            }
            previous_blank = false;
            continue; // the separator is not part of the message
        }
        previous_blank = line == b"\n" || line == b"\r\n";
        current.extend_from_slice(line);
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_splits_at_from_lines_after_a_blank_line() {
        let mbox = b"From a@b Sat Jan  1 00:00:00 2026\nSubject: one\n\n>From here on, text\n\nFrom c@d Sat Jan  1 00:00:01 2026\nSubject: two\n\nbody\n";
        let messages = mbox_messages(mbox);
        assert_eq!(messages.len(), 2);
        assert!(contains(&messages[0], b"From here on"));
        assert!(contains(&messages[1], b"Subject: two"));
    }

    #[test]
    fn maildir_finds_new_and_cur_anywhere_below() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("localhost/bob");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(user.join(sub)).unwrap();
            std::fs::write(user.join(sub).join("1"), format!("token-x in {sub}")).unwrap();
        }
        let found = Store::Maildir(dir.path().to_path_buf())
            .messages_with(b"token-x")
            .unwrap();
        assert_eq!(found.len(), 2, "tmp/ holds nothing delivered");
    }
}
