//! The inventory screens: `/inventory` (alerts, stock by product with its lots and expiry,
//! purchase orders) and `/inventory/purchase-orders/{id}` (an order's lines and receipts, and
//! the receiving form). Every label (a status's wording, an alert's sentence, whether an order
//! can be received) is decided here; `inventory.js` posts receipts to the JSON API and
//! re-reads the stock page when a `stock_moved` frame arrives.

use askama::Template;
use clowder_schemas::inventory::{Alerts, PoStatus, PurchaseOrder, StockView, Vendor, show};
use jiff::civil::Date;

use super::Nav;

/// A status's wording.
pub fn po_status(s: PoStatus) -> &'static str {
    match s {
        PoStatus::Draft => "Draft",
        PoStatus::Submitted => "Submitted",
        PoStatus::PartiallyReceived => "Partly received",
        PoStatus::Received => "Received",
        PoStatus::Cancelled => "Cancelled",
    }
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// One alert line.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub what: &'static str,
    pub text: String,
}

/// A lot as the stock table shows it.
#[derive(Debug, Clone)]
pub struct LotRow {
    pub number: String,
    pub expires: String,
    pub on_hand: String,
    /// `expired`, `soon` or `` (for styling and the browser test).
    pub state: &'static str,
}

/// A product row with its lots.
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub on_hand: String,
    pub low: bool,
    pub controlled: bool,
    pub lots: Vec<LotRow>,
}

/// An order in the list.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub href: String,
    pub number: String,
    pub vendor: String,
    pub status: &'static str,
    pub total: String,
}

/// `/inventory`.
#[derive(Template)]
#[template(path = "inventory.html")]
pub struct InventoryPage {
    pub nav: Nav,
    pub alerts: Vec<AlertRow>,
    pub products: Vec<ProductRow>,
    pub orders: Vec<OrderRow>,
}

impl InventoryPage {
    /// Built from the alerts, the stock and the newest orders (with their vendors' names).
    pub fn new(
        nav: Nav,
        alerts: &Alerts,
        stock: Vec<StockView>,
        orders: &[PurchaseOrder],
        vendor: impl Fn(&PurchaseOrder) -> String,
        today: Date,
    ) -> Self {
        let horizon =
            today.checked_add(jiff::Span::new().days(i64::from(alerts.expiring_within_days))).unwrap_or(today);
        let mut rows = Vec::new();
        for p in &alerts.low_stock {
            rows.push(AlertRow {
                what: "Low stock",
                text: format!(
                    "{} ({}): {} on hand, reorder level {}, reorder {}",
                    p.name,
                    p.sku,
                    clowder_schemas::controlled::show_milli(p.on_hand),
                    clowder_schemas::controlled::show_milli(p.reorder_level),
                    clowder_schemas::controlled::show_milli(p.reorder_quantity)
                ),
            });
        }
        for l in &alerts.expired {
            rows.push(AlertRow {
                what: "Expired",
                text: format!("{} ({}) lot {} expired on {}", l.name, l.sku, l.lot_number, l.expires_on),
            });
        }
        for l in &alerts.expiring_soon {
            rows.push(AlertRow {
                what: "Expiring soon",
                text: format!("{} ({}) lot {} expires on {}", l.name, l.sku, l.lot_number, l.expires_on),
            });
        }
        let products = stock
            .into_iter()
            .map(|v| {
                let unit = v.product.product.unit.clone();
                ProductRow {
                    id: v.product.product.id.to_string(),
                    sku: v.product.product.sku.clone(),
                    name: v.product.product.name.clone(),
                    on_hand: show(v.product.on_hand, &unit),
                    low: v.product.low,
                    controlled: v.product.product.controlled,
                    lots: v
                        .lots
                        .iter()
                        .map(|l| LotRow {
                            number: l.lot_number.clone(),
                            expires: l.expires_on.map_or_else(|| "no expiry".to_owned(), |d| d.to_string()),
                            on_hand: show(l.on_hand, &unit),
                            state: match l.expires_on {
                                Some(d) if d < today => "expired",
                                Some(d) if d <= horizon => "soon",
                                _ => "",
                            },
                        })
                        .collect(),
                }
            })
            .collect();
        let orders = orders
            .iter()
            .map(|o| OrderRow {
                href: format!("/inventory/purchase-orders/{}", o.id),
                number: o.number.clone().unwrap_or_else(|| "(draft)".to_owned()),
                vendor: vendor(o),
                status: po_status(o.status),
                total: money(o.total_cents),
            })
            .collect();
        InventoryPage { nav, alerts: rows, products, orders }
    }
}

/// A line of an order.
#[derive(Debug, Clone)]
pub struct LineRow {
    pub line: u32,
    pub sku: String,
    pub name: String,
    pub ordered: String,
    pub received: String,
    /// What may still come, as a number for the form's `max`.
    pub left: String,
    pub open: bool,
    pub total: String,
}

/// A receipt of an order.
#[derive(Debug, Clone)]
pub struct ReceiptRow {
    pub line: u32,
    pub quantity: String,
    pub lot: String,
    pub expires: String,
    pub witness: String,
}

/// `/inventory/purchase-orders/{id}`.
#[derive(Template)]
#[template(path = "purchase_order.html")]
pub struct PurchaseOrderPage {
    pub nav: Nav,
    pub id: String,
    pub number: String,
    pub vendor: String,
    pub status: &'static str,
    pub total: String,
    pub lines: Vec<LineRow>,
    pub receipts: Vec<ReceiptRow>,
    /// Submitted or partly received, and the caller may receive (`inventory:edit`).
    pub can_receive: bool,
    /// A line is a controlled product: the form asks for a witness.
    pub needs_witness: bool,
}

impl PurchaseOrderPage {
    pub fn new(nav: Nav, o: &PurchaseOrder, vendor: Option<&Vendor>, may_receive: bool, controlled: bool) -> Self {
        let open_status = matches!(o.status, PoStatus::Submitted | PoStatus::PartiallyReceived);
        let m = clowder_schemas::controlled::show_milli;
        PurchaseOrderPage {
            nav,
            id: o.id.to_string(),
            number: o.number.clone().unwrap_or_else(|| "Draft order".to_owned()),
            vendor: vendor.map_or_else(|| o.vendor_id.to_string(), |v| v.name.clone()),
            status: po_status(o.status),
            total: money(o.total_cents),
            lines: o
                .lines
                .iter()
                .map(|l| LineRow {
                    line: l.line,
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    ordered: m(l.quantity),
                    received: m(l.received),
                    left: m(l.quantity - l.received),
                    open: open_status && l.received < l.quantity,
                    total: money(l.total_cents),
                })
                .collect(),
            receipts: o
                .receipts
                .iter()
                .map(|r| ReceiptRow {
                    line: r.line,
                    quantity: m(r.quantity),
                    lot: r.lot_number.clone(),
                    expires: r.expires_on.map_or_else(String::new, |d| d.to_string()),
                    witness: r.witness_name.clone().unwrap_or_default(),
                })
                .collect(),
            can_receive: open_status && may_receive,
            needs_witness: controlled,
        }
    }
}
