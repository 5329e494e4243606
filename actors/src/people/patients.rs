//! Patients (cats) as a record kind: the rules of registering, changing and deactivating a
//! cat, and which cats a list shows. The generic record actor and service
//! ([`crate::records`]) do the rest: one actor per active patient serialises its changes,
//! lists read the store snapshot directly.
//!
//! A patient's owner must exist and be active (read from a store snapshot); microchips are
//! unique across the clinic (claimed in the store's unique table, like client emails); each
//! cat is linked under its owner in `patients_by_client`.

use clowder_schemas::audit::Caller;
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::patients::{Patient, PatientDraft, PatientStatus, UpdatePatient};
use clowder_schemas::{ClientId, PatientId, ValidationError};

use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{IndexTable, RecordTable};

/// The patients service: `create`, `create_with_id`, `get`, `peek`, `exists`, `list`,
/// `list_unaudited`, `live` from [`Records`], plus `update` and `deactivate` below.
pub type Patients = Records<PatientKind>;

/// The patient record kind.
pub struct PatientKind;

/// A change to a patient.
// Commands travel boxed (with the caller) in the actor's message, so their size costs one
// allocation, not mailbox space; boxing the patch again would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum PatientCommand {
    /// A merge patch (it may move the cat to another owner).
    Update(UpdatePatient),
    /// Sets status `inactive` (a deceased cat stays deceased).
    Deactivate,
}

impl RecordKind for PatientKind {
    type Record = Patient;
    type Id = PatientId;
    type Draft = PatientDraft;
    type Command = PatientCommand;
    type Filter = PatientFilter;

    const KIND: &'static str = "patient";
    const TABLE: RecordTable = RecordTable::Patients;
    const READ_ACTION: &'static str = "patient.read";
    const LIST_ACTION: &'static str = "patient.list";

    fn id(record: &Patient) -> PatientId {
        record.id
    }

    fn not_found(id: PatientId) -> Error {
        Error::PatientNotFound(id)
    }

    fn claims(p: &Patient) -> impl Iterator<Item = Claim<'_>> {
        p.microchip.iter().map(|m| Claim { ns: unique::PATIENT_MICROCHIP, value: m.as_str(), field: "microchip" })
    }

    fn links(p: &Patient) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::PatientsByClient, parent: p.client_id.as_u128() })
    }

    fn matches(filter: &PatientFilter, p: &Patient) -> bool {
        filter.matches(p)
    }

    /// Listing one owner's cats walks that owner's index instead of every patient.
    fn list_via(filter: &PatientFilter) -> Option<Link> {
        filter.client_id.map(|c| Link { index: IndexTable::PatientsByClient, parent: c.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: PatientId, draft: PatientDraft) -> Result<Decision<Patient>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Patient, command: PatientCommand) -> Result<Option<Decision<Patient>>> {
        match command {
            PatientCommand::Update(patch) => decide_update(ctx, current, &patch),
            PatientCommand::Deactivate => Ok(decide_deactivate(ctx, current)),
        }
    }
}

/// The owner must exist and be active: a cat is neither registered to nor moved to a
/// deactivated client.
fn check_owner(ctx: &DecideCtx<'_>, id: ClientId) -> Result<()> {
    match ctx.get::<Client>(RecordTable::Clients, id.as_u128())? {
        None => Err(Error::OwnerNotFound(id)),
        Some(c) if !c.active => {
            Err(ValidationError::new("client_id", "the client is inactive; reactivate them first").into())
        }
        Some(_) => Ok(()),
    }
}

/// A new, active cat from a validated draft, registered by the caller to an active owner.
pub fn decide_create(ctx: &DecideCtx<'_>, id: PatientId, draft: PatientDraft) -> Result<Decision<Patient>> {
    check_owner(ctx, draft.client_id)?;
    let patient = draft.into_patient(id, ctx.now, ctx.caller.user_id());
    Ok(Decision {
        event: DomainEvent::PatientCreated { patient: patient.clone() },
        record: patient,
        changed: Vec::new(),
        action: "patient.create",
    })
}

/// Applies a merge patch (birthdays checked against the clinic's today). A patch that
/// changes nothing writes nothing; a move to another owner needs that owner active.
pub fn decide_update(
    ctx: &DecideCtx<'_>,
    current: &Patient,
    patch: &UpdatePatient,
) -> Result<Option<Decision<Patient>>> {
    let (new, changed) = patch.apply(current, ctx.today())?;
    if changed.is_empty() {
        return Ok(None);
    }
    if new.client_id != current.client_id {
        check_owner(ctx, new.client_id)?;
    }
    Ok(Some(changes(ctx, new, changed, false)))
}

/// Deactivates an active cat; an inactive or deceased one is answered unchanged (a deceased
/// patient keeps its status: it is already out of every workflow).
pub fn decide_deactivate(ctx: &DecideCtx<'_>, current: &Patient) -> Option<Decision<Patient>> {
    if current.status != PatientStatus::Active {
        return None;
    }
    Some(changes(ctx, Patient { status: PatientStatus::Inactive, ..current.clone() }, vec!["status"], true))
}

fn changes(ctx: &DecideCtx<'_>, mut new: Patient, changed: Vec<&'static str>, deactivated: bool) -> Decision<Patient> {
    new.updated_at = ctx.now;
    let (event, action) = if deactivated {
        (DomainEvent::PatientDeactivated { patient: new.clone() }, "patient.deactivate")
    } else {
        let names = changed.iter().map(|s| s.to_string()).collect();
        (DomainEvent::PatientUpdated { patient: new.clone(), changed: names }, "patient.update")
    };
    Decision { record: new, changed, event, action }
}

impl Patients {
    /// Applies a merge patch to a patient.
    pub async fn update(&self, id: PatientId, patch: UpdatePatient, caller: &Caller) -> Result<Patient> {
        self.command(id, PatientCommand::Update(patch), caller).await
    }

    /// Deactivates (status `inactive`; a deceased patient stays deceased).
    pub async fn deactivate(&self, id: PatientId, caller: &Caller) -> Result<Patient> {
        self.command(id, PatientCommand::Deactivate, caller).await
    }
}

/// Which patients a list shows.
#[derive(Debug, Clone, Default)]
pub struct PatientFilter {
    /// `None` lists every status.
    pub status: Option<PatientStatus>,
    pub client_id: Option<ClientId>,
    /// Lower-case fragment of the cat's name.
    pub name: Option<String>,
    /// Only patients this user registered (a permission held with scope `own`).
    pub created_by: Option<clowder_schemas::UserId>,
}

impl PatientFilter {
    fn matches(&self, p: &Patient) -> bool {
        self.status.is_none_or(|s| s == p.status)
            && self.client_id.is_none_or(|c| c == p.client_id)
            && self.name.as_ref().is_none_or(|n| p.name.to_lowercase().contains(n.as_str()))
            && (self.created_by.is_none() || p.created_by == self.created_by)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clowder_schemas::UserId;
    use clowder_schemas::clients::CreateClient;
    use clowder_schemas::events::Author;
    use clowder_schemas::patients::CreatePatient;
    use jiff::Timestamp;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ctx::SystemConfig;
    use crate::metrics::StoreMetrics;
    use crate::records::{claimed, linked, released, unlinked};
    use crate::store::{ChangeSet, Store, StoreConfig};

    const ACTIVE_OWNER: ClientId = ClientId::from_u128(1);
    const INACTIVE_OWNER: ClientId = ClientId::from_u128(2);
    const OTHER_OWNER: ClientId = ClientId::from_u128(3);
    const NOBODY: ClientId = ClientId::from_u128(99);

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    /// A store on a temporary directory holding an active, an inactive and another active
    /// client: the snapshot the owner checks read.
    async fn store_with_owners(dir: &std::path::Path) -> Arc<Store> {
        let config = StoreConfig {
            path: dir.join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let store = Store::open(&config, Arc::new(ManualClock::new(at(1_000))), StoreMetrics::default()).unwrap();
        let body: CreateClient = serde_json::from_value(
            serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "5550142" }),
        )
        .unwrap();
        let mut set = ChangeSet::new();
        for (id, active) in [(ACTIVE_OWNER, true), (INACTIVE_OWNER, false), (OTHER_OWNER, true)] {
            let client = Client { active, ..body.validate("1").unwrap().into_client(id, at(1_000), None) };
            set.put(RecordTable::Clients, id.as_u128(), &client).unwrap();
        }
        store.commit(set).await.unwrap();
        store
    }

    fn draft(owner: ClientId, chip: Option<&str>) -> PatientDraft {
        let body: CreatePatient =
            serde_json::from_value(serde_json::json!({ "client_id": owner, "name": "Miso", "microchip": chip }))
                .unwrap();
        body.validate(jiff::civil::date(2026, 1, 1)).unwrap()
    }

    /// A cat as stored, for decisions that read no other record.
    fn miso(owner: ClientId, status: PatientStatus) -> Patient {
        Patient {
            status,
            ..draft(owner, Some("985112345678901")).into_patient(PatientId::from_u128(10), at(1_000), None)
        }
    }

    fn patch(body: serde_json::Value) -> UpdatePatient {
        serde_json::from_value(body).unwrap()
    }

    #[tokio::test]
    async fn create_needs_an_owner_on_file_and_active() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_owners(dir.path()).await;
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new(at(2_000), &settings, &caller, Some(&store));
        let id = PatientId::from_u128(10);

        let e = decide_create(&ctx, id, draft(NOBODY, None)).unwrap_err();
        assert!(matches!(e, Error::OwnerNotFound(c) if c == NOBODY), "{e:?}");
        let e = decide_create(&ctx, id, draft(INACTIVE_OWNER, None)).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "client_id"), "{e:?}");

        let d = decide_create(&ctx, id, draft(ACTIVE_OWNER, Some("985112345678901"))).unwrap();
        assert_eq!((d.record.status, d.record.created_by), (PatientStatus::Active, Some(UserId::from_u128(7))));
        assert_eq!(d.action, "patient.create");
        assert!(matches!(d.event, DomainEvent::PatientCreated { .. }));
        let links: Vec<_> = linked::<PatientKind>(None, &d.record).collect();
        assert_eq!(links, [Link { index: IndexTable::PatientsByClient, parent: ACTIVE_OWNER.as_u128() }]);
        let claims: Vec<_> = claimed::<PatientKind>(None, &d.record).map(|c| (c.ns, c.field)).collect();
        assert_eq!(claims, [(unique::PATIENT_MICROCHIP, "microchip")]);
    }

    #[tokio::test]
    async fn a_cat_cannot_be_moved_to_an_inactive_owner_and_a_move_relinks_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_owners(dir.path()).await;
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new(at(2_000), &settings, &caller, Some(&store));
        let cat = miso(ACTIVE_OWNER, PatientStatus::Active);

        let e = decide_update(&ctx, &cat, &patch(serde_json::json!({ "client_id": INACTIVE_OWNER }))).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "client_id"), "{e:?}");
        let e = decide_update(&ctx, &cat, &patch(serde_json::json!({ "client_id": NOBODY }))).unwrap_err();
        assert!(matches!(e, Error::OwnerNotFound(_)), "{e:?}");

        let d = decide_update(&ctx, &cat, &patch(serde_json::json!({ "client_id": OTHER_OWNER }))).unwrap().unwrap();
        assert_eq!(d.changed, ["client_id"]);
        let parents = |it: &mut dyn Iterator<Item = Link>| it.map(|l| l.parent).collect::<Vec<_>>();
        assert_eq!(parents(&mut unlinked::<PatientKind>(Some(&cat), &d.record)), [ACTIVE_OWNER.as_u128()]);
        assert_eq!(parents(&mut linked::<PatientKind>(Some(&cat), &d.record)), [OTHER_OWNER.as_u128()]);
        assert_eq!(claimed::<PatientKind>(Some(&cat), &d.record).count(), 0, "the microchip stays claimed");
    }

    #[test]
    fn a_patch_that_keeps_the_owner_reads_no_other_record() {
        // No store at all: the decision must not need one.
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new(at(2_000), &settings, &caller, None);
        let cat = miso(INACTIVE_OWNER, PatientStatus::Active);
        let d =
            decide_update(&ctx, &cat, &patch(serde_json::json!({ "microchip": "985112345678902" }))).unwrap().unwrap();
        assert_eq!((d.changed.as_slice(), d.action), (["microchip"].as_slice(), "patient.update"));
        assert_eq!(d.record.updated_at, at(2_000));
        assert_eq!(released::<PatientKind>(Some(&cat), &d.record).count(), 1);
        assert_eq!(
            claimed::<PatientKind>(Some(&cat), &d.record).map(|c| c.value).collect::<Vec<_>>(),
            ["985112345678902"]
        );
        assert_eq!(linked::<PatientKind>(Some(&cat), &d.record).count(), 0);
        assert!(decide_update(&ctx, &cat, &patch(serde_json::json!({ "name": "Miso" }))).unwrap().is_none());
    }

    #[test]
    fn deactivating_sets_inactive_and_deceased_stays_deceased() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new(at(2_000), &settings, &caller, None);
        let d = decide_deactivate(&ctx, &miso(ACTIVE_OWNER, PatientStatus::Active)).unwrap();
        assert_eq!(d.record.status, PatientStatus::Inactive);
        assert_eq!((d.changed.as_slice(), d.action), (["status"].as_slice(), "patient.deactivate"));
        assert!(matches!(d.event, DomainEvent::PatientDeactivated { .. }));
        assert!(decide_deactivate(&ctx, &miso(ACTIVE_OWNER, PatientStatus::Inactive)).is_none());
        assert!(decide_deactivate(&ctx, &miso(ACTIVE_OWNER, PatientStatus::Deceased)).is_none());
        let e = decide_update(
            &ctx,
            &miso(ACTIVE_OWNER, PatientStatus::Deceased),
            &patch(serde_json::json!({ "status": "active" })),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "status"), "{e:?}");
    }

    #[test]
    fn deceased_on_defaults_to_the_clinics_today_in_its_zone() {
        // 02:00 UTC on 1 March is still 28 February in New York.
        let mut settings = SystemConfig::new("unused");
        settings.time_zone = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let caller = caller();
        let now: Timestamp = "2026-03-01T02:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, None);
        let d = decide_update(
            &ctx,
            &miso(ACTIVE_OWNER, PatientStatus::Active),
            &patch(serde_json::json!({ "status": "deceased" })),
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.record.deceased_on, Some(jiff::civil::date(2026, 2, 28)));
        assert_eq!(d.changed, ["status", "deceased_on"]);
    }
}
