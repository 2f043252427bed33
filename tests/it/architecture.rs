//! The layering of docs/architecture.md, kept by reading the source: no import cycle between
//! top-level modules, clap only in the command layer (and the option sets it flattens), stdout only
//! in the command layer, the results document a leaf (util only), and no function over 150 lines.
//! Comments and `#[cfg(test)]` modules are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest function allowed anywhere in src/.
const MAX_FN_LINES: usize = 150;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file: comments and string literals blanked, everything from the first
/// `#[cfg(test)]` on dropped (test modules sit at the end of a file).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            // A string literal (raw strings in src/ hold no quotes that matter here).
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '{' (lifetimes have no closing quote two bytes on).
            out.push_str("' '");
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

struct Source {
    /// Path under src/, e.g. "cmd/qualify.rs".
    rel: String,
    /// Top-level module, e.g. "cmd" ("main" and "lib" for the roots).
    module: String,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under src")
                .to_string_lossy()
                .into_owned();
            let module = rel
                .split('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&p).expect("readable source");
            Source {
                rel,
                module,
                code: code_of(&text),
            }
        })
        .collect()
}

/// `needle` in `code` not preceded by an identifier character (so `print!` is not `eprint!`).
fn contains_word(code: &str, needle: &str) -> bool {
    code.match_indices(needle).any(|(i, _)| {
        !code[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Top-level modules a file names: `crate::x`, `crate::{x, y::…}`, and from a top-level module's
/// own root, `super::x`.
fn deps(src: &Source) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut names = |prefix: &str| {
        for (i, _) in src.code.match_indices(prefix) {
            let before = src.code[..i].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &src.code[i + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for part in group.split(',') {
                    let n = ident_at(part.trim());
                    if !n.is_empty() && n != "self" {
                        out.insert(n.to_string());
                    }
                }
            } else {
                let n = ident_at(rest);
                if !n.is_empty() {
                    out.insert(n.to_string());
                }
            }
        }
    };
    names("crate::");
    let is_root = src.rel.matches('/').count() == 1 && src.rel.ends_with("/mod.rs");
    if is_root {
        names("super::");
    }
    out.remove(&src.module);
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources() {
        if s.module == "main" || s.module == "lib" {
            continue;
        }
        g.entry(s.module.clone()).or_default().extend(deps(&s));
    }
    g
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    g: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let here = path.last().cloned().unwrap_or_else(|| start.to_string());
    for next in g.get(&here).into_iter().flatten() {
        if next == start {
            let mut c = path.clone();
            c.insert(0, start.to_string());
            c.push(start.to_string());
            return Some(c);
        }
        if !path.contains(next) && next != start {
            path.push(next.clone());
            if let Some(c) = cycle_from(g, start, path) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let g = graph();
    for m in g.keys() {
        if let Some(c) = cycle_from(&g, m, &mut Vec::new()) {
            panic!("import cycle: {}", c.join(" → "));
        }
    }
}

#[test]
fn the_results_document_imports_only_util() {
    let g = graph();
    let bad: Vec<&String> = g["results"].iter().filter(|d| *d != "util").collect();
    assert!(
        bad.is_empty(),
        "src/results imports {bad:?}; it may import util only"
    );
}

#[test]
fn util_imports_only_error() {
    let g = graph();
    let bad: Vec<&String> = g["util"].iter().filter(|d| *d != "error").collect();
    assert!(
        bad.is_empty(),
        "src/util imports {bad:?}; it may import error only"
    );
}

#[test]
fn no_domain_module_imports_the_command_layer_or_the_terminal_text() {
    for (m, d) in graph() {
        if m != "cmd" {
            assert!(!d.contains("cmd"), "src/{m} imports the command layer");
        }
        if !["cmd", "ui"].contains(&m.as_str()) {
            assert!(
                !d.contains("ui"),
                "src/{m} imports ui (only the command layer draws)"
            );
        }
    }
}

#[test]
fn clap_only_in_the_command_layer_and_the_option_sets() {
    for s in sources() {
        if ["cmd", "options"].contains(&s.module.as_str()) {
            continue;
        }
        for needle in ["clap::", "#[arg(", "#[command("] {
            assert!(
                !s.code.contains(needle),
                "src/{} uses clap ({needle}); arguments belong in src/cmd (or src/options)",
                s.rel
            );
        }
    }
}

#[test]
fn stdout_only_in_the_command_layer() {
    for s in sources() {
        if s.module == "cmd" {
            continue;
        }
        for needle in ["println!", "print!", "stdout()", "io::stdout"] {
            assert!(
                !contains_word(&s.code, needle),
                "src/{} writes to stdout ({needle}); only src/cmd prints",
                s.rel
            );
        }
    }
}

#[test]
fn no_function_over_the_limit() {
    let mut long = Vec::new();
    for s in sources() {
        let lines: Vec<&str> = s.code.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let t = t.strip_prefix("pub ").unwrap_or(t);
            let t = t.strip_prefix("pub(crate) ").unwrap_or(t);
            let t = t.strip_prefix("async ").unwrap_or(t);
            let Some(rest) = t.strip_prefix("fn ") else {
                continue;
            };
            let name = ident_at(rest);
            let (mut depth, mut opened) = (0i32, false);
            let mut end = i;
            for (j, l2) in lines.iter().enumerate().skip(i) {
                for c in l2.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                end = j;
                if (opened && depth <= 0) || (!opened && l2.trim_end().ends_with(';')) {
                    break;
                }
            }
            let n = end - i + 1;
            if n > MAX_FN_LINES {
                long.push(format!("src/{}:{} fn {name}: {n} lines", s.rel, i + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}
