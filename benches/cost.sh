#!/usr/bin/env bash
# What one message costs postie in CPU time, the figure the book's performance
# chapter uses to compare one build with another (msg/s moves with the machine's
# load; CPU time per message moves much less).
#
#   benches/cost.sh [POSTIE_BINARY] [smtp-source flags...]
#
# Starts postie with its Maildir on tmpfs, warms it up, sends the messages
# (default: -s 20 -m 5000 -l 1024, one session per message), and prints postie's
# user and system CPU time per message, read from /proc/PID/stat. Extra postie
# flags can be given in POSTIE_FLAGS; RUST_LOG is passed through.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POSTIE=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/postie}
shift || true
FLAGS=("$@")
((${#FLAGS[@]})) || FLAGS=(-s 20 -m 5000 -l 1024)
PATH=$PATH:/usr/sbin
command -v smtp-source >/dev/null || { echo "cost.sh: needs smtp-source (Debian: postfix)" >&2; exit 1; }
[[ -x $POSTIE ]] || { echo "cost.sh: no $POSTIE (cargo build --release)" >&2; exit 1; }

SHM=$(mktemp -d "${BENCH_TMPFS_DIR:-/dev/shm}/postie-cost.XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086 # POSTIE_FLAGS is a list of words
"$POSTIE" --listen "127.0.0.1:$PORT" --hostname postie.bench --maildir "$SHM/mail" \
    --spool "$SHM/spool" --max-connections 2000 ${POSTIE_FLAGS:-} 2>"$SHM/log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$SHM"' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do sleep 0.05; done

send() { smtp-source "$@" -f bench@example.org -t u@localhost -M client.bench "127.0.0.1:$PORT"; }
send -s 10 -m 200 -l 1024
ticks() { awk '{ print $14, $15 }' "/proc/$PID/stat"; }
read -r user0 sys0 < <(ticks)
start=$(date +%s%N)
send "${FLAGS[@]}"
end=$(date +%s%N)
read -r user1 sys1 < <(ticks)
n=0
for ((i = 0; i < ${#FLAGS[@]}; i++)); do
    [[ ${FLAGS[i]} == -m ]] && n=${FLAGS[i + 1]}
done
got=$(find "$SHM/mail" -path '*/new/*' -type f | wc -l)
((got == n + 200)) || { echo "cost.sh: $got of $((n + 200)) messages arrived" >&2; exit 1; }
hz=$(getconf CLK_TCK)
awk -v n="$n" -v u=$((user1 - user0)) -v s=$((sys1 - sys0)) -v hz="$hz" -v ns=$((end - start)) \
    -v flags="${FLAGS[*]}" 'BEGIN {
    printf "smtp-source %s: %.0f msg/s; postie CPU per message: user %.0f us, system %.0f us, total %.0f us\n",
        flags, n * 1e9 / ns, u * 1e6 / hz / n, s * 1e6 / hz / n, (u + s) * 1e6 / hz / n }'
