//! Where accepted mail goes: the Maildir tree, and the safe names that lead there.

pub mod bell;
pub mod durable;
pub mod flags;
pub mod folder;
pub mod id;
pub mod mailbox;
pub mod maildir;
pub mod maildirpp;
