//! The first test a reader should look at: one message, start to finish, over TCP.

mod common;
use common::*;

#[test]
fn one_message_arrives_in_the_maildir() {
    let server = TestServer::start();
    let reply = send_message(
        &server,
        "alice@example.org",
        &["bob@localhost"],
        b"Subject: hi\r\n\r\nHello, Bob.",
    );
    assert!(reply.starts_with("250 2.0.0 OK: queued as "), "{reply}");
    let messages = server.messages("localhost", "bob");
    assert_eq!(messages.len(), 1);
    assert_eq!(
        strip_trace_headers(&messages[0]),
        b"Subject: hi\r\n\r\nHello, Bob.\r\n"
    );
}
