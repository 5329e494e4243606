//! The service catalogue: what the clinic charges for (an exam, a vaccine, a tablet of a
//! drug), with its price and cost in cents, category, taxable flag, optional code, and the
//! links that let charge capture find it: the inventory product it sells, the formulary drug
//! (and strength) or vaccine it charges, the appointment type whose exam fee it is. Items are
//! retired (`active: false`), never deleted: invoices name them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::formulary::FormKind;
use crate::ids::{AppointmentTypeId, CatalogueItemId, ProductId, UserId};
use crate::money::Cents;
use crate::patch::{Patch, cleared};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text, required_text};

/// Longest item name.
pub const MAX_ITEM_NAME_CHARS: usize = 200;
/// Longest code (a clinic's own short code, `EXAM1`).
pub const MAX_ITEM_CODE_CHARS: usize = 40;

/// A service (time, a procedure) or a product (something handed over, usually from stock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Service,
    Product,
}

/// A formulary drug (and optionally one form, and one strength of that form) the item
/// charges when dispensed. Resolved through the formulary when saved (a name or synonym
/// becomes the drug's id; the form and strength must be the drug's), so its key is
/// inventory's key of the same drug, form and strength.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrugLink {
    /// The formulary's drug id (`gabapentin`; a name or synonym is accepted on input).
    pub drug_id: String,
    /// The dosage form; none matches every form of the drug without a more specific item.
    #[serde(default)]
    pub form: Option<FormKind>,
    /// The strength in the drug's dose unit (per tablet or per mL), of `form` (required with
    /// a strength); none matches every strength of the form without a more specific item.
    #[serde(default)]
    pub strength: Option<f64>,
}

impl DrugLink {
    /// The key a dispensed prescription is matched by: inventory's `drug/form/strength`
    /// ([`crate::inventory::FormularyLink::key_of`]), or its prefix `drug/form`, or `drug`.
    pub fn key(&self) -> String {
        match (self.form, self.strength) {
            (Some(f), Some(s)) => crate::inventory::FormularyLink::key_of(&self.drug_id, f, s),
            (Some(f), None) => format!("{}/{}", self.drug_id, f.as_str()),
            (None, _) => self.drug_id.clone(),
        }
    }

    /// The keys a dispensed drug, form and strength is looked up by, most specific first:
    /// an item for that exact strength wins over one for the form, which wins over one for
    /// the drug.
    pub fn lookup_keys(drug_id: &str, form: FormKind, strength: f64) -> [String; 3] {
        [
            crate::inventory::FormularyLink::key_of(drug_id, form, strength),
            format!("{drug_id}/{}", form.as_str()),
            drug_id.to_owned(),
        ]
    }

    fn validate(&self) -> Result<DrugLink, ValidationError> {
        let drug_id = required_text("drug.drug_id", &self.drug_id, MAX_NAME_CHARS)?;
        if self.strength.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            return Err(ValidationError::new("drug.strength", "must be a positive number"));
        }
        if self.strength.is_some() && self.form.is_none() {
            // A strength means nothing without its form (gabapentin 50 is a solution, 100 a
            // capsule), and inventory's key names all three.
            return Err(ValidationError::new("drug.form", "is required with a strength"));
        }
        Ok(DrugLink { drug_id, form: self.form, strength: self.strength })
    }
}

/// A catalogue item, as stored and returned. Amounts are integer cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogueItem {
    pub id: CatalogueItemId,
    pub name: String,
    /// Free text the clinic groups by (`exams`, `vaccines`, `medications`, …); reports and
    /// the accounting export group revenue by it.
    pub category: String,
    pub kind: ItemKind,
    /// Unique among active items; stored upper-cased (`EXAM1`).
    pub code: Option<String>,
    /// Price per unit, cents.
    pub price: Cents,
    /// What one unit costs the clinic, cents.
    pub cost: Option<Cents>,
    pub taxable: bool,
    pub active: bool,
    pub product_id: Option<ProductId>,
    /// Charge capture: the item a dispensed prescription of this drug becomes.
    pub drug: Option<DrugLink>,
    /// Charge capture: the item a vaccination with this protocol code (`fvrcp`) becomes.
    pub vaccine: Option<String>,
    /// Charge capture: the exam fee of a visit of this appointment type.
    pub appointment_type_id: Option<AppointmentTypeId>,
    /// Charge capture: the item a lab order of this test code (`CHEM10`) becomes.
    #[serde(default)]
    pub lab_test: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for CatalogueItem {
    const KIND: &'static str = "catalogue_item";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/catalogue`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCatalogueItem {
    pub name: String,
    pub category: String,
    pub kind: ItemKind,
    #[serde(default)]
    pub code: Option<String>,
    /// Cents, `0..=1000000000`.
    pub price: Cents,
    #[serde(default)]
    pub cost: Option<Cents>,
    /// Default `false`.
    #[serde(default)]
    pub taxable: bool,
    #[serde(default)]
    pub product_id: Option<ProductId>,
    #[serde(default)]
    pub drug: Option<DrugLink>,
    #[serde(default)]
    pub vaccine: Option<String>,
    #[serde(default)]
    pub appointment_type_id: Option<AppointmentTypeId>,
    /// A lab test code of the `lab_tests` catalogue (`CHEM10`).
    #[serde(default)]
    pub lab_test: Option<String>,
}

impl CreateCatalogueItem {
    /// Validates every field into a new, active item.
    pub fn validate(
        &self,
        id: CatalogueItemId,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<CatalogueItem, ValidationError> {
        Ok(CatalogueItem {
            id,
            name: required_text("name", &self.name, MAX_ITEM_NAME_CHARS)?,
            category: required_text("category", &self.category, MAX_NAME_CHARS)?,
            kind: self.kind,
            code: optional_text("code", self.code.as_deref(), MAX_ITEM_CODE_CHARS)?.map(|c| c.to_uppercase()),
            price: self.price.typed("price", false)?,
            cost: self.cost.map(|c| c.typed("cost", false)).transpose()?,
            taxable: self.taxable,
            active: true,
            product_id: self.product_id,
            drug: self.drug.as_ref().map(DrugLink::validate).transpose()?,
            vaccine: optional_text("vaccine", self.vaccine.as_deref(), MAX_NAME_CHARS)?,
            appointment_type_id: self.appointment_type_id,
            lab_test: self.lab_test.as_deref().map(|c| crate::labs::code("lab_test", c)).transpose()?,
            created_at: now,
            updated_at: now,
            created_by: by,
        })
    }
}

/// Body of `PATCH /api/catalogue/{id}` (merge patch: `null` clears an optional field);
/// `active: false` retires the item (it stays on the invoices that name it).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCatalogueItem {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub category: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ItemKind>)]
    pub kind: Patch<ItemKind>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub code: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub price: Patch<Cents>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub cost: Patch<Cents>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub taxable: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<ProductId>)]
    pub product_id: Patch<ProductId>,
    #[serde(default)]
    #[schema(value_type = Option<DrugLink>)]
    pub drug: Patch<DrugLink>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub vaccine: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<AppointmentTypeId>)]
    pub appointment_type_id: Patch<AppointmentTypeId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub lab_test: Patch<String>,
}

impl UpdateCatalogueItem {
    /// The new item (timestamps untouched) and the JSON names of the changed fields.
    pub fn apply(&self, cur: &CatalogueItem) -> Result<(CatalogueItem, Vec<&'static str>), ValidationError> {
        let mut n = cur.clone();
        let required = |field: &str, patch: &Patch<String>, cur: &str, max: usize| match patch {
            Patch::Keep => Ok(cur.to_owned()),
            Patch::Clear => Err(cleared(field)),
            Patch::Set(v) => required_text(field, v, max),
        };
        let optional = |field: &str, patch: &Patch<String>, cur: &Option<String>, max: usize| match patch {
            Patch::Keep => Ok(cur.clone()),
            Patch::Clear => Ok(None),
            Patch::Set(v) => optional_text(field, Some(v), max),
        };
        n.name = required("name", &self.name, &cur.name, MAX_ITEM_NAME_CHARS)?;
        n.category = required("category", &self.category, &cur.category, MAX_NAME_CHARS)?;
        n.code = optional("code", &self.code, &cur.code, MAX_ITEM_CODE_CHARS)?.map(|c| c.to_uppercase());
        n.vaccine = optional("vaccine", &self.vaccine, &cur.vaccine, MAX_NAME_CHARS)?;
        n.kind = self.kind.required(cur.kind, "kind")?;
        n.price = self.price.required(cur.price, "price")?.typed("price", false)?;
        n.cost = self.cost.optional(cur.cost).map(|c| c.typed("cost", false)).transpose()?;
        n.taxable = self.taxable.required(cur.taxable, "taxable")?;
        n.active = self.active.required(cur.active, "active")?;
        n.product_id = self.product_id.optional(cur.product_id);
        n.drug = match &self.drug {
            Patch::Keep => cur.drug.clone(),
            Patch::Clear => None,
            Patch::Set(d) => Some(d.validate()?),
        };
        n.appointment_type_id = self.appointment_type_id.optional(cur.appointment_type_id);
        n.lab_test = match &self.lab_test {
            Patch::Keep => cur.lab_test.clone(),
            Patch::Clear => None,
            Patch::Set(c) => Some(crate::labs::code("lab_test", c)?),
        };
        let mut changed = Vec::new();
        macro_rules! diff {
            ($($f:ident),*) => { $( if n.$f != cur.$f { changed.push(stringify!($f)); } )* };
        }
        diff!(
            name,
            category,
            kind,
            code,
            price,
            cost,
            taxable,
            active,
            product_id,
            drug,
            vaccine,
            appointment_type_id,
            lab_test
        );
        Ok((n, changed))
    }
}

/// Filters of `GET /api/catalogue`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogueListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Words that must all appear in the name or the code (case-insensitive).
    pub q: Option<String>,
    pub category: Option<String>,
    pub kind: Option<ItemKind>,
    /// `active` (default), `retired` or `all`.
    pub status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> Result<CatalogueItem, ValidationError> {
        let b: CreateCatalogueItem = serde_json::from_value(json).unwrap();
        b.validate(CatalogueItemId::from_u128(1), Timestamp::UNIX_EPOCH, None)
    }

    #[test]
    fn prices_are_cents_that_are_not_negative() {
        let ok = body(serde_json::json!({"name": "Exam", "category": "exams", "kind": "service", "price": 6500}));
        assert_eq!(ok.unwrap().price, Cents::new(6500));
        let cases = [
            (serde_json::json!({"name": "Exam", "category": "exams", "kind": "service", "price": -1}), "price"),
            (
                serde_json::json!({"name": "Exam", "category": "exams", "kind": "service", "price": 1, "cost": -5}),
                "cost",
            ),
            (serde_json::json!({"name": " ", "category": "exams", "kind": "service", "price": 1}), "name"),
            (
                serde_json::json!({"name": "Gaba", "category": "meds", "kind": "product", "price": 1, "drug": {"drug_id": "gabapentin", "form": "capsule", "strength": -1.0}}),
                "drug.strength",
            ),
        ];
        for (json, field) in cases {
            assert_eq!(body(json.clone()).unwrap_err().field, field, "{json}");
        }
        let fractional: Result<CreateCatalogueItem, _> = serde_json::from_value(
            serde_json::json!({"name": "Exam", "category": "exams", "kind": "service", "price": 65.5}),
        );
        assert!(fractional.is_err(), "a fraction of a cent is refused");
    }

    #[test]
    fn a_drug_link_keys_like_inventory_and_is_looked_up_most_specific_first() {
        let link =
            |form: Option<FormKind>, strength: Option<f64>| DrugLink { drug_id: "meloxicam".into(), form, strength };
        assert_eq!(link(Some(FormKind::Suspension), Some(0.5)).key(), "meloxicam/suspension/0.5");
        assert_eq!(
            link(Some(FormKind::Suspension), Some(0.5)).key(),
            crate::inventory::FormularyLink::key_of("meloxicam", FormKind::Suspension, 0.5)
        );
        assert_eq!(link(Some(FormKind::Suspension), None).key(), "meloxicam/suspension");
        assert_eq!(link(None, None).key(), "meloxicam");
        assert_eq!(
            DrugLink::lookup_keys("meloxicam", FormKind::Suspension, 0.5),
            ["meloxicam/suspension/0.5", "meloxicam/suspension", "meloxicam"]
        );
        assert_eq!(link(None, Some(0.5)).validate().unwrap_err().field, "drug.form");
    }

    #[test]
    fn a_patch_names_what_changed_and_retires() {
        let item =
            body(serde_json::json!({"name": "Exam", "category": "exams", "kind": "service", "price": 6500})).unwrap();
        let p: UpdateCatalogueItem =
            serde_json::from_value(serde_json::json!({"price": 7000, "active": false})).unwrap();
        let (n, changed) = p.apply(&item).unwrap();
        assert_eq!((n.price, n.active, changed), (Cents::new(7000), false, vec!["price", "active"]));
        let same: UpdateCatalogueItem = serde_json::from_value(serde_json::json!({"name": "Exam"})).unwrap();
        assert!(same.apply(&item).unwrap().1.is_empty());
    }
}
