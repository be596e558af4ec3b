//! A directory for unit tests: it serves one connection on loopback, answers each LDAP
//! request as the test says, and records what it was asked, as the trace shows it.
//! The tests that need a real server (`tests/directory.rs`) run OpenLDAP's slapd.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use rasn_ldap::{BindResponse, LdapMessage, ProtocolOp, ResultCode};

use super::connection::describe;
use super::url::DirectoryUrl;

pub struct FakeDirectory {
    pub url: DirectoryUrl,
    thread: JoinHandle<Vec<String>>,
}

impl FakeDirectory {
    /// Serves one client: each request gets the answers `answer` gives for it.
    pub fn start(answer: impl Fn(&ProtocolOp) -> Vec<ProtocolOp> + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let thread = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut asked = Vec::new();
            // Until the client closes (or sends what is not LDAP).
            while let Some(request) = read_message(&mut socket) {
                asked.push(describe(&request.protocol_op));
                for op in answer(&request.protocol_op) {
                    let message = LdapMessage::new(request.message_id, op);
                    socket
                        .write_all(&rasn::ber::encode(&message).unwrap())
                        .unwrap();
                }
            }
            asked
        });
        FakeDirectory { url, thread }
    }

    /// Answers the first request with `bytes`, whatever they are, and closes.
    pub fn answering_once(bytes: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let thread = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let asked = read_message(&mut socket)
                .map(|request| describe(&request.protocol_op))
                .into_iter()
                .collect();
            socket.write_all(&bytes).unwrap();
            asked
        });
        FakeDirectory { url, thread }
    }

    /// What it was asked, once the client has closed the connection.
    pub fn requests(self) -> Vec<String> {
        self.thread.join().unwrap()
    }
}

/// A bind's answer.
pub fn bind_response(code: ResultCode) -> ProtocolOp {
    ProtocolOp::BindResponse(BindResponse::new(code, "".into(), "".into(), None, None))
}

/// One message: the SEQUENCE's tag, a short or long length, the rest.
fn read_message(socket: &mut impl Read) -> Option<LdapMessage> {
    let mut head = [0u8; 2];
    socket.read_exact(&mut head).ok()?;
    let mut message = head.to_vec();
    let length = match head[1] {
        short @ 0..=0x7f => usize::from(short),
        long => {
            let mut bytes = vec![0u8; usize::from(long & 0x7f)];
            socket.read_exact(&mut bytes).ok()?;
            message.extend_from_slice(&bytes);
            bytes.iter().fold(0, |n, b| (n << 8) | usize::from(*b))
        }
    };
    let start = message.len();
    message.resize(start + length, 0);
    socket.read_exact(&mut message[start..]).ok()?;
    rasn::ber::decode(&message).ok()
}
