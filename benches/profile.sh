#!/usr/bin/env bash
# Counts what one message costs postie, in numbers that do not move with the
# machine's load: system calls (strace -c) and instructions (valgrind's callgrind).
#
#   benches/profile.sh syscalls [POSTIE_BINARY]     strace -c -f, 500 messages, 1 session
#   benches/profile.sh callgrind [POSTIE_BINARY]    callgrind, 2000 messages, 20 sessions
#
# One session per message, 1 KiB each, Maildir on tmpfs. Prints the counts per
# message and leaves the full report (strace table, callgrind_annotate) in
# ./profile-<kind>.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIND=${1:?usage: profile.sh syscalls|callgrind [POSTIE_BINARY]}
POSTIE=${2:-${CARGO_TARGET_DIR:-$ROOT/target}/release/postie}
PATH=$PATH:/usr/sbin
[[ -x $POSTIE ]] || { echo "profile.sh: no $POSTIE (cargo build --release)" >&2; exit 1; }

SHM=$(mktemp -d "${BENCH_TMPFS_DIR:-/dev/shm}/postie-profile.XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SERVE=("$POSTIE" --listen "127.0.0.1:$PORT" --hostname postie.bench --maildir "$SHM/mail"
    --spool "$SHM/spool" --max-connections 2000 --http-listen none)
case $KIND in
syscalls)
    strace -c -f -o "$SHM/report" "${SERVE[@]}" 2>"$SHM/log" &
    sessions=1 messages=500
    ;;
callgrind)
    valgrind --tool=callgrind --callgrind-out-file="$SHM/callgrind.out" "${SERVE[@]}" 2>"$SHM/log" &
    sessions=20 messages=2000
    ;;
*)
    echo "profile.sh: syscalls or callgrind, not '$KIND'" >&2
    exit 2
    ;;
esac
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$SHM"' EXIT
tries=0
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    ((++tries < 600)) || { echo "profile.sh: postie did not start" >&2; exit 1; }
    sleep 0.1
done
smtp-source -s "$sessions" -m "$messages" -l 1024 -f bench@example.org -t u@localhost \
    -M client.bench "127.0.0.1:$PORT"
got=$(find "$SHM/mail" -path '*/new/*' -type f | wc -l)
((got == messages)) || { echo "profile.sh: $got of $messages messages arrived" >&2; exit 1; }
# SIGINT to postie itself (under strace it is strace's child): it shuts down
# cleanly, and strace or callgrind writes its report.
TARGET=$PID
[[ $KIND == syscalls ]] && TARGET=$(pgrep -P "$PID")
kill -INT "$TARGET"
wait "$PID" || true
case $KIND in
syscalls)
    cp "$SHM/report" profile-syscalls.txt
    # The connection that probes the port adds a few calls; 500 messages dwarf it.
    awk -v n="$messages" '$NF == "total" { printf "system calls per message: %.1f\n", $(NF - 2) / n }' "$SHM/report"
    awk -v n="$messages" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" && $4 / n >= 0.5 { printf "  %-16s %5.1f\n", $NF, $4 / n }' \
        "$SHM/report" | sort -k2 -rn
    ;;
callgrind)
    callgrind_annotate --inclusive=yes "$SHM/callgrind.out" >profile-callgrind.txt 2>/dev/null
    awk -v n="$messages" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "instructions per message: %.0f\n", $1 / n }' \
        profile-callgrind.txt
    ;;
esac
