//! The SMTP protocol core, free of I/O: commands in, replies out.

pub mod address;
pub mod auth;
pub mod command;
pub mod data;
pub mod received;
pub mod reply;
pub mod session;
