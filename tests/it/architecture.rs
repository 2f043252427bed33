//! The layering of docs/architecture.md, kept by reading the source: no import cycle between
//! top-level modules nor (beyond a list that may only shrink) between files, clap only in the
//! command layer (and the option sets it flattens), stdout only in the command layer, the results
//! document a leaf (util only), no function over 150 lines and none over 80 beyond a list that may
//! only shrink. And the tests themselves: one test crate, skips in one spelling.
//! Comments and `#[cfg(test)]` modules are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest function allowed anywhere in src/.
const MAX_FN_LINES: usize = 150;

/// Longest function allowed in src/ outside [`LONG_FUNCTIONS`].
const LONG_FN_LINES: usize = 80;

/// Functions over [`LONG_FN_LINES`] as of issue 21 (file, function, lines), longest first. This
/// list may only shrink: a listed function may not grow, and one split below the limit (or gone)
/// must leave the list (the test says which). Split a function rather than add it here.
const LONG_FUNCTIONS: &[(&str, &str, usize)] = &[
    ("cluster/run.rs", "steps", 148),
    ("ui/cluster.rs", "text", 137),
    ("disk/mod.rs", "run_workloads", 135),
    ("qualify/mod.rs", "run", 131),
    ("options/disk.rs", "resolve", 122),
    ("score/mod.rs", "judge_undersampled", 121),
    ("etcd/config.rs", "resolve_load", 117),
    ("ui/etcd.rs", "text", 117),
    ("etcd/probe.rs", "run", 116),
    ("cluster/member.rs", "start", 110),
    ("cluster/run.rs", "join", 107),
    ("cmd/qualify.rs", "run", 107),
    ("disk/mod.rs", "fold", 107),
    ("ui/verdict.rs", "render", 107),
    ("etcd/probe.rs", "assemble", 105),
    ("options/etcd.rs", "to_args", 104),
    ("score/mod.rs", "evaluate_at", 100),
    ("watch/mod.rs", "run", 100),
    ("cmd/trend.rs", "run", 99),
    ("fingerprint/mod.rs", "virtualization", 99),
    ("results/path.rs", "lookup", 95),
    ("etcd/probe.rs", "probe", 94),
    ("cmd/disk.rs", "run", 93),
    ("qualify/mod.rs", "run_etcd", 93),
    ("cluster/mod.rs", "preflight", 91),
    ("etcd/metrics.rs", "fetch_inner", 90),
    ("util/scratch.rs", "find_leftovers", 89),
    ("etcd/embedded.rs", "start", 88),
    ("report/html.rs", "cluster_run", 88),
    ("cmd/watch.rs", "run", 84),
];

/// Circles between files (each: the files of one strongly connected part of the `use` graph,
/// sorted) known as of issue 21, which removes them. This list may only shrink: a new circle fails
/// the test, and so does a listed one that is gone (delete its line).
const KNOWN_FILE_CIRCLES: &[&str] = &[];

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

/// A function of src/: where it starts and how many lines it spans.
struct Function {
    rel: String,
    line: usize,
    name: String,
    lines: usize,
}

/// Every function (and method) in src/, outside test modules.
fn functions() -> Vec<Function> {
    let mut found = Vec::new();
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
            found.push(Function {
                rel: s.rel.clone(),
                line: i + 1,
                name: ident_at(rest).to_string(),
                lines: end - i + 1,
            });
        }
    }
    found
}

#[test]
fn no_function_over_the_limit() {
    let long: Vec<String> = functions()
        .into_iter()
        .filter(|f| f.lines > MAX_FN_LINES)
        .map(|f| format!("src/{}:{} fn {}: {} lines", f.rel, f.line, f.name, f.lines))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_long_function_beyond_the_list_and_the_list_only_shrinks() {
    let fns = functions();
    let mut wrong = Vec::new();
    for f in fns.iter().filter(|f| f.lines > LONG_FN_LINES) {
        let here = format!("src/{}:{} fn {}: {} lines", f.rel, f.line, f.name, f.lines);
        match LONG_FUNCTIONS
            .iter()
            .find(|(rel, name, _)| *rel == f.rel && *name == f.name)
        {
            None => wrong.push(format!(
                "{here}, over {LONG_FN_LINES} (split it into named steps)"
            )),
            Some((_, _, listed)) if f.lines > *listed => wrong.push(format!(
                "{here}, longer than the {listed} LONG_FUNCTIONS allows (it may only shrink)"
            )),
            Some(_) => {}
        }
    }
    for (rel, name, _) in LONG_FUNCTIONS {
        let still_long = fns
            .iter()
            .any(|f| f.rel == *rel && f.name == *name && f.lines > LONG_FN_LINES);
        if !still_long {
            wrong.push(format!(
                "src/{rel} fn {name} is no longer over {LONG_FN_LINES} lines: delete its line from LONG_FUNCTIONS"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The module path of a file under src/: "report/html.rs" → [report, html], "report/mod.rs" →
/// [report], "lib.rs" → [].
fn module_path(rel: &str) -> Vec<String> {
    let mut segs: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    if segs == ["lib"] || segs == ["main"] {
        segs.clear();
    }
    segs
}

/// Expand the path or use-tree at the start of `s` (`a::b`, `a::{b, c::{d, self}}`, `a::*`) below
/// `base` into full module paths; how many bytes it took.
fn expand_use_tree(s: &str, base: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = base.to_vec();
    let mut i = 0;
    loop {
        if s[i..].starts_with('{') {
            i += 1;
            loop {
                i += s[i..].len() - s[i..].trim_start().len();
                if s[i..].starts_with('}') {
                    return i + 1;
                }
                i += expand_use_tree(&s[i..], &path, out);
                // Past `as name` to the next item or the end of the group.
                i += s[i..].find([',', '}']).unwrap_or(s.len() - i);
                if s[i..].starts_with(',') {
                    i += 1;
                } else {
                    return (i + 1).min(s.len());
                }
            }
        }
        let id = ident_at(&s[i..]);
        i += id.len();
        if !id.is_empty() && id != "self" {
            path.push(id.to_string());
        }
        if id.is_empty() || !s[i..].starts_with("::") {
            out.push(path);
            return i;
        }
        i += 2;
    }
}

/// The module paths a file names through `crate::`, `super::` and `self::`.
fn named_paths(src: &Source) -> Vec<Vec<String>> {
    let here = module_path(&src.rel);
    let mut out = Vec::new();
    for kw in ["crate::", "super::", "self::"] {
        for (i, _) in src.code.match_indices(kw) {
            let before = src.code[..i].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut at = i + kw.len();
            let base: Vec<String> = match kw {
                "crate::" => Vec::new(),
                "self::" => here.clone(),
                _ => {
                    let mut b = here[..here.len().saturating_sub(1)].to_vec();
                    while src.code[at..].starts_with("super::") {
                        b.pop();
                        at += "super::".len();
                    }
                    b
                }
            };
            expand_use_tree(&src.code[at..], &base, &mut out);
        }
    }
    out
}

/// Which file of src/ each file names, but not its own ancestors (a child using its parent's
/// `mod.rs`, or the crate root, is how modules are built, not a circle).
fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let srcs: Vec<Source> = sources()
        .into_iter()
        .filter(|s| s.rel != "main.rs")
        .collect();
    let files: BTreeSet<&str> = srcs.iter().map(|s| s.rel.as_str()).collect();
    let file_of = |path: &[String]| -> String {
        (1..=path.len())
            .rev()
            .map(|k| path[..k].join("/"))
            .flat_map(|m| [format!("{m}.rs"), format!("{m}/mod.rs")])
            .find(|f| files.contains(f.as_str()))
            .unwrap_or_else(|| "lib.rs".to_string())
    };
    let mut g = BTreeMap::new();
    for s in &srcs {
        let here = module_path(&s.rel);
        let to: BTreeSet<String> = named_paths(s)
            .iter()
            .map(|p| file_of(p))
            .filter(|f| *f != s.rel && !here.starts_with(&module_path(f)))
            .collect();
        g.insert(s.rel.clone(), to);
    }
    g
}

/// The files reachable from `from` (itself only through a circle).
fn reachable(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(f) = todo.pop() {
        for next in g.get(&f).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_circle_between_files_beyond_the_known_ones() {
    let g = file_graph();
    let reach: BTreeMap<&String, BTreeSet<String>> =
        g.keys().map(|f| (f, reachable(&g, f))).collect();
    let circles: BTreeSet<String> = g
        .keys()
        .filter(|f| reach[f].contains(*f))
        .map(|f| {
            let part: Vec<&str> = g
                .keys()
                .filter(|o| reach[f].contains(*o) && reach[o].contains(f))
                .map(String::as_str)
                .collect();
            part.join(" ")
        })
        .collect();
    let mut wrong: Vec<String> = circles
        .iter()
        .filter(|c| !KNOWN_FILE_CIRCLES.contains(&c.as_str()))
        .map(|c| format!("a circle between files: {c} (one of them must not import the other)"))
        .collect();
    wrong.extend(
        KNOWN_FILE_CIRCLES
            .iter()
            .filter(|c| !circles.contains(**c))
            .map(|c| format!("{c} is no longer a circle: delete its line from KNOWN_FILE_CIRCLES")),
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The test sources: tests/ holds no test file of its own (each would link a binary again), and
/// every file in tests/it/ is a module of one of the two test crates.
#[test]
fn every_test_file_is_in_the_test_crate() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut stray: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            format!(
                "{} (move it to tests/it/ and add its mod line to main.rs)",
                p.display()
            )
        })
        .collect();
    let it = tests.join("it");
    let roots = ["main.rs", "machine_wide.rs"];
    let declared: String = roots
        .iter()
        .map(|r| std::fs::read_to_string(it.join(r)).unwrap())
        .collect();
    for e in std::fs::read_dir(&it).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if !roots.contains(&name.as_str()) && !declared.contains(&format!("mod {module};")) {
            stray.push(format!(
                "tests/it/{name} is not declared in tests/it/main.rs: it never runs"
            ));
        }
    }
    assert!(stray.is_empty(), "{}", stray.join("\n"));
}

/// One way to skip (`skip!` / `support::skip::skipped`), so that CI can refuse every skip: no test
/// prints its own skip notice, and none includes support code by `#[path]`.
#[test]
fn tests_skip_only_through_the_one_skip() {
    let it = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut files = Vec::new();
    rust_files(&it, &mut files);
    let mut wrong = Vec::new();
    for p in files {
        if p.ends_with("support/skip.rs") || p.ends_with("architecture.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for needle in [
            "println!(\"skip",
            "println!(\"SKIP",
            "\"skipping",
            "\"SKIP",
            "#[path",
        ] {
            if text.contains(needle) {
                wrong.push(format!("{} has {needle}", p.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "skip with skip!(\"reason\") (support/skip.rs); share code through crate::support:\n{}",
        wrong.join("\n")
    );
}
