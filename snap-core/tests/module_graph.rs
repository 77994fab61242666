//! The crate's module graph has no import cycle: between its top-level
//! modules (what `crate::…` paths reach, with the root's re-exports resolved
//! to the module that defines them), nor between the files of one module
//! directory (what `super::…` paths reach). `docs/architecture.md` draws the
//! graph this test checks.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code, without comments and without its `#[cfg(test)]` tail.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Identifiers following `prefix` in `code`: `crate::a::b` gives `a`, and
/// `crate::{a, b::c}` gives `a` and `b`.
fn referenced(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Which module defines each name the crate root re-exports.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut map = BTreeMap::new();
    for item in lib.split(';') {
        let Some(rest) = item.trim().strip_prefix("pub use ") else {
            continue;
        };
        let (module, names) = rest.split_once("::").unwrap();
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim();
            if !name.is_empty() {
                map.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    map
}

fn assert_acyclic(what: &str, edges: &BTreeMap<String, BTreeSet<String>>) {
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut Vec::new(), &mut done) {
            panic!("import cycle in {what}: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn top_level_modules_import_without_cycles() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let reexports = root_reexports();
    let modules: BTreeSet<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .filter(|m| m != "lib" && m != "bin")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap();
        let first = relative.components().next().unwrap();
        let module = Path::new(first.as_os_str())
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !modules.contains(&module) {
            continue;
        }
        for name in referenced(&code(file), "crate::") {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target != module && modules.contains(&target) {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // The graph is not empty: the parser found the crate's imports.
    assert!(
        edges
            .get("checkpoint")
            .is_some_and(|e| e.contains("native"))
    );
    assert!(edges.get("native").is_some_and(|e| e.contains("resumed")));
    assert_acyclic("snap-core's top-level modules", &edges);
}

#[test]
fn files_within_each_module_directory_import_without_cycles() {
    let root = src();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() || dir.ends_with("bin") {
            continue;
        }
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for file in &files {
            let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
            if stem == "mod" {
                continue;
            }
            for name in referenced(&code(file), "super::") {
                let sibling = dir.join(format!("{name}.rs"));
                if name != stem && sibling.is_file() {
                    edges.entry(stem.clone()).or_default().insert(name);
                }
            }
        }
        assert_acyclic(&dir.display().to_string(), &edges);
    }
}

#[test]
fn a_cycle_is_found() {
    let edges = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    let found = std::panic::catch_unwind(|| assert_acyclic("test", &edges));
    assert!(found.is_err());
    assert_eq!(
        referenced("use crate::{a, b::c}; crate::d::e; xcrate::f", "crate::"),
        BTreeSet::from(["a".to_owned(), "b".to_owned(), "d".to_owned()])
    );
}
