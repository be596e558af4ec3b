#!/usr/bin/env bash
# Draws the book's pictures: every book/src/images/NAME.dot becomes NAME.svg, with the
# Graphviz engine named on its first line (`// engine: dot` or `// engine: neato -n2`,
# for the ones whose positions are fixed by hand). The other SVGs in that directory
# (dialogue.svg, line-buffer.svg) are drawn by hand and are their own source.
#
#     bash book/images.sh           # rewrite the SVGs from their .dot files
#     bash book/images.sh --check   # fail if a committed SVG is not what its .dot draws
#
# Needs Graphviz and the DejaVu fonts (Debian: apt-get install graphviz
# fonts-dejavu-core); .ci/book runs the check.
set -euo pipefail

cd "$(dirname "$0")/src/images"

if ! command -v dot >/dev/null; then
    echo "Graphviz is missing: apt-get install graphviz fonts-dejavu-core" >&2
    exit 1
fi

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
fi

status=0
for source in *.dot; do
    svg="${source%.dot}.svg"
    engine=$(sed -n '1s|^// engine: ||p' "$source")
    case "$engine" in
        dot | "neato -n2") ;;
        *)
            echo "$source: the first line must be // engine: dot (or neato -n2)" >&2
            exit 1
            ;;
    esac
    # $engine is one of the two above: split on purpose into command and flag.
    # shellcheck disable=SC2086
    drawn=$($engine -Tsvg "$source")
    if $check; then
        if [ "$drawn" != "$(cat "$svg" 2>/dev/null)" ]; then
            echo "book/src/images/$svg is not what $source draws: run bash book/images.sh" >&2
            status=1
        fi
    else
        printf '%s\n' "$drawn" >"$svg"
        echo "drew $svg"
    fi
done
exit $status
