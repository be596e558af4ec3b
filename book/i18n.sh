#!/usr/bin/env bash
# The Chinese edition's messages (gettext, by mdbook-i18n-helpers):
#
#     bash book/i18n.sh update   # after changing the English: re-extract po/messages.pot
#                                # and merge it into po/zh-CN.po (new messages are empty,
#                                # changed ones are marked fuzzy)
#     bash book/i18n.sh check    # fail if po/messages.pot is not what the English says now,
#                                # or if any message of po/zh-CN.po is untranslated or fuzzy
#     bash book/i18n.sh build    # both editions: book/book/ (English), book/book/zh-CN/
#
# Needs mdbook, mdbook-i18n-helpers (mdbook-xgettext, mdbook-gettext) and GNU gettext
# (msgmerge, msgfmt); .ci/book installs them.
set -euo pipefail

# Work from the book's root, wherever the script is started from.
cd "$(dirname "$0")"

POT=po/messages.pot
PO=po/zh-CN.po
ZH_TITLE="postie：一个读得懂的邮件服务器"

# The messages as the English has them now, in a fresh .pot file ($1). The book's own
# `links` preprocessor is left out, as the gettext preprocessor runs before it: a
# listing is a message's {{#include}} line, not the code.
extract() {
    local out
    out=$(mktemp -d)
    MDBOOK_OUTPUT='{"xgettext": {}}' MDBOOK_BUILD__USE_DEFAULT_PREPROCESSORS=false \
        mdbook build -d "$out" >/dev/null 2>&1
    mv "$out/messages.pot" "$1"
    rm -rf "$out"
}

# A .pot file's messages alone: without its creation date, which changes at every
# extraction, and without the line numbers, which change with any edit above them.
undated() { grep -v -e '^"POT-Creation-Date:' -e '^#:' "$1"; }

update() {
    extract "$POT.new"
    if [ -f "$POT" ] && cmp -s <(grep -v '^"POT-Creation-Date:' "$POT") \
        <(grep -v '^"POT-Creation-Date:' "$POT.new"); then
        rm "$POT.new" # nothing changed: keep the old date, keep git quiet
    else
        mv "$POT.new" "$POT"
    fi
    msgmerge --quiet --update --backup=none --no-wrap "$PO" "$POT"
    msgfmt --statistics --output-file=/dev/null "$PO"
}

check() {
    local fresh merged stats
    fresh=$(mktemp --suffix=.pot)
    merged=$(mktemp --suffix=.po)
    trap 'rm -f "$fresh" "$merged"' RETURN
    extract "$fresh"
    if ! diff -u <(undated "$POT") <(undated "$fresh") >"$merged"; then
        head -40 "$merged"
        echo "book/po/messages.pot does not hold the messages the English book has now." >&2
        echo "Run 'bash book/i18n.sh update' and translate what it marks in book/po/zh-CN.po." >&2
        return 1
    fi
    msgmerge --quiet --no-wrap --output-file="$merged" "$PO" "$POT"
    stats=$(msgfmt --check --statistics --output-file=/dev/null "$merged" 2>&1) || {
        echo "$stats" >&2
        return 1
    }
    echo "zh-CN: $stats"
    # msgfmt says "N translated messages." and adds ", M fuzzy translations" and
    # ", K untranslated messages" only when there are some.
    if [[ $stats == *fuzzy* || $stats == *untranslated* ]]; then
        msgattrib --no-wrap --only-fuzzy "$merged" | head -30
        msgattrib --no-wrap --untranslated "$merged" | head -30
        echo "book/po/zh-CN.po has untranslated or fuzzy messages (above): the Chinese edition" >&2
        echo "must say everything the English says. Translate them and remove the fuzzy marks." >&2
        return 1
    fi
}

build() {
    mdbook build
    MDBOOK_BOOK__LANGUAGE=zh-CN MDBOOK_BOOK__TITLE="$ZH_TITLE" mdbook build -d book/zh-CN
    python3 cjk-search.py book/zh-CN
}

case "${1:-}" in
update | check | build) "$1" ;;
*)
    sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac
