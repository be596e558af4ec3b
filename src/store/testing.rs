//! For tests only: a Maildir on disk as another program would leave it, for the tests
//! of everything that reads one (the folder here, POP3's maildrop).

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::store::mailbox::{domain_name, mailbox_name};
use crate::store::maildir::MailboxPath;

/// `user@localhost`'s mailbox.
pub fn mailbox(user: &str) -> MailboxPath {
    MailboxPath {
        domain: domain_name("localhost").unwrap(),
        mailbox: mailbox_name(user).unwrap(),
    }
}

/// Writes a message file straight into `<root>/localhost/<user>/<sub>/<name>`, as
/// another Maildir writer or reader would have left it.
pub fn put(root: &Path, user: &str, sub: &str, name: &str, text: &[u8]) -> PathBuf {
    let dir = root.join("localhost").join(user).join(sub);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// A new Maildir root in which `user@localhost` already has `files`, each (`new` or
/// `cur`, file name, text), as [`put`] leaves them.
pub fn maildir_with(user: &str, files: &[(&str, &str, &[u8])]) -> TempDir {
    let root = tempfile::tempdir().unwrap();
    for (sub, name, text) in files {
        put(root.path(), user, sub, name, text);
    }
    root
}
