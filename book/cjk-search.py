#!/usr/bin/env python3
"""Makes the search of the Chinese edition find Chinese words.

mdBook's search index splits text at spaces. Chinese puts no spaces between words, so a
whole Chinese sentence would be one "word" (and one over 80 bytes is not indexed at
all): searching for 信封 would find nothing. This script adds every pair of adjacent Han
characters of each indexed section to the index (the usual way to search Chinese
without a dictionary); cjk-search.js splits a query the same way, so 信封 finds every
section that says 信封, and 邮件交换 ranks first the sections with all of 邮件, 件交, 交换.
It also puts the parent chapters' Chinese names into the results' breadcrumbs, which
mdbook-gettext leaves in English (it translates a chapter's own name only).

    python3 book/cjk-search.py book/book/zh-CN     # after building the Chinese edition
"""
import glob
import html
import json
import math
import re
import sys

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
START = "window.search = Object.assign(window.search, JSON.parse('"
END = "'));"


def bigrams(run):
    """The pairs of adjacent characters of a run of Han characters (a lone one alone)."""
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


def add(trie, token, ref, count):
    """Adds a token's count in one document to an elasticlunr inverted index (a trie of
    characters; tf is the square root of the count, as elasticlunr stores it)."""
    node = trie
    for ch in token:
        node = node.setdefault(ch, {"docs": {}, "df": 0})
    node["docs"][ref] = {"tf": math.sqrt(count)}
    node["df"] = len(node["docs"])


def chapter_names(toc):
    """The sidebar's chapter names, by page, from a built edition's toc.html."""
    text = open(toc, encoding="utf-8").read()
    names = {}
    for page, inner in re.findall(r'<a href="([^"#]+\.html)"[^>]*>(.*?)</a>', text):
        names[page] = html.unescape(re.sub(r"<strong[^>]*>.*?</strong>|<[^>]+>", "", inner)).strip()
    return names


def english_parents(folder):
    """English chapter name -> Chinese, for the parent chapters in the breadcrumbs of a
    section's search result, which mdbook-gettext leaves in English."""
    english = chapter_names(f"{folder}/../toc.html")
    chinese = chapter_names(f"{folder}/toc.html")
    return {english[p]: chinese[p] for p in english if p in chinese}


def main(folder):
    (path,) = glob.glob(f"{folder}/searchindex-*.js")
    text = open(path, encoding="utf-8").read()
    assert text.startswith(START) and text.rstrip().endswith(END), f"{path}: not mdBook's format"
    # mdBook escapes the JSON as a JavaScript string in single quotes: \ and ' only.
    body = text.strip()[len(START) : -len(END)]
    index = json.loads(body.replace("\\'", "'").replace("\\\\", "\\"))
    lunr = index["index"]
    parents = english_parents(folder)
    for doc in lunr["documentStore"]["docs"].values():
        crumbs = doc.get("breadcrumbs") or ""
        doc["breadcrumbs"] = " » ".join(parents.get(c, c) for c in crumbs.split(" » "))
    added = 0
    for ref, doc in lunr["documentStore"]["docs"].items():
        for field in lunr["fields"]:
            counts = {}
            for run in HAN.findall(doc.get(field) or ""):
                for pair in bigrams(run):
                    counts[pair] = counts.get(pair, 0) + 1
            for pair, n in counts.items():
                add(lunr["index"][field]["root"], pair, ref, n)
            added += len(counts)
    out = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(START + out.replace("\\", "\\\\").replace("'", "\\'") + END + "\n")
    print(f"{path}: {added} Chinese terms added to the search index")


if __name__ == "__main__":
    main(sys.argv[1])
