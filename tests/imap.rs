//! IMAP over TCP (RFC 3501): mail received over SMTP is listed, read, flagged, filed,
//! searched and expunged over IMAP, in the same Maildir; two sessions on one mailbox
//! see each other's changes; IDLE (RFC 2177) hears of new mail within a second; UIDs
//! survive a restart. Then real clients: Python's imaplib (every command, STARTTLS and
//! implicit TLS), swaks and curl, fetchmail (fetch and flush), and mutt (file a message
//! in a new folder).

mod common;
use common::imap::Imap;
use common::tools::{run, tool};
use common::*;

use std::process::Command;
use std::time::{Duration, Instant};

fn server() -> TestServer {
    TestServer::start_with(imap_config)
}

const MESSAGE: &[u8] = b"From: Bob <bob@example.org>\r\nTo: alice@localhost\r\nSubject: Lunch\r\n\r\nNoon at the usual place?";

fn deliver(server: &TestServer, to: &str, text: &[u8]) {
    let reply = send_message(server, "bob@example.org", &[to], text);
    assert!(reply.starts_with("250 "), "{reply}");
}

#[test]
fn imap_is_off_unless_asked_for() {
    assert_eq!(TestServer::start().imap(), None);
}

#[test]
fn a_message_from_smtp_is_read_flagged_filed_searched_and_expunged() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let mut imap = Imap::login(&server);
    let select = imap.cmd("SELECT INBOX");
    assert!(select.contains("* 1 EXISTS\r\n* 1 RECENT\r\n"), "{select}");
    assert!(
        select.ends_with("t OK [READ-WRITE] SELECT completed\r\n"),
        "{select}"
    );
    let fetch = imap.cmd("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])");
    assert_eq!(
        fetch,
        "* 1 FETCH (FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: Lunch\r\n\r\n)\r\nt OK FETCH completed\r\n"
    );
    let body = imap.cmd("UID FETCH 1 BODY[TEXT]");
    assert!(
        body.contains("FLAGS (\\Seen \\Recent) BODY[TEXT] {26}\r\nNoon at the usual place?\r\n)"),
        "{body}"
    );
    assert_eq!(
        imap.cmd("SEARCH UNSEEN"),
        "* SEARCH\r\nt OK SEARCH completed\r\n"
    );
    assert_eq!(
        imap.cmd("SEARCH FROM bob SUBJECT lunch"),
        "* SEARCH 1\r\nt OK SEARCH completed\r\n"
    );
    assert_eq!(
        imap.cmd("STORE 1 +FLAGS (\\Flagged)"),
        "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\nt OK STORE completed\r\n"
    );
    // The flags are in the file's name (the Maildir spec's letters).
    let cur = server.maildir().join("localhost/alice/cur");
    let name = std::fs::read_dir(&cur)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    assert!(name.to_string_lossy().ends_with(":2,FS"), "{name:?}");
    assert_eq!(imap.cmd("CREATE Archive.2026"), "t OK CREATE completed\r\n");
    let moved = imap.cmd("UID MOVE 1 Archive.2026");
    assert!(moved.starts_with("* OK [COPYUID "), "{moved}");
    assert!(
        moved.ends_with("* 1 EXPUNGE\r\nt OK UID MOVE completed\r\n"),
        "{moved}"
    );
    let status = imap.cmd("STATUS Archive.2026 (MESSAGES UNSEEN)");
    assert_eq!(
        status,
        "* STATUS Archive.2026 (MESSAGES 1 UNSEEN 0)\r\nt OK STATUS completed\r\n"
    );
    imap.cmd("SELECT Archive.2026");
    imap.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(
        imap.cmd("EXPUNGE"),
        "* 1 EXPUNGE\r\nt OK EXPUNGE completed\r\n"
    );
    assert!(imap.cmd("LOGOUT").starts_with("* BYE"));
    let left: Vec<_> = server
        .all_files()
        .into_iter()
        .filter(|p| !p.ends_with("postie-uidlist") && !p.ends_with("maildirfolder"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn literals_both_kinds_and_mistakes() {
    let server = server();
    let mut imap = Imap::connect(&server);
    // A synchronizing literal: the server asks for it with "+".
    imap.send(b"a LOGIN {15}\r\n");
    assert!(imap.line().starts_with("+ "));
    imap.send(
        format!(
            "alice@localhost {{{}+}}\r\n{POP3_PASSWORD}\r\n",
            POP3_PASSWORD.len()
        )
        .as_bytes(),
    );
    assert!(imap.until("a").starts_with("t OK [CAPABILITY"));
    assert_eq!(imap.cmd("FROB"), "t BAD unknown command FROB\r\n");
    assert_eq!(imap.cmd("FETCH 1 FLAGS"), "t BAD No mailbox selected\r\n");
    assert_eq!(
        imap.cmd("SELECT Nope"),
        "t NO [NONEXISTENT] No such mailbox\r\n"
    );
    let append = imap.cmd("APPEND Nope {3+}\r\nHi!");
    assert_eq!(append, "t NO [TRYCREATE] No such mailbox\r\n");
    let big = imap.cmd("APPEND INBOX {999999999}");
    assert!(big.starts_with("t NO [TOOBIG]"), "{big}");
    assert_eq!(imap.cmd("NOOP"), "t OK NOOP completed\r\n");
}

/// Over `--max-connections`, an IMAP client is told why before the door closes: an
/// untagged BYE (RFC 3501 §7.1.5) with RFC 5530's UNAVAILABLE, in SMTP 421's words.
#[test]
fn the_connection_cap_counts_imap_clients_too() {
    let server = TestServer::start_with(|config| {
        imap_config(config);
        config.max_connections = 1;
    });
    let mut first = Imap::connect(&server);
    assert_eq!(
        words_before_close(server.imap().unwrap()),
        "* BYE [UNAVAILABLE] mx.example.test too many connections, try again later\r\n"
    );
    assert!(first.cmd("LOGOUT").contains("t OK"));
}

#[test]
fn two_sessions_see_each_other_and_idle_hears_new_mail_at_once() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    deliver(&server, "alice@localhost", MESSAGE);
    let (mut phone, mut laptop) = (Imap::login(&server), Imap::login(&server));
    phone.cmd("SELECT INBOX");
    laptop.cmd("SELECT INBOX");
    laptop.cmd("STORE 2 +FLAGS (\\Seen)");
    laptop.cmd("STORE 1 +FLAGS (\\Deleted)");
    laptop.cmd("EXPUNGE");
    assert_eq!(
        phone.cmd("NOOP"),
        "* 1 EXPUNGE\r\n* 1 FETCH (UID 2 FLAGS (\\Seen \\Recent))\r\nt OK NOOP completed\r\n"
    );
    // IDLE: a delivery over SMTP is announced within a second.
    phone.send(b"i IDLE\r\n");
    assert_eq!(phone.line(), "+ idling\r\n");
    let sent = Instant::now();
    deliver(&server, "alice@localhost", MESSAGE);
    assert_eq!(phone.line(), "* 2 EXISTS\r\n");
    let waited = sent.elapsed();
    assert!(waited < Duration::from_secs(1), "IDLE took {waited:?}");
    assert_eq!(phone.line(), "* 2 RECENT\r\n");
    phone.send(b"DONE\r\n");
    assert_eq!(phone.until("i"), "t OK IDLE terminated\r\n");
}

/// IDLE hears of more than new mail: another session's flag change rings no bell, so
/// the idling session looks on its own (twice a second), and goes on looking for as
/// long as it idles. A message it was told of during IDLE is its own `\Recent`: a
/// second session is not told it again (RFC 3501 §2.3.2).
#[test]
fn idle_hears_other_sessions_flags_and_claims_what_it_announces() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let (mut phone, mut laptop) = (Imap::login(&server), Imap::login(&server));
    phone.cmd("SELECT INBOX");
    laptop.cmd("SELECT INBOX");
    phone.send(b"i IDLE\r\n");
    assert_eq!(phone.line(), "+ idling\r\n");
    deliver(&server, "alice@localhost", MESSAGE);
    assert_eq!(phone.line(), "* 2 EXISTS\r\n");
    assert_eq!(phone.line(), "* 2 RECENT\r\n");
    // Past the first look's half second, with no delivery to ring the bell.
    std::thread::sleep(Duration::from_millis(1200));
    laptop.cmd("STORE 1 +FLAGS (\\Flagged)");
    assert_eq!(
        phone.line(),
        "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n"
    );
    phone.send(b"DONE\r\n");
    assert_eq!(phone.until("i"), "t OK IDLE terminated\r\n");
    assert_eq!(laptop.cmd("NOOP"), "* 2 EXISTS\r\nt OK NOOP completed\r\n");
}

/// RFC 3501 §5.4: a client idle past the autologout timer (`imap_timeout`) is told
/// why, with an untagged BYE, and the connection closes, even in the middle of an IDLE.
#[test]
fn an_idle_client_is_logged_out_after_the_timer() {
    let server = TestServer::start_with(|config| {
        imap_config(config);
        config.limits.imap_timeout = Duration::from_secs(1);
    });
    let mut imap = Imap::login(&server);
    imap.cmd("SELECT INBOX");
    imap.send(b"i IDLE\r\n");
    assert_eq!(imap.line(), "+ idling\r\n");
    assert_eq!(imap.line(), "* BYE Autologout; idle for too long\r\n");
    assert_eq!(imap.line(), "", "closed after the BYE");
}

/// A message another program removed while the mailbox is selected: FETCH of what the
/// session already knows (UID, flags) still answers from its snapshot, and FETCH of
/// the text says nothing of it (RFC 3501 §7.4.1 lets a server stay silent about a
/// message it can no longer read); the command itself succeeds.
#[test]
fn a_message_removed_behind_imaps_back_keeps_its_flags_but_not_its_text() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let mut imap = Imap::login(&server);
    imap.cmd("SELECT INBOX");
    let inbox = server.maildir().join("localhost/alice");
    for sub in ["new", "cur"] {
        for file in std::fs::read_dir(inbox.join(sub)).unwrap() {
            std::fs::remove_file(file.unwrap().path()).unwrap();
        }
    }
    assert_eq!(
        imap.cmd("FETCH 1 (UID FLAGS)"),
        "* 1 FETCH (UID 1 FLAGS (\\Recent))\r\nt OK FETCH completed\r\n"
    );
    assert_eq!(imap.cmd("FETCH 1 BODY.PEEK[]"), "t OK FETCH completed\r\n");
}

#[test]
fn uids_survive_a_restart() {
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    deliver(&server, "alice@localhost", MESSAGE);
    let mut imap = Imap::login(&server);
    let before = imap.cmd("SELECT INBOX");
    imap.cmd("STORE 1 +FLAGS (\\Deleted)");
    imap.cmd("EXPUNGE");
    imap.cmd("LOGOUT");
    let server = server.restart(imap_config);
    deliver(&server, "alice@localhost", MESSAGE);
    let mut imap = Imap::login(&server);
    let after = imap.cmd("SELECT INBOX");
    let validity = |text: &str| {
        text.lines()
            .find(|l| l.contains("UIDVALIDITY"))
            .map(str::to_string)
    };
    assert_eq!(validity(&before), validity(&after));
    assert!(after.contains("[UIDNEXT 4]"), "{after}");
    assert_eq!(
        imap.cmd("UID FETCH 1:* (FLAGS)"),
        "* 1 FETCH (UID 2 FLAGS ())\r\n* 2 FETCH (UID 3 FLAGS (\\Recent))\r\nt OK UID FETCH completed\r\n"
    );
}

/// Python's imaplib, driving every command postie offers.
#[test]
fn python_imaplib_every_command() {
    if !tool("python3") {
        return;
    }
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let port = server.imap().unwrap().port();
    let script = format!(
        r#"
import imaplib, base64
M = imaplib.IMAP4('127.0.0.1', {port})
def ok(result):
    typ, data = result
    assert typ == 'OK', (typ, data)
    return data
ok(M.noop())
assert 'IDLE' in M.capabilities and 'AUTH=PLAIN' in M.capabilities, M.capabilities
ok(M.authenticate('PLAIN', lambda _: b'\0alice@localhost\0{password}'))
ok(M.xatom('ID', '("name" "imaplib")'))
ok(M.enable('CONDSTORE'))
assert b'(("" ".")) NIL NIL' in ok(M.namespace())[0]
names = [l.decode() for l in ok(M.list())]
assert any('\\Sent' in n and n.endswith('Sent') for n in names), names
ok(M.create('"Caf&AOk-"'))
ok(M.create('Old'))
ok(M.rename('Old', 'New'))
ok(M.subscribe('New'))
assert any(l.endswith(b'New') for l in ok(M.lsub()))
ok(M.unsubscribe('New'))
ok(M.delete('New'))
assert ok(M.status('INBOX', '(MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)'))[0].startswith(b'INBOX (MESSAGES 1 UNSEEN 1 UIDNEXT 2 ')
ok(M.append('INBOX', '(\\Seen)', imaplib.Time2Internaldate(0), b'Subject: appended\r\n\r\nsecond\r\n'))
ok(M.select('INBOX', readonly=True))
assert M.store('1', '+FLAGS', '(\\Flagged)')[0] == 'NO'
data = ok(M.select('INBOX'))
assert data == [b'2'], data
ok(M.check())
assert ok(M.search(None, 'ALL')) == [b'1 2']
assert ok(M.search(None, 'OR', 'SUBJECT', 'lunch', 'SUBJECT', 'appended')) == [b'1 2']
assert ok(M.search(None, 'SEEN')) == [b'2']
assert ok(M.uid('SEARCH', 'UNSEEN')) == [b'1']
env = ok(M.fetch('1', '(ENVELOPE BODYSTRUCTURE INTERNALDATE RFC822.SIZE UID FLAGS)'))[0]
assert b'"Lunch"' in env and b'BODYSTRUCTURE ("text" "plain"' in env, env
part = ok(M.fetch('1', '(BODY.PEEK[1]<0.4>)'))[0]
assert part[1] == b'Noon', part
full = ok(M.fetch('2', '(RFC822)'))[0][1]
assert full == b'Subject: appended\r\n\r\nsecond\r\n', full
ok(M.store('1', '+FLAGS.SILENT', '(\\Answered)'))
flags = ok(M.fetch('1', '(FLAGS)'))[0]
assert b'\\Answered' in flags, flags
ok(M.copy('1', 'Trash'))
ok(M.uid('COPY', '2', 'Caf&AOk-'))
ok(M.uid('MOVE', '2', 'Junk'))
ok(M.store('1', '+FLAGS', '(\\Deleted)'))
ok(M.uid('EXPUNGE', '1'))
ok(M.unselect())
ok(M.select('Trash'))
ok(M.store('1', '+FLAGS', '(\\Deleted)'))
ok(M.close())
assert ok(M.status('Trash', '(MESSAGES)'))[0] == b'Trash (MESSAGES 0)'
assert ok(M.status('Junk', '(MESSAGES)'))[0] == b'Junk (MESSAGES 1)'
ok(M.select('Junk'))
tag = M._new_tag()
M.send(tag + b' IDLE\r\n')
assert M.readline().startswith(b'+ ')
M.send(b'DONE\r\n')
assert M.readline() == tag + b' OK IDLE terminated\r\n'
assert M.logout()[0] == 'BYE'
print('every command ok')
"#,
        password = POP3_PASSWORD
    );
    let out = run(Command::new("python3").arg("-c").arg(&script), b"");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A message sent with swaks, read with curl, which speaks IMAP too: list the folders,
/// fetch the message, search.
#[test]
fn swaks_sends_and_curl_lists_fetches_and_searches() {
    if !tool("curl") || !tool("swaks") {
        return;
    }
    let server = server();
    let sent = run(
        Command::new("swaks").args([
            "--server",
            &server.addr.to_string(),
            "--from",
            "bob@example.org",
            "--to",
            "alice@localhost",
            "--header",
            "Subject: Lunch",
            "--body",
            "Noon at the usual place?",
        ]),
        b"",
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stdout)
    );
    let base = format!("imap://127.0.0.1:{}", server.imap().unwrap().port());
    let user = format!("alice@localhost:{POP3_PASSWORD}");
    let curl = |args: &[&str]| {
        let out = run(
            Command::new("curl")
                .args(["-sS", "--user", &user])
                .args(args),
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = curl(&[&format!("{base}/")]);
    assert!(
        list.contains("* LIST (\\HasNoChildren) \".\" INBOX"),
        "{list}"
    );
    let message = curl(&[&format!("{base}/INBOX;UID=1")]);
    assert!(
        message.contains("Subject: Lunch") && message.contains("Noon at the usual place?"),
        "{message}"
    );
    let search = curl(&["--request", "SEARCH FROM bob", &format!("{base}/INBOX")]);
    assert_eq!(search.trim_end(), "* SEARCH 1");
}

/// fetchmail, a real mail program: fetches the message over IMAP, hands it to a
/// delivery command, and flushes (deletes) it from the server.
#[test]
fn fetchmail_fetches_and_flushes() {
    if !tool("fetchmail") {
        return;
    }
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("fetched");
    let rc = dir.path().join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "poll 127.0.0.1 service {} protocol IMAP auth password user \"alice@localhost\" there with password \"{POP3_PASSWORD}\" is \"x\" here options nokeep sslproto '' mda \"/bin/sh -c 'cat >> {}'\"\n",
            server.imap().unwrap().port(),
            out_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(
        Command::new("fetchmail")
            .args(["--nosyslog", "--nodetach", "-f"])
            .arg(&rc)
            .env("HOME", dir.path())
            .env("FETCHMAILHOME", dir.path()),
        b"",
    );
    let fetched = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert!(
        fetched.contains("Noon at the usual place?"),
        "fetchmail: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Flushed: nothing left in INBOX.
    let mut imap = Imap::login(&server);
    assert!(imap.cmd("SELECT INBOX").contains("* 0 EXISTS"));
}

/// Without `--allow-plaintext-auth`: LOGINDISABLED until STARTTLS (RFC 3501 §6.2.1),
/// then a login; and `--imaps-listen`, TLS from the first byte (RFC 8314). Python's
/// imaplib checks the certificate.
#[test]
fn starttls_and_implicit_tls_with_imaplib() {
    if !tool("python3") {
        return;
    }
    let server = TestServer::start_with_tls(|config| {
        config.set_listener(Protocol::Imap, any_port());
        config.set_listener(Protocol::Imaps, any_port());
        config.policy.users = Some(users_with_passwords(&["alice@localhost"]));
    });
    let plain = server.imap().unwrap().port();
    let implicit = server.addr_of(Protocol::Imaps).unwrap().port();
    let script = format!(
        r#"
import imaplib, ssl
ctx = ssl.create_default_context(cafile={cert:?})
M = imaplib.IMAP4('localhost', {plain})
assert 'LOGINDISABLED' in M.capabilities and 'STARTTLS' in M.capabilities, M.capabilities
try:
    M.login('alice@localhost', '{password}')
    raise SystemExit('a password was taken in the clear')
except imaplib.IMAP4.error as e:
    assert 'PRIVACYREQUIRED' in str(e), e
M.starttls(ssl_context=ctx)
assert 'AUTH=PLAIN' in M.capabilities and 'STARTTLS' not in M.capabilities, M.capabilities
assert M.login('alice@localhost', '{password}')[0] == 'OK'
assert M.select('INBOX')[0] == 'OK'
M.logout()
S = imaplib.IMAP4_SSL('localhost', {implicit}, ssl_context=ctx)
assert 'AUTH=PLAIN' in S.capabilities, S.capabilities
assert S.login('alice@localhost', '{password}')[0] == 'OK'
S.logout()
print('tls ok')
"#,
        cert = server.cert().display().to_string(),
        password = POP3_PASSWORD
    );
    let out = run(Command::new("python3").arg("-c").arg(&script), b"");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client that vanishes in the middle of APPEND leaves nothing behind: no message,
/// no half a message, no temporary file.
#[test]
fn a_client_vanishing_mid_append_leaves_nothing() {
    let server = server();
    let mut imap = Imap::login(&server);
    imap.send(b"a APPEND INBOX {100}\r\n");
    assert!(imap.line().starts_with("+ "));
    imap.send(b"Subject: cut short\r\n\r\nonly part of");
    drop(imap);
    std::thread::sleep(Duration::from_millis(200));
    let mut again = Imap::login(&server);
    assert!(again.cmd("SELECT INBOX").contains("* 0 EXISTS"));
    let files: Vec<_> = server
        .all_files()
        .into_iter()
        .filter(|p| !p.ends_with("postie-uidlist") && !p.ends_with("maildirfolder"))
        .collect();
    assert!(files.is_empty(), "{files:?}");
}

/// POP3 and IMAP on one mailbox: POP3's lock does not stop IMAP, and a message POP3
/// deletes is expunged from the IMAP session at its next command.
#[test]
fn pop3_and_imap_share_a_mailbox() {
    let server = TestServer::start_with(|config| {
        imap_config(config);
        pop3_config(config);
    });
    deliver(&server, "alice@localhost", MESSAGE);
    deliver(&server, "alice@localhost", MESSAGE);
    let mut imap = Imap::login(&server);
    assert!(imap.cmd("SELECT INBOX").contains("* 2 EXISTS"));
    let mut pop = Pop3Client::login(&server, "alice@localhost");
    assert!(pop.cmd("DELE 1").starts_with("+OK"));
    // While POP3 holds the mailbox, IMAP still reads it.
    assert!(imap
        .cmd("FETCH 2 BODY.PEEK[TEXT]")
        .contains("Noon at the usual place?"));
    assert!(pop.cmd("QUIT").starts_with("+OK"));
    assert_eq!(imap.cmd("NOOP"), "* 1 EXPUNGE\r\nt OK NOOP completed\r\n");
    assert_eq!(
        imap.cmd("UID FETCH 1:* (FLAGS)"),
        "* 1 FETCH (UID 2 FLAGS (\\Recent))\r\nt OK UID FETCH completed\r\n"
    );
}

/// mutt, a real mail program, files a message: it opens INBOX, saves the message to
/// a folder that does not exist yet (COPY, `NO [TRYCREATE]`, CREATE, COPY), deletes
/// and expunges it, and quits. mutt wants a terminal: `script` gives it one.
#[test]
fn mutt_files_a_message_in_a_new_folder() {
    if !tool("mutt") || !tool("script") {
        return;
    }
    let server = server();
    deliver(&server, "alice@localhost", MESSAGE);
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("muttrc");
    std::fs::write(
        &rc,
        format!(
            "set imap_user=alice@localhost\nset imap_pass=\"{POP3_PASSWORD}\"\n\
             set ssl_starttls=no\nset ssl_force_tls=no\n\
             set folder=imap://127.0.0.1:{}/\nset spoolfile=+INBOX\n\
             set confirmcreate=no\nset confirmappend=no\nset move=no\nset record=\nset delete=yes\n\
             folder-hook INBOX 'push \"<save-message>=Archive<enter><sync-mailbox><quit>\"'\n",
            server.imap().unwrap().port()
        ),
    )
    .unwrap();
    let mutt = format!("mutt -n -F {} -f =INBOX", rc.display());
    let out = run(
        Command::new("script")
            .args(["-qec", &mutt, "/dev/null"])
            .env("TERM", "xterm")
            .env("HOME", dir.path()),
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut imap = Imap::login(&server);
    assert_eq!(
        imap.cmd("STATUS INBOX (MESSAGES)"),
        "* STATUS INBOX (MESSAGES 0)\r\nt OK STATUS completed\r\n"
    );
    assert_eq!(
        imap.cmd("STATUS Archive (MESSAGES)"),
        "* STATUS Archive (MESSAGES 1)\r\nt OK STATUS completed\r\n"
    );
}
