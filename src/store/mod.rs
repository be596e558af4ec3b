//! Where accepted mail goes: the Maildir tree, and the safe names that lead there.

pub mod id;
pub mod mailbox;
pub mod maildir;
