//! Protocols as a record kind: templates of dated steps with costs. Each change makes a new
//! version (plans copy the steps of the version they came from, so an edit never reaches a
//! plan already made). A step's catalogue item must be on file; without a typed cost its price
//! becomes the step's estimated cost when the protocol is saved. Also the built-in starter
//! set a clinic copies from ([`starters`]).

use clowder_schemas::audit::Caller;
use clowder_schemas::catalogue::CatalogueItem;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::ProtocolId;
use clowder_schemas::money::Cents;
use clowder_schemas::protocols::{
    CreateProtocol, Protocol, ProtocolDraft, ProtocolPatch, ProtocolStep, StepDraft, StepInput, StepKind,
};
use clowder_schemas::{AppointmentTypeId, ValidationError};

use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, ReadAudit, RecordKind, Records};
use crate::store::RecordTable;

/// The protocols service.
pub type Protocols = Records<ProtocolKind>;

/// The protocol record kind.
pub struct ProtocolKind;

/// A change to a protocol (a new version).
#[derive(Debug)]
pub enum ProtocolCommand {
    Update(ProtocolPatch),
}

/// Which protocols a list shows.
#[derive(Debug, Clone, Default)]
pub struct ProtocolFilter {
    pub active: Option<bool>,
}

impl RecordKind for ProtocolKind {
    type Record = Protocol;
    type Id = ProtocolId;
    type Draft = ProtocolDraft;
    type Command = ProtocolCommand;
    type Filter = ProtocolFilter;

    const KIND: &'static str = "protocol";
    const TABLE: RecordTable = RecordTable::Protocols;
    const READ_ACTION: &'static str = "protocol.read";
    const LIST_ACTION: &'static str = "protocol.list";
    const READS: ReadAudit =
        ReadAudit::NotAudited { why: "a protocol is the clinic's template, not a client's or a cat's record" };

    fn id(p: &Protocol) -> ProtocolId {
        p.id
    }

    fn not_found(id: ProtocolId) -> Error {
        Error::ProtocolNotFound(id)
    }

    fn claims(_: &Protocol) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn matches(f: &ProtocolFilter, p: &Protocol) -> bool {
        f.active.is_none_or(|a| a == p.active)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: ProtocolId, draft: ProtocolDraft) -> Result<Decision<Protocol>> {
        let steps = priced(ctx, draft.steps)?;
        let p = Protocol {
            id,
            name: draft.name,
            species_note: draft.species_note,
            description: draft.description,
            active: draft.active,
            version: 1,
            steps,
            starter: draft.starter,
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: ctx.caller.user_id(),
        };
        Ok(Decision {
            event: DomainEvent::ProtocolSaved { protocol_id: id, version: 1 },
            record: p,
            changed: Vec::new(),
            action: "protocol.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Protocol, command: ProtocolCommand) -> Result<Option<Decision<Protocol>>> {
        let ProtocolCommand::Update(patch) = command;
        let mut new = current.clone();
        let mut changed = Vec::new();
        if let Some(n) = patch.name.filter(|n| *n != current.name) {
            new.name = n;
            changed.push("name");
        }
        if let Some(s) = patch.species_note.filter(|s| *s != current.species_note) {
            new.species_note = s;
            changed.push("species_note");
        }
        if let Some(d) = patch.description.filter(|d| *d != current.description) {
            new.description = d;
            changed.push("description");
        }
        if let Some(a) = patch.active.filter(|a| *a != current.active) {
            new.active = a;
            changed.push("active");
        }
        if let Some(steps) = patch.steps {
            let steps = priced(ctx, steps)?;
            if steps != current.steps {
                new.steps = steps;
                changed.push("steps");
            }
        }
        if changed.is_empty() {
            return Ok(None);
        }
        new.version = current.version + 1;
        new.updated_at = ctx.now;
        changed.push("version");
        let event = DomainEvent::ProtocolSaved { protocol_id: new.id, version: new.version };
        Ok(Some(Decision { record: new, changed, event, action: "protocol.update" }))
    }
}

/// The steps with their catalogue items checked and, where no cost was typed, priced.
pub(crate) fn priced(ctx: &DecideCtx<'_>, drafts: Vec<StepDraft>) -> Result<Vec<ProtocolStep>> {
    drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let mut step = d.step;
            if let Some(item_id) = step.catalogue_item_id {
                let field = format!("steps[{i}].catalogue_item_id");
                let item = ctx
                    .get::<CatalogueItem>(RecordTable::CatalogueItems, item_id.as_u128())?
                    .ok_or_else(|| ValidationError::new(&field, "names no catalogue item"))?;
                if !item.active {
                    return Err(ValidationError::new(field, "the catalogue item is retired").into());
                }
                if d.cost_from_catalogue {
                    step.cost = item.price;
                }
            }
            if let Some(t) = step.appointment_type_id {
                check_type(ctx, t, &format!("steps[{i}].appointment_type_id"))?;
            }
            Ok(step)
        })
        .collect()
}

fn check_type(ctx: &DecideCtx<'_>, id: AppointmentTypeId, field: &str) -> Result<()> {
    let found =
        ctx.get::<clowder_schemas::appointment_types::AppointmentType>(RecordTable::AppointmentTypes, id.as_u128())?;
    if found.is_none() {
        return Err(ValidationError::new(field, "names no appointment type").into());
    }
    Ok(())
}

impl Protocols {
    /// Saves a new version of a protocol.
    pub async fn update(&self, id: ProtocolId, patch: ProtocolPatch, caller: &Caller) -> Result<Protocol> {
        self.command(id, ProtocolCommand::Update(patch), caller).await
    }

    /// Copies a built-in starter into the clinic's protocols (a new protocol, version 1).
    pub async fn copy_starter(&self, key: &str, caller: &Caller) -> Result<Protocol> {
        let (_, body) = starters()
            .into_iter()
            .find(|(k, _)| *k == key)
            .ok_or_else(|| ValidationError::new("key", "names no starter protocol"))?;
        let mut draft = body.validate()?;
        draft.starter = Some(key.to_string());
        self.create(draft, caller).await
    }
}

fn step(title: &str, kind: StepKind, day: i64, cost: i64, lead: Option<i64>) -> StepInput {
    StepInput {
        title: title.into(),
        kind,
        day_offset: day,
        catalogue_item_id: None,
        cost: Some(Cents::new(cost)),
        appointment_type_id: None,
        duration_minutes: Some(30),
        reminder_lead_days: lead,
    }
}

/// The built-in starter protocols, `(key, body)`: realistic feline work-ups a clinic copies
/// and then prices with its own catalogue. Costs are typical US prices in cents.
pub fn starters() -> Vec<(&'static str, CreateProtocol)> {
    use StepKind::*;
    let p = |name: &str, note: &str, description: &str, steps: Vec<StepInput>| CreateProtocol {
        name: name.into(),
        species_note: Some(note.into()),
        description: Some(description.into()),
        active: Some(true),
        steps,
    };
    // CKD monitoring (IRIS): a recheck of creatinine and SDMA, blood pressure and a urinalysis
    // every three months for a year.
    let mut ckd = Vec::new();
    for (q, day) in [(1, 0), (2, 91), (3, 182), (4, 273)] {
        ckd.push(step(&format!("Recheck {q}: exam and blood pressure"), Recheck, day, 6_500, Some(7)));
        ckd.push(step(&format!("Recheck {q}: creatinine, SDMA, urinalysis (UPC)"), Lab, day, 18_500, None));
    }
    vec![
        (
            "dental_cleaning",
            p(
                "Dental cleaning",
                "Adult cats; senior cats need the pre-anaesthetic bloods",
                "Pre-anaesthetic bloods, then the cleaning under anaesthesia with dental radiographs, and a recheck of the mouth two weeks later.",
                vec![
                    step("Pre-anaesthetic bloods (CBC, chemistry, T4)", Lab, 0, 21_000, Some(2)),
                    step("Dental cleaning, radiographs and anaesthesia", Procedure, 7, 85_000, Some(3)),
                    step("Dental recheck", Recheck, 21, 0, Some(2)),
                ],
            ),
        ),
        (
            "ckd_monitoring",
            p(
                "CKD monitoring (IRIS stage 2-3)",
                "Cats with chronic kidney disease, IRIS stage 2 or 3",
                "Quarterly rechecks for a year: creatinine and SDMA, blood pressure and a urinalysis with UPC, to restage and adjust the diet and medication.",
                ckd,
            ),
        ),
        (
            "hyperthyroid_radioiodine",
            p(
                "Hyperthyroid radioiodine (I-131) work-up",
                "Hyperthyroid cats considered for radioiodine",
                "Confirm the diagnosis and screen the kidneys and heart before referral for I-131; recheck T4 a month after treatment.",
                vec![
                    step("Total T4 and chemistry panel", Lab, 0, 19_500, Some(3)),
                    step("Urinalysis", Lab, 0, 6_500, None),
                    step("Thoracic radiographs", Procedure, 0, 32_000, None),
                    step("I-131 referral", Other, 14, 0, Some(7)),
                    step("Post-I-131 recheck: T4 and creatinine", Recheck, 44, 16_000, Some(7)),
                ],
            ),
        ),
        (
            "kitten_series",
            p(
                "Kitten series",
                "Kittens from 8 weeks; day 0 is the first visit at 8 weeks",
                "FVRCP at 8, 12 and 16 weeks, rabies at 16 weeks and neutering at about five to six months.",
                vec![
                    step("FVRCP 1 (8 weeks), exam, deworming", Vaccination, 0, 6_800, Some(3)),
                    step("FVRCP 2 (12 weeks)", Vaccination, 28, 4_800, Some(3)),
                    step("FVRCP 3 (16 weeks)", Vaccination, 56, 4_800, Some(3)),
                    step("Rabies (16 weeks)", Vaccination, 56, 3_500, None),
                    step("Neuter (about 5-6 months)", Procedure, 120, 35_000, Some(7)),
                ],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;
    use clowder_schemas::protocols::UpdateProtocol;
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;

    #[test]
    fn every_starter_is_a_valid_protocol() {
        let s = starters();
        assert_eq!(s.len(), 4);
        for (key, body) in s {
            let d = body.validate().unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert!(!d.steps.is_empty(), "{key}");
        }
    }

    #[test]
    fn an_edit_makes_a_new_version_and_a_no_op_writes_nothing() {
        let settings = SystemConfig::new("unused");
        let caller = Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() };
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, None);
        let (_, body) = starters().remove(0);
        let p = ProtocolKind::decide_create(&ctx, ProtocolId::from_u128(1), body.validate().unwrap()).unwrap().record;
        assert_eq!((p.version, p.estimated_total()), (1, Cents::new(106_000)));
        let patch: UpdateProtocol = serde_json::from_value(serde_json::json!({"name": "Dental"})).unwrap();
        let d = ProtocolKind::decide(&ctx, &p, ProtocolCommand::Update(patch.validate().unwrap())).unwrap().unwrap();
        assert_eq!((d.record.version, d.changed.as_slice()), (2, ["name", "version"].as_slice()));
        let same: UpdateProtocol = serde_json::from_value(serde_json::json!({"name": p.name})).unwrap();
        assert!(ProtocolKind::decide(&ctx, &p, ProtocolCommand::Update(same.validate().unwrap())).unwrap().is_none());
    }
}
