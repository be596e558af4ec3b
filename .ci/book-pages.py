#!/usr/bin/env python3
"""Looks at both editions of the built book in headless Chromium, as a reader would:

- every chapter of the Chinese edition opens and says it in Chinese, and every page of
  both editions has the language switch, leading to a page that exists;
- every link to a section (`page.html#id`) finds that section in its own edition: the
  Chinese headings keep the English ids (`{#id}` in book/po/zh-CN.po), since mdBook
  would otherwise make their ids from the Chinese words; and no `{#id}` or `**` shows
  as text;
- the Chinese edition's search finds Chinese words (see book/cjk-search.py), and both
  editions' search finds English ones.

    python3 .ci/book-pages.py book/book [--screenshots DIR]

Run by .ci/book after `bash book/i18n.sh build`; needs Chromium, ChromeDriver and
Python's selenium (installed by .ci/run).
"""
import argparse
import pathlib
import re
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

HAN = re.compile(r"[\u4e00-\u9fff]")
# Words the Chinese edition's search must find: terms of its glossary.
CHINESE_WORDS = ["信封", "退信", "中继", "点填充", "邮件交换记录"]
ENGLISH_WORDS = ["envelope", "MX"]


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # No background connections: the CI machine's network is closed.
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1200,900"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def chapters(edition):
    """The chapter pages of one edition (not mdBook's own 404, print and toc pages)."""
    skip = {"404.html", "print.html", "toc.html"}
    return sorted(p for p in edition.glob("*.html") if p.name not in skip)


def broken_fragments(edition):
    """Links in one edition's pages to `page.html#id` where that page has no such id."""
    ids = {}
    for page in edition.glob("*.html"):
        ids[page.name] = set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
    broken = []
    for page in chapters(edition):
        text = page.read_text(encoding="utf-8")
        main = text[text.find("<main>"):text.find("</main>")]
        # A `{#id}` belongs on a heading; shown as text (outside code) it is a mistake,
        # e.g. on a chapter's title, which is also the sidebar's link text.
        prose = re.sub(r"<pre[^>]*>.*?</pre>|<code[^>]*>.*?</code>", "", main, flags=re.S)
        if "{#" in re.sub(r"<code[^>]*>.*?</code>", "", text, flags=re.S):
            broken.append(f"{page}: a {{#id}} shows as text")
        # CommonMark does not end `**bold：**` before a Chinese letter (the closing run
        # follows punctuation and precedes a letter): such a translation writes <strong>.
        if "**" in prose:
            broken.append(f"{page}: a ** shows as text (write <strong> in the translation)")
        for target, fragment in re.findall(r'href="([A-Za-z0-9_.-]*\.html)?#([^"]+)"', main):
            name = target or page.name
            if name in ids and urllib.parse.unquote(fragment) not in ids[name]:
                broken.append(f"{page}: a link to {name}#{fragment} finds no such section")
    return broken


def search(driver, edition, word):
    """The titles of the results the edition's search box gives for a word."""
    driver.get(edition.as_uri() + "/index.html?search=" + urllib.parse.quote(word))
    for _ in range(100):
        header = driver.find_element(By.ID, "mdbook-searchresults-header").text
        if header:
            break
        time.sleep(0.1)
    items = driver.find_elements(By.CSS_SELECTOR, "#mdbook-searchresults li")
    return [item.text.split("\n")[0] for item in items]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("book", type=pathlib.Path)
    parser.add_argument("--screenshots", type=pathlib.Path)
    args = parser.parse_args()
    english = args.book.resolve()
    chinese = english / "zh-CN"
    failures = broken_fragments(english) + broken_fragments(chinese)
    driver = browser()
    try:
        for edition in (english, chinese):
            pages = chapters(edition)
            if not pages:
                failures.append(f"{edition}: no pages")
            for page in pages:
                driver.get(page.as_uri())
                links = driver.find_elements(By.CSS_SELECTOR, "a.language-switch")
                if len(links) != 1:
                    failures.append(f"{page}: {len(links)} language switches, not 1")
                    continue
                target = urllib.parse.urlparse(links[0].get_attribute("href"))
                other = pathlib.Path(urllib.parse.unquote(target.path))
                if not other.is_file():
                    failures.append(f"{page}: the language switch leads to {other}, missing")
                if edition == chinese:
                    text = driver.find_element(By.TAG_NAME, "main").text
                    if len(HAN.findall(text)) < 20:
                        failures.append(f"{page}: the Chinese page is not in Chinese")
                if args.screenshots and page.name in ("introduction.html", "data.html",
                                                      "reading-mail-imap.html"):
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    name = f"{edition.name}-{page.stem}.png"
                    driver.save_screenshot(str(args.screenshots / name))
            print(f"{edition}: {len(pages)} pages opened")
        for edition, words in ((chinese, CHINESE_WORDS), (chinese, ENGLISH_WORDS),
                               (english, ENGLISH_WORDS)):
            for word in words:
                found = search(driver, edition, word)
                print(f"search {edition.name}/ for {word}: {len(found)} results, first {found[:2]}")
                if not found:
                    failures.append(f"{edition}: the search finds nothing for {word}")
    finally:
        driver.quit()
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
