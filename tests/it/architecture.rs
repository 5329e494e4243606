//! The layering of the workspace, checked from `cargo metadata`: each crate depends only on
//! the crates beneath it, and the vocabulary crate stays free of I/O and frameworks.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate and the workspace crates it may depend on (any kind of dependency).
const ALLOWED: &[(&str, &[&str])] = &[
    ("clowder-schemas", &[]),
    ("clowder-index", &["clowder-schemas"]),
    ("clowder-actors", &["clowder-schemas", "clowder-index", "clowder-documents"]),
    ("clowder-ops", &["clowder-schemas", "clowder-actors"]),
    ("clowder-web", &["clowder-schemas", "clowder-actors", "clowder-ops"]),
    ("clowder", &["clowder-schemas", "clowder-index", "clowder-actors", "clowder-ops", "clowder-web"]),
    ("clowder-loadtests", &["clowder-schemas"]),
    ("clowder-documents", &[]),
];

/// What `clowder-schemas` may use at run time: serialisation, errors, ids, time, OpenAPI.
// strum derives the error codes' wire names and their list (compile-time only, no I/O).
const SCHEMAS_MAY_USE: &[&str] = &["serde", "serde_json", "thiserror", "ulid", "jiff", "utoipa", "strum"];

/// The workspace's packages from `cargo metadata --no-deps`.
fn workspace_packages() -> Vec<Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    meta["packages"].as_array().expect("packages").clone()
}

/// A package's dependencies as (package name, kind) pairs; kind `normal` for run-time ones.
fn dependencies(pkg: &Value) -> Vec<(String, String)> {
    pkg["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .map(|d| {
            // `name` is the package's name even when the dependency is renamed.
            let name = d["name"].as_str().expect("a dependency name").to_owned();
            (name, d["kind"].as_str().unwrap_or("normal").to_owned())
        })
        .collect()
}

#[test]
fn workspace_crates_depend_only_on_the_layers_beneath_them() {
    let packages = workspace_packages();
    let names: BTreeSet<String> = packages.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    let rules: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let ruled: BTreeSet<String> = rules.keys().map(|k| k.to_string()).collect();
    assert_eq!(names, ruled, "every workspace crate needs a rule here (and only those)");

    let mut violations = Vec::new();
    for pkg in &packages {
        let name = pkg["name"].as_str().unwrap();
        for (dep, kind) in dependencies(pkg) {
            if names.contains(&dep) && !rules[name].contains(&dep.as_str()) {
                violations.push(format!("{name} -> {dep} ({kind})"));
            }
        }
    }
    assert!(violations.is_empty(), "dependencies against the layering: {violations:#?}");
}

#[test]
fn schemas_uses_only_serde_time_and_id_crates_at_run_time() {
    let packages = workspace_packages();
    let schemas =
        packages.iter().find(|p| p["name"] == "clowder-schemas").expect("clowder-schemas is in the workspace");

    let extra: Vec<String> = dependencies(schemas)
        .into_iter()
        .filter(|(name, kind)| kind == "normal" && !SCHEMAS_MAY_USE.contains(&name.as_str()))
        .map(|(name, _)| name)
        .collect();

    assert!(extra.is_empty(), "clowder-schemas must not depend on {extra:?}");
}

/// The domain modules of `clowder-actors` (bounded contexts: one folder each, or one file).
/// Everything else in the crate (runtime, store, records, ctx, error, audit, idempotency,
/// secrets, clock, metrics) is the core any domain may use; `system` composes them all and no
/// domain may use it.
const DOMAINS: &[&str] =
    &["people", "staff", "scheduling", "search", "live", "jobs", "comms", "clinical", "inventory", "billing"];

/// The Rust sources of one actors domain.
fn domain_sources(domain: &str) -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/src");
    let file = root.join(format!("{domain}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut dirs = vec![root.join(domain)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// What a domain declares in its module doc: `//! Domain dependencies: none.` or
/// `//! Domain dependencies: scheduling, people.`
fn declared(domain: &str) -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/src");
    let doc = [root.join(format!("{domain}.rs")), root.join(domain).join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no module file for domain {domain}"));
    let text = std::fs::read_to_string(&doc).expect("readable");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("//! Domain dependencies:"))
        .unwrap_or_else(|| panic!("{}: declare `//! Domain dependencies: ...`", doc.display()));
    line.trim()
        .trim_end_matches('.')
        .split(',')
        .map(str::trim)
        .filter(|d| *d != "none" && !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The sibling domains (and `system`) a domain's sources name.
fn used(domain: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for path in domain_sources(domain) {
        let text = std::fs::read_to_string(&path).expect("readable");
        for other in DOMAINS.iter().chain(&["system"]).filter(|d| **d != domain) {
            if text.contains(&format!("crate::{other}::")) || text.contains(&format!("crate::{other};")) {
                out.insert(other.to_string());
            }
        }
    }
    out
}

#[test]
fn actors_domains_use_only_the_domains_they_declare_and_never_in_a_cycle() {
    let mut graph = BTreeMap::new();
    for domain in DOMAINS {
        let declared = declared(domain);
        for d in &declared {
            assert!(DOMAINS.contains(&d.as_str()), "{domain} declares {d}, which is not a domain");
        }
        let undeclared: Vec<_> = used(domain).difference(&declared).cloned().collect();
        assert!(
            undeclared.is_empty(),
            "actors/src/{domain} uses {undeclared:?} without declaring it in its module doc"
        );
        graph.insert(domain.to_string(), declared);
    }
    // Kahn's algorithm: every domain must come out, or the rest form a cycle.
    let mut left = graph.clone();
    while let Some(free) = left.iter().find(|(_, deps)| deps.is_empty()).map(|(d, _)| d.clone()) {
        left.remove(&free);
        for deps in left.values_mut() {
            deps.remove(&free);
        }
    }
    assert!(
        left.is_empty(),
        "the domains' declared dependencies form a cycle among {:?}",
        left.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_domain_check_sees_what_a_module_names() {
    // The check itself: the live module does name scheduling, which it declares.
    assert!(used("live").contains("scheduling"));
    assert!(declared("live").contains("scheduling"));
    assert!(declared("people").is_empty());
}
