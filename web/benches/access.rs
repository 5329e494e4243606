//! What the access check costs per request, printed (never asserted): finding the route's
//! rule in the access table, building a user's effective permissions from their roles'
//! grants (done once per request at authentication), and the permission lookup.
//!
//! Run: `cargo bench -p clowder-web --bench access`.

use std::hint::black_box;
use std::time::Instant;

use axum::http::Method;
use clowder_schemas::access::{Grant, Permission, Permissions, Scope, builtin_roles};

fn per_op(label: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f(); // warm up
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{label:<58} {ns:>9.1} ns/op");
}

fn main() {
    let grants = |name: &str| -> Vec<Grant> {
        let role = builtin_roles().into_iter().find(|r| r.0 == name).expect("a built-in role");
        role.3.iter().map(|p| Grant { permission: *p, scope: Scope::All }).collect()
    };
    let admin = grants("administrator");
    let front = grants("receptionist");
    let admin_perms = Permissions::from_grants(&admin);

    println!("access check, per request ({} routes in the table)", clowder_web::access::ROUTES.len());
    per_op("rule_for(PATCH /api/patients/{id}) (table scan)", 1_000_000, || {
        black_box(clowder_web::access::rule_for(black_box(&Method::PATCH), black_box("/api/patients/{id}")));
    });
    per_op("effective permissions, receptionist (1 role)", 200_000, || {
        black_box(Permissions::from_grants(black_box(&front)));
    });
    per_op("effective permissions, administrator (every permission)", 200_000, || {
        black_box(Permissions::from_grants(black_box(&admin)));
    });
    per_op("permission lookup (patients:edit)", 1_000_000, || {
        black_box(admin_perms.scope(black_box(Permission::PatientsEdit)));
    });
}
