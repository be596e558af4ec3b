#!/usr/bin/env python3
"""IMAP on a large folder: postie beside Dovecot, on the same 10,000 messages.

    python3 benches/imap_compare.py target/release/postie [MESSAGES]

Writes the same Maildir twice (one copy for each server, so neither sees the other's
index or UID list), starts postie with --imap-listen and Dovecot (Debian's
dovecot-imapd) with a throwaway configuration, both on loopback ports, and times, over
a raw socket, the two commands a mail program sends first on a folder:

    SELECT INBOX
    UID FETCH 1:* (FLAGS)

The first round is cold (postie writes its UID list; Dovecot builds its index), the
next rounds are warm; the table shows the cold time and the median of the warm ones.
Run as root (Dovecot's mail processes run as nobody). Nothing here needs the network.
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PASSWORD = "bench password"
ROUNDS = 5


def message(i):
    body = "".join(f"line {n} of message {i}, some text to give it a body.\r\n" for n in range(20))
    return (
        f"Return-Path: <bob@example.org>\r\nFrom: Bob <bob@example.org>\r\n"
        f"To: alice@localhost\r\nSubject: Message number {i}\r\n"
        f"Date: Mon, 5 Jan 2026 01:02:03 +0000\r\nMessage-ID: <{i}@example.org>\r\n\r\n{body}"
    ).encode()


def fill(maildir, count):
    """A Maildir with `count` messages in cur/, every other one seen."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    for i in range(count):
        flags = "S" if i % 2 else ""
        name = f"{1767574923 + i}.M{i}P1Q{i}.bench:2,{flags}"
        with open(os.path.join(maildir, "cur", name), "wb") as f:
            f.write(message(i))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, what):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on {port}")


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.n = 0
        self.line()  # greeting

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, command):
        """Sends a command; returns (seconds until its tagged answer, untagged lines)."""
        self.n += 1
        tag = b"b%d" % self.n
        start = time.perf_counter()
        self.sock.sendall(tag + b" " + command.encode() + b"\r\n")
        count = 0
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    sys.exit(f"{command}: {line!r}")
                return time.perf_counter() - start, count
            count += 1


def measure(port, user):
    rounds = []
    for _ in range(ROUNDS):
        c = Client(port)
        c.cmd(f'LOGIN {user} "{PASSWORD}"')
        select, _ = c.cmd("SELECT INBOX")
        fetch, lines = c.cmd("UID FETCH 1:* (FLAGS)")
        c.cmd("LOGOUT")
        rounds.append((select, fetch, lines))
    return rounds


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    postie = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    work = tempfile.mkdtemp(prefix="imap-bench-")
    os.chmod(work, 0o755)
    procs = []
    try:
        # postie
        fill(os.path.join(work, "postie", "mail", "localhost", "alice"), count)
        users = os.path.join(work, "postie", "users.txt")
        subprocess.run([postie, "user", "add", "alice@localhost", "--users", users],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        p_port = free_port()
        procs.append(subprocess.Popen(
            [postie, "--users", users, "--listen", f"127.0.0.1:{free_port()}",
             "--imap-listen", f"127.0.0.1:{p_port}", "--allow-plaintext-auth",
             "--maildir", os.path.join(work, "postie", "mail"),
             "--spool", os.path.join(work, "postie", "spool"), "--hostname", "bench"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(p_port, "postie")

        # Dovecot
        d = os.path.join(work, "dovecot")
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub))
        fill(os.path.join(d, "mail", "alice@localhost"), count)
        subprocess.run(["chown", "-R", "65534:65534", os.path.join(d, "mail")], check=True)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write(f"alice@localhost:{{PLAIN}}{PASSWORD}\n")
        d_port = free_port()
        with open(os.path.join(d, "dovecot.conf"), "w") as f:
            f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
listen = 127.0.0.1
protocols = imap
first_valid_uid = 0
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = .
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {d_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
        procs.append(subprocess.Popen(["dovecot", "-F", "-c", os.path.join(d, "dovecot.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(d_port, "dovecot")
        # A real mailbox is not seconds old: both servers trust a directory's time only
        # once it has settled (a change within the file system's clock tick could leave
        # it unchanged), postie after 2 s.
        time.sleep(2.5)

        print(f"{count} messages in INBOX; times in milliseconds (cold, then the median of "
              f"{ROUNDS - 1} warm rounds)\n")
        print(f"{'server':<10} {'SELECT cold':>12} {'SELECT warm':>12} "
              f"{'UID FETCH cold':>15} {'UID FETCH warm':>15}  lines")
        for name, port in (("postie", p_port), ("dovecot", d_port)):
            rounds = measure(port, "alice@localhost")
            (s0, f0, lines), warm = rounds[0], rounds[1:]
            s1 = statistics.median(r[0] for r in warm)
            f1 = statistics.median(r[1] for r in warm)
            print(f"{name:<10} {s0 * 1000:12.1f} {s1 * 1000:12.1f} {f0 * 1000:15.1f} "
                  f"{f1 * 1000:15.1f}  {lines}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
