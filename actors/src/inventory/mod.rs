//! Inventory: products, vendors and purchase orders as record kinds on the generic mechanism
//! (`crate::records`), and the stock they hold: lots with expiry and the append-only stock
//! ledger (`stock`), written under one lock so each entry's before/after is exact. Dispensing
//! a prescription takes its product's first-expiring lots; a daily job writes off expired
//! lots. The design is in docs/inventory.md.
//!
//! `products` (the product kind: SKU and drug-link claims), `vendors`, `orders` (purchase
//! orders: lines, totals, the status workflow, receipts that become lots), `stock` (lots, the
//! ledger, receiving, adjustments, write-offs, dispensing, alerts, the expiry job).
//!
//! (`staff` only in `stock`'s unit tests, which build the register's witness check.)
//! Domain dependencies: clinical, jobs, staff.

pub mod orders;
pub mod products;
pub mod stock;
pub mod vendors;

/// Inventory's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryConfig {
    /// The "expiring soon" window of the alerts, in days (default 60).
    pub expiring_days: u32,
    /// Local time of the daily job that writes off expired lots; `None`: not scheduled.
    pub expire_at: Option<jiff::civil::Time>,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        Self { expiring_days: 60, expire_at: Some(jiff::civil::time(0, 15, 0, 0)) }
    }
}
