#!/usr/bin/env bash
# Mutation testing of the protocol cores with cargo-mutants (27.x): each mutant is a
# small change to the code (a `>` made `>=`, a function body replaced by a default
# value, a match arm deleted); the tests that matter for the module run against it, and
# a mutant they do not catch is a place where the code could be wrong and no test
# would say so.
#
#   benches/mutants.sh                    every core module, one after the other (hours)
#   benches/mutants.sh line smtp          only these modules
#   benches/mutants.sh --in-diff FILE     only mutants in the lines a diff touches
#                                         (`git diff REV > FILE`), in every module
#   benches/mutants.sh --most N ...       at most N mutants in all: a larger set is cut
#                                         into shards and one is tested, chosen by HEAD
#   benches/mutants.sh ... -- ARGS        ARGS go to every `cargo mutants` (.ci/mutants
#                                         passes --in-place and --baseline=skip)
#
# Modules and the tests each is judged by:
#   line    src/wire/line.rs               unit tests
#   smtp    src/smtp/                      unit tests, transcripts, socket tests
#   smtp-session  the sans-IO SMTP core    unit tests alone (session.rs, command.rs)
#   pop3-session  the sans-IO POP3 core    unit tests alone (session.rs, command.rs)
#   pop3    src/pop3/                      unit tests, POP3 tests
#   imap    src/imap/                      unit tests, IMAP tests
#   http    src/http/                      unit tests, HTTP and web API tests
#   directory  src/directory/ (LDAP)       unit tests, directory tests (slapd)
#   store   src/store/                     unit tests, crash test
#   relay   src/relay/mx.rs, client.rs     unit tests, relay tests
#
# Prints, per module: caught, missed, unviable (the mutant does not compile),
# timeouts, and the score: (caught + timeouts) / (caught + missed + timeouts). A
# timeout is a mutant that made a test hang (a `+=` made `*=` never moves its loop
# on): the test was stopped, so it failed, and it counts as caught (Stryker's
# "detected" is killed plus timeout too). The timeout (120 s, or three times the
# unmutated tests' time) is well above a whole run of the module's tests, so a mutant
# that is merely slow is not taken for a hang. The missed mutants are listed; each
# must be killed by a new test or explained in benches/mutants-allowed.md. Exits 1 if
# a missed mutant is not explained there. Results stay in
# target/mutants/MODULE/mutants.out/. Installs cargo-mutants if missing.
set -euo pipefail

cd "$(dirname "$0")/.."
# The module's globs (`src/smtp/**`) are for cargo-mutants, not for the shell.
set -f

MUTANTS_VERSION=27.1.0
if [ "$(cargo mutants --version 2>/dev/null || true)" != "cargo-mutants ${MUTANTS_VERSION}" ]; then
    cargo install --locked cargo-mutants --version "${MUTANTS_VERSION}"
fi

# module -> files (globs with a slash match the whole path) and test binaries.
declare -A files=(
    [line]="src/wire/line.rs"
    [smtp]="src/smtp/**"
    [smtp-session]="src/smtp/session.rs src/smtp/session/** src/smtp/command.rs"
    [pop3-session]="src/pop3/session.rs src/pop3/session/** src/pop3/command.rs"
    [pop3]="src/pop3/**"
    [imap]="src/imap/**"
    [http]="src/http/**"
    [directory]="src/directory/**"
    [store]="src/store/**"
    [relay]="src/relay/mx.rs src/relay/client.rs"
)
declare -A tests=(
    [line]=""
    [smtp]="transcripts socket"
    [smtp-session]=""
    [pop3-session]=""
    [pop3]="pop3"
    [imap]="imap"
    [http]="web_http web_api"
    [directory]="directory"
    [store]="crash"
    [relay]="relay"
)
order=(line smtp pop3 imap http directory store relay)

diff=()
modules=()
extra=()
most=
while [ $# -gt 0 ]; do
    case $1 in
    --in-diff)
        diff=(--in-diff "$2")
        shift 2
        ;;
    --most)
        most=$2
        shift 2
        ;;
    --)
        shift
        extra=("$@")
        break
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *)
        [ -n "${files[$1]:-}" ] || {
            echo "mutants.sh: no module '$1' (try --help)" >&2
            exit 2
        }
        modules+=("$1")
        shift
        ;;
    esac
done
[ ${#modules[@]} -gt 0 ] || modules=("${order[@]}")

# --most: count the mutants of every module asked for, and shard if there are more.
if [ -n "$most" ]; then
    all=()
    for module in "${modules[@]}"; do
        for file in ${files[$module]}; do all+=(--file "$file"); done
    done
    total=$(cargo mutants --list "${diff[@]}" "${all[@]}" | grep -c . || true)
    echo "mutants to test: $total"
    if ((total > most)); then
        shards=$(((total + most - 1) / most))
        shard=$((0x$(git rev-parse --short=6 HEAD) % shards))
        echo "more than $most: testing shard $shard of $shards"
        extra+=(--shard "$shard/$shards")
    fi
fi

count() { if [ -f "$1" ]; then grep -c . "$1" || true; else echo 0; fi; }

# The missed mutants of a run (`path:line:col: what`) that benches/mutants-allowed.md
# does not explain. A mutant is named there by its file (a `##` heading) and what it
# does, in bold; line numbers are left out, as they move with every edit.
unexplained() {
    python3 - "$1" benches/mutants-allowed.md <<'PY'
import re, sys
allowed, path = set(), None
for line in open(sys.argv[2], encoding="utf-8"):
    if m := re.match(r"## `([^`]+)`", line):
        path = m.group(1)
    elif m := re.match(r"- \*\*`(.+?)`\*\*", line):
        allowed.add((path, m.group(1)))
for line in open(sys.argv[1], encoding="utf-8"):
    if m := re.match(r"([^:]+):\d+:\d+: (.*)", line.rstrip("\n")):
        if (m.group(1), m.group(2)) not in allowed:
            print(line, end="")
PY
}

summary=()
status=0
for module in "${modules[@]}"; do
    args=(--no-shuffle "${diff[@]}")
    for file in ${files[$module]}; do args+=(--file "$file"); done
    # A diff that touches nothing of this module: no baseline to build and run.
    if [ ${#diff[@]} -gt 0 ] && [ "$(cargo mutants --list "${args[@]}" | grep -c .)" = 0 ]; then
        continue
    fi
    args+=(--cargo-arg=--lib)
    for test in ${tests[$module]}; do args+=("--cargo-arg=--test=$test"); done
    args+=("${extra[@]}")
    # Without a baseline run to measure, each mutant's tests get a fixed time.
    [[ " ${extra[*]} " == *" --baseline=skip "* ]] && args+=(--timeout 120) ||
        args+=(--timeout-multiplier 3)
    out=target/mutants/$module
    rm -rf "$out/mutants.out"
    mkdir -p "$out"
    printf '\n==> %s: cargo mutants %s\n' "$module" "${args[*]}"
    started=$SECONDS
    # cargo-mutants exits 2 when a mutant is missed, 3 on a timeout: counted below.
    cargo mutants --output "$out" "${args[@]}" || true
    results=$out/mutants.out
    caught=$(count "$results/caught.txt")
    missed=$(count "$results/missed.txt")
    unviable=$(count "$results/unviable.txt")
    timeouts=$(count "$results/timeout.txt")
    judged=$((caught + missed + timeouts))
    score=$( ((judged > 0)) && echo "$((100 * (caught + timeouts) / judged)) %" || echo "-")
    summary+=("$(printf '%-12s %7s %7s %9s %9s %7s %6s s' "$module" "$caught" "$missed" \
        "$unviable" "$timeouts" "$score" $((SECONDS - started)))")
    if ((missed > 0)); then
        printf 'missed in %s:\n' "$module"
        sed 's/^/    /' "$results/missed.txt"
        not_explained=$(unexplained "$results/missed.txt")
        if [ -n "$not_explained" ]; then
            printf 'not explained in benches/mutants-allowed.md (a missing test?):\n'
            printf '%s\n' "$not_explained" | sed 's/^/    /'
            status=1
        fi
    fi
done

printf '\n%-12s %7s %7s %9s %9s %7s %8s\n' module caught missed unviable timeouts score time
printf '%s\n' "${summary[@]}"
exit $status
