//! The IMAP differential test: one script of commands against postie and against
//! Dovecot (Debian's `dovecot-imapd`, started here on a loopback port with a throwaway
//! configuration and Maildir), and the same answers from both: the same untagged
//! responses, the same statuses and response codes, tag for tag.
//!
//! What may differ, and is taken out before comparing: ids and dates (UIDVALIDITY,
//! APPENDUID's and COPYUID's validity, INTERNALDATE), the human text after a status
//! and its code, the capability lists, the order of LIST's lines, and `\Recent` (which
//! servers keep differently: postie by Maildir's `new/`, Dovecot in its index; IMAP4rev2
//! dropped it).

mod common;
use common::imap::Imap;
use common::tools::tool;
use common::*;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = POP3_PASSWORD;

const LUNCH: &str = "From: Bob <bob@example.org>\r\nTo: Alice <alice@localhost>\r\nSubject: Lunch\r\nDate: Mon, 5 Jan 2026 01:02:03 +0000\r\nMessage-ID: <lunch@example.org>\r\n\r\nNoon at the usual place?\r\n";

const PHOTOS: &str = "From: carol@example.org\r\nTo: alice@localhost\r\nCc: bob@example.org\r\nSubject: Photos\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere they are.\r\n--XX\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.png\"\r\n\r\niVBORw0KGgo=\r\n--XX--\r\n";

/// The script: each command as a client sends it.
fn script() -> Vec<String> {
    let append =
        |flags: &str, text: &str| format!("APPEND INBOX {flags}{{{}+}}\r\n{text}", text.len());
    [
        "NOOP".to_string(),
        "LIST \"\" *".into(),
        "LIST \"\" \"\"".into(),
        "NAMESPACE".into(),
        "CREATE Archive".into(),
        "CREATE Archive".into(),
        "CREATE Archive.2026".into(),
        "LIST \"\" Archive.%".into(),
        "CREATE \"Caf&AOk-\"".into(),
        append("(\\Seen) ", LUNCH),
        append("", PHOTOS),
        "APPEND Nowhere {3+}\r\nHi!".into(),
        "SELECT Nowhere".into(),
        "STATUS INBOX (MESSAGES UNSEEN UIDNEXT)".into(),
        "EXAMINE INBOX".into(),
        "STORE 1 +FLAGS (\\Flagged)".into(),
        "SELECT INBOX".into(),
        "FETCH 1:* (FLAGS UID RFC822.SIZE)".into(),
        "UID FETCH 1:* (FLAGS)".into(),
        "FETCH 1 ENVELOPE".into(),
        "FETCH 2 ENVELOPE".into(),
        "FETCH 1 BODYSTRUCTURE".into(),
        "FETCH 2 BODY".into(),
        "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject From)]".into(),
        "FETCH 1 BODY.PEEK[TEXT]<0.4>".into(),
        "FETCH 2 BODY.PEEK[1]".into(),
        "FETCH 2 BODY.PEEK[2]".into(),
        "FETCH 2 BODY.PEEK[2.MIME]".into(),
        "FETCH 2 RFC822.HEADER".into(),
        "FETCH 2 RFC822.SIZE".into(),
        "SEARCH SEEN".into(),
        "SEARCH UNSEEN".into(),
        "SEARCH FROM bob".into(),
        "SEARCH OR SUBJECT lunch SUBJECT photos".into(),
        "SEARCH NOT 1".into(),
        "SEARCH BODY usual".into(),
        "SEARCH LARGER 300".into(),
        "SEARCH SENTON 5-Jan-2026".into(),
        "UID SEARCH ALL".into(),
        "FETCH 2 BODY[1]".into(),
        "STORE 2 +FLAGS (\\Flagged)".into(),
        "STORE 1 -FLAGS.SILENT (\\Seen)".into(),
        "UID STORE 1 +FLAGS (\\Answered)".into(),
        "FETCH 1:2 FLAGS".into(),
        "UID COPY 1 Archive".into(),
        "UID MOVE 2 \"Caf&AOk-\"".into(),
        "STATUS Archive (MESSAGES UNSEEN UIDNEXT)".into(),
        "STATUS \"Caf&AOk-\" (MESSAGES)".into(),
        "STORE 1 +FLAGS (\\Deleted)".into(),
        "EXPUNGE".into(),
        "FETCH 5 FLAGS".into(),
        "FROB".into(),
        "CHECK".into(),
        "CLOSE".into(),
        "FETCH 1 FLAGS".into(),
        "SELECT Archive".into(),
        "UNSELECT".into(),
        "SUBSCRIBE Archive".into(),
        "LSUB \"\" *".into(),
        "UNSUBSCRIBE Archive".into(),
        "RENAME Archive Old".into(),
        "LIST \"\" Old*".into(),
        "DELETE Old.2026".into(),
        "DELETE Old".into(),
        "DELETE INBOX".into(),
        "LOGOUT".into(),
    ]
    .into_iter()
    .collect()
}

/// A response with what may differ taken out.
fn normalize(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut listed = Vec::new();
    for line in lines {
        let line = line.trim_end_matches("\r\n");
        if line.starts_with("* CAPABILITY") || line.ends_with(" RECENT") && line.starts_with("* ") {
            continue;
        }
        let line = line
            .replace(" \\Recent", "")
            .replace("(\\Recent ", "(")
            .replace("(\\Recent)", "()");
        let line = status_line(&line).unwrap_or(line);
        let line = mask_after(&line, "INTERNALDATE ");
        let line = mask_after(&line, "UIDVALIDITY ");
        let line = sort_status_items(&line);
        if line.starts_with("* LIST ") || line.starts_with("* LSUB ") {
            listed.push(line);
        } else {
            out.push(line);
        }
    }
    listed.sort();
    listed.extend(out);
    listed
}

/// `t OK [CODE args] text` → `t OK [CODE]`, keeping the arguments of codes that are
/// not ids.
fn status_line(line: &str) -> Option<String> {
    let (tag, rest) = line.split_once(' ')?;
    let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if !["OK", "NO", "BAD", "BYE"].contains(&status) {
        return None;
    }
    let code = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .map(|(code, _)| {
            let name = code.split(' ').next().unwrap_or("");
            match name {
                "UNSEEN" | "UIDNEXT" | "READ-WRITE" | "READ-ONLY" => format!(" [{code}]"),
                // RFC 5530 codes postie adds where Dovecot 2.3 sends none (SELECT of a
                // missing mailbox, DELETE INBOX).
                "NONEXISTENT" | "CANNOT" => String::new(),
                _ => format!(" [{name}]"),
            }
        })
        .unwrap_or_default();
    Some(format!("{tag} {status}{code}"))
}

/// STATUS may answer its items in any order (§7.2.4).
fn sort_status_items(line: &str) -> String {
    let Some((head, items)) = line
        .strip_prefix("* STATUS ")
        .and_then(|r| r.rsplit_once(" ("))
    else {
        return line.to_string();
    };
    let words: Vec<&str> = items.trim_end_matches(')').split(' ').collect();
    let mut pairs: Vec<String> = words.chunks(2).map(|p| p.join(" ")).collect();
    pairs.sort();
    format!("* STATUS {head} ({})", pairs.join(" "))
}

fn mask_after(line: &str, word: &str) -> String {
    match line.split_once(word) {
        Some((before, after)) => {
            let rest = if let Some(quoted) = after.strip_prefix('"') {
                quoted.split_once('"').map_or("", |(_, r)| r)
            } else {
                after.trim_start_matches(|c: char| c.is_ascii_digit())
            };
            format!("{before}{word}x{rest}")
        }
        None => line.to_string(),
    }
}

/// Runs the script; one normalized response per command.
fn answers(addr: SocketAddr) -> Vec<(String, Vec<String>)> {
    let mut imap = Imap::connect_to(addr);
    let login = imap.lines(&format!("LOGIN alice@localhost \"{PASSWORD}\""));
    assert!(
        login.last().is_some_and(|l| l.starts_with("t OK")),
        "{login:?}"
    );
    script()
        .into_iter()
        .map(|command| {
            let response = normalize(&imap.lines(&command));
            (command, response)
        })
        .collect()
}

/// Dovecot on a free loopback port, with its own configuration and Maildir under `dir`.
struct Dovecot {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start_dovecot(dir: &Path) -> Dovecot {
    use std::os::unix::fs::PermissionsExt;
    let addr = free_port();
    let d = dir.display();
    for sub in ["run", "state", "mail"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // Dovecot's mail processes run as nobody: let them through to the Maildir.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = Command::new("chown")
        .args(["65534:65534"])
        .arg(dir.join("mail"))
        .status();
    std::fs::write(
        dir.join("passwd"),
        format!("alice@localhost:{{PLAIN}}{PASSWORD}\n"),
    )
    .unwrap();
    let special = ["Drafts", "Sent", "Trash", "Junk"]
        .map(|name| {
            format!("  mailbox {name} {{\n    special_use = \\{name}\n    auto = create\n  }}\n")
        })
        .concat();
    let config = format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\nssl = no\n\
         disable_plaintext_auth = no\nauth_mechanisms = plain\nlisten = 127.0.0.1\nprotocols = imap\n\
         first_valid_uid = 0\nmail_location = maildir:{d}/mail/%u\n\
         default_internal_user = dovecot\ndefault_login_user = dovenull\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={d}/mail/%u\n}}\n\
         namespace inbox {{\n  inbox = yes\n  separator = .\n  prefix =\n{special}}}\n\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n",
        addr.port()
    );
    std::fs::write(dir.join("dovecot.conf"), config).unwrap();
    let child = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(dir.join("dovecot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dovecot starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "dovecot did not listen: {}",
            std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Dovecot { child, addr }
}

/// Where postie answers otherwise on purpose: (command, postie's answer, why).
const KNOWN: &[(&str, &[&str], &str)] = &[(
    "STORE 1 +FLAGS (\\Flagged)",
    &["t NO [READ-ONLY]"],
    "after EXAMINE, Dovecot says OK and stores nothing; postie says NO, so the client \
     knows (RFC 3501 §6.3.2: EXAMINE permits no change)",
)];

#[test]
fn the_same_script_gets_the_same_answers_from_postie_and_dovecot() {
    if !tool("dovecot") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dovecot = start_dovecot(dir.path());
    let postie = TestServer::start_with(imap_config);
    let theirs = answers(dovecot.addr);
    let ours = answers(postie.imap().unwrap());
    let mut differences = Vec::new();
    for ((command, a), (_, b)) in theirs.iter().zip(&ours) {
        if let Some((_, want, _)) = KNOWN.iter().find(|(c, _, _)| c == command) {
            assert_eq!(b, want, "postie's own answer to {command}");
            continue;
        }
        if a != b {
            differences.push(format!(
                "C: {command}\n  dovecot: {a:#?}\n  postie:  {b:#?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} commands differ:\n{}",
        differences.len(),
        theirs.len(),
        differences.join("\n")
    );
}

#[test]
fn the_normalizer_keeps_what_matters() {
    let lines = [
        "* OK [UIDVALIDITY 1796590963] UIDs valid\r\n".to_string(),
        "* 3 RECENT\r\n".into(),
        "* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"05-Jan-2026 01:02:03 +0000\" UID 1)\r\n"
            .into(),
        "t NO [TRYCREATE] Mailbox doesn't exist: Nowhere\r\n".into(),
    ];
    assert_eq!(
        normalize(&lines),
        [
            "* OK [UIDVALIDITY]",
            "* 1 FETCH (FLAGS (\\Seen) INTERNALDATE x UID 1)",
            "t NO [TRYCREATE]"
        ]
    );
}
