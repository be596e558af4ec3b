#!/usr/bin/env bash
# The web view's two figures: how long a page of a 10,000-message mailbox takes, and how
# long opening a 10 MiB message takes, on a release build of postie.
#
#     benches/web.sh            # 10,000 messages of about 4 KiB, one message of 10 MiB
#     MESSAGES=2000 benches/web.sh
#
# Everything stays on 127.0.0.1 and under a temporary directory. The mailbox is
# written straight into the Maildir (as another delivery agent would), the big message
# is sent over SMTP; each request is timed by curl, five times, and the median shown.
set -euo pipefail

cd "$(dirname "$0")/.."
MESSAGES="${MESSAGES:-10000}"
cargo build --release --quiet
POSTIE="${CARGO_TARGET_DIR:-target}/release/postie"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/postie-web-bench.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "Writing $MESSAGES messages into $WORK/mail/localhost/bob/new ..."
python3 - "$WORK" "$MESSAGES" <<'EOF'
import os, sys, time
root, count = sys.argv[1], int(sys.argv[2])
new = os.path.join(root, "mail", "localhost", "bob", "new")
for sub in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(root, "mail", "localhost", "bob", sub), exist_ok=True)
body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "\r\n") * 3
start = int(time.time()) - count
for i in range(count):
    name = f"{start + i}.M{i}P1Q{i}.bench"
    with open(os.path.join(new, name), "w") as f:
        f.write(f"From: Sender {i % 50} <sender{i % 50}@example.org>\r\nTo: bob@localhost\r\n"
                f"Subject: Message number {i}\r\nDate: Sat, 28 Nov 2026 01:35:45 +0000\r\n"
                f"Message-ID: <{i}@example.org>\r\n\r\n{body}")
EOF

"$POSTIE" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --hostname bench.test \
    --maildir "$WORK/mail" --spool "$WORK/spool" --dns-server 127.0.0.1:9 \
    2>"$WORK/log" &
PID=$!
for _ in $(seq 100); do
    grep -q "postie listening on" "$WORK/log" 2>/dev/null && break
    sleep 0.1
done
WEB=$(sed -n 's|.*web view and API on http://\([^/]*\)/.*|\1|p' "$WORK/log")
SMTP=$(sed -n 's|.*postie listening on \([^;]*\);.*|\1|p' "$WORK/log")

# The median of five timings of one URL, in milliseconds.
median_ms() {
    for _ in 1 2 3 4 5; do
        curl -s -o /dev/null -w '%{time_total}\n' "$1"
    done | sort -n | sed -n 3p | awk '{ printf "%.0f ms", $1 * 1000 }'
}

echo "Sending a 10 MiB message over SMTP to $SMTP ..."
python3 - "$SMTP" <<'EOF'
import os, smtplib, sys
from email.message import EmailMessage
host, port = sys.argv[1].rsplit(":", 1)
message = EmailMessage()
message["From"] = "alice@example.org"
message["To"] = "bob@localhost"
message["Subject"] = "A big one"
message.set_content("The attachment is 7.5 MiB, 10 MiB once in base64.\n")
message.add_attachment(os.urandom(7_864_320), maintype="application", subtype="octet-stream", filename="big.bin")
with smtplib.SMTP(host, int(port)) as smtp:
    smtp.send_message(message)
EOF
BIG=$(curl -s "http://$WEB/api/v1/search?query=subject:big&limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["messages"][0]["ID"])')
SIZE=$(curl -s "http://$WEB/api/v1/message/$BIG/raw" | wc -c)

printf '\n%-58s %s\n' "request ($MESSAGES + 1 messages, release build)" "median of 5"
printf '%-58s %s\n' "GET /api/v1/messages (a page of 50)" "$(median_ms "http://$WEB/api/v1/messages?limit=50")"
printf '%-58s %s\n' "GET / (the list page, 50 rows)" "$(median_ms "http://$WEB/")"
printf '%-58s %s\n' "GET /api/v1/messages?start=9950 (the last page)" "$(median_ms "http://$WEB/api/v1/messages?start=9950&limit=50")"
printf '%-58s %s\n' "GET /api/v1/search?query=subject:\"number 9999\" (reads all)" "$(median_ms "http://$WEB/api/v1/search?query=subject:%22number+9999%22")"
printf '%-58s %s\n' "GET /api/v1/message/{ID} ($SIZE octets: parsed)" "$(median_ms "http://$WEB/api/v1/message/$BIG")"
printf '%-58s %s\n' "GET /message/{ID} (the message page)" "$(median_ms "http://$WEB/message/$BIG")"
printf '%-58s %s\n' "GET /api/v1/message/{ID}/raw (the stored bytes)" "$(median_ms "http://$WEB/api/v1/message/$BIG/raw")"
