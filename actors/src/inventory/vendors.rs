//! Vendors (suppliers) as a record kind: products and purchase orders name them. Retired,
//! never deleted: old orders still point at them.

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::VendorId;
use clowder_schemas::inventory::{UpdateVendor, Vendor, VendorDraft};

use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, RecordKind, Records};
use crate::store::RecordTable;

/// The vendors service.
pub type Vendors = Records<VendorKind>;

/// The vendor record kind.
pub struct VendorKind;

/// A change to a vendor.
#[derive(Debug)]
pub enum VendorCommand {
    Update(UpdateVendor),
    Retire,
}

/// Which vendors a list shows.
#[derive(Debug, Clone, Default)]
pub struct VendorFilter {
    pub include_retired: bool,
}

impl RecordKind for VendorKind {
    type Record = Vendor;
    type Id = VendorId;
    type Draft = VendorDraft;
    type Command = VendorCommand;
    type Filter = VendorFilter;

    const KIND: &'static str = "vendor";
    const TABLE: RecordTable = RecordTable::Vendors;
    const READ_ACTION: &'static str = "vendor.read";
    const LIST_ACTION: &'static str = "vendor.list";

    fn id(v: &Vendor) -> VendorId {
        v.id
    }

    fn not_found(id: VendorId) -> Error {
        Error::VendorNotFound(id)
    }

    fn claims(_: &Vendor) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn matches(f: &VendorFilter, v: &Vendor) -> bool {
        f.include_retired || v.active
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: VendorId, d: VendorDraft) -> Result<Decision<Vendor>> {
        let vendor = d.into_vendor(id, ctx.now, ctx.caller.user_id());
        Ok(Decision {
            event: DomainEvent::VendorSaved { vendor_id: id, changed: Vec::new() },
            record: vendor,
            changed: Vec::new(),
            action: "vendor.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Vendor, command: VendorCommand) -> Result<Option<Decision<Vendor>>> {
        let (mut new, changed, action) = match command {
            VendorCommand::Update(patch) => {
                let (new, changed) = patch.apply(current)?;
                (new, changed, "vendor.update")
            }
            VendorCommand::Retire if !current.active => return Ok(None),
            VendorCommand::Retire => {
                let mut v = current.clone();
                v.active = false;
                (v, vec!["active"], "vendor.retire")
            }
        };
        if changed.is_empty() {
            return Ok(None);
        }
        new.updated_at = ctx.now;
        let event =
            DomainEvent::VendorSaved { vendor_id: new.id, changed: changed.iter().map(|s| s.to_string()).collect() };
        Ok(Some(Decision { record: new, changed, event, action }))
    }
}

impl Vendors {
    pub async fn update(&self, id: VendorId, patch: UpdateVendor, caller: &Caller) -> Result<Vendor> {
        self.command(id, VendorCommand::Update(patch), caller).await
    }

    pub async fn retire(&self, id: VendorId, caller: &Caller) -> Result<Vendor> {
        self.command(id, VendorCommand::Retire, caller).await
    }
}
