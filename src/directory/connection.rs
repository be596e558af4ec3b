//! One synchronous connection to the directory: LDAP messages (RFC 4511 §4.1.1) as BER
//! over TCP, or over TLS from rustls, the same TLS postie speaks to its own clients.
//!
//! The operations postie needs, and only those: StartTLS (RFC 4511 §4.14, RFC 4513
//! §3), a simple bind (RFC 4511 §4.2, RFC 4513 §5.1.3), a search (RFC 4511 §4.5) and
//! unbind (§4.3). Each request waits for its answer: one operation at a time, no
//! message-id juggling. Every read and write has a deadline (the socket's timeout),
//! so a directory that stops answering is an error after `--directory-timeout`, not a
//! hung client.
//!
//! The messages are the `rasn-ldap` crate's types, BER-encoded by `rasn`; what this file
//! adds is the framing (how long is the next message?) with a cap on its size, and the
//! decoded trace (`--trace`): one `D>` line per request, one `D<` line per answer.
//!
//! Left out: SASL binds (RFC 4513 §5.2), referrals and search continuations (RFC 4511
//! §4.1.10, §4.5.3: a referral is an error here), controls, paging (RFC 2696),
//! abandon, and unsolicited notifications other than as an error.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rasn::types::OctetString;
use rasn_ldap::{
    AuthenticationChoice, BindRequest, ExtendedRequest, Filter, LdapMessage, LdapResult,
    ProtocolOp, ResultCode, SearchRequest, SearchRequestDerefAliases, SearchRequestScope,
    UnbindRequest,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::filter;
use super::url::{DirectoryUrl, Protection};
use crate::TRACE;

/// RFC 4511 §4.14.1: the StartTLS extended operation's name.
const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";
/// The largest answer accepted from the directory. An entry postie asks for has a few
/// attributes; a group's members list is the biggest thing it reads.
const MAX_MESSAGE: usize = 4 << 20;

/// What went wrong talking to the directory. Every kind is temporary for postie's
/// clients (451, 454, `-ERR [SYS/TEMP]`): the directory may be back in a minute.
#[derive(Debug)]
pub enum Error {
    /// Connect, read, write or TLS failed, or timed out.
    Io(io::Error),
    /// The bytes were not an LDAP message we expected.
    Protocol(String),
    /// The directory answered with a result that is neither success nor "not found".
    Result(ResultCode, String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Protocol(what) => write!(f, "protocol error: {what}"),
            Error::Result(code, text) => write!(f, "{code:?}: {text}"),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

/// One entry of a search's answer: its DN and the attributes asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attributes: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    /// The values of `name` (attribute names are case-insensitive, RFC 4512 §2.5).
    pub fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> + '_ {
        let name = name.to_string();
        self.attributes
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .flat_map(|(_, values)| values.iter().map(Vec::as_slice))
    }

    /// The first value of `name` as text, if it is UTF-8.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A connection to the directory, ready for binds and searches.
pub struct Connection {
    stream: Stream,
    next_id: u32,
    /// For the trace: which server this is.
    peer: SocketAddr,
}

impl Connection {
    // ANCHOR: open
    /// Connects, protects the connection as `url` requires (TLS at once, StartTLS, or
    /// plain on loopback), and returns it unbound (anonymous, RFC 4513 §5.1.1).
    pub fn open(
        url: &DirectoryUrl,
        tls: &Arc<ClientConfig>,
        force_starttls: bool,
        timeout: Duration,
    ) -> Result<Connection, Error> {
        let addresses = url.resolve()?;
        let protection = url.protection(&addresses, force_starttls);
        let mut last = io::Error::other(format!("{} has no address", url.host));
        for peer in addresses {
            match TcpStream::connect_timeout(&peer, timeout) {
                Ok(socket) => {
                    socket.set_read_timeout(Some(timeout))?;
                    socket.set_write_timeout(Some(timeout))?;
                    socket.set_nodelay(true)?;
                    let mut connection = Connection {
                        stream: Stream::Plain(socket),
                        next_id: 1,
                        peer,
                    };
                    match protection {
                        Protection::Plain => {}
                        Protection::Ldaps => connection.start_tls(url, tls)?,
                        Protection::StartTls => {
                            connection.request_starttls()?;
                            connection.start_tls(url, tls)?;
                        }
                    }
                    return Ok(connection);
                }
                Err(e) => last = e,
            }
        }
        Err(Error::Io(last))
    }
    // ANCHOR_END: open

    /// RFC 4511 §4.14.1: ask for StartTLS; anything but success is an error (postie
    /// never falls back to plain text).
    fn request_starttls(&mut self) -> Result<(), Error> {
        let request = ProtocolOp::ExtendedReq(ExtendedRequest {
            request_name: OctetString::from(STARTTLS_OID.as_bytes().to_vec()),
            request_value: None,
        });
        match self.call(request)? {
            ProtocolOp::ExtendedResp(r) if r.result_code == ResultCode::Success => Ok(()),
            ProtocolOp::ExtendedResp(r) => Err(Error::Result(
                r.result_code,
                format!("StartTLS refused: {}", r.diagnostic_message.0),
            )),
            other => Err(unexpected(&other)),
        }
    }

    /// The TLS handshake over the plain socket (RFC 4513 §3.1.3: the server's name
    /// must match its certificate).
    fn start_tls(&mut self, url: &DirectoryUrl, tls: &Arc<ClientConfig>) -> Result<(), Error> {
        let name = ServerName::try_from(url.host.clone())
            .map_err(|_| Error::Protocol(format!("{} is not a TLS server name", url.host)))?;
        let Stream::Plain(socket) = &self.stream else {
            return Err(Error::Protocol("TLS is already active".into()));
        };
        let socket = socket.try_clone()?;
        let connection =
            ClientConnection::new(tls.clone(), name).map_err(|e| Error::Io(io::Error::other(e)))?;
        let mut stream = StreamOwned::new(connection, socket);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        if log::log_enabled!(target: TRACE, log::Level::Trace) {
            let version = stream.conn.protocol_version();
            log::trace!(target: TRACE, "{} D: TLS established ({version:?})", self.peer);
        }
        self.stream = Stream::Tls(Box::new(stream));
        Ok(())
    }

    // ANCHOR: bind
    /// A simple bind (RFC 4511 §4.2, RFC 4513 §5.1.3). `Ok(false)`: wrong DN or
    /// password. An empty password is refused here, never sent: RFC 4513 §5.1.2 makes
    /// it an *unauthenticated* bind, which a server may answer with success.
    pub fn bind(&mut self, dn: &str, password: &str) -> Result<bool, Error> {
        if password.is_empty() {
            return Ok(false);
        }
        let request = ProtocolOp::BindRequest(BindRequest::new(
            3,
            dn.into(),
            AuthenticationChoice::Simple(OctetString::from(password.as_bytes().to_vec())),
        ));
        match self.call(request)? {
            ProtocolOp::BindResponse(r) => match r.result_code {
                ResultCode::Success => Ok(true),
                ResultCode::InvalidCredentials | ResultCode::InappropriateAuthentication => {
                    Ok(false)
                }
                code => Err(Error::Result(code, r.diagnostic_message.0)),
            },
            other => Err(unexpected(&other)),
        }
    }
    // ANCHOR_END: bind

    /// RFC 4513 §5.1.1: an anonymous bind (empty name, empty password) puts a
    /// connection back to no one after a login.
    pub fn bind_anonymous(&mut self) -> Result<bool, Error> {
        let request = ProtocolOp::BindRequest(BindRequest::new(
            3,
            "".into(),
            AuthenticationChoice::Simple(OctetString::from_static(b"")),
        ));
        match self.call(request)? {
            ProtocolOp::BindResponse(r) => Ok(r.result_code == ResultCode::Success),
            other => Err(unexpected(&other)),
        }
    }

    // ANCHOR: search
    /// A search (RFC 4511 §4.5.1) for at most `limit` entries. "No such object" (the
    /// base is missing) is an empty answer; reaching `limit` is not an error.
    pub fn search(
        &mut self,
        base: &str,
        scope: SearchRequestScope,
        filter: Filter,
        attributes: &[&str],
        limit: u32,
    ) -> Result<Vec<Entry>, Error> {
        let request = ProtocolOp::SearchRequest(SearchRequest::new(
            base.into(),
            scope,
            SearchRequestDerefAliases::NeverDerefAliases,
            limit,
            0,
            false,
            filter,
            attributes.iter().map(|a| (*a).into()).collect(),
        ));
        let id = self.send(request)?;
        let mut entries = Vec::new();
        loop {
            match self.receive(id)? {
                ProtocolOp::SearchResEntry(entry) => entries.push(Entry {
                    dn: entry.object_name.0,
                    attributes: entry
                        .attributes
                        .into_iter()
                        .map(|a| {
                            (
                                a.r#type.0,
                                a.vals.to_vec().into_iter().map(|v| v.to_vec()).collect(),
                            )
                        })
                        .collect(),
                }),
                // RFC 4511 §4.5.3: a continuation reference points at another server;
                // postie follows none.
                ProtocolOp::SearchResRef(_) => {}
                ProtocolOp::SearchResDone(done) => {
                    return match done.0.result_code {
                        ResultCode::Success | ResultCode::SizeLimitExceeded => Ok(entries),
                        ResultCode::NoSuchObject => Ok(Vec::new()),
                        code => Err(result_error(code, &done.0)),
                    };
                }
                other => return Err(unexpected(&other)),
            }
        }
    }
    // ANCHOR_END: search

    /// RFC 4511 §4.3: the polite goodbye; no answer comes.
    pub fn unbind(mut self) {
        let _ = self.send(ProtocolOp::UnbindRequest(UnbindRequest));
    }

    /// Sends a request and reads its one answer.
    fn call(&mut self, request: ProtocolOp) -> Result<ProtocolOp, Error> {
        let id = self.send(request)?;
        self.receive(id)
    }

    fn send(&mut self, request: ProtocolOp) -> Result<u32, Error> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        if log::log_enabled!(target: TRACE, log::Level::Trace) {
            log::trace!(target: TRACE, "{} D> #{id} {}", self.peer, describe(&request));
        }
        let bytes = rasn::ber::encode(&LdapMessage::new(id, request))
            .map_err(|e| Error::Protocol(format!("cannot encode: {e}")))?;
        self.stream.write_all(&bytes)?;
        self.stream.flush()?;
        Ok(id)
    }

    // ANCHOR: receive
    /// Reads one LDAP message: a SEQUENCE's tag, its length (RFC 4511 §5.1: definite
    /// form only), then that many bytes, decoded. It must answer request `id`.
    fn receive(&mut self, id: u32) -> Result<ProtocolOp, Error> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head)?;
        if head[0] != 0x30 {
            return Err(Error::Protocol(format!(
                "tag {:#04x}, not a SEQUENCE",
                head[0]
            )));
        }
        let mut message = head.to_vec();
        let length = match head[1] {
            short @ 0..=0x7f => usize::from(short),
            long @ 0x81..=0x84 => {
                let mut bytes = vec![0u8; usize::from(long & 0x7f)];
                self.stream.read_exact(&mut bytes)?;
                message.extend_from_slice(&bytes);
                bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
            }
            other => return Err(Error::Protocol(format!("length form {other:#04x}"))),
        };
        if length > MAX_MESSAGE {
            return Err(Error::Protocol(format!("a message of {length} bytes")));
        }
        let start = message.len();
        message.resize(start + length, 0);
        self.stream.read_exact(&mut message[start..])?;
        let decoded: LdapMessage = rasn::ber::decode(&message)
            .map_err(|e| Error::Protocol(format!("cannot decode: {e}")))?;
        if log::log_enabled!(target: TRACE, log::Level::Trace) {
            let shown = describe(&decoded.protocol_op);
            log::trace!(target: TRACE, "{} D< #{} {shown}", self.peer, decoded.message_id);
        }
        // RFC 4511 §4.4.1: message id 0 is a notice of disconnection; anything else
        // that is not ours is a confused server. Either way the connection is done.
        if decoded.message_id != id {
            return Err(Error::Protocol(format!(
                "answer #{} to request #{id}",
                decoded.message_id
            )));
        }
        Ok(decoded.protocol_op)
    }
    // ANCHOR_END: receive
}

fn result_error(code: ResultCode, result: &LdapResult) -> Error {
    Error::Result(code, result.diagnostic_message.0.clone())
}

fn unexpected(op: &ProtocolOp) -> Error {
    Error::Protocol(format!("unexpected answer: {}", describe(op)))
}

// ANCHOR: describe
/// One LDAP message as a line of the trace, decoded: what a packet capture shows.
/// A bind's password is never shown.
pub fn describe(op: &ProtocolOp) -> String {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match op {
        ProtocolOp::BindRequest(b) => {
            let how = match &b.authentication {
                AuthenticationChoice::Simple(p) if p.is_empty() => "anonymous",
                AuthenticationChoice::Simple(_) => "simple, password hidden",
                _ => "SASL",
            };
            format!("BindRequest v{} dn=\"{}\" ({how})", b.version, b.name.0)
        }
        ProtocolOp::BindResponse(r) => format!("BindResponse {:?}", r.result_code),
        ProtocolOp::SearchRequest(s) => format!(
            "SearchRequest base=\"{}\" scope={:?} filter={} attrs=[{}] limit={}",
            s.base_object.0,
            s.scope,
            filter::show(&s.filter),
            s.attributes
                .iter()
                .map(|a| a.0.as_str())
                .collect::<Vec<_>>()
                .join(","),
            s.size_limit
        ),
        ProtocolOp::SearchResEntry(e) => {
            let attributes: Vec<String> = e
                .attributes
                .iter()
                .map(|a| {
                    let values: Vec<String> =
                        a.vals.to_vec().into_iter().map(|v| text(v)).collect();
                    format!("{}={}", a.r#type.0, values.join("|"))
                })
                .collect();
            format!(
                "SearchResultEntry \"{}\" {}",
                e.object_name.0,
                attributes.join(" ")
            )
        }
        ProtocolOp::SearchResDone(d) => format!("SearchResultDone {:?}", d.0.result_code),
        ProtocolOp::SearchResRef(_) => "SearchResultReference (not followed)".into(),
        ProtocolOp::ExtendedReq(x) => format!("ExtendedRequest {}", text(&x.request_name)),
        ProtocolOp::ExtendedResp(x) => format!("ExtendedResponse {:?}", x.result_code),
        ProtocolOp::UnbindRequest(_) => "UnbindRequest".into(),
        _ => "another operation".into(),
    }
}
// ANCHOR_END: describe

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::fake::FakeDirectory;

    /// The bytes the book decodes by hand: an anonymous bind, message 1.
    #[test]
    fn an_anonymous_bind_in_ber() {
        let bind = ProtocolOp::BindRequest(BindRequest::new(
            3,
            "".into(),
            AuthenticationChoice::Simple(OctetString::from_static(b"")),
        ));
        let bytes = rasn::ber::encode(&LdapMessage::new(1, bind)).unwrap();
        assert_eq!(
            bytes,
            [0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00]
        );
        let back: LdapMessage = rasn::ber::decode(&bytes).unwrap();
        assert_eq!(back.message_id, 1);
        assert_eq!(
            describe(&back.protocol_op),
            "BindRequest v3 dn=\"\" (anonymous)"
        );
    }

    #[test]
    fn a_refused_starttls_is_an_error_and_never_a_handshake() {
        // A directory that answers StartTLS with "unavailable" (RFC 4511 §4.14.2).
        let directory = FakeDirectory::start(|_| {
            vec![ProtocolOp::ExtendedResp(rasn_ldap::ExtendedResponse {
                result_code: ResultCode::Unavailable,
                matched_dn: "".into(),
                diagnostic_message: "no TLS here".into(),
                referral: None,
                response_name: None,
                response_value: None,
            })]
        });
        let tls = crate::directory::trust(None).unwrap();
        match Connection::open(&directory.url, &tls, true, Duration::from_secs(2)) {
            Err(Error::Result(code, text)) => {
                assert_eq!(code, ResultCode::Unavailable);
                assert_eq!(text, "StartTLS refused: no TLS here");
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a refused StartTLS gave a connection"),
        }
        // Nothing after the refusal: a TLS ClientHello would show as "not LDAP".
        let asked = directory.requests();
        assert_eq!(asked, [format!("ExtendedRequest {STARTTLS_OID}")]);
    }

    #[test]
    fn an_answer_over_4_mib_is_refused_unread() {
        let tls = crate::directory::trust(None).unwrap();
        for (length, too_large) in [(MAX_MESSAGE, false), (MAX_MESSAGE + 1, true)] {
            // A SEQUENCE's tag and a four-octet length, and then the directory closes.
            let head = [&[0x30, 0x84][..], &(length as u32).to_be_bytes()].concat();
            let directory = FakeDirectory::answering_once(head);
            let mut connection =
                Connection::open(&directory.url, &tls, false, Duration::from_secs(2)).unwrap();
            match (too_large, connection.bind_anonymous()) {
                // Refused from its length alone.
                (true, Err(Error::Protocol(text))) => {
                    assert_eq!(text, format!("a message of {length} bytes"))
                }
                // Not refused: read, until the connection ends.
                (false, Err(Error::Io(e))) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
                (_, other) => panic!("{length}: {:?}", other.map_err(|e| e.to_string())),
            }
            drop(connection);
            assert_eq!(directory.requests().len(), 1);
        }
    }

    #[test]
    fn the_trace_names_each_operation() {
        let unbind = ProtocolOp::UnbindRequest(UnbindRequest);
        assert_eq!(describe(&unbind), "UnbindRequest");
        let accepted = ProtocolOp::ExtendedResp(rasn_ldap::ExtendedResponse {
            result_code: ResultCode::Success,
            matched_dn: "".into(),
            diagnostic_message: "".into(),
            referral: None,
            response_name: None,
            response_value: None,
        });
        assert_eq!(describe(&accepted), "ExtendedResponse Success");
        let elsewhere = ProtocolOp::SearchResRef(rasn_ldap::SearchResultReference(vec![]));
        assert_eq!(describe(&elsewhere), "SearchResultReference (not followed)");
    }

    #[test]
    fn unbind_says_goodbye() {
        // RFC 4511 §4.3: the request the directory gets before the connection closes.
        let directory = FakeDirectory::start(|_| vec![]);
        let tls = crate::directory::trust(None).unwrap();
        let connection =
            Connection::open(&directory.url, &tls, false, Duration::from_secs(2)).unwrap();
        connection.unbind();
        assert_eq!(directory.requests(), ["UnbindRequest"]);
    }

    #[test]
    fn errors_say_what_went_wrong() {
        // What the log says when the directory fails (every kind is temporary).
        let io = Error::Io(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        assert_eq!(io.to_string(), "timed out");
        let protocol = Error::Protocol("an answer to no request".into());
        assert_eq!(
            protocol.to_string(),
            "protocol error: an answer to no request"
        );
        let result = Error::Result(ResultCode::Busy, "try later".into());
        assert_eq!(result.to_string(), "Busy: try later");
    }

    #[test]
    fn the_trace_never_shows_a_password() {
        let bind = ProtocolOp::BindRequest(BindRequest::new(
            3,
            "uid=bob".into(),
            AuthenticationChoice::Simple(OctetString::from_static(b"bob-secret")),
        ));
        assert!(!describe(&bind).contains("bob-secret"));
    }
}
