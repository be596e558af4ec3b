//! The book must never lie. These tests hold it to the code it describes:
//!
//! 1. every include directive in `book/src/*.md` names a file that exists, and an anchor
//!    that exists in that file, opened and closed;
//! 2. every anchor in the source tree is unique within its file and properly closed;
//! 3. every relative link and image in the book leads to a file in `book/src` (and, for
//!    `page.md#fragment`, to a heading that exists);
//! 4. `SUMMARY.md` lists every page, and every page it lists exists;
//! 5. every transcript under `tests/transcripts/` is shown by at least one page;
//! 6. the README's relative links resolve;
//! 7. every code block says what language it is in (an untagged block would be compiled
//!    as Rust by the doctests), and every page with a runnable ```rust block is
//!    registered as a doctest in `src/lib.rs`, so `cargo test` runs its examples;
//! 8. every file the prose names in inline code (`src/line.rs`, `tests/transcripts/`)
//!    exists, and every `src/file.rs:anchor` (the form Appendix A uses) names an
//!    anchor that exists.
//!
//! The listings and transcripts themselves are never copied into the book: mdBook
//! includes them when it builds, and `cargo test` replays the transcripts against the
//! server (tests/transcripts.rs). These tests check that the references still point at
//! something. Standard library only.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

// ---------------------------------------------------------------------------------------
// Files

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    repo().join("book").join("src")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every file under `dir` (recursively) whose name ends in `extension`, sorted.
fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().and_then(|e| e.to_str()) == Some(extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The pages of the book: every `.md` file under `book/src`.
fn pages() -> Vec<PathBuf> {
    let pages = files_with_extension(&book_src(), "md");
    assert!(
        !pages.is_empty(),
        "no Markdown files under {}",
        book_src().display()
    );
    pages
}

/// `path` relative to the repository, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Joins `relative` to `base` and removes `.` and `..` without touching the disk,
/// so a missing file still gets a readable name.
fn normalize(base: &Path, relative: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for component in base.join(relative).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Fails with every problem found, one per line.
fn assert_no_problems(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s)\n  {}\n",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------
// Include directives

/// What part of a file an include directive takes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    Whole,
    /// `file:10`, `file:10:20`, `file::20`, `file:10:`
    Lines(Option<usize>, Option<usize>),
    /// `file:name`, between `ANCHOR: name` and `ANCHOR_END: name`
    Anchor(String),
}

/// One `{{#include ...}}`, `{{#rustdoc_include ...}}` or `{{#playground ...}}`.
#[derive(Debug)]
struct Include {
    page: PathBuf,
    line: usize,
    text: String,
    target: PathBuf,
    selector: Selector,
}

const DIRECTIVES: [&str; 3] = ["include", "rustdoc_include", "playground"];

/// Every include directive on a page, escaped ones (`\{{#include ...}}`) excepted.
fn includes(page: &Path) -> Vec<Include> {
    includes_in(page, &read(page))
}

/// The include directives in `text`, the contents of `page`.
fn includes_in(page: &Path, text: &str) -> Vec<Include> {
    let dir = page.parent().expect("a page is in a directory");
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(start) = rest.find("{{#") {
            let escaped = line[..offset + start].ends_with('\\');
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let body = after[..end].trim();
            offset += start + 3 + end + 2;
            rest = &line[offset..];
            let (directive, argument) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
            if escaped || !DIRECTIVES.contains(&directive) {
                continue;
            }
            // The first word is the path; the playground takes attributes after it.
            let argument = argument.split_whitespace().next().unwrap_or("");
            let (path, selector) = match argument.split_once(':') {
                None => (argument, Selector::Whole),
                Some((path, rest)) => (path, parse_selector(rest)),
            };
            found.push(Include {
                page: page.to_path_buf(),
                line: n + 1,
                text: format!("{{{{#{body}}}}}"),
                target: normalize(dir, path),
                selector,
            });
        }
    }
    found
}

fn parse_selector(rest: &str) -> Selector {
    if rest.is_empty() {
        return Selector::Whole;
    }
    if rest.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        let mut parts = rest.splitn(2, ':');
        let number = |s: Option<&str>| s.filter(|s| !s.is_empty()).and_then(|s| s.parse().ok());
        let first = number(parts.next());
        let second = number(parts.next());
        return Selector::Lines(first, second);
    }
    Selector::Anchor(rest.to_string())
}

/// Every include directive in the book.
fn all_includes() -> Vec<Include> {
    pages().iter().flat_map(|page| includes(page)).collect()
}

// ---------------------------------------------------------------------------------------
// Anchors

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Start,
    End,
}

/// mdBook's anchor markers in a file: `(line, Start/End, name)`. A name is made of
/// letters, digits, `_` and `-`, as mdBook reads it.
fn markers(text: &str) -> Vec<(usize, Marker, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let (marker, rest) = if let Some(i) = line.find("ANCHOR_END:") {
            (Marker::End, &line[i + "ANCHOR_END:".len()..])
        } else if let Some(i) = line.find("ANCHOR:") {
            (Marker::Start, &line[i + "ANCHOR:".len()..])
        } else {
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        found.push((n + 1, marker, name));
    }
    found
}

/// What is wrong with anchor `name` in `text`, if anything.
fn anchor_problem(text: &str, name: &str) -> Option<String> {
    let markers = markers(text);
    let lines = |kind| -> Vec<usize> {
        markers
            .iter()
            .filter(|(_, m, n)| *m == kind && n == name)
            .map(|(line, _, _)| *line)
            .collect()
    };
    match (
        lines(Marker::Start).as_slice(),
        lines(Marker::End).as_slice(),
    ) {
        ([], _) => Some(format!("no `ANCHOR: {name}`")),
        (_, []) => Some(format!(
            "`ANCHOR: {name}` is never closed by `ANCHOR_END: {name}`"
        )),
        ([start], [end]) if end > start => None,
        ([start], [end]) => Some(format!(
            "`ANCHOR_END: {name}` (line {end}) comes before `ANCHOR: {name}` (line {start})"
        )),
        (starts, ends) => Some(format!(
            "anchor `{name}` opened at lines {starts:?} and closed at lines {ends:?}: \
             it must appear exactly once"
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Markdown

/// A fenced code block: where it starts and its info string (`rust,ignore`, `text`...).
struct Fence {
    line: usize,
    info: String,
}

/// The fences of a page, and the page with every code block and inline code span
/// blanked out (so links shown as code are not taken for links).
fn fences_and_prose(text: &str) -> (Vec<Fence>, String) {
    let mut fences = Vec::new();
    let mut prose = String::new();
    let mut open: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"]
            .into_iter()
            .find(|m| trimmed.starts_with(m) && line.len() - trimmed.len() <= 3);
        match (&open, marker) {
            (None, Some(m)) => {
                let run: String = trimmed.chars().take_while(|c| m.starts_with(*c)).collect();
                fences.push(Fence {
                    line: n + 1,
                    info: trimmed[run.len()..].trim().to_string(),
                });
                open = Some(run);
                prose.push('\n');
            }
            (Some(run), Some(_)) if trimmed.trim_end() == run.as_str() => {
                open = None;
                prose.push('\n');
            }
            (Some(_), _) => prose.push('\n'),
            (None, None) => {
                prose.push_str(&blank_inline_code(line));
                prose.push('\n');
            }
        }
    }
    (fences, prose)
}

/// Replaces the contents of `code spans` with spaces.
fn blank_inline_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// The contents of the `code spans` on a line.
fn inline_code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Link and image targets in prose: `[text](target)`, `![alt](target)`, `[ref]: target`,
/// and `src="target"` of HTML images. Returns `(line, target)`.
fn link_targets(prose: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in prose.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').unwrap_or(after.len());
            // `[text](target "title")`: the target is the first word.
            let target = after[..end].split_whitespace().next().unwrap_or("");
            found.push((n + 1, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if let Some(i) = trimmed.find("]:") {
                let target = trimmed[i + 2..].split_whitespace().next().unwrap_or("");
                found.push((n + 1, target.to_string()));
            }
        }
        let mut rest = line;
        while let Some(i) = rest.find("src=\"") {
            let after = &rest[i + 5..];
            let end = after.find('"').unwrap_or(after.len());
            found.push((n + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    found
}

fn is_external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:")
}

/// The ids mdBook gives the headings of a page: the heading's text, lowercased, spaces
/// as `-`, punctuation dropped; a repeated id gets `-1`, `-2`...
fn heading_ids(text: &str) -> BTreeSet<String> {
    let (_, prose) = fences_and_prose(text);
    let mut ids = BTreeSet::new();
    for line in text.lines().zip(prose.lines()).map(|(raw, blanked)| {
        // Headings are read from the raw text (inline code counts), but only where the
        // prose is not inside a code block.
        if blanked.trim().is_empty() && !raw.trim().is_empty() {
            ""
        } else {
            raw
        }
    }) {
        let Some(heading) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let (heading, explicit) = match heading.rfind("{#") {
            Some(i) if heading.trim_end().ends_with('}') => {
                let id = heading[i + 2..].trim_end().trim_end_matches('}');
                (&heading[..i], Some(id.to_string()))
            }
            _ => (heading, None),
        };
        let id = explicit.unwrap_or_else(|| {
            link_text(heading.trim())
                .chars()
                .filter_map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '-' {
                        Some(c.to_ascii_lowercase())
                    } else if c.is_whitespace() {
                        Some('-')
                    } else {
                        None
                    }
                })
                .collect()
        });
        let mut unique = id.clone();
        let mut n = 1;
        while ids.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        ids.insert(unique);
    }
    ids
}

/// `[text](url)` → `text`, so a heading's id is made of what the reader sees.
fn link_text(heading: &str) -> String {
    let mut out = String::new();
    let mut rest = heading;
    while let Some(i) = rest.find("](") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let end = after.find(')').map_or(after.len(), |e| e + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Checks one relative link from `from` (a file); `root` is the directory it must stay in.
fn link_problem(from: &Path, target: &str, root: &Path) -> Option<String> {
    if target.is_empty() {
        return Some("empty link target".to_string());
    }
    if is_external(target) {
        return None;
    }
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        from.to_path_buf()
    } else {
        normalize(from.parent().expect("in a directory"), path)
    };
    if !file.starts_with(root) {
        return Some(format!(
            "{target}: leads outside {} (the rendered book has only its own pages)",
            shown(root)
        ));
    }
    if !file.exists() {
        return Some(format!("{target}: {} does not exist", shown(&file)));
    }
    if let (Some(fragment), Some("md")) = (fragment, file.extension().and_then(|e| e.to_str())) {
        let ids = heading_ids(&read(&file));
        if !ids.contains(fragment) {
            return Some(format!(
                "{target}: no heading with id #{fragment} in {} (ids: {})",
                shown(&file),
                ids.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// 1. Includes resolve

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let mut problems = Vec::new();
    let includes = all_includes();
    assert!(!includes.is_empty(), "the book includes nothing at all");
    for inc in &includes {
        let at = format!("{}:{}: {}", shown(&inc.page), inc.line, inc.text);
        let Ok(text) = fs::read_to_string(&inc.target) else {
            problems.push(format!("{at}: no file {}", shown(&inc.target)));
            continue;
        };
        match &inc.selector {
            Selector::Whole => {}
            Selector::Lines(first, last) => {
                let count = text.lines().count();
                for n in [first, last].into_iter().flatten() {
                    if *n == 0 || *n > count {
                        problems.push(format!("{at}: line {n}, but the file has {count}"));
                    }
                }
            }
            Selector::Anchor(name) => {
                if let Some(problem) = anchor_problem(&text, name) {
                    problems.push(format!("{at}: in {}: {problem}", shown(&inc.target)));
                }
            }
        }
    }
    assert_no_problems(
        "include directives in book/src (add or fix the `// ANCHOR:` comments in the file)",
        problems,
    );
}

// ---------------------------------------------------------------------------------------
// 2. Anchors are unique and closed

#[test]
fn anchors_are_unique_and_closed_in_every_file() {
    let mut files = files_with_extension(&repo().join("src"), "rs");
    files.extend(files_with_extension(&repo().join("examples"), "rs"));
    for inc in all_includes() {
        if matches!(inc.selector, Selector::Anchor(_)) && !files.contains(&inc.target) {
            files.push(inc.target);
        }
    }
    let mut problems = Vec::new();
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue; // a missing file is reported by the include test
        };
        let names: BTreeSet<String> = markers(&text).into_iter().map(|(_, _, n)| n).collect();
        for name in names {
            if name.is_empty() {
                problems.push(format!("{}: an ANCHOR marker without a name", shown(file)));
            } else if let Some(problem) = anchor_problem(&text, &name) {
                problems.push(format!("{}: {problem}", shown(file)));
            }
        }
    }
    assert_no_problems("anchors in src/ and examples/", problems);
}

// ---------------------------------------------------------------------------------------
// 3. Links and images in the book

#[test]
fn book_links_and_images_resolve() {
    let root = book_src();
    let mut problems = Vec::new();
    for page in pages() {
        let (_, prose) = fences_and_prose(&read(&page));
        for (line, target) in link_targets(&prose) {
            if let Some(problem) = link_problem(&page, &target, &root) {
                problems.push(format!("{}:{line}: {problem}", shown(&page)));
            }
        }
    }
    assert_no_problems("links in book/src", problems);
}

// ---------------------------------------------------------------------------------------
// 4. SUMMARY.md and the pages agree

#[test]
fn summary_lists_every_page_and_only_pages_that_exist() {
    let root = book_src();
    let summary = root.join("SUMMARY.md");
    let (_, prose) = fences_and_prose(&read(&summary));
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for (line, target) in link_targets(&prose) {
        if target.is_empty() || is_external(&target) {
            continue;
        }
        let path = normalize(&root, target.split('#').next().unwrap_or(""));
        if !path.exists() {
            problems.push(format!(
                "SUMMARY.md:{line}: lists {target}, which does not exist \
                 (book.toml sets create-missing = false, so mdBook would fail)"
            ));
        }
        listed.insert(path);
    }
    for page in pages() {
        if page != summary && !listed.contains(&page) {
            problems.push(format!(
                "{} is not listed in SUMMARY.md, so no reader will find it",
                shown(&page)
            ));
        }
    }
    assert_no_problems("book/src/SUMMARY.md", problems);
}

// ---------------------------------------------------------------------------------------
// 5. Every transcript is in the book

#[test]
fn every_transcript_is_shown_by_some_page() {
    let transcripts = files_with_extension(&repo().join("tests").join("transcripts"), "txt");
    let included: BTreeSet<PathBuf> = all_includes().into_iter().map(|i| i.target).collect();
    let orphans: Vec<String> = transcripts
        .iter()
        .filter(|t| !included.contains(*t))
        .map(|t| {
            format!(
                "{} is replayed by cargo test but shown nowhere in the book",
                shown(t)
            )
        })
        .collect();
    assert_no_problems(
        "transcripts (include each one in the chapter about its step)",
        orphans,
    );
}

// ---------------------------------------------------------------------------------------
// 6. README links

#[test]
fn readme_links_resolve() {
    let readme = repo().join("README.md");
    let (_, prose) = fences_and_prose(&read(&readme));
    let mut problems = Vec::new();
    for (line, target) in link_targets(&prose) {
        if let Some(problem) = link_problem(&readme, &target, repo()) {
            problems.push(format!("README.md:{line}: {problem}"));
        }
    }
    assert_no_problems("links in README.md", problems);
}

// ---------------------------------------------------------------------------------------
// 7. Code blocks: tagged, and runnable ones really run

/// Whether rustdoc would compile and run a block with this info string.
fn is_runnable_rust(info: &str) -> bool {
    let words: Vec<&str> = info
        .split([',', ' '])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    words.first() == Some(&"rust")
        && !words
            .iter()
            .any(|w| matches!(*w, "ignore" | "no_run" | "compile_fail"))
}

#[test]
fn code_blocks_are_tagged_and_runnable_ones_are_doctests() {
    let lib = read(&repo().join("src").join("lib.rs"));
    let mut problems = Vec::new();
    for page in pages() {
        let (fences, _) = fences_and_prose(&read(&page));
        for fence in &fences {
            if fence.info.is_empty() {
                problems.push(format!(
                    "{}:{}: a code block without a language; say ```text, ```console, \
                     ```rust,ignore ... (rustdoc would compile an untagged block as Rust)",
                    shown(&page),
                    fence.line
                ));
            }
        }
        if fences.iter().any(|f| is_runnable_rust(&f.info)) {
            let name = page.strip_prefix(book_src()).expect("under book/src");
            let registered = format!("include_str!(\"../book/src/{}\")", name.display());
            if !lib.contains(&registered) {
                problems.push(format!(
                    "{} has a runnable ```rust block, but src/lib.rs has no \
                     `#[cfg(doctest)] #[doc = {registered}]`, so cargo test never runs it",
                    shown(&page)
                ));
            }
        }
    }
    assert_no_problems("code blocks in book/src", problems);
}

// ---------------------------------------------------------------------------------------
// 8. Files and anchors named in the prose

/// `src/line.rs:read_line` → (`src/line.rs`, Some(`read_line`)); `tests/transcripts/` →
/// (`tests/transcripts/`, None). Anything that does not look like a repository path
/// (`Line::new`, `mail/localhost/bob/new/`) gives `None`.
fn repository_reference(span: &str) -> Option<(&str, Option<&str>)> {
    let roots = ["src/", "tests/", "examples/", "book/", "benches/"];
    if !roots.iter().any(|r| span.starts_with(r)) || span.contains(char::is_whitespace) {
        return None;
    }
    match span.split_once(':') {
        Some((path, anchor))
            if !anchor.is_empty()
                && anchor
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
        {
            Some((path, Some(anchor)))
        }
        Some(_) => None,
        None => Some((span, None)),
    }
}

#[test]
fn files_and_anchors_named_in_the_prose_exist() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        let (_, prose) = fences_and_prose(&text);
        for (n, (raw, blanked)) in text.lines().zip(prose.lines()).enumerate() {
            if blanked.is_empty() && !raw.is_empty() {
                continue; // inside a code block
            }
            for span in inline_code_spans(raw) {
                let Some((path, anchor)) = repository_reference(span) else {
                    continue;
                };
                checked += 1;
                let file = repo().join(path);
                let at = format!("{}:{}: `{span}`", shown(&page), n + 1);
                if !file.exists() {
                    problems.push(format!("{at}: {path} does not exist"));
                } else if let Some(anchor) = anchor {
                    match fs::read_to_string(&file) {
                        Ok(source) => {
                            if let Some(problem) = anchor_problem(&source, anchor) {
                                problems.push(format!("{at}: {problem}"));
                            }
                        }
                        Err(e) => problems.push(format!("{at}: cannot read {path}: {e}")),
                    }
                }
            }
        }
    }
    assert!(
        checked > 0,
        "no file or anchor is named anywhere in the book?"
    );
    assert_no_problems(
        "files and anchors named in book/src (Appendix A is the main user)",
        problems,
    );
}

// ---------------------------------------------------------------------------------------
// The checkers check themselves

#[test]
fn the_parsers_read_what_mdbook_reads() {
    let text = "{{#include ../../src/a.rs:run}} and \\{{#include nope.rs}}\n\
                {{#include ../x.txt}} {{#rustdoc_include ../../src/b.rs:3:9}}";
    let found = includes_in(&book_src().join("example.md"), text);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].selector, Selector::Anchor("run".into()));
    assert_eq!(found[1].selector, Selector::Whole);
    assert_eq!(found[2].selector, Selector::Lines(Some(3), Some(9)));

    let source = "// ANCHOR: a\nx\n// ANCHOR_END: a\n// ANCHOR: b\n// ANCHOR: b\n";
    assert_eq!(anchor_problem(source, "a"), None);
    assert!(anchor_problem(source, "b").is_some());
    assert!(anchor_problem(source, "c").is_some());
    assert!(anchor_problem("// ANCHOR: ab\n// ANCHOR_END: ab\n", "a").is_some());

    let ids = heading_ids("# The `State` enum\n## What can go wrong?\n```text\n# not a heading\n```\n## What can go wrong?\n");
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        ids,
        ["the-state-enum", "what-can-go-wrong", "what-can-go-wrong-1"]
    );

    let (fences, prose) =
        fences_and_prose("see [a](a.md) and `[b](b.md)`\n```rust,ignore\n[c](c.md)\n```\n");
    assert_eq!(fences.len(), 1);
    assert_eq!(fences[0].info, "rust,ignore");
    let targets: Vec<String> = link_targets(&prose).into_iter().map(|(_, t)| t).collect();
    assert_eq!(targets, ["a.md"]);

    assert_eq!(inline_code_spans("a `b` c `d:e` f"), ["b", "d:e"]);
    assert_eq!(
        repository_reference("src/line.rs:read_line"),
        Some(("src/line.rs", Some("read_line")))
    );
    assert_eq!(
        repository_reference("tests/transcripts/"),
        Some(("tests/transcripts/", None))
    );
    assert_eq!(repository_reference("Line::new"), None);
    assert_eq!(repository_reference("mail/localhost/bob/new/"), None);

    assert!(is_runnable_rust("rust"));
    assert!(is_runnable_rust("rust,edition2021"));
    assert!(!is_runnable_rust("rust,ignore"));
    assert!(!is_runnable_rust("text"));
}
