//! Docs that cannot drift: the tables in `docs/` that restate the code (the access table, the
//! error codes, the store's tables) are regenerated from it between marker comments
//! (`<!-- generated:NAME start … -->` … `<!-- generated:NAME end -->`). Each test rewrites its
//! section and fails if that changed anything, so running it once brings the doc up to date;
//! review and commit the result. Only the prose cells (a route's note, what a code means,
//! what a table holds) are written by hand; they are kept by key, and a new code or table
//! without one fails until it is described.

use std::collections::HashMap;
use std::path::PathBuf;

use clowder_schemas::ErrorCode;
use clowder_web::access::{ROUTES, Rule};

/// The rows of a generated section, by their key (the first `key_cells` cells), with every
/// cell after the key.
fn rows(section: &str, key_cells: usize, cells: usize) -> HashMap<String, Vec<String>> {
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .skip(1) // the header
        .map(|l| {
            let inner = l.trim_end().trim_start_matches("| ").trim_end_matches(" |").trim_end_matches('|');
            let mut parts: Vec<String> = inner.splitn(cells, " | ").map(|c| c.trim().to_owned()).collect();
            parts.resize(cells, String::new());
            let rest = parts.split_off(key_cells);
            (parts.join(" "), rest)
        })
        .collect()
}

/// Replaces the section `name` of `docs/<file>` with what `render` makes of the rows there
/// now; fails if the file changed (it is rewritten) or if `render` reports prose missing.
fn regenerate(file: &str, name: &str, render: impl FnOnce(&str) -> (String, Vec<String>)) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start_marker = format!("<!-- generated:{name} start");
    let end_marker = format!("<!-- generated:{name} end -->");
    let start = text.find(&start_marker).unwrap_or_else(|| panic!("docs/{file} has no `{start_marker} -->` line"));
    let start = start + text[start..].find('\n').expect("the start marker ends its line") + 1;
    let end = start + text[start..].find(&end_marker).unwrap_or_else(|| panic!("docs/{file} has no `{end_marker}`"));
    let old = &text[start..end];
    let (new, missing) = render(old);
    if new != old {
        std::fs::write(&path, format!("{}{new}{}", &text[..start], &text[end..])).expect("the doc is writable");
        panic!("docs/{file} ({name}) was stale and has been regenerated from the code: review and commit it");
    }
    assert!(missing.is_empty(), "docs/{file} ({name}): describe {} by hand in the generated table", missing.join(", "));
}

fn rule_text(rule: Rule) -> String {
    match rule {
        Rule::Public => "public".into(),
        Rule::SignedIn => "signed in".into(),
        Rule::Needs(p) => format!("`{p}`"),
        Rule::OwnOr(p) => format!("one's own, else `{p}`"),
    }
}

#[test]
fn the_access_table_in_security_md_is_the_code_s() {
    regenerate("security.md", "routes", |old| {
        let kept = rows(old, 2, 3);
        let mut out = String::from("| method | path | rule |\n|---|---|---|\n");
        for (method, path, rule) in ROUTES {
            let rule = rule_text(*rule);
            // A note after the rule, e.g. "public (the handler checks the tablet's credential)".
            let note = kept.get(&format!("{method} `{path}`")).and_then(|c| {
                let cell = c[0].as_str();
                let note = cell.strip_prefix(rule.as_str()).or_else(|| cell.find(" (").map(|at| &cell[at..]))?;
                Some(note.trim()).filter(|n| !n.is_empty())
            });
            match note {
                Some(note) => out.push_str(&format!("| {method} | `{path}` | {rule} {note} |\n")),
                None => out.push_str(&format!("| {method} | `{path}` | {rule} |\n")),
            }
        }
        (out, Vec::new())
    });
}

#[test]
fn the_error_code_table_in_errors_md_is_the_code_s() {
    regenerate("errors.md", "error-codes", |old| {
        let kept = rows(old, 1, 4);
        let mut out = String::from("| code | kind | status | when |\n|---|---|---|---|\n");
        let mut missing = Vec::new();
        for code in ErrorCode::ALL {
            let kind = code.kind();
            let status = clowder_web::error::status_of(kind).as_u16();
            let key = format!("`{}`", code.as_str());
            let when = kept.get(&key).map(|c| c[2].clone()).unwrap_or_default();
            if when.is_empty() {
                missing.push(key.clone());
            }
            out.push_str(&format!("| {key} | {kind:?} | {status} | {when} |\n"));
        }
        (out, missing)
    });
}

#[test]
fn the_table_list_in_store_md_is_the_code_s() {
    regenerate("store.md", "tables", |old| {
        let kept = rows(old, 1, 4);
        let mut out = String::from("| table | key | value | holds |\n|---|---|---|---|\n");
        let mut missing = Vec::new();
        for name in clowder_actors::store::tables::names() {
            let key = format!("`{name}`");
            let cells = kept.get(&key).cloned().unwrap_or_else(|| vec![String::new(); 3]);
            if cells.iter().any(String::is_empty) {
                missing.push(key.clone());
            }
            out.push_str(&format!("| {key} | {} | {} | {} |\n", cells[0], cells[1], cells[2]));
        }
        (out, missing)
    });
}
