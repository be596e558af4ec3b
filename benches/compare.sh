#!/usr/bin/env bash
# postie side by side with other SMTP servers, in one run, with the same load.
#
#   benches/compare.sh           the full run (about 10 minutes on 2 cores)
#   benches/compare.sh --quick   fewer messages, one memory test smaller (< 1 minute)
#
# The load is Postfix's smtp-source; every server gets exactly the same flags.
#   engine:  postie (Maildir on tmpfs)  vs  smtp-sink  vs  aiosmtpd (discarding handler)
#   durable: postie (Maildir on disk)   vs  Postfix's smtpd delivering to a Maildir
# for sessions 1/20/100 x messages of 1 KiB/100 KiB x one session per message or
# several messages per session (smtp-source -d). Every message is counted at the end.
# Then memory: 1,000 idle sessions (postie vs aiosmtpd), and one 100 MiB message.
#
# Everything runs on 127.0.0.1, under one temporary directory that is removed at the
# end. Missing tools are installed with apt-get when run as root on Debian.
#
# Environment overrides (defaults in brackets; --quick lowers the counts):
#   BENCH_SESSIONS ["1 20 100"]  BENCH_SIZES ["1024 102400"]  BENCH_REUSE ["no yes"]
#   BENCH_ENGINE_SMALL [5000] BENCH_ENGINE_LARGE [1000]  messages per engine row (1 KiB / 100 KiB)
#   BENCH_DURABLE_SMALL [2000] BENCH_DURABLE_LARGE [500] messages per durable row
#   BENCH_IDLE [1000]  idle sessions    BENCH_BIG_MIB [100]  size of the big message
#   BENCH_DISK_DIR [${TMPDIR:-/var/tmp}]  where the on-disk Maildirs go (must be a disk)
#   BENCH_TMPFS_DIR [/dev/shm]           where the engine Maildir goes (tmpfs)
#   BENCH_PYTHON                         a python3 that can import aiosmtpd
#   BENCH_SKIP_BUILD=1                   use the existing target/release/postie
#   BENCH_POSTIE_FLAGS                   more flags for postie, e.g. "--threads spawn"
#                                        to measure a new thread per client against
#                                        the pool of ready threads (the default)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

quick=0
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "compare.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

if ((quick)); then
    d_engine_small=600 d_engine_large=100 d_durable_small=200 d_durable_large=50
    d_idle=1000 d_big=20
else
    d_engine_small=5000 d_engine_large=1000 d_durable_small=2000 d_durable_large=500
    d_idle=1000 d_big=100
fi
SESSIONS=${BENCH_SESSIONS:-1 20 100}
SIZES=${BENCH_SIZES:-1024 102400}
REUSE=${BENCH_REUSE:-no yes}
ENGINE_SMALL=${BENCH_ENGINE_SMALL:-$d_engine_small}
ENGINE_LARGE=${BENCH_ENGINE_LARGE:-$d_engine_large}
DURABLE_SMALL=${BENCH_DURABLE_SMALL:-$d_durable_small}
DURABLE_LARGE=${BENCH_DURABLE_LARGE:-$d_durable_large}
IDLE=${BENCH_IDLE:-$d_idle}
BIG_MIB=${BENCH_BIG_MIB:-$d_big}

# The one recipient every message goes to, and the sender.
RCPT=u@localhost
FROM=bench@example.org

say() { printf '%s\n' "$*" >&2; }
die() {
    say "compare.sh: $*"
    exit 1
}

# ---------------------------------------------------------------------------
# Tools: smtp-source, smtp-sink, postfix (Debian "postfix"); aiosmtpd
# (Debian "python3-aiosmtpd"). Installed if missing and we may.

find_python() {
    local py
    for py in ${BENCH_PYTHON:-} /usr/bin/python3 python3; do
        if command -v "$py" >/dev/null && "$py" -c 'import aiosmtpd' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

PATH=$PATH:/usr/sbin:/sbin
if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null ||
    ! command -v postfix >/dev/null || ! find_python >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        say "installing postfix (smtp-source, smtp-sink, smtpd) and python3-aiosmtpd"
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            postfix python3-aiosmtpd >/dev/null
    else
        die "needs smtp-source, smtp-sink and postfix (package postfix) and aiosmtpd
(python3-aiosmtpd or pip install aiosmtpd); run as root on Debian to install them"
    fi
fi
PYTHON=$(find_python) || die "no python3 can import aiosmtpd (set BENCH_PYTHON)"
for tool in smtp-source smtp-sink postfix postconf timeout; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ $(id -u) == 0 ]] || die "run as root: Postfix's smtpd and smtp-sink need it"

# ---------------------------------------------------------------------------
# postie, in release mode.

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
POSTIE=$TARGET/release/postie
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    say "building postie --release"
    (cd "$ROOT" && cargo build --release --quiet --bin postie)
fi
[[ -x $POSTIE ]] || die "$POSTIE was not built"

# ---------------------------------------------------------------------------
# A work directory on disk, one on tmpfs; both removed at exit with every server.

ulimit -n "$(ulimit -Hn)"
DISK=$(mktemp -d "${BENCH_DISK_DIR:-${TMPDIR:-/var/tmp}}/postie-bench.XXXXXX")
SHM=$(mktemp -d "${BENCH_TMPFS_DIR:-/dev/shm}/postie-bench.XXXXXX")
# Postfix's daemons and the "nobody" that delivers its mail must reach inside.
chmod 755 "$DISK" "$SHM"
[[ $(stat -f -c %T "$DISK") != tmpfs ]] ||
    say "warning: $DISK is on tmpfs: the durable rows will not touch a disk (set BENCH_DISK_DIR)"
[[ $(stat -f -c %T "$SHM") == tmpfs ]] ||
    say "warning: $SHM is not tmpfs: the engine rows will include the disk (set BENCH_TMPFS_DIR)"

PIDS=()
POSTFIX_CONF=
cleanup() {
    local pid
    if [[ -n $POSTFIX_CONF ]]; then
        postfix -c "$POSTFIX_CONF" abort >/dev/null 2>&1 || true
    fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$DISK" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
    local port=$1 tries=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        ((++tries < 200)) || die "nothing listens on port $port after 10 s"
        sleep 0.05
    done
}

# ---------------------------------------------------------------------------
# The servers.

start_postie() { # dir port
    local dir=$1 port=$2 extra
    # Word splitting on purpose: BENCH_POSTIE_FLAGS holds several flags.
    read -r -a extra <<<"${BENCH_POSTIE_FLAGS:-}"
    mkdir -p "$dir"
    # --max-connections: 100 sessions must never meet the cap while a finished
    # client's thread is still leaving. --max-message-size: room for the big message.
    # --http-listen none: no web view (two postie would both want port 8025), so
    # postie does what the servers it is compared with do, and no more.
    "$POSTIE" --listen "127.0.0.1:$port" --hostname postie.bench --domain localhost \
        --maildir "$dir/mail" --spool "$dir/spool" --max-connections 2000 --http-listen none \
        --max-message-size $((400 * 1024 * 1024)) ${extra[@]+"${extra[@]}"} 2>"$dir/postie.log" &
    PIDS+=($!)
    wait_for_port "$port"
}

start_sink() { # port
    # smtp-sink: Postfix's test server, which answers every command and keeps
    # nothing. Backlog 128, as std's TcpListener and aiosmtpd here.
    smtp-sink -u nobody "127.0.0.1:$1" 128 &
    PIDS+=($!)
    wait_for_port "$1"
}

start_aiosmtpd() { # port count_file
    "$PYTHON" "$HERE/aiosmtpd_sink.py" "$1" "$2" &
    PIDS+=($!)
    wait_for_port "$1"
}

# Postfix's real smtpd, from a throwaway configuration: smtpd -> cleanup -> queue
# -> qmgr -> virtual(8), which writes each message into a Maildir and fsyncs it.
start_postfix() { # dir port
    local dir=$1 port=$2
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/mail"
    chown postfix "$dir/data"
    chown 65534:65534 "$dir/mail"
    cat >"$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
myhostname = postfix.bench
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
virtual_mailbox_domains = localhost
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = inline:{ $RCPT=localhost/u/ }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
# 100 concurrent sessions need 100 smtpd processes (the default limit is 100 in all).
default_process_limit = 200
EOF
    # Only the services this needs, none chrooted (the queue is not a chroot jail).
    cat >"$dir/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
    POSTFIX_CONF=$dir/etc
    postfix -c "$POSTFIX_CONF" start >/dev/null 2>&1 ||
        die "postfix did not start (see $dir/maillog)"
    wait_for_port "$port"
}

# The processes of the Postfix instance: master and its children.
postfix_pids() {
    local master
    master=$(tr -d ' ' <"$POSTFIX_DIR/queue/pid/master.pid")
    echo "$master"
    pgrep -P "$master" || true
}

# ---------------------------------------------------------------------------
# Measuring.

# Forget the peak RSS (VmHWM) of these processes, so the next one is this row's.
reset_peak() {
    local pid
    for pid in "$@"; do
        echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
    done
}

# Sum of a /proc/PID/status field (in KiB for VmHWM/VmRSS) over these processes.
status_sum() { # field pid...
    local field=$1 pid total=0 value
    shift
    for pid in "$@"; do
        value=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

# Sum of the proportional set size (shared pages divided among their users) over
# these processes: Postfix's memory is many processes sharing one program text.
pss_sum() { # pid...
    local pid total=0 value
    for pid in "$@"; do
        value=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n * 1e9 / ns }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

files_in() { # dir: how many files
    if [[ -d $1 ]]; then find "$1" -type f | wc -l; else echo 0; fi
}

# Runs smtp-source against one port and prints the elapsed nanoseconds.
# The same flags for every server: -s sessions, -m messages, -l body octets, -d reuse.
source_ns() { # port sessions messages size reuse
    local port=$1 sessions=$2 messages=$3 size=$4 reuse=$5 start end
    local flags=(-s "$sessions" -m "$messages" -l "$size" -f "$FROM" -t "$RCPT" -M client.bench)
    [[ $reuse == yes ]] && flags+=(-d)
    start=$(date +%s%N)
    timeout 600 smtp-source "${flags[@]}" "127.0.0.1:$port" >&2 ||
        die "smtp-source ${flags[*]} 127.0.0.1:$port failed"
    end=$(date +%s%N)
    echo $((end - start))
}

# Waits until `count` files are in `dir`, then prints the nanoseconds since `start`.
arrival_ns() { # dir count start_ns
    local dir=$1 count=$2 start=$3 deadline=$((SECONDS + 600))
    while (($(files_in "$dir") < count)); do
        ((SECONDS < deadline)) || die "only $(files_in "$dir") of $count messages reached $dir"
        sleep 0.02
    done
    echo $(($(date +%s%N) - start))
}

aiosmtpd_count() {
    rm -f "$AIO_COUNT"
    kill -USR1 "$AIO_PID"
    local tries=0
    until [[ -s $AIO_COUNT ]]; do
        ((++tries < 500)) || die "aiosmtpd did not report its count"
        sleep 0.01
    done
    cat "$AIO_COUNT"
}

messages_for() { # kind size
    case $1,$(($2 <= 10240)) in
    engine,1) echo "$ENGINE_SMALL" ;;
    engine,0) echo "$ENGINE_LARGE" ;;
    durable,1) echo "$DURABLE_SMALL" ;;
    durable,0) echo "$DURABLE_LARGE" ;;
    esac
}

size_label() {
    if (($1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi
}

# ---------------------------------------------------------------------------
# Start everything.

ENGINE_PORT=$(free_port)
SINK_PORT=$(free_port)
AIO_PORT=$(free_port)
DURABLE_PORT=$(free_port)
POSTFIX_PORT=$(free_port)
ENGINE_DIR=$SHM/postie
DURABLE_DIR=$DISK/postie
POSTFIX_DIR=$DISK/postfix
AIO_COUNT=$SHM/aiosmtpd.count
mkdir -p "$ENGINE_DIR" "$DURABLE_DIR" "$POSTFIX_DIR"

say "starting postie (tmpfs, port $ENGINE_PORT), smtp-sink ($SINK_PORT), aiosmtpd ($AIO_PORT),"
say "  postie (disk, $DURABLE_PORT), Postfix smtpd -> Maildir ($POSTFIX_PORT) under $DISK"
start_postie "$ENGINE_DIR" "$ENGINE_PORT"
ENGINE_PID=${PIDS[-1]}
start_sink "$SINK_PORT"
SINK_PID=${PIDS[-1]}
start_aiosmtpd "$AIO_PORT" "$AIO_COUNT"
AIO_PID=${PIDS[-1]}
start_postie "$DURABLE_DIR" "$DURABLE_PORT"
DURABLE_PID=${PIDS[-1]}
start_postfix "$POSTFIX_DIR" "$POSTFIX_PORT"

ENGINE_NEW=$ENGINE_DIR/mail/localhost/u/new
DURABLE_NEW=$DURABLE_DIR/mail/localhost/u/new
POSTFIX_NEW=$POSTFIX_DIR/mail/localhost/u/new

# Warm up: processes started, mailboxes created, code paged in.
say "warming up"
for port in "$ENGINE_PORT" "$SINK_PORT" "$AIO_PORT" "$DURABLE_PORT" "$POSTFIX_PORT"; do
    source_ns "$port" 10 100 1024 no >/dev/null
done
arrival_ns "$POSTFIX_NEW" 100 0 >/dev/null
find "$ENGINE_NEW" "$DURABLE_NEW" "$POSTFIX_NEW" -type f -delete
aio_before=$(aiosmtpd_count)

# Every count that fell short is noted in $FAILURES, and the script then fails.
FAILURES=$SHM/failures
: >"$FAILURES"
check() { # what expected got
    if [[ $2 != "$3" ]]; then
        say "MISSING: $1: expected $2 messages, found $3"
        echo "$1" >>"$FAILURES"
        echo "$3/$2"
    else
        echo "$3"
    fi
}

RESULTS=$SHM/results
: >"$RESULTS"

# ---------------------------------------------------------------------------
# Engine rows: postie on tmpfs vs smtp-sink vs aiosmtpd.

say "engine rows"
ENGINE_TABLE=()
for size in $SIZES; do
    for sessions in $SESSIONS; do
        for reuse in $REUSE; do
            n=$(messages_for engine "$size")
            reset_peak "$ENGINE_PID" "$SINK_PID" "$AIO_PID"
            p_ns=$(source_ns "$ENGINE_PORT" "$sessions" "$n" "$size" "$reuse")
            s_ns=$(source_ns "$SINK_PORT" "$sessions" "$n" "$size" "$reuse")
            a_ns=$(source_ns "$AIO_PORT" "$sessions" "$n" "$size" "$reuse")
            p_rss=$(status_sum VmHWM "$ENGINE_PID")
            s_rss=$(status_sum VmHWM "$SINK_PID")
            a_rss=$(status_sum VmHWM "$AIO_PID")
            p_got=$(check "engine postie" "$n" "$(files_in "$ENGINE_NEW")")
            aio_now=$(aiosmtpd_count)
            a_got=$(check "engine aiosmtpd" "$n" $((aio_now - aio_before)))
            aio_before=$aio_now
            find "$ENGINE_NEW" -type f -delete
            p=$(rate "$n" "$p_ns") s=$(rate "$n" "$s_ns") a=$(rate "$n" "$a_ns")
            row=$(printf '| %3s | %-7s | %-3s | %6s | %7s | %9s | %5s | %8s | %5s | %5s / %5s / %5s | %s, %s |' \
                "$sessions" "$(size_label "$size")" "$reuse" "$n" "$p" "$s" "$(ratio "$p" "$s")" \
                "$a" "$(ratio "$p" "$a")" "$(mib "$p_rss")" "$(mib "$s_rss")" "$(mib "$a_rss")" \
                "$p_got" "$a_got")
            ENGINE_TABLE+=("$row")
            say "$row"
            echo "engine $sessions $size $reuse $p $s $a" >>"$RESULTS"
        done
    done
done

# ---------------------------------------------------------------------------
# Durable rows: postie on disk vs Postfix smtpd -> qmgr -> virtual -> Maildir.
# Postfix answers 250 once the message is in its queue; the clock stops when the
# last message is in new/. postie answers 250 once it is in new/.

say "durable rows"
DURABLE_TABLE=()
for size in $SIZES; do
    for sessions in $SESSIONS; do
        for reuse in $REUSE; do
            n=$(messages_for durable "$size")
            reset_peak "$DURABLE_PID"
            sync
            p_ns=$(source_ns "$DURABLE_PORT" "$sessions" "$n" "$size" "$reuse")
            p_got=$(check "durable postie" "$n" "$(files_in "$DURABLE_NEW")")
            sync
            start=$(date +%s%N)
            source_ns "$POSTFIX_PORT" "$sessions" "$n" "$size" "$reuse" >/dev/null
            f_ns=$(arrival_ns "$POSTFIX_NEW" "$n" "$start")
            f_got=$(check "durable Postfix" "$n" "$(files_in "$POSTFIX_NEW")")
            mapfile -t pf_pids < <(postfix_pids)
            p_rss=$(status_sum VmHWM "$DURABLE_PID")
            f_rss=$(pss_sum "${pf_pids[@]}")
            find "$DURABLE_NEW" "$POSTFIX_NEW" -type f -delete
            p=$(rate "$n" "$p_ns") f=$(rate "$n" "$f_ns")
            row=$(printf '| %3s | %-7s | %-3s | %6s | %7s | %7s | %5s | %5s / %6s (%s processes) | %s, %s |' \
                "$sessions" "$(size_label "$size")" "$reuse" "$n" "$p" "$f" "$(ratio "$p" "$f")" \
                "$(mib "$p_rss")" "$(mib "$f_rss")" "${#pf_pids[@]}" "$p_got" "$f_got")
            DURABLE_TABLE+=("$row")
            say "$row"
            echo "durable $sessions $size $reuse $p $f" >>"$RESULTS"
        done
    done
done

# ---------------------------------------------------------------------------
# Memory: idle sessions, and one big message.

idle_test() { # pid port: prints "rss_before rss_with threads_before threads_with"
    local pid=$1 port=$2 out=$SHM/idle.out client before threads_before
    before=$(status_sum VmRSS "$pid")
    threads_before=$(status_sum Threads "$pid")
    "$PYTHON" "$HERE/idle_clients.py" "$port" "$IDLE" >"$out" &
    client=$!
    local tries=0
    until grep -q ready "$out" 2>/dev/null; do
        kill -0 "$client" 2>/dev/null || die "idle clients failed against port $port"
        ((++tries < 3000)) || die "idle clients not ready after 60 s"
        sleep 0.02
    done
    sleep 0.5
    echo "$before $(status_sum VmRSS "$pid") $threads_before $(status_sum Threads "$pid")"
    kill "$client"
    wait "$client" 2>/dev/null || true
}

# Fresh servers for the memory tests: one that has served the rows above keeps
# memory it freed (allocator caches), which would hide what idle sessions cost.
say "memory: $IDLE idle sessions"
IDLE_PORT=$(free_port)
start_postie "$SHM/idle" "$IDLE_PORT"
IDLE_PID=${PIDS[-1]}
idle=$(idle_test "$IDLE_PID" "$IDLE_PORT")
read -r pi_before pi_with pt_before pt_with <<<"$idle"
IDLE_AIO_PORT=$(free_port)
start_aiosmtpd "$IDLE_AIO_PORT" "$SHM/idle-aiosmtpd.count"
idle=$(idle_test "${PIDS[-1]}" "$IDLE_AIO_PORT")
read -r ai_before ai_with at_before at_with <<<"$idle"

say "memory: one $BIG_MIB MiB message"
BIG_PORT=$(free_port)
start_postie "$DISK/big" "$BIG_PORT"
BIG_PID=${PIDS[-1]}
# One small message first, so the baseline includes a finished delivery.
source_ns "$BIG_PORT" 1 1 1024 no >/dev/null
find "$DISK/big/mail" -path '*/new/*' -type f -delete
big_before=$(status_sum VmRSS "$BIG_PID")
reset_peak "$BIG_PID"
source_ns "$BIG_PORT" 1 1 $((BIG_MIB * 1024 * 1024)) no >/dev/null
big_peak=$(status_sum VmHWM "$BIG_PID")
big_file=$(find "$DISK/big/mail" -path '*/new/*' -type f | head -n 1)
big_size=$(stat -c %s "${big_file:-/dev/null}")
((big_size > BIG_MIB * 1024 * 1024)) || die "the big message did not arrive whole ($big_size octets)"

# ---------------------------------------------------------------------------
# The report.

echo
echo "postie $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') vs" \
    "Postfix $(postconf -d -h mail_version), aiosmtpd $("$PYTHON" -c 'import aiosmtpd; print(aiosmtpd.__version__)')" \
    "on $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Load: smtp-source -s SESSIONS -m MESSAGES -l SIZE [-d], the same for every server."
echo
echo "Engine: postie with its Maildir on tmpfs vs smtp-sink and aiosmtpd (both discard)."
echo
echo "| sessions | size | -d | messages | postie msg/s | smtp-sink msg/s | postie/sink | aiosmtpd msg/s | postie/aiosmtpd | peak RSS MiB postie / sink / aiosmtpd | arrived postie, aiosmtpd |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|"
printf '%s\n' "${ENGINE_TABLE[@]}"
echo
echo "Durable: postie with its Maildir on disk vs Postfix smtpd -> Maildir (until every message is in new/)."
echo
echo "| sessions | size | -d | messages | postie msg/s | Postfix msg/s | postie/Postfix | MiB: postie peak RSS / Postfix PSS of all processes at the end | arrived postie, Postfix |"
echo "|---:|---|---|---:|---:|---:|---:|---|---|"
printf '%s\n' "${DURABLE_TABLE[@]}"
echo
echo "Memory: $IDLE idle sessions (after EHLO), each server fresh."
echo
echo "| server | RSS before MiB | RSS with $IDLE MiB | KiB per session | threads before | threads with |"
echo "|---|---:|---:|---:|---:|---:|"
printf '| postie | %s | %s | %s | %s | %s |\n' "$(mib "$pi_before")" "$(mib "$pi_with")" \
    $(((pi_with - pi_before) / IDLE)) "$pt_before" "$pt_with"
printf '| aiosmtpd | %s | %s | %s | %s | %s |\n' "$(mib "$ai_before")" "$(mib "$ai_with")" \
    $(((ai_with - ai_before) / IDLE)) "$at_before" "$at_with"
echo
printf 'Memory: one %s MiB message to disk (a fresh postie): RSS %s MiB before, peak %s MiB (+%s MiB).\n' \
    "$BIG_MIB" "$(mib "$big_before")" "$(mib "$big_peak")" "$(mib $((big_peak - big_before)))"

# The targets of issue 8, each a ratio measured in this run.
echo
read -r _ _ _ _ p s _ < <(grep '^engine 20 1024 no ' "$RESULTS" || echo "- - - - 0 0 0")
echo "target: engine, 20 sessions, 1 KiB, one session per message: postie/smtp-sink = $(ratio "$p" "$s") (goal >= 1.0)"
read -r _ _ _ _ p f < <(grep '^durable 20 1024 no ' "$RESULTS" || echo "- - - - 0 0")
echo "target: durable, 20 sessions, 1 KiB, one session per message: postie/Postfix = $(ratio "$p" "$f") (goal >= 3.0)"
worst=$(awk '$1 == "durable" && $6 > 0 { r = $5 / $6; if (min == "" || r < min) min = r } END { printf "%.2f", min }' "$RESULTS")
echo "         durable, every row: lowest postie/Postfix = $worst"
worst=$(awk '$1 == "engine" && $7 > 0 { r = $5 / $7; if (min == "" || r < min) min = r } END { printf "%.2f", min }' "$RESULTS")
echo "target: engine, every row: lowest postie/aiosmtpd = $worst (goal > 1.0)"
growth=$((big_peak - big_before))
echo "target: $BIG_MIB MiB message: RSS growth $(mib "$growth") MiB (goal well under 10 MiB)"

[[ ! -s $FAILURES ]] || die "$(wc -l <"$FAILURES") row(s) lost messages"
