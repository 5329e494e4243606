//! Inventory: products (SKU, kind, unit, reorder level, cost and price in integer cents, an
//! optional link to a formulary drug, form and strength), vendors, purchase orders with their
//! lines and receipts, lots with expiry, and the stock ledger that explains every change of a
//! lot. The stored records, the request bodies and their checks.
//!
//! Quantities are exact: integer thousandths of the product's unit (like the controlled-drug
//! register, [`crate::controlled::milli`]), read and written as decimals on the wire. Money is
//! integer cents.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::controlled::{Witness, milli, show_milli};
use crate::errors::ValidationError;
use crate::formulary::FormKind;
use crate::ids::{
    ControlledContainerId, ControlledEntryId, LotId, PrescriptionId, ProductId, PurchaseOrderId, StockEntryId, UserId,
    VendorId,
};
use crate::patch::{Patch, cleared};
use crate::records::Record;
use crate::values::{Email, MAX_NAME_CHARS, note_text, optional_text, required_text};

/// Longest product or vendor name.
pub const MAX_PRODUCT_NAME_CHARS: usize = 200;
/// Longest SKU (after normalising).
pub const MAX_SKU_CHARS: usize = 64;
/// Longest reason on a stock change.
pub const MAX_REASON_CHARS: usize = 2_000;
/// The most lines one purchase order holds.
pub const MAX_PO_LINES: usize = 500;
/// The largest price or cost, in cents (ten million currency units).
pub const MAX_CENTS: i64 = 1_000_000_000;

/// What a product is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    Medication,
    Supply,
    Equipment,
    Retail,
}

/// A SKU trimmed and upper-cased, inner spaces removed: `abc 12` and `ABC12` are one SKU.
/// 1–64 of `A-Z 0-9 - _ . /`.
pub fn normalise_sku(field: &str, input: &str) -> Result<String, ValidationError> {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let ok = !s.is_empty()
        && s.chars().count() <= MAX_SKU_CHARS
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok { Ok(s) } else { Err(ValidationError::new(field, "must be 1 to 64 of A-Z, 0-9, -, _, . or /")) }
}

fn cents(field: &str, v: i64) -> Result<i64, ValidationError> {
    if (0..=MAX_CENTS).contains(&v) {
        Ok(v)
    } else {
        Err(ValidationError::new(field, format!("must be whole cents from 0 to {MAX_CENTS}")))
    }
}

fn non_negative(field: &str, v: i64) -> Result<i64, ValidationError> {
    if v >= 0 { Ok(v) } else { Err(ValidationError::new(field, "must not be negative")) }
}

fn positive(field: &str, v: i64) -> Result<i64, ValidationError> {
    if v > 0 { Ok(v) } else { Err(ValidationError::new(field, "must be above 0")) }
}

/// The formulary entry a product is: a prescription of this drug, form and strength is
/// dispensed from this product (one product per drug, form and strength).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FormularyLink {
    /// The formulary's drug id (a name or synonym is accepted on input).
    pub drug_id: String,
    pub form: FormKind,
    pub strength: f64,
    /// `<drug id>/<form>/<strength>` (`meloxicam/suspension/1.5`): the value of the product's
    /// claim, and what a prescription of the same drug, form and strength looks up.
    pub key: String,
}

impl FormularyLink {
    pub fn new(drug_id: String, form: FormKind, strength: f64) -> Self {
        let key = Self::key_of(&drug_id, form, strength);
        Self { drug_id, form, strength, key }
    }

    /// The key of a drug, form and strength.
    pub fn key_of(drug_id: &str, form: FormKind, strength: f64) -> String {
        format!("{drug_id}/{}/{}", form.as_str(), crate::formulary::num(strength))
    }
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    /// Normalised ([`normalise_sku`]); unique.
    pub sku: String,
    pub kind: ProductType,
    /// What quantities count: `tablet`, `mL`, `box`, `each`…
    pub unit: String,
    /// At or below this on hand, the product is low on stock.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub reorder_level: i64,
    /// How much to order when it is.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub reorder_quantity: i64,
    /// Per unit, in cents.
    pub cost_cents: i64,
    pub price_cents: i64,
    pub vendor_id: Option<VendorId>,
    pub storage_location: Option<String>,
    pub controlled: bool,
    pub formulary: Option<FormularyLink>,
    /// Retired products stay on file (their ledger is history) but take no new stock.
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Product {
    const KIND: &'static str = "product";
    const VERSION: u16 = 1;
}

/// A product with what is on hand (the sum of its lots, which its ledger explains).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    #[serde(flatten)]
    pub product: Product,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub on_hand: i64,
    /// `on_hand <= reorder_level`.
    pub low: bool,
}

impl ProductView {
    pub fn new(product: Product, on_hand: i64) -> Self {
        let low = on_hand <= product.reorder_level;
        Self { product, on_hand, low }
    }
}

/// The formulary link as typed: a drug (id, name or synonym), form and strength.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormularyLinkInput {
    pub drug: String,
    pub form: FormKind,
    pub strength: f64,
}

/// Body of `POST /api/inventory/products`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    pub name: String,
    pub sku: String,
    pub kind: ProductType,
    pub unit: String,
    #[serde(default, with = "milli::opt")]
    #[schema(value_type = Option<f64>)]
    pub reorder_level: Option<i64>,
    #[serde(default, with = "milli::opt")]
    #[schema(value_type = Option<f64>)]
    pub reorder_quantity: Option<i64>,
    #[serde(default)]
    pub cost_cents: i64,
    #[serde(default)]
    pub price_cents: i64,
    #[serde(default)]
    pub vendor_id: Option<VendorId>,
    #[serde(default)]
    pub storage_location: Option<String>,
    #[serde(default)]
    pub controlled: bool,
    #[serde(default)]
    pub formulary: Option<FormularyLinkInput>,
}

/// A product's checked fields (the vendor and the formulary link are checked against the
/// store by the decision).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDraft {
    pub name: String,
    pub sku: String,
    pub kind: ProductType,
    pub unit: String,
    pub reorder_level: i64,
    pub reorder_quantity: i64,
    pub cost_cents: i64,
    pub price_cents: i64,
    pub vendor_id: Option<VendorId>,
    pub storage_location: Option<String>,
    pub controlled: bool,
    pub formulary: Option<FormularyLinkInput>,
}

impl CreateProduct {
    pub fn validate(&self) -> Result<ProductDraft, ValidationError> {
        Ok(ProductDraft {
            name: required_text("name", &self.name, MAX_PRODUCT_NAME_CHARS)?,
            sku: normalise_sku("sku", &self.sku)?,
            kind: self.kind,
            unit: required_text("unit", &self.unit, 20)?,
            reorder_level: non_negative("reorder_level", self.reorder_level.unwrap_or(0))?,
            reorder_quantity: non_negative("reorder_quantity", self.reorder_quantity.unwrap_or(0))?,
            cost_cents: cents("cost_cents", self.cost_cents)?,
            price_cents: cents("price_cents", self.price_cents)?,
            vendor_id: self.vendor_id,
            storage_location: optional_text("storage_location", self.storage_location.as_deref(), MAX_NAME_CHARS)?,
            controlled: self.controlled,
            formulary: self.formulary.clone(),
        })
    }
}

/// Body of `PATCH /api/inventory/products/{id}` (merge patch). Retiring is `DELETE`;
/// `active: true` brings a retired product back.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProduct {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub sku: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ProductType>)]
    pub kind: Patch<ProductType>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub unit: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub reorder_level: Patch<f64>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub reorder_quantity: Patch<f64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub cost_cents: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub price_cents: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<VendorId>)]
    pub vendor_id: Patch<VendorId>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub storage_location: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub controlled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<FormularyLinkInput>)]
    pub formulary: Patch<FormularyLinkInput>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

fn milli_of(field: &str, x: f64) -> Result<i64, ValidationError> {
    crate::controlled::to_milli(x).ok_or_else(|| ValidationError::new(field, "must be a number up to 100000"))
}

impl UpdateProduct {
    /// Applies the patch except the formulary link (resolved against the formulary by the
    /// decision, which passes it as `link`); returns the new product and the changed fields.
    pub fn apply(
        &self,
        cur: &Product,
        link: Option<Option<FormularyLink>>,
    ) -> Result<(Product, Vec<&'static str>), ValidationError> {
        let mut p = cur.clone();
        if let Patch::Set(v) = &self.name {
            p.name = required_text("name", v, MAX_PRODUCT_NAME_CHARS)?;
        } else if self.name == Patch::Clear {
            return Err(cleared("name"));
        }
        match &self.sku {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("sku")),
            Patch::Set(v) => p.sku = normalise_sku("sku", v)?,
        }
        p.kind = self.kind.required(cur.kind, "kind")?;
        match &self.unit {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("unit")),
            Patch::Set(v) => p.unit = required_text("unit", v, 20)?,
        }
        if let Patch::Set(v) = self.reorder_level {
            p.reorder_level = non_negative("reorder_level", milli_of("reorder_level", v)?)?;
        } else if self.reorder_level == Patch::Clear {
            p.reorder_level = 0;
        }
        if let Patch::Set(v) = self.reorder_quantity {
            p.reorder_quantity = non_negative("reorder_quantity", milli_of("reorder_quantity", v)?)?;
        } else if self.reorder_quantity == Patch::Clear {
            p.reorder_quantity = 0;
        }
        p.cost_cents = cents("cost_cents", self.cost_cents.required(cur.cost_cents, "cost_cents")?)?;
        p.price_cents = cents("price_cents", self.price_cents.required(cur.price_cents, "price_cents")?)?;
        p.vendor_id = self.vendor_id.optional(cur.vendor_id);
        p.storage_location = match &self.storage_location {
            Patch::Keep => cur.storage_location.clone(),
            Patch::Clear => None,
            Patch::Set(v) => optional_text("storage_location", Some(v), MAX_NAME_CHARS)?,
        };
        p.controlled = self.controlled.required(cur.controlled, "controlled")?;
        if let Some(link) = link {
            p.formulary = link;
        }
        p.active = self.active.required(cur.active, "active")?;
        let mut changed = Vec::new();
        let fields: [(&'static str, bool); 13] = [
            ("name", p.name != cur.name),
            ("sku", p.sku != cur.sku),
            ("kind", p.kind != cur.kind),
            ("unit", p.unit != cur.unit),
            ("reorder_level", p.reorder_level != cur.reorder_level),
            ("reorder_quantity", p.reorder_quantity != cur.reorder_quantity),
            ("cost_cents", p.cost_cents != cur.cost_cents),
            ("price_cents", p.price_cents != cur.price_cents),
            ("vendor_id", p.vendor_id != cur.vendor_id),
            ("storage_location", p.storage_location != cur.storage_location),
            ("controlled", p.controlled != cur.controlled),
            ("formulary", p.formulary != cur.formulary),
            ("active", p.active != cur.active),
        ];
        changed.extend(fields.iter().filter(|(_, c)| *c).map(|(f, _)| *f));
        Ok((p, changed))
    }
}

/// Filters of `GET /api/inventory/products`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Part of the name (any case) or of the SKU.
    pub q: Option<String>,
    /// `true`: only products at or below their reorder level.
    pub low: Option<bool>,
    /// `true`: retired products too (default: active only).
    pub include_retired: Option<bool>,
}

/// A vendor (supplier) of products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub account_number: Option<String>,
    pub notes: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Vendor {
    const KIND: &'static str = "vendor";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/inventory/vendors`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVendor {
    pub name: String,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub account_number: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A vendor's checked fields.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorDraft {
    pub name: String,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub account_number: Option<String>,
    pub notes: Option<String>,
}

fn email(v: Option<&str>) -> Result<Option<String>, ValidationError> {
    v.map(|e| Email::parse("email", e).map(|e| e.as_str().to_owned())).transpose()
}

impl CreateVendor {
    pub fn validate(&self) -> Result<VendorDraft, ValidationError> {
        Ok(VendorDraft {
            name: required_text("name", &self.name, MAX_PRODUCT_NAME_CHARS)?,
            contact_name: optional_text("contact_name", self.contact_name.as_deref(), MAX_NAME_CHARS)?,
            email: email(self.email.as_deref())?,
            phone: optional_text("phone", self.phone.as_deref(), 40)?,
            account_number: optional_text("account_number", self.account_number.as_deref(), MAX_NAME_CHARS)?,
            notes: note_text("notes", self.notes.as_deref())?,
        })
    }
}

impl VendorDraft {
    pub fn into_vendor(self, id: VendorId, now: Timestamp, by: Option<UserId>) -> Vendor {
        Vendor {
            id,
            name: self.name,
            contact_name: self.contact_name,
            email: self.email,
            phone: self.phone,
            account_number: self.account_number,
            notes: self.notes,
            active: true,
            created_at: now,
            updated_at: now,
            created_by: by,
        }
    }
}

/// Body of `PATCH /api/inventory/vendors/{id}` (merge patch).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVendor {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub contact_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub account_number: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub active: Patch<bool>,
}

impl UpdateVendor {
    pub fn apply(&self, cur: &Vendor) -> Result<(Vendor, Vec<&'static str>), ValidationError> {
        let mut v = cur.clone();
        match &self.name {
            Patch::Keep => {}
            Patch::Clear => return Err(cleared("name")),
            Patch::Set(n) => v.name = required_text("name", n, MAX_PRODUCT_NAME_CHARS)?,
        }
        let text = |field: &str, patch: &Patch<String>, cur: &Option<String>, max: usize| match patch {
            Patch::Keep => Ok(cur.clone()),
            Patch::Clear => Ok(None),
            Patch::Set(s) => optional_text(field, Some(s), max),
        };
        v.contact_name = text("contact_name", &self.contact_name, &cur.contact_name, MAX_NAME_CHARS)?;
        v.email = match &self.email {
            Patch::Keep => cur.email.clone(),
            Patch::Clear => None,
            Patch::Set(e) => email(Some(e))?,
        };
        v.phone = text("phone", &self.phone, &cur.phone, 40)?;
        v.account_number = text("account_number", &self.account_number, &cur.account_number, MAX_NAME_CHARS)?;
        v.notes = match &self.notes {
            Patch::Keep => cur.notes.clone(),
            Patch::Clear => None,
            Patch::Set(n) => note_text("notes", Some(n))?,
        };
        v.active = self.active.required(cur.active, "active")?;
        let changed = [
            ("name", v.name != cur.name),
            ("contact_name", v.contact_name != cur.contact_name),
            ("email", v.email != cur.email),
            ("phone", v.phone != cur.phone),
            ("account_number", v.account_number != cur.account_number),
            ("notes", v.notes != cur.notes),
            ("active", v.active != cur.active),
        ]
        .into_iter()
        .filter(|(_, c)| *c)
        .map(|(f, _)| f)
        .collect();
        Ok((v, changed))
    }
}

/// A lot (batch) of a product, with its expiry and what remains of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lot {
    pub id: LotId,
    pub product_id: ProductId,
    pub lot_number: String,
    pub expires_on: Option<Date>,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub on_hand: i64,
    /// The purchase order and line it was received on, if any.
    pub purchase_order_id: Option<PurchaseOrderId>,
    pub po_line: Option<u32>,
    /// Set when the lot was written off as expired.
    pub expired: bool,
    pub received_at: Timestamp,
    pub received_by: Option<UserId>,
    /// A controlled product's lot is a container of the controlled-drug register, created
    /// with it; every change of the lot writes the container's register entry too.
    #[serde(default)]
    pub container_id: Option<ControlledContainerId>,
}

/// Version history: v1; v2 added `container_id` (absent in v1 rows: no register container).
impl Record for Lot {
    const KIND: &'static str = "stock_lot";
    const VERSION: u16 = 2;
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// Stock in: a new lot (from a purchase order or received by hand).
    Received,
    /// Out to a cat on a prescription.
    Dispensed,
    /// A correction in either direction (a count that differs), with a reason.
    Adjustment,
    /// Sent back to the vendor.
    Return,
    /// Written off at expiry (by hand, or by the daily job).
    Expired,
    /// Broken, spoiled or lost.
    Damaged,
}

impl MoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Received => "received",
            MoveKind::Dispensed => "dispensed",
            MoveKind::Adjustment => "adjustment",
            MoveKind::Return => "return",
            MoveKind::Expired => "expired",
            MoveKind::Damaged => "damaged",
        }
    }
}

/// One change of one lot. Never changed after it is written; the sum of a product's entries'
/// `change` is what it has on hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockEntry {
    pub id: StockEntryId,
    pub product_id: ProductId,
    pub lot_id: LotId,
    pub kind: MoveKind,
    /// Signed: in is positive, out negative.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub change: i64,
    /// The product's stock on hand before and after.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub before: i64,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub after: i64,
    /// The lot's quantity before and after.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub lot_before: i64,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub lot_after: i64,
    pub reason: Option<String>,
    /// True when the change took the lot below zero on an explicit override (its reason is
    /// `reason`; audited as `inventory.<kind>_override`).
    pub overridden: bool,
    pub purchase_order_id: Option<PurchaseOrderId>,
    pub po_line: Option<u32>,
    pub prescription_id: Option<PrescriptionId>,
    /// Which fill of the prescription: 0 the first, n the n-th refill.
    pub fill: Option<u32>,
    pub by: Option<UserId>,
    pub at: Timestamp,
}

impl Record for StockEntry {
    const KIND: &'static str = "stock_entry";
    const VERSION: u16 = 1;
}

fn reason(field: &str, v: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(field, v, MAX_REASON_CHARS)
}

/// Body of `POST /api/inventory/products/{id}/receive`: a new lot received by hand (opening
/// stock, a delivery without a purchase order).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveStock {
    pub lot_number: String,
    #[serde(default)]
    pub expires_on: Option<Date>,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub quantity: i64,
    #[serde(default)]
    pub reason: Option<String>,
    /// A controlled product: another staff member's username and PIN, for the register entry.
    #[serde(default)]
    pub witness: Option<Witness>,
}

impl ReceiveStock {
    pub fn validate(&self) -> Result<(String, i64, Option<String>), ValidationError> {
        Ok((
            required_text("lot_number", &self.lot_number, MAX_NAME_CHARS)?,
            positive("quantity", self.quantity)?,
            reason("reason", self.reason.as_deref())?,
        ))
    }
}

/// Body of the stock changes of one lot: `adjust` (signed `quantity`), `expired`, `damaged`
/// and `return` (a positive `quantity` taken out; `expired` without one writes off what
/// remains). A change that would take the lot below zero needs `override_reason`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStock {
    pub lot_id: LotId,
    #[serde(default, with = "milli::opt")]
    #[schema(value_type = Option<f64>)]
    pub quantity: Option<i64>,
    pub reason: String,
    /// Lets the lot go below zero; kept on the entry and audited.
    #[serde(default)]
    pub override_reason: Option<String>,
    /// A controlled product: another staff member's username and PIN, for the register entry.
    #[serde(default)]
    pub witness: Option<Witness>,
}

/// A checked stock change.
#[derive(Debug, Clone, PartialEq)]
pub struct StockChange {
    pub lot_id: LotId,
    /// Signed change; `None`: all that remains (expired only).
    pub change: Option<i64>,
    pub reason: String,
    pub override_reason: Option<String>,
}

impl ChangeStock {
    pub fn validate(&self, kind: MoveKind) -> Result<StockChange, ValidationError> {
        let reason = required_text("reason", &self.reason, MAX_REASON_CHARS)?;
        let override_reason = reason_opt("override_reason", self.override_reason.as_deref())?;
        let change = match (kind, self.quantity) {
            (MoveKind::Adjustment, None) => return Err(ValidationError::new("quantity", "is required")),
            (MoveKind::Adjustment, Some(0)) => return Err(ValidationError::new("quantity", "must not be 0")),
            (MoveKind::Adjustment, Some(q)) => Some(q),
            (MoveKind::Expired, None) => None,
            (_, None) => return Err(ValidationError::new("quantity", "is required")),
            (_, Some(q)) => Some(-positive("quantity", q)?),
        };
        Ok(StockChange { lot_id: self.lot_id, change, reason, override_reason })
    }
}

fn reason_opt(field: &str, v: Option<&str>) -> Result<Option<String>, ValidationError> {
    reason(field, v)
}

/// Body of `POST /api/prescriptions/{id}/dispense` (optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispenseBody {
    /// Which fill: 0 the first, n the n-th refill; default the newest fill (the number of
    /// refills given).
    #[serde(default)]
    pub fill: Option<u32>,
    /// Lets stock go below zero when too little is on hand; kept on the entry and audited.
    #[serde(default)]
    pub override_reason: Option<String>,
    /// A controlled product: another staff member's username and PIN, for the register entry.
    #[serde(default)]
    pub witness: Option<Witness>,
}

impl DispenseBody {
    pub fn validate(&self) -> Result<Option<String>, ValidationError> {
        reason("override_reason", self.override_reason.as_deref())
    }
}

/// What dispensing a prescription did to stock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dispensed {
    pub prescription_id: PrescriptionId,
    pub fill: u32,
    /// The product it was taken from; `null` when no product is linked to the drug, form and
    /// strength (stock is then unchanged, and `note` says so).
    pub product_id: Option<ProductId>,
    /// One entry per lot it came from, first-expiring first.
    pub entries: Vec<StockEntry>,
    #[serde(with = "milli::opt")]
    #[schema(value_type = Option<f64>)]
    pub on_hand: Option<i64>,
    pub note: Option<String>,
}

/// The answer of a stock change: the entries written and the product's stock after.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockChanged {
    pub entries: Vec<StockEntry>,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub on_hand: i64,
}

/// A product's stock: on hand and its lots, first-expiring first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub product: ProductView,
    pub lots: Vec<Lot>,
}

// ---- purchase orders ----

/// A purchase order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoStatus {
    Draft,
    Submitted,
    PartiallyReceived,
    Received,
    Cancelled,
}

impl PoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PoStatus::Draft => "draft",
            PoStatus::Submitted => "submitted",
            PoStatus::PartiallyReceived => "partially_received",
            PoStatus::Received => "received",
            PoStatus::Cancelled => "cancelled",
        }
    }
}

/// One line of a purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoLine {
    /// 1-based, stable.
    pub line: u32,
    pub product_id: ProductId,
    /// The product's SKU and name when the line was written.
    pub sku: String,
    pub name: String,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub quantity: i64,
    pub unit_cost_cents: i64,
    /// `quantity × unit_cost_cents`, rounded half up to a cent.
    pub total_cents: i64,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub received: i64,
}

/// One receipt against a line (a lot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PoReceipt {
    pub line: u32,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub quantity: i64,
    pub lot_id: LotId,
    pub entry_id: StockEntryId,
    pub lot_number: String,
    pub expires_on: Option<Date>,
    pub at: Timestamp,
    pub by: Option<UserId>,
    /// A controlled product: the register container made for the lot, its receipt entry and
    /// the witness who signed it.
    #[serde(default)]
    pub container_id: Option<ControlledContainerId>,
    #[serde(default)]
    pub register_entry_id: Option<ControlledEntryId>,
    #[serde(default)]
    pub witness_id: Option<UserId>,
    #[serde(default)]
    pub witness_name: Option<String>,
}

/// A purchase order as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PurchaseOrder {
    pub id: PurchaseOrderId,
    pub vendor_id: VendorId,
    pub status: PoStatus,
    pub lines: Vec<PoLine>,
    /// The sum of the lines' totals.
    pub total_cents: i64,
    pub receipts: Vec<PoReceipt>,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    pub submitted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
    /// `PO-YYYY-NNNNNN`, gap-free per year, given when the order is submitted (`None` in a
    /// draft, and in a cancelled draft).
    #[serde(default)]
    pub number: Option<String>,
    /// The clinic's date the order was submitted (its number's year).
    #[serde(default)]
    pub submitted_on: Option<Date>,
}

/// Version history: v1; v2 added `number` and, on receipts, the register container, entry and
/// witness (absent in v1 rows: not numbered, no register link).
impl Record for PurchaseOrder {
    const KIND: &'static str = "purchase_order";
    const VERSION: u16 = 2;
}

/// A line as typed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoLineInput {
    pub product_id: ProductId,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub quantity: i64,
    pub unit_cost_cents: i64,
}

/// `quantity` (thousandths) × `unit_cost_cents`, rounded half up to a whole cent.
pub fn line_total(quantity: i64, unit_cost_cents: i64) -> i64 {
    let x = quantity as i128 * unit_cost_cents as i128;
    ((x + 500).div_euclid(1000)) as i64
}

/// Checks lines on their own (the products are checked against the store by the decision):
/// at least one, at most [`MAX_PO_LINES`], positive quantities, cents from 0, no product twice.
/// Errors name the line: `lines[2].quantity`.
pub fn check_lines(lines: &[PoLineInput]) -> Result<(), ValidationError> {
    if lines.is_empty() {
        return Err(ValidationError::new("lines", "a purchase order needs at least one line"));
    }
    if lines.len() > MAX_PO_LINES {
        return Err(ValidationError::new("lines", format!("at most {MAX_PO_LINES} lines")));
    }
    for (i, l) in lines.iter().enumerate() {
        if l.quantity <= 0 {
            return Err(ValidationError::new(format!("lines[{i}].quantity"), "must be above 0"));
        }
        cents(&format!("lines[{i}].unit_cost_cents"), l.unit_cost_cents)?;
        if let Some(j) = lines[..i].iter().position(|o| o.product_id == l.product_id) {
            return Err(ValidationError::new(
                format!("lines[{i}].product_id"),
                format!("is already on line {}: change that line's quantity instead", j + 1),
            ));
        }
    }
    Ok(())
}

/// Body of `POST /api/inventory/purchase-orders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePurchaseOrder {
    pub vendor_id: VendorId,
    pub lines: Vec<PoLineInput>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Body of `PATCH /api/inventory/purchase-orders/{id}` (drafts only): `lines` replaces every
/// line.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurchaseOrder {
    #[serde(default)]
    pub vendor_id: Option<VendorId>,
    #[serde(default)]
    pub lines: Option<Vec<PoLineInput>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
}

/// One line received.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveLine {
    /// The PO line's number.
    pub line: u32,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub quantity: i64,
    pub lot_number: String,
    #[serde(default)]
    pub expires_on: Option<Date>,
}

/// Body of `POST /api/inventory/purchase-orders/{id}/receive`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivePurchaseOrder {
    pub lines: Vec<ReceiveLine>,
    /// A controlled product: another staff member's username and PIN, for the register entry.
    #[serde(default)]
    pub witness: Option<Witness>,
}

/// Body of `POST /api/inventory/purchase-orders/{id}/cancel`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelPurchaseOrder {
    pub reason: String,
}

/// Filters of `GET /api/inventory/purchase-orders`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PurchaseOrderListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// One status.
    pub status: Option<PoStatus>,
    pub vendor_id: Option<VendorId>,
}

// ---- alerts ----

/// A product low on stock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LowStock {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub on_hand: i64,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub reorder_level: i64,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub reorder_quantity: i64,
}

/// A lot expiring soon or expired with stock left.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LotAlert {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub lot_id: LotId,
    pub lot_number: String,
    pub expires_on: Date,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub on_hand: i64,
}

/// `GET /api/inventory/alerts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Alerts {
    /// The window of `expiring_soon`, in days.
    pub expiring_within_days: u32,
    pub low_stock: Vec<LowStock>,
    pub expiring_soon: Vec<LotAlert>,
    /// Past expiry with stock still on hand (not yet written off).
    pub expired: Vec<LotAlert>,
}

/// Filters of `GET /api/inventory/alerts`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// The expiring-soon window in days, 1–3650 (default the setting
    /// `CLOWDER_INVENTORY_EXPIRING_DAYS`, 60).
    pub days: Option<u32>,
}

/// A quantity in words with its unit (`2.5 mL`), for messages.
pub fn show(q: i64, unit: &str) -> String {
    format!("{} {unit}", show_milli(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_normalised_and_checked() {
        assert_eq!(normalise_sku("sku", " mel-05 ml ").unwrap(), "MEL-05ML");
        assert!(normalise_sku("sku", "").is_err());
        assert!(normalise_sku("sku", "a;b").is_err());
        assert!(normalise_sku("sku", &"A".repeat(65)).is_err());
    }

    #[test]
    fn a_line_total_is_rounded_half_up_to_a_cent() {
        assert_eq!(line_total(10_000, 250), 2_500);
        assert_eq!(line_total(1_500, 333), 500); // 499.5 → 500
        assert_eq!(line_total(1_001, 1), 1);
    }

    #[test]
    fn lines_are_checked_and_errors_name_the_line() {
        let l = |q: i64, c: i64, p: u128| PoLineInput {
            product_id: ProductId::from_u128(p),
            quantity: q,
            unit_cost_cents: c,
        };
        assert_eq!(check_lines(&[]).unwrap_err().field, "lines");
        assert_eq!(check_lines(&[l(1000, 1, 1), l(0, 1, 2)]).unwrap_err().field, "lines[1].quantity");
        assert_eq!(check_lines(&[l(-5, 1, 1)]).unwrap_err().field, "lines[0].quantity");
        assert_eq!(check_lines(&[l(1000, -1, 1)]).unwrap_err().field, "lines[0].unit_cost_cents");
        assert_eq!(check_lines(&[l(1000, 1, 1), l(1000, 1, 1)]).unwrap_err().field, "lines[1].product_id");
        assert!(check_lines(&[l(1000, 1, 1), l(2000, 3, 2)]).is_ok());
    }
}
