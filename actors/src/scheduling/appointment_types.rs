//! Appointment types, kept in the store and written rarely (one lock orders writes; names are
//! unique through the commit task's claims).

use std::sync::Arc;

use clowder_schemas::AppointmentTypeId;
use clowder_schemas::appointment_types::{
    AppointmentType, CreateAppointmentType, UpdateAppointmentType, default_appointment_types,
};
use clowder_schemas::audit::{AuditDraft, Caller};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// The appointment-types service.
#[derive(Clone)]
pub struct AppointmentTypes {
    ctx: Arc<Ctx>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl AppointmentTypes {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx, writer: Arc::default() }
    }

    /// Seeds the ten default types into a store that has none.
    pub async fn ensure_defaults(&self) -> Result<()> {
        if self.ctx.store.read()?.count(RecordTable::AppointmentTypes)? > 0 {
            return Ok(());
        }
        for t in default_appointment_types() {
            self.create(&t, &Caller::system()).await?;
        }
        Ok(())
    }

    /// Every type, active ones first, then by name.
    pub fn list(&self, include_inactive: bool) -> Result<Vec<AppointmentType>> {
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<AppointmentType>(RecordTable::AppointmentTypes, None, |t| {
            if include_inactive || t.active {
                out.push(t);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        out.sort_by(|a, b| b.active.cmp(&a.active).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
        Ok(out)
    }

    pub fn get(&self, id: AppointmentTypeId) -> Result<AppointmentType> {
        self.ctx
            .store
            .read()?
            .get::<AppointmentType>(RecordTable::AppointmentTypes, id.as_u128())?
            .ok_or(Error::AppointmentTypeNotFound(id))
    }

    pub async fn create(&self, body: &CreateAppointmentType, caller: &Caller) -> Result<AppointmentType> {
        let t = body.validate(AppointmentTypeId::from_ulid(self.ctx.new_ulid()), self.ctx.clock.now())?;
        let _w = self.writer.lock().await;
        let key = t.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::APPOINTMENT_TYPE_NAME, &name_key(&t.name), key, "name");
        set.put(RecordTable::AppointmentTypes, key, &t)?;
        set.audit(
            AuditDraft::new(caller, "appointment_type.create")
                .record("appointment_type", t.id)
                .detail(serde_json::json!({ "name": t.name })),
        );
        self.ctx.store.commit(set).await?;
        Ok(t)
    }

    pub async fn update(
        &self,
        id: AppointmentTypeId,
        patch: &UpdateAppointmentType,
        caller: &Caller,
    ) -> Result<AppointmentType> {
        let _w = self.writer.lock().await;
        let cur = self.get(id)?;
        let mut t = patch.apply(&cur)?;
        if t == cur {
            return Ok(cur);
        }
        t.updated_at = self.ctx.clock.now();
        let key = id.as_u128();
        let mut set = ChangeSet::new();
        if name_key(&t.name) != name_key(&cur.name) {
            set.release(unique::APPOINTMENT_TYPE_NAME, &name_key(&cur.name), key);
            set.claim(unique::APPOINTMENT_TYPE_NAME, &name_key(&t.name), key, "name");
        }
        set.put(RecordTable::AppointmentTypes, key, &t)?;
        set.audit(AuditDraft::new(caller, "appointment_type.update").record("appointment_type", id));
        self.ctx.store.commit(set).await?;
        Ok(t)
    }
}
