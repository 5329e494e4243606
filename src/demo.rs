//! `--demo`: seeds the generated demo clinic (see `demo_data`) into an empty store through
//! the same actors and group commit as real traffic, and prints the demo staff passwords.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clowder_actors::System;
use clowder_actors::accounts::NewUser;
use clowder_schemas::audit::Caller;
use futures_util::stream::{self, TryStreamExt};

use crate::demo_data::{self, DemoStaff};

/// Concurrent creations while seeding; enough to fill group-commit batches.
const PARALLEL: usize = 64;

/// Seeds the demo clinic if the store has no clients; prints the staff sign-ins either way.
pub async fn seed(system: &Arc<System>) -> anyhow::Result<()> {
    let started = Instant::now();
    let (existing, _) = system.clients.list_unaudited(&Default::default(), None, 1)?;
    let staff: Vec<&DemoStaff> = demo_data::STAFF.iter().filter(|s| s.username != "admin").collect();
    if existing.is_empty() {
        let clinic = demo_data::generate(system.ctx.today());
        for s in &staff {
            let created = system
                .accounts
                .create_user(
                    NewUser {
                        username: s.username.into(),
                        display_name: s.display_name.into(),
                        email: None,
                        password: s.password.into(),
                        roles: s.roles.iter().map(|r| r.to_string()).collect(),
                        must_change_password: false,
                    },
                    &Caller::system(),
                )
                .await;
            // A seeding interrupted earlier may have created the users already.
            match created {
                Ok(_) | Err(clowder_actors::Error::Duplicate { .. }) => {}
                Err(e) => return Err(e).with_context(|| format!("creating demo user {}", s.username)),
            }
        }
        let country = system.ctx.config.country_code.clone();
        let clients = clinic.clients.len();
        stream::iter(clinic.clients.into_iter().map(Ok::<_, anyhow::Error>))
            .try_for_each_concurrent(PARALLEL, |(id, body)| {
                let system = system.clone();
                let country = country.clone();
                async move {
                    let draft = body.validate(&country).map_err(|e| anyhow::anyhow!("demo client: {e}"))?;
                    system.clients.create_with_id(id, draft, &Caller::system()).await?;
                    Ok(())
                }
            })
            .await?;
        let today = system.ctx.today();
        let patients = clinic.patients.len();
        stream::iter(clinic.patients.into_iter().map(Ok::<_, anyhow::Error>))
            .try_for_each_concurrent(PARALLEL, |(id, body)| {
                let system = system.clone();
                async move {
                    let draft = body.validate(today).map_err(|e| anyhow::anyhow!("demo patient: {e}"))?;
                    system.patients.create_with_id(id, draft, &Caller::system()).await?;
                    Ok(())
                }
            })
            .await?;
        tracing::info!(
            clients,
            patients,
            staff = staff.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "seeded the demo clinic"
        );
    }
    let list: Vec<String> =
        staff.iter().map(|s| format!("{} / {} ({})", s.username, s.password, s.roles.join(", "))).collect();
    tracing::info!("demo staff sign-ins (demo only): {}", list.join("; "));
    Ok(())
}
