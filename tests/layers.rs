//! The layering rules of `docs/architecture/overview.md`, checked on the source: every
//! `crate::…` and `super::…` path under `src/` (in `use` lines and inline), outside
//! `#[cfg(test)]` items, is resolved to the module and file it names, and a test fails
//! naming the file and line of any import that points up a layer, breaks one of the
//! special rules, or makes two files import each other.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom to top, by top-level module.
const LAYERS: &[(&str, u8)] = &[
    ("model", 1),
    ("hex", 1),
    ("timefmt", 1),
    ("phone", 1),
    ("config", 1),
    ("metrics", 1),
    ("terminal", 1),
    ("redact", 1),
    ("store", 2),
    ("webhook", 2),
    ("meta", 2),
    ("messaging", 3),
    ("http", 4),
    ("mcp", 4),
    ("cli", 4),
    ("doctor", 4),
    ("bench", 4),
];

/// Top-level modules each module may never import, whatever the layers say.
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "mcp",
        &["store", "webhook", "meta"],
        "mcp/ reaches data only through messaging/",
    ),
    (
        "http",
        &["meta"],
        "http/ reaches Meta only through messaging/",
    ),
];

/// The command dispatcher: the one transport that may start the others.
const DISPATCHER: &str = "cli";

fn layer(top: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == top).map(|(_, l)| *l)
}

/// One import found in a file.
#[derive(Debug, Clone)]
struct Import {
    line: usize,
    /// The module path it names, e.g. `["store", "threads"]`.
    path: Vec<String>,
}

/// A source file and the module path it holds.
struct SourceFile {
    rel: String,
    module: Vec<String>,
    is_mod_file: bool,
    imports: Vec<Import>,
}

#[test]
fn modules_import_only_layers_below_and_never_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_sources(&root);
    let problems = check(&files);
    assert!(
        problems.is_empty(),
        "layering rules broken (docs/architecture/overview.md):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_an_upward_import_and_a_pair_of_files_importing_each_other() {
    let files = vec![
        source("store/a.rs", "use crate::messaging::Messaging;\n"),
        source(
            "mcp/x.rs",
            "fn f() { let _ = crate::store::read::page(); }\n",
        ),
        source("webhook/p.rs", "use super::q::Q;\n"),
        source("webhook/q.rs", "use crate::webhook::p::P;\n"),
        source(
            "model/ok.rs",
            "#[cfg(test)]\nmod tests {\n    use crate::store::Store;\n}\n// crate::store::Store\nconst S: &str = \"crate::store::x\";\n",
        ),
    ];
    let problems = check(&files);
    let joined = problems.join("\n");
    assert!(joined.contains("src/store/a.rs:1"), "{joined}");
    assert!(joined.contains("src/mcp/x.rs:1"), "{joined}");
    assert!(
        joined.contains("src/webhook/p.rs") && joined.contains("each other"),
        "{joined}"
    );
    assert!(
        !joined.contains("model/ok.rs"),
        "tests, comments and strings are not imports: {joined}"
    );
    assert_eq!(problems.len(), 3, "{joined}");
}

fn source(rel: &str, text: &str) -> SourceFile {
    let (module, is_mod_file) = module_of(rel);
    SourceFile {
        rel: rel.to_owned(),
        imports: imports_of(&module, text),
        module,
        is_mod_file,
    }
}

fn read_sources(root: &Path) -> Vec<SourceFile> {
    let mut paths = Vec::new();
    walk(root, &mut paths);
    paths
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            if rel == "lib.rs" || rel == "main.rs" {
                return None;
            }
            let text = fs::read_to_string(&p).ok()?;
            Some(source(&rel, &text))
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `store/threads.rs` → (`store::threads`, false); `store/mod.rs` → (`store`, true).
fn module_of(rel: &str) -> (Vec<String>, bool) {
    let stem = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    let is_mod = parts.last().is_some_and(|p| p == "mod");
    if is_mod {
        parts.pop();
    }
    (parts, is_mod)
}

fn check(files: &[SourceFile]) -> Vec<String> {
    let known: BTreeMap<Vec<String>, &str> = files
        .iter()
        .map(|f| (f.module.clone(), f.rel.as_str()))
        .collect();
    let mut problems = Vec::new();
    // file -> (file it imports -> first line)
    let mut edges: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for f in files {
        let Some(from_top) = f.module.first() else {
            continue;
        };
        for imp in &f.imports {
            let Some(to_top) = imp.path.first() else {
                continue;
            };
            if let Some(why) = rule_broken(from_top, to_top) {
                problems.push(format!(
                    "src/{}:{}: imports crate::{}: {why}",
                    f.rel,
                    imp.line,
                    imp.path.join("::")
                ));
            }
            if let Some(target) = resolve(&known, &imp.path)
                && target != f.rel
                && !is_parent_or_child(f, target, &known)
            {
                edges
                    .entry(&f.rel)
                    .or_default()
                    .entry(target)
                    .or_insert(imp.line);
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (a, targets) in &edges {
        for (b, line) in targets {
            if let Some(back) = edges.get(b).and_then(|t| t.get(a))
                && seen.insert((a.min(b).to_string(), a.max(b).to_string()))
            {
                problems.push(format!(
                    "src/{a}:{line} and src/{b}:{back} import each other"
                ));
            }
        }
    }
    problems
}

/// Why `from` may not import `to`, or `None` when it may.
fn rule_broken(from: &str, to: &str) -> Option<String> {
    if from == to {
        return None;
    }
    for (module, banned, why) in FORBIDDEN {
        if *module == from && banned.contains(&to) {
            return Some((*why).to_owned());
        }
    }
    let (Some(lf), Some(lt)) = (layer(from), layer(to)) else {
        return Some(format!(
            "{from}/ or {to}/ has no layer in docs/architecture/overview.md"
        ));
    };
    if lt > lf {
        return Some(format!(
            "{from}/ (layer {lf}) uses {to}/ (layer {lt}), above it"
        ));
    }
    if lt == lf && lf > 1 && from != DISPATCHER {
        return Some(format!(
            "{from}/ and {to}/ share layer {lf}: neither may use the other"
        ));
    }
    None
}

/// The file `path` names: the longest prefix of it that is a module of ours.
fn resolve<'a>(known: &BTreeMap<Vec<String>, &'a str>, path: &[String]) -> Option<&'a str> {
    (1..=path.len())
        .rev()
        .find_map(|n| known.get(&path[..n]).copied())
}

/// A `mod.rs` declaring and using its children, and children using their parent's
/// items, is how Rust nests modules, not a pair of peers importing each other.
fn is_parent_or_child(f: &SourceFile, target: &str, known: &BTreeMap<Vec<String>, &str>) -> bool {
    let Some((target_module, _)) = known.iter().find(|(_, rel)| **rel == target) else {
        return false;
    };
    let parent_of = |child: &[String], parent: &[String]| {
        child.len() == parent.len() + 1 && child.starts_with(parent)
    };
    (f.is_mod_file && parent_of(target_module, &f.module))
        || (target.ends_with("mod.rs") && parent_of(&f.module, target_module))
}

/// Every `crate::` and `super::` path in `text` outside `#[cfg(test)]` items, comments
/// and literals, resolved to a path from the crate root.
fn imports_of(module: &[String], text: &str) -> Vec<Import> {
    let code = drop_test_items(&blank_comments_and_literals(text));
    let mut out = Vec::new();
    // `use` trees may span lines: expand each one, then find inline paths elsewhere.
    let mut rest = code.as_str();
    let mut offset = 0;
    let mut use_spans = Vec::new();
    while let Some(pos) = find_word(rest, "use") {
        let start = offset + pos;
        let Some(end) = code[start..].find(';').map(|e| start + e) else {
            break;
        };
        let tree = &code[start + 3..end];
        let line = code[..start].matches('\n').count() + 1;
        for path in expand_use_tree(tree.trim()) {
            if let Some(p) = absolute(module, &path) {
                out.push(Import { line, path: p });
            }
        }
        use_spans.push((start, end));
        offset = end + 1;
        rest = &code[offset..];
    }
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(pos) = code[from..].find(root) {
            let at = from + pos;
            from = at + root.len();
            let preceded = code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            if preceded || use_spans.iter().any(|(s, e)| at >= *s && at <= *e) {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let line = code[..at].matches('\n').count() + 1;
            if let Some(p) = absolute(module, &segments) {
                out.push(Import { line, path: p });
            }
        }
    }
    out
}

/// `crate::a::b` → `[a, b]`; `super::x` from `m::n` → `[m, x]`; anything else (a
/// dependency, `self::`, `std::`) → `None`.
fn absolute(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "super" => module.to_vec(),
        _ => return None,
    };
    let mut rest = if path[0] == "crate" { &path[1..] } else { path };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    (!base.is_empty()).then_some(base)
}

/// The paths a `use` tree names: `crate::{a::{b, c}, d}` → `crate::a::b`, `crate::a::c`,
/// `crate::d`.
fn expand_use_tree(tree: &str) -> Vec<Vec<String>> {
    // Renames (`a::b as c`) name the same module: drop `as c`, keep the punctuation.
    let mut words = tree.split_whitespace().peekable();
    let mut kept = String::new();
    while let Some(word) = words.next() {
        if word == "as" {
            if let Some(alias) = words.next() {
                kept.extend(
                    alias
                        .chars()
                        .filter(|c| !(c.is_alphanumeric() || *c == '_')),
                );
            }
        } else {
            kept.push_str(word);
        }
    }
    let tree = kept;
    let tree = tree.strip_prefix("::").unwrap_or(&tree).to_owned();
    let mut out = Vec::new();
    expand(&tree, &mut Vec::new(), &mut out);
    out
}

fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree.find('{') {
        None => {
            let mut path = prefix.clone();
            path.extend(
                tree.split("::")
                    .filter(|s| !s.is_empty() && *s != "*" && *s != "self")
                    .map(str::to_owned),
            );
            out.push(path);
        }
        Some(open) => {
            let head: Vec<String> = tree[..open]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let depth = prefix.len();
            prefix.extend(head);
            for part in split_top_level(inner) {
                if !part.is_empty() {
                    expand(part, prefix, out);
                }
            }
            prefix.truncate(depth);
        }
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = s[from..].find(word) {
        let at = from + pos;
        let before = s[..at].chars().next_back();
        let after = s[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `text` with comments, string and char literals replaced by spaces (newlines kept,
/// so line numbers stay right).
fn blank_comments_and_literals(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && !ident_before(&b, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &b[i..j.min(b.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&b, i) {
            // `'x'` ends two further on; an escape (`'\n'`, `'\''`, `'\u{..}'`) at the
            // first quote after the escaped character.
            let end = if b[i + 1] == '\\' {
                (i + 3..b.len())
                    .find(|&k| b[k] == '\'')
                    .unwrap_or(b.len() - 1)
            } else {
                i + 2
            };
            for _ in i..=end {
                out.push(' ');
            }
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// `'x'`, `'\n'`, `'\u{1F600}'` rather than a lifetime `'a`.
fn is_char_literal(b: &[char], i: usize) -> bool {
    matches!(
        (b.get(i + 1), b.get(i + 2)),
        (Some('\\'), _) | (Some(_), Some('\''))
    )
}

/// `code` with every item under `#[cfg(test)]` replaced by spaces.
fn drop_test_items(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: String = out.iter().collect();
    let mut from = 0;
    while let Some(pos) = text[from..].find("#[cfg(test)]") {
        let start = from + pos;
        let chars_start = text[..start].chars().count();
        let after: Vec<char> = text[start..].chars().collect();
        let mut depth = 0;
        let mut end = after.len();
        for (k, ch) in after.iter().enumerate().skip("#[cfg(test)]".len()) {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k;
                    break;
                }
                _ => {}
            }
        }
        for slot in out.iter_mut().skip(chars_start).take(end + 1) {
            if *slot != '\n' {
                *slot = ' ';
            }
        }
        from = start + "#[cfg(test)]".len();
    }
    out.into_iter().collect()
}
