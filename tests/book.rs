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
//!    anchor that exists;
//! 9. chapter numbers agree: exercise ids follow the chapter numbers mdBook gives in
//!    SUMMARY.md, the solutions README lists every patch under its chapter, a page that
//!    calls itself the last chapter is the last, and every transcript shows the
//!    `# command:` that reproduces it;
//! 10. every block quotation is RFC 5321's or RFC 5322's text, word for word (the two
//!     texts are kept in `tests/rfc/`);
//! 11. no listing or transcript is included twice, unless the second showing says why
//!     (`<!-- again: reason -->` on the line above);
//! 12. every chapter ends the same way: "What can go wrong", then its exercises, each
//!     opening with its goal, difficulty and time, and naming the peers (dnsmasq,
//!     smtp-sink) its tests need.
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

/// The mark that lets a listing be shown a second time: on the line just above the
/// include directive, or just above the code fence that holds it, an HTML comment
/// `<!-- again: why the reader needs it here too -->` (mdBook does not show it).
const AGAIN: &str = "<!-- again:";

/// The reason given by the `<!-- again: ... -->` mark for the include on `line` (1-based)
/// of `text`, if there is one.
fn again_reason(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut above = line.checked_sub(2)?;
    if lines.get(above)?.trim_start().starts_with("```") {
        above = above.checked_sub(1)?;
    }
    let mark = lines.get(above)?.trim();
    let reason = mark.strip_prefix(AGAIN)?.strip_suffix("-->")?.trim();
    (!reason.is_empty()).then(|| reason.to_string())
}

/// No listing or transcript is shown twice without a reason: in the order a reader meets
/// them (the order of `SUMMARY.md`), every include directive that takes the same file
/// and the same part of it as an earlier one must carry the mark [`AGAIN`] with a
/// reason. The first showing needs none. A link back to the first one is usually better.
#[test]
fn no_listing_is_included_twice_without_a_reason() {
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    let mut problems = Vec::new();
    for chapter in chapters() {
        let page = book_src().join(&chapter.file);
        let text = read(&page);
        for inc in includes_in(&page, &text) {
            let key = format!("{}:{:?}", inc.target.display(), inc.selector);
            let at = format!("{}:{}", shown(&page), inc.line);
            match seen.get(&key) {
                None => {
                    seen.insert(key, at);
                }
                Some(first) => {
                    if again_reason(&text, inc.line).is_none() {
                        problems.push(format!(
                            "{at}: {} is already shown at {first}; link to it, or say why it \
                             is shown again with `{AGAIN} reason -->` on the line above",
                            inc.text
                        ));
                    }
                }
            }
        }
    }
    assert_no_problems("listings included twice", problems);
}

#[test]
fn the_again_mark_is_read_where_it_stands() {
    let page = "<!-- again: the new arm -->\n```rust,ignore\n{{#include a.rs:x}}\n```\n\n\
                <!-- again: -->\n{{#include a.rs:y}}\ntext\n{{#include a.rs:z}}\n";
    assert_eq!(again_reason(page, 3).as_deref(), Some("the new arm"));
    assert_eq!(again_reason(page, 7), None, "an empty reason is no reason");
    assert_eq!(again_reason(page, 9), None);
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
    // `book/book/` is where mdBook writes the built book: made by a build, not kept in
    // the repository.
    let built = span.starts_with("book/book/");
    if built || !roots.iter().any(|r| span.starts_with(r)) || span.contains(char::is_whitespace) {
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

// ---------------------------------------------------------------------------------------
// 9. Chapter numbers, exercises and "the last chapter"

/// One page listed in `SUMMARY.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chapter {
    /// The number mdBook shows before the title: `[16]` for "16.", `[16, 1]` for
    /// "16.1."; empty for a prefix or suffix chapter (a link without a list marker).
    number: Vec<usize>,
    title: String,
    /// The file, relative to `book/src`.
    file: String,
}

/// The chapters of `SUMMARY.md`, in order, numbered as mdBook numbers them: every
/// `- [Title](file.md)` item is numbered, nested items `1.1`, `1.2`...; part titles
/// (`# Part`) and separators do not restart the count; links without a list marker
/// (the appendices) are not numbered.
fn chapters_of(summary: &str) -> Vec<Chapter> {
    let mut chapters = Vec::new();
    let mut counters: Vec<usize> = Vec::new();
    for line in summary.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        let (numbered, rest) = match trimmed.strip_prefix("- ").or(trimmed.strip_prefix("* ")) {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let Some(rest) = rest.strip_prefix('[') else {
            continue;
        };
        let Some((title, rest)) = rest.split_once("](") else {
            continue;
        };
        let file = rest.split(')').next().unwrap_or("").to_string();
        let number = if numbered {
            let depth = indent / 2 + 1;
            counters.truncate(depth);
            while counters.len() < depth {
                counters.push(0);
            }
            counters[depth - 1] += 1;
            counters.clone()
        } else {
            Vec::new()
        };
        chapters.push(Chapter {
            number,
            title: title.to_string(),
            file,
        });
    }
    chapters
}

fn chapters() -> Vec<Chapter> {
    chapters_of(&read(&book_src().join("SUMMARY.md")))
}

/// The exercise ids (`ex07`, `ex19a`) in `text`: `ex`, two digits, and an optional
/// lowercase letter, standing alone as a word (so `ex07_` in a test name counts, and
/// `index07` does not).
fn exercise_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("ex").map(|p| p + i) {
        i = at + 2;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric()) {
            continue;
        }
        let digits = &bytes[at + 2..(at + 4).min(bytes.len())];
        if digits.len() != 2 || !digits.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let mut end = at + 4;
        if bytes.get(end).is_some_and(u8::is_ascii_lowercase) {
            end += 1;
        }
        if bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        found.push(text[at..end].to_string());
    }
    found
}

/// The exercise ids a chapter with `count` exercises must use: `ex07` for one,
/// `ex19a`, `ex19b`... for several.
fn ids_for_chapter(number: usize, count: usize) -> Vec<String> {
    ids_for_family(number, &[count]).concat()
}

/// The ids of the exercises of top-level chapter `number` and its sections, `counts`
/// being how many `## Exercise` sections each of those pages has, in reading order
/// (the chapter's own page first). The exercises are lettered in reading order, `a`,
/// `b`, `c`...; the first one drops its `a` when it is alone on its page. So one
/// exercise is `ex07`; two on one page `ex19a`, `ex19b`; one in chapter 16 and one in
/// its section 16.1 `ex16`, `ex16b`. Adding an exercise to a section never renames
/// one that exists.
fn ids_for_family(number: usize, counts: &[usize]) -> Vec<Vec<String>> {
    let mut index = 0;
    let mut ids = Vec::new();
    for &count in counts {
        let mut page = Vec::new();
        for _ in 0..count {
            if index == 0 && count == 1 {
                page.push(format!("ex{number:02}"));
            } else {
                page.push(format!("ex{number:02}{}", (b'a' + index as u8) as char));
            }
            index += 1;
        }
        ids.push(page);
    }
    ids
}

/// `[16, 1]` → `"16.1"`.
fn dotted(number: &[usize]) -> String {
    number
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// How many `## Exercise...` sections a page has.
fn exercise_sections(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("## Exercise"))
        .count()
}

/// Every exercise id of the book, with the page (chapter or section) that sets it, as
/// [`ids_for_family`] numbers them.
fn exercise_pages(chapters: &[Chapter]) -> Vec<(String, Chapter)> {
    let mut out = Vec::new();
    let numbered: Vec<&Chapter> = chapters.iter().filter(|c| !c.number.is_empty()).collect();
    let mut i = 0;
    while i < numbered.len() {
        let top = numbered[i].number[0];
        let family: Vec<&Chapter> = numbered[i..]
            .iter()
            .take_while(|c| c.number[0] == top)
            .copied()
            .collect();
        i += family.len();
        let counts: Vec<usize> = family
            .iter()
            .map(|c| exercise_sections(&read(&book_src().join(&c.file))))
            .collect();
        for (page, ids) in family.iter().zip(ids_for_family(top, &counts)) {
            for id in ids {
                out.push((id, (*page).clone()));
            }
        }
    }
    out
}

/// **What "exercise numbers match their chapter" means.** mdBook numbers the chapters
/// of `SUMMARY.md` in order (see [`chapters_of`]): the Introduction is 1, Performance
/// the last number. A chapter's exercises are its `## Exercise...` sections, on its
/// own page and on the pages of its sections (`16.1`). Their ids are `ex` and the
/// top-level chapter's number in two digits (`ex07` in chapter 7), lettered as
/// [`ids_for_family`] says when there are several (`ex19a`, `ex19b`; `ex16` in chapter
/// 16 and `ex16b` in 16.1). So:
///
/// 1. each page with `k` exercise sections mentions, after its first one, exactly its
///    ids, and no other chapter's (the bare `ex19` may appear too: it runs all of
///    them; and so may the ids of the chapter's other pages);
/// 2. the test functions of `tests/exercises.rs` are exactly those ids (`ex19a_...`),
///    and each sits under a `// Chapter N, Title:` comment whose N is the number of
///    its page (`16.1` for a section) and whose title is the page's title in
///    `SUMMARY.md`;
/// 3. every `book/solutions/exNN-*.patch` is one of those ids (checked with the
///    README's table in `the_solutions_readme_lists_every_patch`).
#[test]
fn exercise_numbers_match_their_chapters() {
    let mut problems = Vec::new();
    let chapters = chapters();
    let pages = exercise_pages(&chapters);
    let all_ids: BTreeSet<String> = pages.iter().map(|(id, _)| id.clone()).collect();
    let mut title_of = std::collections::BTreeMap::new();
    for chapter in &chapters {
        let text = read(&book_src().join(&chapter.file));
        let count = exercise_sections(&text);
        if count == 0 {
            continue;
        }
        let number = dotted(&chapter.number);
        title_of.insert(number.clone(), chapter.title.clone());
        let wanted: BTreeSet<String> = pages
            .iter()
            .filter(|(_, page)| page == chapter)
            .map(|(id, _)| id.clone())
            .collect();
        let first = text.find("\n## Exercise").expect("counted above");
        let mut mentioned: BTreeSet<String> = exercise_ids(&text[first..]).into_iter().collect();
        if count > 1 || wanted.iter().any(|id| id.len() > 4) {
            // `cargo test --features exercises ex19` runs ex19a and ex19b: allowed.
            mentioned.remove(&format!("ex{:02}", chapter.number[0]));
        }
        // A page may point at the exercise of another page of its own chapter (16's
        // at 16.1's `ex16b`), never at another chapter's.
        mentioned.retain(|id| {
            wanted.contains(id)
                || !pages
                    .iter()
                    .any(|(other, page)| other == id && page.number[0] == chapter.number[0])
        });
        if mentioned != wanted {
            problems.push(format!(
                "{} is chapter {number} with {count} exercise(s), so its ids are {wanted:?}, \
                 but its exercise sections name {mentioned:?}",
                chapter.file
            ));
        }
    }

    let tests = read(&repo().join("tests").join("exercises.rs"));
    let mut heading: Option<String> = None;
    let mut tested = BTreeSet::new();
    for (n, line) in tests.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("// Chapter ") {
            let number = rest.split(',').next().unwrap_or("");
            if number.is_empty() || !number.split('.').all(|p| p.parse::<usize>().is_ok()) {
                problems.push(format!(
                    "tests/exercises.rs:{}: \"// Chapter {rest}\": no chapter number",
                    n + 1
                ));
                continue;
            }
            // "// Chapter 19, Reading mail: POP3 (...)": the title as in SUMMARY.md.
            let named = title_of.get(number).is_some_and(|title| {
                rest.strip_prefix(&format!("{number}, {title}"))
                    .is_some_and(|after| after.starts_with([':', ' ']))
            });
            if !named {
                problems.push(format!(
                    "tests/exercises.rs:{}: \"// Chapter {rest}\", but chapter {number} \
                     with exercises is {:?} in SUMMARY.md",
                    n + 1,
                    title_of.get(number)
                ));
            }
            heading = Some(number.to_string());
        }
        if let Some(name) = line
            .trim_start()
            .strip_prefix("fn ex")
            .filter(|name| name.starts_with(|c: char| c.is_ascii_digit()))
        {
            let id = exercise_ids(&format!("ex{name}"))
                .into_iter()
                .next()
                .unwrap_or_default();
            match pages.iter().find(|(i, _)| *i == id) {
                None => problems.push(format!(
                    "tests/exercises.rs:{}: fn ex{}: {id:?} is no chapter's exercise id",
                    n + 1,
                    name.split('(').next().unwrap_or("")
                )),
                Some((_, page)) if heading.as_deref() != Some(&dotted(&page.number)) => problems
                    .push(format!(
                        "tests/exercises.rs:{}: {id} (chapter {}) sits under the comment for \
                         chapter {heading:?}",
                        n + 1,
                        dotted(&page.number)
                    )),
                Some(_) => {}
            }
            tested.insert(id);
        }
    }
    for id in all_ids.difference(&tested) {
        problems.push(format!(
            "{id}: the book has this exercise, tests/exercises.rs has no {id}_ test"
        ));
    }
    assert_no_problems("exercise ids and chapter numbers", problems);
}

/// The line under every `## Exercise` heading says what the exercise teaches, how hard
/// it is and how long it takes, in this form (difficulty `easy`, `medium` or `hard`;
/// a time in minutes or hours):
///
/// ```text
/// **Goal:** what you learn. · **Difficulty:** medium · **Time:** about 1 hour
/// ```
///
/// Exercises that need a peer (dnsmasq, smtp-sink) say so in their text.
#[test]
fn every_exercise_states_its_goal_difficulty_and_time() {
    let mut problems = Vec::new();
    let mut exercises = 0;
    for page in pages() {
        let text = read(&page);
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if !line.starts_with("## Exercise") {
                continue;
            }
            exercises += 1;
            let at = format!("{}:{}", shown(&page), n + 1);
            let first = lines[n + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .copied()
                .unwrap_or("");
            if let Some(problem) = exercise_header_problem(first) {
                problems.push(format!("{at}: {problem}: {first:?}"));
            }
            let section: Vec<&str> = lines[n + 1..]
                .iter()
                .take_while(|l| !l.starts_with("## "))
                .copied()
                .collect();
            let section = section.join("\n");
            for (peer, word) in [
                ("peers::Dnsmasq", "dnsmasq"),
                ("peers::SmtpSink", "smtp-sink"),
            ] {
                let ids = exercise_ids(&section);
                if needs_peer(&ids, peer) && !section.contains(word) {
                    problems.push(format!(
                        "{at}: the tests of {ids:?} start {word}, but the exercise does not say \
                         that it needs {word}"
                    ));
                }
            }
        }
    }
    assert!(exercises > 0, "no exercise in the book?");
    assert_no_problems("exercise headers (goal, difficulty, time)", problems);
}

/// Every chapter ends the same way: on a page with exercises, the section just before
/// the first `## Exercise` is `## What can go wrong`, and nothing but exercises follows.
#[test]
fn every_chapter_with_an_exercise_ends_the_same_way() {
    let mut problems = Vec::new();
    for page in pages() {
        let text = read(&page);
        let (_, prose) = fences_and_prose(&text);
        let sections: Vec<&str> = prose.lines().filter(|l| l.starts_with("## ")).collect();
        let Some(first) = sections.iter().position(|s| s.starts_with("## Exercise")) else {
            continue;
        };
        if first == 0 || sections[first - 1].trim_end() != "## What can go wrong" {
            problems.push(format!(
                "{}: the section before the first exercise is {:?}, not \"## What can go wrong\"",
                shown(&page),
                first.checked_sub(1).map(|i| sections[i])
            ));
        }
        if let Some(after) = sections[first..]
            .iter()
            .find(|s| !s.starts_with("## Exercise"))
        {
            problems.push(format!(
                "{}: {after:?} comes after the exercises; they end the chapter",
                shown(&page)
            ));
        }
    }
    assert_no_problems("how chapters end", problems);
}

/// What is wrong with the first line of an exercise section, if anything.
fn exercise_header_problem(line: &str) -> Option<&'static str> {
    let Some(rest) = line.strip_prefix("**Goal:** ") else {
        return Some("the first line under an exercise heading starts with `**Goal:** `");
    };
    let Some((goal, rest)) = rest.split_once(" · **Difficulty:** ") else {
        return Some("no ` · **Difficulty:** ` after the goal");
    };
    if goal.trim().len() < 10 {
        return Some("the goal says too little");
    }
    let Some((difficulty, time)) = rest.split_once(" · **Time:** ") else {
        return Some("no ` · **Time:** ` after the difficulty");
    };
    if !matches!(difficulty.trim(), "easy" | "medium" | "hard") {
        return Some("the difficulty is `easy`, `medium` or `hard`");
    }
    if !time.contains(|c: char| c.is_ascii_digit())
        || !(time.contains("minute") || time.contains("hour"))
    {
        return Some("the time is a number of minutes or hours");
    }
    None
}

/// Does any test of `ids` in tests/exercises.rs mention `peer` (`peers::Dnsmasq`)?
fn needs_peer(ids: &[String], peer: &str) -> bool {
    let tests = read(&repo().join("tests").join("exercises.rs"));
    let mut current: Option<String> = None;
    for line in tests.lines() {
        if let Some(name) = line.strip_prefix("fn ex") {
            current = exercise_ids(&format!("ex{name}")).into_iter().next();
        } else if line.starts_with("// ---") {
            current = None;
        }
        if line.contains(peer) && current.as_ref().is_some_and(|c| ids.contains(c)) {
            return true;
        }
    }
    false
}

/// Every `book/solutions/exNN-*.patch` is a row of the table in
/// `book/solutions/README.md`, every row names a patch that exists, and each row's
/// chapter (`19, Reading mail: POP3`) is the number and title of that chapter in
/// `SUMMARY.md`, the chapter of the patch's exercise id.
#[test]
fn the_solutions_readme_lists_every_patch() {
    let dir = repo().join("book").join("solutions");
    let readme = read(&dir.join("README.md"));
    let pages = exercise_pages(&chapters());
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for (n, line) in readme.lines().enumerate() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(patch) = cells
            .get(1)
            .and_then(|c| c.strip_prefix('`'))
            .and_then(|c| c.strip_suffix(".patch`"))
        else {
            continue;
        };
        let at = format!("book/solutions/README.md:{}", n + 1);
        let patch = format!("{patch}.patch");
        if !dir.join(&patch).exists() {
            problems.push(format!("{at}: {patch} does not exist"));
        }
        let id = exercise_ids(&patch).into_iter().next().unwrap_or_default();
        let chapter = cells.get(2).copied().unwrap_or("");
        let wanted = pages
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| format!("{}, {}", dotted(&c.number), c.title));
        if wanted.as_deref() != Some(chapter) {
            problems.push(format!(
                "{at}: {patch} is listed under chapter {chapter:?}; SUMMARY.md says {wanted:?}"
            ));
        }
        listed.insert(patch);
    }
    let mut patches = 0;
    for entry in fs::read_dir(&dir).expect("book/solutions").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".patch") {
            patches += 1;
            if !listed.contains(&name) {
                problems.push(format!(
                    "book/solutions/{name} is not in the table of book/solutions/README.md"
                ));
            }
        }
    }
    assert!(patches > 0, "no patches in book/solutions");
    assert_no_problems("book/solutions/README.md", problems);
}

/// Words with which a page calls *itself* the book's last chapter.
const SAYS_IT_IS_LAST: [&str; 5] = [
    "this last chapter",
    "this final chapter",
    "this is the last chapter",
    "the last chapter of the book",
    "the book's last chapter",
];

/// A page that calls itself the last chapter (any phrase of [`SAYS_IT_IS_LAST`],
/// ignoring case and line breaks) must be the last numbered chapter of `SUMMARY.md`.
#[test]
fn a_chapter_that_says_it_is_last_is_last() {
    let chapters = chapters();
    let last = chapters
        .iter()
        .rev()
        .find(|c| !c.number.is_empty())
        .expect("numbered chapters");
    let mut problems = Vec::new();
    for page in pages() {
        let text = read(&page)
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let name = page.strip_prefix(book_src()).expect("under book/src");
        for phrase in SAYS_IT_IS_LAST {
            if text.contains(phrase) && name != Path::new(&last.file) {
                problems.push(format!(
                    "{}: says {phrase:?}, but the last chapter is {} ({})",
                    shown(&page),
                    last.file,
                    last.title
                ));
            }
        }
    }
    assert_no_problems("chapters that call themselves the last", problems);
}

/// Every transcript says how to reproduce it: at least one `# command:` line (the
/// last one starts postie, with `cargo run -- `; tests/transcripts.rs checks that its
/// flags agree with the `# config:` line), and every page that shows a transcript
/// includes the whole file, so the reader sees the command above the dialogue.
#[test]
fn every_transcript_shows_the_command_that_reproduces_it() {
    let mut problems = Vec::new();
    for transcript in files_with_extension(&repo().join("tests").join("transcripts"), "txt") {
        let text = read(&transcript);
        let commands: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# command: "))
            .collect();
        match commands.last() {
            None => problems.push(format!(
                "{}: no `# command:` line: which postie does this transcript need?",
                shown(&transcript)
            )),
            Some(last) if !last.starts_with("cargo run -- ") => problems.push(format!(
                "{}: the last `# command:` must start postie with `cargo run -- `: {last:?}",
                shown(&transcript)
            )),
            Some(_) => {}
        }
    }
    for inc in all_includes() {
        let is_transcript = inc
            .target
            .starts_with(repo().join("tests").join("transcripts"));
        if is_transcript && inc.selector != Selector::Whole {
            problems.push(format!(
                "{}:{}: {} shows part of a transcript; include it whole, so that its \
                 `# command:` lines are shown",
                shown(&inc.page),
                inc.line,
                inc.text
            ));
        }
    }
    assert_no_problems("transcripts and their command lines", problems);
}

#[test]
fn the_summary_and_exercise_parsers_read_what_they_should() {
    let summary = "# Summary\n\n- [Intro](intro.md)\n\n# Part\n\n- [A](a.md)\n  - [A1](a1.md)\n\
                   - [B](b.md)\n\n---\n\n[Appendix](app.md)\n";
    let numbers: Vec<(Vec<usize>, String)> = chapters_of(summary)
        .into_iter()
        .map(|c| (c.number, c.file))
        .collect();
    assert_eq!(
        numbers,
        [
            (vec![1], "intro.md".to_string()),
            (vec![2], "a.md".to_string()),
            (vec![2, 1], "a1.md".to_string()),
            (vec![3], "b.md".to_string()),
            (vec![], "app.md".to_string()),
        ]
    );
    assert_eq!(
        exercise_ids("`ex07`, ex19a_x, ex19b-login.patch, index07, ex7, ex123, next01"),
        ["ex07", "ex19a", "ex19b"]
    );
    assert_eq!(ids_for_chapter(7, 1), ["ex07"]);
    assert_eq!(ids_for_chapter(19, 2), ["ex19a", "ex19b"]);
    assert_eq!(ids_for_family(16, &[1, 1]), [vec!["ex16"], vec!["ex16b"]]);
    assert_eq!(
        ids_for_family(15, &[0, 1, 0]),
        [vec![], vec!["ex15"], vec![]]
    );
    assert_eq!(
        ids_for_family(17, &[2, 1]),
        [vec!["ex17a", "ex17b"], vec!["ex17c"]]
    );
    assert_eq!(dotted(&[16, 1]), "16.1");
    assert_eq!(
        exercise_header_problem(
            "**Goal:** see a limit hold. · **Difficulty:** easy · **Time:** 30 minutes"
        ),
        None
    );
    assert!(exercise_header_problem("Goal: x").is_some());
    assert!(exercise_header_problem(
        "**Goal:** see a limit hold. · **Difficulty:** trivial · **Time:** 30 minutes"
    )
    .is_some());
}

// ---------------------------------------------------------------------------------------
// 10. Quotations

/// RFC 5321 and RFC 5322 as the IETF publishes them, kept in `tests/rfc/` (the IETF
/// Trust lets RFCs be copied whole), so the check runs wherever the repository does.
fn rfc_texts() -> Vec<(String, String)> {
    let dir = repo().join("tests").join("rfc");
    ["rfc5321.txt", "rfc5322.txt"]
        .into_iter()
        .map(|name| {
            let text = fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("tests/rfc/{name}: {e}"));
            (name.to_string(), comparable(&without_page_breaks(&text)))
        })
        .collect()
}

/// An RFC's text without the form feeds and the running header and footer of each page
/// (`RFC 5321   SMTP   October 2008`, `Klensin   Standards Track   [Page 41]`).
fn without_page_breaks(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let line = line.trim();
            let footer = line.ends_with(']') && line.contains("[Page ");
            let header = line.starts_with("RFC ") && line.contains("  ") && {
                let year = line.rsplit(' ').next().unwrap_or("");
                year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())
            };
            !footer && !header
        })
        .map(|line| line.trim_start_matches('\u{c}'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text as it reads: Markdown escapes (`\<`) removed, white space collapsed to single
/// spaces, and a word broken at a hyphen across two lines (`EHLO-` / `style`) joined.
fn comparable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|n| n.is_ascii_punctuation()) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space && !(out.ends_with('-') && out[..out.len() - 1].ends_with(char::is_alphanumeric)) {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// The block quotations of a page (`> ` lines outside code blocks), with their first
/// line, as they read.
fn block_quotes(text: &str) -> Vec<(usize, String)> {
    let (_, prose) = fences_and_prose(text);
    let mut quotes = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, (raw, blanked)) in text.lines().zip(prose.lines()).enumerate() {
        let in_code = blanked.is_empty() && !raw.is_empty();
        match raw.trim_start().strip_prefix('>').filter(|_| !in_code) {
            Some(rest) => {
                let quote = current.get_or_insert_with(|| (n + 1, String::new()));
                quote.1.push_str(rest);
                quote.1.push('\n');
            }
            None => quotes.extend(current.take()),
        }
    }
    quotes.extend(current);
    quotes
        .into_iter()
        .map(|(line, quote)| (line, comparable(&quote)))
        .collect()
}

/// Every block quotation in the book is RFC 5321's or RFC 5322's text, word for word
/// (white space and line breaks aside). Words from other RFCs are quoted inline, with
/// the RFC named, since the project keeps only these two texts (`tests/rfc/`).
#[test]
fn block_quotations_are_the_rfc_word_for_word() {
    let rfcs = rfc_texts();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for (line, quote) in block_quotes(&read(&page)) {
            checked += 1;
            if !rfcs.iter().any(|(_, text)| text.contains(&quote)) {
                problems.push(format!(
                    "{}:{line}: not in RFC 5321 or RFC 5322 as written: {:?}",
                    shown(&page),
                    quote.chars().take(100).collect::<String>()
                ));
            }
        }
    }
    assert!(checked > 0, "no block quotation in the whole book?");
    assert_no_problems("block quotations in book/src", problems);
}

#[test]
fn quotations_are_compared_as_they_read() {
    assert_eq!(
        comparable("the extended EHLO-\n   style response, \\<CRLF>  and\nmore"),
        "the extended EHLO-style response, <CRLF> and more"
    );
    assert_eq!(comparable("a - b"), "a - b");
    let page = "> one\n> two\n\ntext\n```text\n> not a quote\n```\n>three\n";
    assert_eq!(
        block_quotes(page),
        [(1, "one two".to_string()), (8, "three".to_string())]
    );
    let rfc = "Klensin                     Standards Track                    [Page 41]\n\
               \u{c}\nRFC 5321                          SMTP                      October 2008\n\
               text";
    assert_eq!(without_page_breaks(rfc).trim(), "text");
}
