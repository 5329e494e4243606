//! Roles: the built-in ones (rewritten from `clowder_schemas::access` at every start) and
//! custom ones. Every sign-in check needs the roles, so they are kept in memory, loaded at
//! start and replaced after each committed change; writes are serialised by one lock (roles
//! change a few times a year).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use clowder_schemas::RoleId;
use clowder_schemas::access::{ADMINISTRATOR, Grant, Permissions, Role, RoleDraft, Scope, UpdateRole, builtin_roles};
use clowder_schemas::audit::{AuditDraft, Caller};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// The roles service.
#[derive(Clone)]
pub struct Roles {
    ctx: Arc<Ctx>,
    by_name: Arc<RwLock<HashMap<String, Role>>>,
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Bumped after every change to the cache, so holders of effective permissions (the live
    /// gateway's sockets) know to recompute them.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl Roles {
    pub(crate) fn load(ctx: Arc<Ctx>) -> Result<Self, crate::store::StoreError> {
        let mut by_name = HashMap::new();
        ctx.store.read()?.scan::<Role>(RecordTable::Roles, None, |r| {
            by_name.insert(r.name.clone(), r);
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(Self { ctx, by_name: Arc::new(RwLock::new(by_name)), writer: Arc::default(), generation: Arc::default() })
    }

    fn cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Role>> {
        self.by_name.read().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, role: Role) {
        self.by_name.write().unwrap_or_else(|p| p.into_inner()).insert(role.name.clone(), role);
        // After the write: whoever sees the new generation reads the new role.
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Changes whenever a role changes; effective permissions computed under an older value
    /// may be stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Creates the built-in roles that are missing and rewrites the grants of those that
    /// changed since the last start.
    pub async fn ensure_builtins(&self) -> Result<()> {
        let _w = self.writer.lock().await;
        let now = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        let mut changed = Vec::new();
        for (name, display, description, perms) in builtin_roles() {
            let grants: Vec<Grant> = perms.iter().map(|p| Grant { permission: *p, scope: Scope::All }).collect();
            let existing = self.cache().get(name).cloned();
            let role = match existing {
                Some(r) if r.grants == grants && r.display_name == display && r.builtin => continue,
                Some(r) => Role {
                    display_name: display.into(),
                    description: Some(description.into()),
                    grants,
                    builtin: true,
                    updated_at: now,
                    ..r
                },
                None => Role {
                    id: RoleId::from_ulid(self.ctx.new_ulid()),
                    name: name.into(),
                    display_name: display.into(),
                    description: Some(description.into()),
                    grants,
                    builtin: true,
                    require_totp: false,
                    created_at: now,
                    updated_at: now,
                },
            };
            set.claim(unique::ROLE_NAME, &role.name, role.id.as_u128(), "name");
            set.put(RecordTable::Roles, role.id.as_u128(), &role)?;
            set.audit(AuditDraft::new(&Caller::system(), "role.builtin_updated").record("role", role.id).detail(
                serde_json::json!({ "name": role.name, "grants": role.grants.iter().map(|g| &g.permission).collect::<Vec<_>>() }),
            ));
            changed.push(role);
        }
        if !changed.is_empty() {
            self.ctx.store.commit(set).await?;
            for r in changed {
                self.remember(r);
            }
        }
        Ok(())
    }

    /// Every role: built-in ones first, then by name.
    pub fn list(&self) -> Vec<Role> {
        let mut v: Vec<Role> = self.cache().values().cloned().collect();
        v.sort_by(|a, b| b.builtin.cmp(&a.builtin).then_with(|| a.name.cmp(&b.name)));
        v
    }

    pub fn get(&self, id: RoleId) -> Result<Role> {
        self.cache().values().find(|r| r.id == id).cloned().ok_or(Error::RoleNotFound(id))
    }

    /// True if a role of that name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.cache().contains_key(name)
    }

    /// Effective permissions of a set of role names (unknown names grant nothing).
    pub fn effective(&self, role_names: &[String]) -> Permissions {
        let cache = self.cache();
        Permissions::from_grants(role_names.iter().filter_map(|n| cache.get(n)).flat_map(|r| r.grants.iter()))
    }

    /// True if any of the roles requires second-factor sign-in.
    pub fn require_totp(&self, role_names: &[String]) -> bool {
        let cache = self.cache();
        role_names.iter().filter_map(|n| cache.get(n)).any(|r| r.require_totp)
    }

    /// True if the roles include the administrator role.
    pub fn is_administrator(role_names: &[String]) -> bool {
        role_names.iter().any(|r| r == ADMINISTRATOR)
    }

    /// Refuses grants the granting user does not hold themselves.
    pub fn check_grantor(grantor: &Permissions, grants: &[Grant]) -> Result<()> {
        match grants.iter().find(|g| !grantor.covers(g)) {
            Some(g) => Err(Error::Forbidden { permission: g.permission, scope: g.scope }),
            None => Ok(()),
        }
    }

    /// Creates a custom role. The caller must hold every permission it grants.
    pub async fn create(&self, draft: RoleDraft, grantor: &Permissions, caller: &Caller) -> Result<Role> {
        Self::check_grantor(grantor, &draft.grants)?;
        let _w = self.writer.lock().await;
        let now = self.ctx.clock.now();
        let role = Role {
            id: RoleId::from_ulid(self.ctx.new_ulid()),
            name: draft.name,
            display_name: draft.display_name,
            description: draft.description,
            grants: draft.grants,
            builtin: false,
            require_totp: false,
            created_at: now,
            updated_at: now,
        };
        let mut set = ChangeSet::new();
        set.claim(unique::ROLE_NAME, &role.name, role.id.as_u128(), "name");
        set.put(RecordTable::Roles, role.id.as_u128(), &role)?;
        set.audit(AuditDraft::new(caller, "role.create").record("role", role.id).detail(serde_json::json!({
            "name": role.name, "grants": role.grants,
        })));
        self.ctx.store.commit(set).await?;
        self.remember(role.clone());
        Ok(role)
    }

    /// Changes a custom role. New grants must be held by the caller.
    pub async fn update(&self, id: RoleId, patch: &UpdateRole, grantor: &Permissions, caller: &Caller) -> Result<Role> {
        let _w = self.writer.lock().await;
        let current = self.get(id)?;
        if current.builtin && patch.changes_definition() {
            return Err(Error::BuiltinRole);
        }
        let mut role = patch.apply(&current)?;
        let added: Vec<Grant> = role.grants.iter().filter(|g| !current.grants.contains(g)).cloned().collect();
        Self::check_grantor(grantor, &added)?;
        if role == current {
            return Ok(current);
        }
        role.updated_at = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        set.put(RecordTable::Roles, id.as_u128(), &role)?;
        set.audit(AuditDraft::new(caller, "role.update").record("role", id).detail(serde_json::json!({
            "name": role.name, "grants_before": current.grants, "grants_after": role.grants,
            "require_totp": role.require_totp,
        })));
        self.ctx.store.commit(set).await?;
        self.remember(role.clone());
        Ok(role)
    }
}
