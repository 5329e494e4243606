//! Registered exam-room tablets. A device holds a credential (shown once at registration,
//! stored only as its SHA-256) that lets staff unlock a short-lived session on it with their
//! PIN (see `accounts`). Retiring a device ends every session unlocked on it.

use std::sync::Arc;

use clowder_schemas::DeviceId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::devices::Device;
use clowder_schemas::events::Author as By;
use clowder_schemas::users::Session;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::secrets::{random_secret, token_hash};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// The devices service (writes are rare; the commit task orders them).
#[derive(Clone)]
pub struct Devices {
    ctx: Arc<Ctx>,
}

impl Devices {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx }
    }

    /// Registers a device; returns it with its credential (shown this once).
    pub async fn register(&self, name: String, location: Option<String>, caller: &Caller) -> Result<(Device, String)> {
        let credential = random_secret(32);
        let device = Device {
            id: DeviceId::from_ulid(self.ctx.new_ulid()),
            name,
            location,
            token_hash: token_hash(&credential),
            active: true,
            created_at: self.ctx.clock.now(),
            created_by: caller.actor.and_then(|a| match a {
                By::User(u) => Some(u),
                By::System => None,
            }),
        };
        let key = device.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::DEVICE_TOKEN, &device.token_hash, key, "credential");
        set.put(RecordTable::Devices, key, &device)?;
        set.audit(
            AuditDraft::new(caller, "device.register")
                .record("device", device.id)
                .detail(serde_json::json!({ "name": device.name, "location": device.location })),
        );
        self.ctx.store.commit(set).await?;
        Ok((device, credential))
    }

    /// Every device, oldest first.
    pub fn list(&self) -> Result<Vec<Device>> {
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<Device>(RecordTable::Devices, None, |d| {
            out.push(d);
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// The active device a credential belongs to.
    pub fn by_credential(&self, credential: &str) -> Result<Option<Device>> {
        if credential.is_empty() || credential.len() > 128 {
            return Ok(None);
        }
        let r = self.ctx.store.read()?;
        let Some(key) = r.unique_owner(unique::DEVICE_TOKEN, &token_hash(credential))? else { return Ok(None) };
        Ok(r.get::<Device>(RecordTable::Devices, key)?.filter(|d| d.active))
    }

    /// Retires (or re-enables) a device; retiring ends every session unlocked on it.
    pub async fn set_active(&self, id: DeviceId, active: bool, caller: &Caller) -> Result<Device> {
        let r = self.ctx.store.read()?;
        let current = r.get::<Device>(RecordTable::Devices, id.as_u128())?.ok_or(Error::DeviceNotFound(id))?;
        if current.active == active {
            return Ok(current);
        }
        let device = Device { active, ..current };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Devices, id.as_u128(), &device)?;
        set.audit(AuditDraft::new(caller, if active { "device.enable" } else { "device.retire" }).record("device", id));
        if !active {
            let mut sessions = Vec::new();
            r.scan::<Session>(RecordTable::Sessions, None, |s| {
                if s.device_id == Some(id) {
                    sessions.push(s);
                }
                std::ops::ControlFlow::Continue(())
            })?;
            for s in sessions {
                crate::staff::accounts::end_session(&mut set, &s, caller, "tablet retired");
            }
        }
        drop(r);
        self.ctx.store.commit(set).await?;
        Ok(device)
    }
}
