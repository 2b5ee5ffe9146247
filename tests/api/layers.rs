//! The module tree keeps its layers (docs/architecture.md, "Layers"): web → domain → models → db,
//! with the foundation (db, drf, errors, secrets, config, pyfmt, kept) at the bottom and the assembly
//! (app, cli) on top. No module imports one above it, no modules import each other in a circle, and
//! no handler touches the database itself. Read from the sources, so a new import is checked too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of a top-level module; a module may import its own layer and those below.
fn layer(top: &str) -> usize {
    match top {
        "db" | "drf" | "errors" | "secrets" | "config" | "pyfmt" | "kept" => 0,
        "models" => 1,
        "access" | "accounts" | "auth" | "demo" | "jobs" | "mail" | "members" | "profile"
        | "ratelimit" | "recovery" | "relay" | "settings" | "tokens" => 2,
        "web" => 3,
        "app" | "cli" | "crate" => 4,
        other => panic!("module `{other}` has no layer: add it to tests/api/layers.rs"),
    }
}

/// Test-only modules, left out.
const TEST_ONLY: &[&str] = &["properties"];

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

/// `src/web/settings_pages/mod.rs` → `web::settings_pages`; `src/lib.rs` → `crate`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    match parts.as_slice() {
        [only] if only == "lib" || only == "main" => "crate".into(),
        _ => parts.join("::"),
    }
}

/// The code of a file without its unit tests and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after each `prefix` (`crate::`, `super::`): `a::b::c`.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        let after = &rest[at + prefix.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(after.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            found.push(after[..end].trim_end_matches(':'));
        }
        rest = &after[end..];
    }
    found
}

struct Graph {
    /// module → the modules it imports
    edges: BTreeMap<String, BTreeSet<String>>,
    sources: BTreeMap<String, String>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut sources = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        if TEST_ONLY.contains(&module.as_str()) {
            continue;
        }
        sources.insert(module, code(&std::fs::read_to_string(file).unwrap()));
    }
    let known: BTreeSet<String> = sources.keys().cloned().collect();
    let resolve = |parts: &[&str]| -> Option<String> {
        (1..=parts.len())
            .rev()
            .map(|k| parts[..k].join("::"))
            .find(|candidate| known.contains(candidate))
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &sources {
        let targets = edges.entry(module.clone()).or_default();
        for path in paths_after(code, "crate::") {
            let parts: Vec<&str> = path.split("::").collect();
            if let Some(target) = resolve(&parts) {
                targets.insert(target);
            }
        }
        let parent: Vec<&str> = module.split("::").collect();
        let parent = &parent[..parent.len().saturating_sub(1)];
        for path in paths_after(code, "super::") {
            let mut parts: Vec<&str> = parent.to_vec();
            parts.extend(path.split("::").filter(|p| *p != "super"));
            if let Some(target) = resolve(&parts) {
                targets.insert(target);
            }
        }
        targets.remove(module);
    }
    Graph { edges, sources }
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let graph = graph();
    let mut upward = Vec::new();
    for (from, targets) in &graph.edges {
        for to in targets {
            if layer(top(to)) > layer(top(from)) {
                upward.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports running up the layers: {upward:#?}"
    );
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let graph = graph();
    // depth-first search for a back edge, between files and between top-level modules
    fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            state: &mut BTreeMap<String, u8>,
            stack: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            state.insert(node.to_owned(), 1);
            stack.push(node.to_owned());
            for next in edges.get(node).into_iter().flatten() {
                match state.get(next.as_str()) {
                    Some(1) => {
                        let at = stack.iter().position(|n| n == next).unwrap_or(0);
                        let mut cycle = stack[at..].to_vec();
                        cycle.push(next.clone());
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        if let Some(cycle) = visit(next, edges, state, stack) {
                            return Some(cycle);
                        }
                    }
                }
            }
            stack.pop();
            state.insert(node.to_owned(), 2);
            None
        }
        let mut state = BTreeMap::new();
        for node in edges.keys() {
            if !state.contains_key(node.as_str())
                && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
            {
                return Some(cycle);
            }
        }
        None
    }
    assert_eq!(
        find_cycle(&graph.edges),
        None,
        "modules importing each other in a circle"
    );
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &graph.edges {
        let entry = tops.entry(top(from).to_owned()).or_default();
        entry.extend(
            targets
                .iter()
                .map(|t| top(t).to_owned())
                .filter(|t| t != top(from)),
        );
    }
    assert_eq!(
        find_cycle(&tops),
        None,
        "top-level modules importing each other in a circle"
    );
}

#[test]
fn no_handler_opens_a_transaction_or_writes_a_query_itself() {
    let graph = graph();
    let mut offending = Vec::new();
    for (module, code) in &graph.sources {
        if top(module) != "web" {
            continue;
        }
        for marker in [
            "write_tx",
            "sql_query",
            "db::schema",
            ".execute(conn",
            ".load(conn",
            ".get_result(conn",
            "::table",
        ] {
            if code.contains(marker) {
                offending.push(format!("{module} uses `{marker}`"));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "the web layer calls the domain, it does not query: {offending:#?}"
    );
}

/// Every `docs/….md, "Section"` a comment cites exists, so a new engineer can follow each citation
/// from a clone.
#[test]
fn every_document_the_code_cites_is_in_the_repository_with_its_section() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    let mut missing = Vec::new();
    for file in files {
        // comments may wrap a citation over two lines: join them
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(|l| {
                l.trim_start()
                    .trim_start_matches('/')
                    .trim_start_matches('!')
                    .trim()
            })
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("docs/") {
            let after = &rest[at..];
            let end = after.find(".md").map(|e| e + 3);
            let Some(end) = end else { break };
            let doc = &after[..end];
            if doc
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
            {
                let path = root.join(doc);
                match std::fs::read_to_string(&path) {
                    Err(_) => missing.push(format!("{}: {doc}", file.display())),
                    Ok(contents) => {
                        let tail = after[end..].trim_start_matches([',', ' ', '`']);
                        if let Some(section) =
                            tail.strip_prefix('"').and_then(|t| t.split('"').next())
                            && !contents.lines().any(|l| {
                                l.trim_start_matches('#').trim() == section && l.starts_with('#')
                            })
                        {
                            missing.push(format!("{}: {doc}, \"{section}\"", file.display()));
                        }
                    }
                }
            }
            rest = &after[end..];
        }
    }
    assert!(
        missing.is_empty(),
        "citations without their document or section: {missing:#?}"
    );
}
