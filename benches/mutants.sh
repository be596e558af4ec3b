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
#
# Modules and the tests each is judged by:
#   line    src/wire/line.rs               unit tests
#   smtp    src/smtp/                      unit tests, transcripts, socket tests
#   pop3    src/pop3/                      unit tests, POP3 tests
#   imap    src/imap/                      unit tests, IMAP tests
#   store   src/store/                     unit tests, crash test
#   relay   src/relay/mx.rs, client.rs     unit tests, relay tests
#
# Prints, per module: caught, missed, unviable (the mutant does not compile),
# timeouts, and the score: caught / (caught + missed + timeouts). The missed mutants
# are listed; each must be killed by a new test or explained in benches/mutants-allowed.md.
# Results stay in target/mutants/MODULE/mutants.out/. Installs cargo-mutants if missing.
set -euo pipefail

cd "$(dirname "$0")/.."

MUTANTS_VERSION=27.1.0
if [ "$(cargo mutants --version 2>/dev/null || true)" != "cargo-mutants ${MUTANTS_VERSION}" ]; then
    cargo install --locked cargo-mutants --version "${MUTANTS_VERSION}"
fi

# module -> files (globs with a slash match the whole path) and test binaries.
declare -A files=(
    [line]="src/wire/line.rs"
    [smtp]="src/smtp/**"
    [pop3]="src/pop3/**"
    [imap]="src/imap/**"
    [store]="src/store/**"
    [relay]="src/relay/mx.rs src/relay/client.rs"
)
declare -A tests=(
    [line]=""
    [smtp]="transcripts socket"
    [pop3]="pop3"
    [imap]="imap"
    [store]="crash"
    [relay]="relay"
)
order=(line smtp pop3 imap store relay)

diff=()
modules=()
while [ $# -gt 0 ]; do
    case $1 in
    --in-diff)
        diff=(--in-diff "$2")
        shift 2
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

count() { [ -f "$1" ] && grep -c . "$1" || echo 0; }

summary=()
status=0
for module in "${modules[@]}"; do
    args=(--no-shuffle --timeout-multiplier 3 "${diff[@]}")
    for file in ${files[$module]}; do args+=(--file "$file"); done
    args+=(--cargo-test-arg=--lib)
    for test in ${tests[$module]}; do args+=("--cargo-test-arg=--test=$test"); done
    out=target/mutants/$module
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
    score=$( ((judged > 0)) && echo "$((100 * caught / judged)) %" || echo "-")
    summary+=("$(printf '%-6s %7s %7s %9s %9s %7s %6s s' "$module" "$caught" "$missed" \
        "$unviable" "$timeouts" "$score" $((SECONDS - started)))")
    if ((missed > 0)); then
        printf 'missed in %s:\n' "$module"
        sed 's/^/    /' "$results/missed.txt"
        status=1
    fi
done

printf '\n%-6s %7s %7s %9s %9s %7s %8s\n' module caught missed unviable timeouts score time
printf '%s\n' "${summary[@]}"
exit $status
