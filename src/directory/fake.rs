//! A directory for unit tests: it serves connections on loopback, answers each LDAP
//! request as the test says, and records what it was asked, as the trace shows it
//! (and what was not LDAP at all, such as a TLS handshake, as "not LDAP").
//! The tests that need a real server (`tests/directory.rs`) run OpenLDAP's slapd.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;

use rasn_ldap::{BindResponse, LdapMessage, ProtocolOp, ResultCode};

use super::connection::describe;
use super::url::DirectoryUrl;

pub struct FakeDirectory {
    pub url: DirectoryUrl,
    pub addr: SocketAddr,
    thread: JoinHandle<Vec<String>>,
}

/// How a connection answers one request: these messages, or `None` to close at once.
type Answer = dyn Fn(usize, &ProtocolOp) -> Option<Vec<ProtocolOp>> + Send + Sync;

impl FakeDirectory {
    /// Serves one client: each request gets the answers `answer` gives for it.
    pub fn start(answer: impl Fn(&ProtocolOp) -> Vec<ProtocolOp> + Send + Sync + 'static) -> Self {
        Self::serving(1, move |_, request| Some(answer(request)))
    }

    /// Serves `connections` clients at once; `answer` is told which one is asking
    /// (0 for the first to connect).
    pub fn serving(
        connections: usize,
        answer: impl Fn(usize, &ProtocolOp) -> Option<Vec<ProtocolOp>> + Send + Sync + 'static,
    ) -> Self {
        let (listener, url, addr) = listen();
        let answer: Arc<Answer> = Arc::new(answer);
        let thread = std::thread::spawn(move || {
            let each: Vec<_> = (0..connections)
                .map(|n| {
                    let (socket, _) = listener.accept().unwrap();
                    let answer = answer.clone();
                    std::thread::spawn(move || serve(socket, n, &*answer))
                })
                .collect();
            each.into_iter()
                .flat_map(|thread| thread.join().unwrap())
                .collect()
        });
        FakeDirectory { url, addr, thread }
    }

    /// Answers the first request with `bytes`, whatever they are, and closes.
    pub fn answering_once(bytes: Vec<u8>) -> Self {
        let (listener, url, addr) = listen();
        let thread = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let asked = read_message(&mut socket)
                .map(|read| shown(&read))
                .into_iter()
                .collect();
            socket.write_all(&bytes).unwrap();
            asked
        });
        FakeDirectory { url, addr, thread }
    }

    /// What it was asked, once every client has closed its connection.
    pub fn requests(self) -> Vec<String> {
        self.thread.join().unwrap()
    }
}

fn listen() -> (TcpListener, DirectoryUrl, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("ldap://{addr}").parse().unwrap();
    (listener, url, addr)
}

/// One connection, until the client closes it (or `answer` says to).
fn serve(mut socket: TcpStream, n: usize, answer: &Answer) -> Vec<String> {
    let mut asked = Vec::new();
    while let Some(read) = read_message(&mut socket) {
        asked.push(shown(&read));
        let Ok(request) = read else {
            break;
        };
        let Some(answers) = answer(n, &request.protocol_op) else {
            break;
        };
        for op in answers {
            let message = LdapMessage::new(request.message_id, op);
            socket
                .write_all(&rasn::ber::encode(&message).unwrap())
                .unwrap();
        }
    }
    asked
}

/// A bind's answer.
pub fn bind_response(code: ResultCode) -> ProtocolOp {
    ProtocolOp::BindResponse(BindResponse::new(code, "".into(), "".into(), None, None))
}

/// What was asked, for [`FakeDirectory::requests`].
fn shown(read: &Result<LdapMessage, usize>) -> String {
    match read {
        Ok(request) => describe(&request.protocol_op),
        Err(octets) => format!("not LDAP ({octets} octets)"),
    }
}

/// One message: the SEQUENCE's tag, a short or long length, the rest; `None` when the
/// client closed, `Err(octets)` for a frame that does not decode as LDAP.
fn read_message(socket: &mut impl Read) -> Option<Result<LdapMessage, usize>> {
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
    Some(rasn::ber::decode(&message).map_err(|_| message.len()))
}
