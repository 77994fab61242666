//! Every shell block in README.md and docs/*.md is accounted for, so the
//! docs cannot rot unnoticed. The line before each block says how:
//!
//! - `<!-- doc-test: covered by tests/FILE.rs -->`: that test runs the same
//!   command. Checked here: every `snaprun SUBCOMMAND` and every `--flag`
//!   in the block appears as a string literal in that test (or in
//!   `tests/common/mod.rs`), and every repository path it names exists.
//! - `<!-- doc-test: not run: REASON -->`: what a test cannot have (root
//!   on a developer's machine, minutes of benchmarking, a tracer); the
//!   reason must be given. Repository paths it names must still exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// One fenced shell block.
struct Block {
    file: PathBuf,
    line: usize,
    marker: Option<String>,
    text: String,
}

fn blocks(file: &Path) -> Vec<Block> {
    let source = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_start();
        let shell = ["```sh", "```bash", "```shell", "```console"].contains(&fence);
        if shell {
            let marker = i
                .checked_sub(1)
                .map(|j| lines[j].trim())
                .and_then(|l| l.strip_prefix("<!-- doc-test:"))
                .and_then(|l| l.strip_suffix("-->"))
                .map(|m| m.trim().to_owned());
            let start = i;
            i += 1;
            let mut text = String::new();
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                text.push_str(lines[i]);
                text.push('\n');
                i += 1;
            }
            found.push(Block {
                file: file.to_owned(),
                line: start + 1,
                marker,
                text,
            });
        }
        i += 1;
    }
    found
}

fn docs(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The words of a block that name snaprun's CLI: on each command that runs
/// snaprun, its subcommand and the `--flag`s before the bootstrap (`--`).
fn cli_words(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == '$' || c == '(' || c == ')')
            .filter(|w| !w.is_empty())
            .collect();
        let Some(at) = words
            .iter()
            .position(|w| w.ends_with("snaprun") && !w.contains('='))
        else {
            continue;
        };
        let mut rest = words[at + 1..].iter();
        if let Some(sub) = rest.next() {
            out.push((*sub).to_owned());
        }
        for word in rest.take_while(|w| **w != "--") {
            if let Some(flag) = word
                .strip_prefix("--")
                .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            {
                out.push(format!("--{flag}"));
            }
        }
    }
    out
}

/// Repository paths a block names (`demo-functions/...`, `scripts/...`),
/// up to their first component that a build makes.
fn repo_paths(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '=' || c == '"')
        .filter_map(|w| {
            let w = w.trim_start_matches("$PWD/");
            ["demo-functions/", "scripts/", "docs/"]
                .iter()
                .any(|p| w.starts_with(p))
                .then(|| {
                    // target/ and dist/ are build output.
                    w.split("/target/")
                        .next()
                        .unwrap()
                        .split("/dist")
                        .next()
                        .unwrap()
                        .trim_end_matches(['\\', ',', '.'])
                        .to_owned()
                })
        })
        .filter(|p| !p.ends_with(".svg"))
        .collect()
}

#[test]
fn every_shell_block_in_the_docs_is_covered_by_a_test_or_marked_not_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let common = std::fs::read_to_string(root.join("tests/common/mod.rs")).unwrap();
    let mut problems = Vec::new();
    let mut count = 0;
    for file in docs(root) {
        for block in blocks(&file) {
            count += 1;
            let at = format!(
                "{}:{}",
                block.file.strip_prefix(root).unwrap().display(),
                block.line
            );
            for path in repo_paths(&block.text) {
                if !root.join(&path).exists() {
                    problems.push(format!("{at}: names {path}, which does not exist"));
                }
            }
            match block.marker.as_deref() {
                Some(m) if m.starts_with("not run:") => {
                    if m["not run:".len()..].trim().is_empty() {
                        problems.push(format!("{at}: `not run:` without a reason"));
                    }
                }
                Some(m) if m.starts_with("covered by ") => {
                    let test = m["covered by ".len()..].trim();
                    let Ok(source) = std::fs::read_to_string(root.join(test)) else {
                        problems.push(format!("{at}: covered by {test}, which does not exist"));
                        continue;
                    };
                    for word in cli_words(&block.text) {
                        let literal = format!("\"{word}\"");
                        if !source.contains(&literal) && !common.contains(&literal) {
                            problems.push(format!("{at}: {test} never passes {literal}"));
                        }
                    }
                }
                Some(m) => problems.push(format!("{at}: unknown marker {m:?}")),
                None => problems.push(format!(
                    "{at}: a shell block with no `<!-- doc-test: ... -->` line before it"
                )),
            }
        }
    }
    assert!(count >= 10, "found only {count} shell blocks");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_finds_unmarked_blocks_and_cli_words() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("x.md");
    std::fs::write(
        &file,
        "text\n```sh\nsnaprun run --engine native -- x\n```\n<!-- doc-test: not run: needs root -->\n```bash\nls\n```\n",
    )
    .unwrap();
    let found = blocks(&file);
    assert_eq!(found.len(), 2);
    assert!(found[0].marker.is_none());
    assert_eq!(found[1].marker.as_deref(), Some("not run: needs root"));
    assert_eq!(cli_words(&found[0].text), ["run", "--engine"]);
    assert_eq!(
        repo_paths("cargo build --manifest-path demo-functions/rust-hello/Cargo.toml"),
        ["demo-functions/rust-hello/Cargo.toml"]
    );
}
