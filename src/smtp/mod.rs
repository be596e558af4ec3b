//! The SMTP protocol core, free of I/O: commands in, replies out.

pub mod accept;
pub mod auth;
pub mod command;
pub mod connection;
pub mod data;
pub mod listener;
pub mod reply;
pub mod session;
pub mod submit;
