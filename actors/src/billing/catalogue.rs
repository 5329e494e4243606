//! The service catalogue as a record kind. An active item holds unique claims on its code and
//! on each charge-capture link (a drug or drug strength, a vaccine, an appointment type's exam
//! fee), so a clinical event always matches at most one item, found with one look-up of the
//! claim; a retired item gives its claims up (and keeps its place on the invoices that name
//! it). Items are never deleted.

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::catalogue::{CatalogueItem, CreateCatalogueItem, DrugLink, ItemKind, UpdateCatalogueItem};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::formulary::{Formulary, num};
use clowder_schemas::ids::CatalogueItemId;

use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// The catalogue service: [`Records`] plus `update` and the charge-capture look-ups.
pub type Catalogue = Records<CatalogueKind>;

/// The catalogue item record kind.
pub struct CatalogueKind;

/// A change to an item.
#[derive(Debug)]
pub enum CatalogueCommand {
    Update(UpdateCatalogueItem),
}

/// Which items a list shows.
#[derive(Debug, Clone, Default)]
pub struct CatalogueFilter {
    /// Lower-cased words that must all appear in the name or the code.
    pub words: Vec<String>,
    /// Lower-cased category.
    pub category: Option<String>,
    pub kind: Option<ItemKind>,
    /// `Some(true)`: active only; `Some(false)`: retired only; `None`: all.
    pub active: Option<bool>,
}

impl CatalogueFilter {
    fn matches(&self, i: &CatalogueItem) -> bool {
        let text = || {
            let mut t = i.name.to_lowercase();
            if let Some(c) = &i.code {
                t.push(' ');
                t.push_str(&c.to_lowercase());
            }
            t
        };
        self.active.is_none_or(|a| a == i.active)
            && self.kind.is_none_or(|k| k == i.kind)
            && self.category.as_ref().is_none_or(|c| *c == i.category.to_lowercase())
            && (self.words.is_empty() || {
                let t = text();
                self.words.iter().all(|w| t.contains(w.as_str()))
            })
    }
}

/// The charge-capture claims an item holds while active: `(namespace, value, field)`.
fn link_claims(i: &CatalogueItem) -> Vec<(&'static str, String, &'static str)> {
    if !i.active {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(d) = &i.drug {
        out.push((unique::CATALOGUE_DRUG, d.key(), "drug"));
    }
    if let Some(v) = &i.vaccine {
        out.push((unique::CATALOGUE_VACCINE, v.to_lowercase(), "vaccine"));
    }
    if let Some(t) = i.appointment_type_id {
        out.push((unique::CATALOGUE_EXAM, t.to_string(), "appointment_type_id"));
    }
    if let Some(c) = &i.lab_test {
        out.push((unique::CATALOGUE_LAB_TEST, c.to_lowercase(), "lab_test"));
    }
    out
}

impl RecordKind for CatalogueKind {
    type Record = CatalogueItem;
    type Id = CatalogueItemId;
    type Draft = CatalogueItem;
    type Command = CatalogueCommand;
    type Filter = CatalogueFilter;

    const KIND: &'static str = "catalogue_item";
    const TABLE: RecordTable = RecordTable::CatalogueItems;
    const READ_ACTION: &'static str = "catalogue_item.read";
    const LIST_ACTION: &'static str = "catalogue_item.list";
    const READS: crate::records::ReadAudit =
        crate::records::ReadAudit::NotAudited { why: "the price list is the clinic's own, not about any person" };

    fn id(i: &CatalogueItem) -> CatalogueItemId {
        i.id
    }

    fn not_found(id: CatalogueItemId) -> Error {
        Error::CatalogueItemNotFound(id)
    }

    /// Codes are unique among active items (stored upper-cased, so the claim is exact).
    fn claims(i: &CatalogueItem) -> impl Iterator<Item = Claim<'_>> {
        i.code
            .as_deref()
            .filter(|_| i.active)
            .map(|c| Claim { ns: unique::CATALOGUE_CODE, value: c, field: "code" })
            .into_iter()
    }

    fn matches(f: &CatalogueFilter, i: &CatalogueItem) -> bool {
        f.matches(i)
    }

    /// The link claims are not text the record holds, so they are diffed here.
    fn also(_ctx: &DecideCtx<'_>, old: Option<&CatalogueItem>, new: &CatalogueItem) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        let before = old.map(link_claims).unwrap_or_default();
        let after = link_claims(new);
        let key = new.id.as_u128();
        for (ns, value, _) in before.iter().filter(|c| !after.contains(c)) {
            set.release(ns, value, key);
        }
        for (ns, value, field) in after.iter().filter(|c| !before.contains(c)) {
            set.claim(ns, value, key, field);
        }
        Ok(set)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: CatalogueItemId, item: CatalogueItem) -> Result<Decision<CatalogueItem>> {
        let mut item = CatalogueItem { id, ..item };
        item.drug = item.drug.as_ref().map(|d| resolve_drug(ctx, d)).transpose()?;
        check_links(ctx, None, &item)?;
        Ok(Decision {
            event: DomainEvent::CatalogueItemCreated { item_id: id },
            record: item,
            changed: Vec::new(),
            action: "catalogue_item.create",
        })
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &CatalogueItem,
        command: CatalogueCommand,
    ) -> Result<Option<Decision<CatalogueItem>>> {
        let CatalogueCommand::Update(patch) = command;
        let (mut new, mut changed) = patch.apply(current)?;
        if changed.contains(&"drug") {
            new.drug = new.drug.as_ref().map(|d| resolve_drug(ctx, d)).transpose()?;
            if new.drug == current.drug {
                changed.retain(|f| *f != "drug");
            }
        }
        if changed.is_empty() {
            return Ok(None);
        }
        check_links(ctx, Some(current), &new)?;
        new.updated_at = ctx.now;
        let event = DomainEvent::CatalogueItemUpdated {
            item_id: new.id,
            changed: changed.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Some(Decision { record: new, changed, event, action: "catalogue_item.update" }))
    }
}

/// A drug link as the formulary knows it: the drug's id (from its id, name or synonym), and
/// a form and strength the drug comes in, so the link's key is inventory's key of the same
/// drug, form and strength (docs/billing.md, "Charge capture").
fn resolve_drug(ctx: &DecideCtx<'_>, link: &DrugLink) -> Result<DrugLink> {
    let (version, formulary) = crate::clinical::facts::current::<Formulary>(ctx)?;
    let drug = formulary.find(&link.drug_id).ok_or_else(|| {
        ValidationError::new("drug.drug_id", format!("{:?} is not in the formulary (version {version})", link.drug_id))
    })?;
    if let Some(f) = link.form {
        let Some(form) = drug.form(f) else {
            let forms: Vec<&str> = drug.forms.iter().map(|f| f.form.as_str()).collect();
            return Err(
                ValidationError::new("drug.form", format!("{} comes as {}", drug.name, forms.join(", "))).into()
            );
        };
        if let Some(s) = link.strength
            && !form.strengths.iter().any(|x| (x - s).abs() < 1e-9)
        {
            let list: Vec<String> = form.strengths.iter().map(|s| num(*s)).collect();
            return Err(ValidationError::new(
                "drug.strength",
                format!("{} {} comes in {}", drug.name, f.as_str(), list.join(", ")),
            )
            .into());
        }
    }
    Ok(DrugLink { drug_id: drug.id.clone(), form: link.form, strength: link.strength })
}

/// The product and appointment type an item links to exist (a link to nothing would charge
/// or stock nothing, silently); a newly linked product must be active.
fn check_links(ctx: &DecideCtx<'_>, old: Option<&CatalogueItem>, new: &CatalogueItem) -> Result<()> {
    if let Some(pid) = new.product_id {
        let product = ctx
            .get::<clowder_schemas::inventory::Product>(RecordTable::Products, pid.as_u128())?
            .ok_or(Error::ProductNotFound(pid))?;
        let newly_linked = old.is_none_or(|o| o.product_id != Some(pid));
        if newly_linked && !product.active {
            return Err(clowder_schemas::ValidationError::new(
                "product_id",
                format!("product {} ({}) is retired", product.name, product.sku),
            )
            .into());
        }
    }
    if let Some(tid) = new.appointment_type_id
        && old.is_none_or(|o| o.appointment_type_id != Some(tid))
        && ctx
            .get::<clowder_schemas::appointment_types::AppointmentType>(RecordTable::AppointmentTypes, tid.as_u128())?
            .is_none()
    {
        return Err(Error::AppointmentTypeNotFound(tid));
    }
    Ok(())
}

impl Catalogue {
    /// Adds an item from its create body (validated here, under a fresh id).
    pub async fn add(&self, body: &CreateCatalogueItem, caller: &Caller) -> Result<CatalogueItem> {
        let id = CatalogueItemId::from_ulid(self.ctx_ref().new_ulid());
        let item = body.validate(id, self.ctx_ref().clock.now(), caller.user_id())?;
        self.create_with_id(id, item, caller).await
    }

    /// Applies a merge patch (`active: false` retires the item).
    pub async fn update(
        &self,
        id: CatalogueItemId,
        patch: UpdateCatalogueItem,
        caller: &Caller,
    ) -> Result<CatalogueItem> {
        self.command(id, CatalogueCommand::Update(patch), caller).await
    }

    /// The active item holding a charge-capture claim (`unique::CATALOGUE_*`), if any.
    pub fn linked(&self, ns: &str, value: &str) -> Result<Option<CatalogueItem>> {
        let reader = self.store().read()?;
        match reader.unique_owner(ns, value)? {
            Some(key) => Ok(reader.get::<CatalogueItem>(RecordTable::CatalogueItems, key)?),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;

    fn item(json: serde_json::Value) -> CatalogueItem {
        let b: CreateCatalogueItem = serde_json::from_value(json).unwrap();
        b.validate(CatalogueItemId::from_u128(5), Timestamp::UNIX_EPOCH, None).unwrap()
    }

    #[test]
    fn an_active_item_claims_its_code_and_links_and_a_retired_one_none() {
        let i = item(serde_json::json!({
            "name": "FVRCP vaccine", "category": "vaccines", "kind": "service", "price": 3500, "code": "vac1",
            "vaccine": "FVRCP", "drug": {"drug_id": "gabapentin", "form": "capsule", "strength": 100.0}
        }));
        assert_eq!(i.code.as_deref(), Some("VAC1"));
        assert_eq!(CatalogueKind::claims(&i).map(|c| c.value).collect::<Vec<_>>(), ["VAC1"]);
        let links: Vec<_> = link_claims(&i).into_iter().map(|(ns, v, _)| (ns, v)).collect();
        assert_eq!(
            links,
            [
                (unique::CATALOGUE_DRUG, "gabapentin/capsule/100".to_owned()),
                (unique::CATALOGUE_VACCINE, "fvrcp".to_owned())
            ]
        );
        let retired = CatalogueItem { active: false, ..i };
        assert_eq!(CatalogueKind::claims(&retired).count(), 0);
        assert!(link_claims(&retired).is_empty());
    }

    #[test]
    fn search_matches_every_word_in_the_name_or_code() {
        let i = item(
            serde_json::json!({"name": "Wellness exam", "category": "Exams", "kind": "service", "price": 6500, "code": "ex1"}),
        );
        let f = |words: &[&str]| CatalogueFilter {
            words: words.iter().map(|w| w.to_string()).collect(),
            active: Some(true),
            ..Default::default()
        };
        assert!(f(&["exam", "well"]).matches(&i));
        assert!(f(&["ex1"]).matches(&i));
        assert!(!f(&["dental"]).matches(&i));
        assert!(CatalogueFilter { category: Some("exams".into()), ..Default::default() }.matches(&i));
    }
}
