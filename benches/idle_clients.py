"""Holds many idle SMTP sessions open: the memory test of benches/compare.sh.

Usage: python3 idle_clients.py PORT SESSIONS

Opens SESSIONS connections to 127.0.0.1:PORT, reads each greeting, says EHLO and
reads the whole reply, so every session is past EHLO and waiting for MAIL. Then it
prints "ready" and keeps them open until it is terminated (SIGTERM).
"""

import signal
import socket
import sys


def read_reply(sock):
    """Reads one (possibly multiline) reply; returns its code."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
        lines = data.split(b"\r\n")
        # The last line of a reply has a space after the code (RFC 5321 §4.2.1).
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return int(line[:3])


def main():
    port, sessions = int(sys.argv[1]), int(sys.argv[2])
    held = []
    for _ in range(sessions):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if read_reply(sock) != 220:
            sys.exit("no 220 greeting")
        sock.sendall(b"EHLO idle.example\r\n")
        if read_reply(sock) != 250:
            sys.exit("EHLO refused")
        held.append(sock)
    print("ready", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
    main()
