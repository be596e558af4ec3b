#!/usr/bin/env python3
"""A small SMTP server with deliberate flaws, for the book's appendix "Grading a server".

It looks like a first attempt at the classic assignment, and mostly works: it greets,
takes EHLO, MAIL, RCPT and DATA, and stores each message in a Maildir. `postie check`
finds what is wrong with it; the appendix shows the report. The flaws, on purpose:

  1. one client at a time (a slow client blocks everyone else);
  2. lines are read up to LF, so a bare LF ends a command, and `<LF>.<LF>` (and more)
     ends the message: SMTP smuggling;
  3. no dot-unstuffing: "..x" is stored as "..x";
  4. RCPT before MAIL is accepted;
  5. VRFY and HELP are not implemented (502);
  6. no Received: line in stored mail;
  7. any recipient is accepted: an open relay.

Usage: python3 examples/flawed_smtp.py PORT MAILDIR   (listens on 127.0.0.1:PORT)
"""

import os
import socket
import sys
import time


def store(maildir, sender, data):
    name = "%d.%d.flawed" % (time.time_ns(), os.getpid())
    tmp = os.path.join(maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(b"Return-Path: <" + sender + b">\r\n")  # flaw 6: no Received: line
        f.write(data)
    os.rename(tmp, os.path.join(maildir, "new", name))


def serve(conn, maildir):
    reader = conn.makefile("rb")
    send = lambda text: conn.sendall(text.encode() + b"\r\n")
    send("220 flawed.example ESMTP flawed")
    sender = None
    recipients = []
    while True:
        line = reader.readline()  # flaw 2: a line ends at LF, with or without CR
        if not line:
            return
        line = line.rstrip(b"\r\n")
        if len(line) > 510:
            send("500 Line too long")
            continue
        verb, _, arg = line.decode("latin-1").partition(" ")
        verb = verb.upper()
        if verb == "EHLO" or verb == "HELO":
            if not arg:
                send("501 Syntax: %s domain" % verb)
            elif verb == "EHLO":
                sender, recipients = None, []
                send("250-flawed.example\r\n250 8BITMIME")
            else:
                sender, recipients = None, []
                send("250 flawed.example")
        elif verb == "MAIL":
            if sender is not None:
                send("503 Nested MAIL")
                continue
            path, _, params = arg[5:].partition(" ")
            if not arg.upper().startswith("FROM:") or not (path.startswith("<") and path.endswith(">")):
                send("501 Syntax: MAIL FROM:<address>")
            elif params:
                send("555 Parameters not recognized")
            else:
                sender, recipients = path[1:-1].encode(), []
                send("250 OK")
        elif verb == "RCPT":
            # flaw 4: no check that MAIL came first; flaw 7: any domain
            recipients.append(arg)
            send("250 OK")
        # ANCHOR: data
        elif verb == "DATA":
            if sender is None or not recipients:
                send("503 Need MAIL and RCPT first")
                continue
            send("354 End data with <CR><LF>.<CR><LF>")
            data = b""
            while True:
                text = reader.readline()
                if not text:
                    return  # the client vanished: nothing is stored
                if text.rstrip(b"\r\n") == b".":  # flaw 2 again
                    break
                data += text  # flaw 3: no dot-unstuffing
            store(maildir, sender, data)
            sender, recipients = None, []
            send("250 OK: stored")
        # ANCHOR_END: data
        elif verb == "RSET":
            if arg:
                send("501 Syntax: RSET")
            else:
                sender, recipients = None, []
                send("250 OK")
        elif verb == "NOOP":
            send("250 OK")
        elif verb in ("VRFY", "HELP"):
            send("502 Not implemented")  # flaw 5
        elif verb == "QUIT":
            send("221 Bye")
            return
        else:
            send("500 Unknown command")


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(10)
    while True:
        conn, _ = listener.accept()
        with conn:  # flaw 1: one client at a time
            try:
                serve(conn, maildir)
            except OSError:
                pass


if __name__ == "__main__":
    main()
