//! The layering of the workspace, checked from `cargo metadata`: each crate depends only on
//! the crates beneath it, and the vocabulary crate stays free of I/O and frameworks.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate and the workspace crates it may depend on (any kind of dependency).
const ALLOWED: &[(&str, &[&str])] = &[
    ("clowder-schemas", &[]),
    ("clowder-index", &["clowder-schemas"]),
    ("clowder-actors", &["clowder-schemas", "clowder-index"]),
    ("clowder-ops", &["clowder-schemas", "clowder-actors"]),
    ("clowder-web", &["clowder-schemas", "clowder-actors", "clowder-ops"]),
    ("clowder", &["clowder-schemas", "clowder-index", "clowder-actors", "clowder-ops", "clowder-web"]),
    ("clowder-loadtests", &["clowder-schemas"]),
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
