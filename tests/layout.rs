//! The floor plan: the crate's top-level modules form no import cycle, and
//! the README's "Layout" section names every one of them, so a newcomer who
//! reads it finds the room for a change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::*;

/// The top-level modules `src/lib.rs` declares.
fn modules() -> Vec<String> {
    let lib = std::fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

/// Every `.rs` file of a top-level module.
fn files_of(module: &str) -> Vec<std::path::PathBuf> {
    let src = repo().join("src");
    let file = src.join(format!("{module}.rs"));
    let mut out = vec![];
    if file.is_file() {
        out.push(file);
    }
    fn walk(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let dir = src.join(module);
    if dir.is_dir() {
        walk(&dir, &mut out);
    }
    out
}

/// module -> the other top-level modules its code (not its comments) names
/// as `crate::X`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let mut graph = BTreeMap::new();
    for m in &mods {
        let mut uses = BTreeSet::new();
        for f in files_of(m) {
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if name != *m && mods.contains(&name) {
                        uses.insert(name);
                    }
                }
            }
        }
        graph.insert(m.clone(), uses);
    }
    graph
}

#[test]
fn the_top_level_modules_form_no_import_cycle() {
    let graph = imports();
    assert!(graph.len() > 10, "modules read from src/lib.rs: {graph:?}");
    // Depth-first search; a module met again while on the stack closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| *s == m) {
            let mut cycle: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m);
        for n in &graph[m] {
            if let Some(c) = visit(n, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m);
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut vec![], &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_readme_layout_names_every_top_level_module() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let layout = readme
        .split("\n## Layout")
        .nth(1)
        .expect("README has a Layout section");
    let missing: Vec<String> = modules()
        .into_iter()
        .filter(|m| {
            let dir = format!("src/{m}/");
            let file = format!("{m}.rs");
            !(layout.contains(&dir) || layout.contains(&file))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "README's Layout does not name: {missing:?}"
    );
}
