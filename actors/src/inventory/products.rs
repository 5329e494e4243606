//! Products as a record kind: a unique, normalised SKU (a claim), and optionally the
//! formulary drug, form and strength it is (a claim too, held while the product is active, so
//! a prescription finds exactly one product to dispense from). Products are retired, never
//! deleted: their ledger is history.

use std::collections::HashMap;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::formulary::{Formulary, num};
use clowder_schemas::ids::{ProductId, VendorId};
use clowder_schemas::inventory::{FormularyLink, FormularyLinkInput, Product, ProductDraft, UpdateProduct};

use crate::clinical::facts;
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, RecordKind, Records};
use crate::store::RecordTable;
use crate::store::tables::unique;

/// The products service.
pub type Products = Records<ProductKind>;

/// The product record kind.
pub struct ProductKind;

/// A change to a product.
#[derive(Debug)]
pub enum ProductCommand {
    Update(Box<UpdateProduct>),
    Retire,
}

/// Which products a list shows.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Lower-cased part of the name, or upper-cased part of the SKU.
    pub q: Option<String>,
    pub include_retired: bool,
    /// Only products at or below their reorder level, given what each has on hand.
    pub low: Option<HashMap<ProductId, i64>>,
}

impl RecordKind for ProductKind {
    type Record = Product;
    type Id = ProductId;
    type Draft = ProductDraft;
    type Command = ProductCommand;
    type Filter = ProductFilter;

    const KIND: &'static str = "product";
    const TABLE: RecordTable = RecordTable::Products;
    const READ_ACTION: &'static str = "product.read";
    const LIST_ACTION: &'static str = "product.list";

    fn id(p: &Product) -> ProductId {
        p.id
    }

    fn not_found(id: ProductId) -> Error {
        Error::ProductNotFound(id)
    }

    fn claims(p: &Product) -> impl Iterator<Item = Claim<'_>> {
        let sku = Claim { ns: unique::PRODUCT_SKU, value: p.sku.as_str(), field: "sku" };
        let drug = p.formulary.as_ref().filter(|_| p.active).map(|l| Claim {
            ns: unique::PRODUCT_DRUG,
            value: l.key.as_str(),
            field: "formulary",
        });
        std::iter::once(sku).chain(drug)
    }

    fn matches(f: &ProductFilter, p: &Product) -> bool {
        (f.include_retired || p.active)
            && f.q.as_ref().is_none_or(|q| p.name.to_lowercase().contains(q) || p.sku.contains(&q.to_uppercase()))
            && f.low.as_ref().is_none_or(|m| m.get(&p.id).copied().unwrap_or(0) <= p.reorder_level)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: ProductId, d: ProductDraft) -> Result<Decision<Product>> {
        check_vendor(ctx, d.vendor_id)?;
        let formulary = d.formulary.as_ref().map(|l| resolve_link(ctx, l)).transpose()?;
        let product = Product {
            id,
            name: d.name,
            sku: d.sku,
            kind: d.kind,
            unit: d.unit,
            reorder_level: d.reorder_level,
            reorder_quantity: d.reorder_quantity,
            cost_cents: d.cost_cents,
            price_cents: d.price_cents,
            vendor_id: d.vendor_id,
            storage_location: d.storage_location,
            controlled: d.controlled,
            formulary,
            active: true,
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: ctx.caller.user_id(),
        };
        Ok(Decision {
            event: DomainEvent::ProductSaved { product_id: id, changed: Vec::new() },
            record: product,
            changed: Vec::new(),
            action: "product.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Product, command: ProductCommand) -> Result<Option<Decision<Product>>> {
        let (mut new, changed, action) = match command {
            ProductCommand::Update(patch) => {
                let link = match &patch.formulary {
                    clowder_schemas::patch::Patch::Keep => None,
                    clowder_schemas::patch::Patch::Clear => Some(None),
                    clowder_schemas::patch::Patch::Set(l) => Some(Some(resolve_link(ctx, l)?)),
                };
                let (new, changed) = patch.apply(current, link)?;
                if new.vendor_id != current.vendor_id {
                    check_vendor(ctx, new.vendor_id)?;
                }
                (new, changed, "product.update")
            }
            ProductCommand::Retire if !current.active => return Ok(None),
            ProductCommand::Retire => {
                let mut p = current.clone();
                p.active = false;
                (p, vec!["active"], "product.retire")
            }
        };
        if changed.is_empty() {
            return Ok(None);
        }
        new.updated_at = ctx.now;
        let event =
            DomainEvent::ProductSaved { product_id: new.id, changed: changed.iter().map(|s| s.to_string()).collect() };
        Ok(Some(Decision { record: new, changed, event, action }))
    }
}

fn check_vendor(ctx: &DecideCtx<'_>, vendor: Option<VendorId>) -> Result<()> {
    if let Some(v) = vendor
        && ctx.get::<clowder_schemas::inventory::Vendor>(RecordTable::Vendors, v.as_u128())?.is_none()
    {
        return Err(Error::VendorNotFound(v));
    }
    Ok(())
}

/// The formulary entry a link names: the drug (id, name or synonym), one of its forms and
/// one of that form's strengths, from the current formulary.
fn resolve_link(ctx: &DecideCtx<'_>, l: &FormularyLinkInput) -> Result<FormularyLink> {
    let (version, formulary) = facts::current::<Formulary>(ctx)?;
    let drug = formulary.find(&l.drug).ok_or_else(|| {
        ValidationError::new("formulary.drug", format!("{:?} is not in the formulary (version {version})", l.drug))
    })?;
    let form = drug.form(l.form).ok_or_else(|| {
        let forms: Vec<&str> = drug.forms.iter().map(|f| f.form.as_str()).collect();
        ValidationError::new("formulary.form", format!("{} comes as {}", drug.name, forms.join(", ")))
    })?;
    if !form.strengths.iter().any(|s| (s - l.strength).abs() < 1e-9) {
        let list: Vec<String> = form.strengths.iter().map(|s| num(*s)).collect();
        return Err(ValidationError::new(
            "formulary.strength",
            format!("{} {} comes in {}", drug.name, l.form.as_str(), list.join(", ")),
        )
        .into());
    }
    Ok(FormularyLink::new(drug.id.clone(), l.form, l.strength))
}

impl Products {
    /// Applies a merge patch.
    pub async fn update(&self, id: ProductId, patch: UpdateProduct, caller: &Caller) -> Result<Product> {
        self.command(id, ProductCommand::Update(Box::new(patch)), caller).await
    }

    /// Retires a product: it stays on file with its ledger, takes no new stock, and gives up
    /// its drug link.
    pub async fn retire(&self, id: ProductId, caller: &Caller) -> Result<Product> {
        self.command(id, ProductCommand::Retire, caller).await
    }
}
