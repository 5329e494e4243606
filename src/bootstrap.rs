//! First start: create the administrator when the store has no users, the default
//! appointment types and a first location (in the configured time zone) when there are none.
//!
//! The password is `CLOWDER_ADMIN_PASSWORD` when set. Otherwise a random one is generated,
//! logged once and written to `<data-dir>/initial-admin-password` (mode 0600) so an operator
//! who missed the log can still sign in; the account must change it before doing anything
//! else (the `must_change_password` gate in `web/src/access.rs`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clowder_actors::System;
use clowder_actors::secrets::random_secret;
use clowder_actors::staff::accounts::NewUser;
use clowder_schemas::audit::Caller;

/// File holding a generated first-admin password.
pub const PASSWORD_FILE: &str = "initial-admin-password";

/// Creates `admin` if there are no users yet (after making sure the built-in roles exist
/// and are current). Returns true if it created the administrator.
pub async fn ensure_admin(system: &System, password: Option<&str>) -> anyhow::Result<bool> {
    system.roles.ensure_builtins().await.context("writing the built-in roles")?;
    system.scheduling.appointment_types.ensure_defaults().await.context("seeding the default appointment types")?;
    system.scheduling.setup.ensure_location().await.context("creating the first location")?;
    clowder_actors::comms::defaults::ensure_defaults(&system.templates, system.store())
        .await
        .context("writing the default message templates")?;
    system.clinical_facts.ensure_defaults().await.context("writing the compiled-in clinical facts")?;
    clowder_actors::clinical::consent_forms::ensure_default_templates(&system.consent_templates)
        .await
        .context("writing the default consent templates")?;
    system.prescriptions.ensure_active_index().await.context("indexing the active prescriptions")?;
    system.reports.ensure_rollup().await.context("filling the revenue rollup")?;
    system.accounting.ensure_day_index().await.context("indexing the invoices by day")?;
    system.invoice_batches.ensure_completion_index().await.context("indexing the visits by completion day")?;
    if system.accounts.user_count()? > 0 {
        return Ok(false);
    }
    let generated = password.is_none();
    let password = password.map(str::to_owned).unwrap_or_else(|| random_secret(15));
    system
        .accounts
        .create_user(
            NewUser {
                username: "admin".into(),
                display_name: "Administrator".into(),
                email: None,
                password: password.clone(),
                roles: vec!["administrator".into()],
                must_change_password: generated,
            },
            &Caller::system(),
        )
        .await
        .context("creating the first administrator")?;
    if generated {
        let path = system.ctx.config.data_dir.join(PASSWORD_FILE);
        write_secret(&path, &password)?;
        tracing::warn!(
            username = "admin",
            password = %password,
            file = %path.display(),
            "created the first administrator with a generated password (shown once; also in the file)"
        );
    } else {
        tracing::info!(username = "admin", "created the first administrator with CLOWDER_ADMIN_PASSWORD");
    }
    Ok(true)
}

fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    writeln!(f, "{secret}")?;
    f.sync_all()?;
    Ok(())
}
