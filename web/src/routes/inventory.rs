//! `/api/inventory`: products (`inventory:create` to add, `inventory:edit` to change,
//! `inventory:delete` to retire), their stock (lots and the ledger: receiving by hand,
//! adjustments, write-offs and returns, `inventory:edit`), vendors, purchase orders and the
//! alerts (`inventory:view` to read, audited); and `POST /api/prescriptions/{id}/dispense`
//! (`prescriptions:edit`), which takes a prescription's fill out of stock.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use clowder_actors::inventory::orders::{PoDraft, PoFilter};
use clowder_actors::inventory::products::ProductFilter;
use clowder_actors::inventory::vendors::VendorFilter;
use clowder_schemas::ErrorResponse;
use clowder_schemas::ids::{PrescriptionId, ProductId, PurchaseOrderId, VendorId};
use clowder_schemas::inventory::{
    Alerts, AlertsQuery, CancelPurchaseOrder, ChangeStock, CreateProduct, CreatePurchaseOrder, CreateVendor,
    DispenseBody, Dispensed, MoveKind, ProductListQuery, ProductView, PurchaseOrder, PurchaseOrderListQuery,
    ReceivePurchaseOrder, ReceiveStock, StockChanged, StockEntry, StockView, UpdateProduct, UpdatePurchaseOrder,
    UpdateVendor, Vendor,
};
use clowder_schemas::pagination::{Page, PageQuery, PageRequest};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::reply::Created;
use crate::state::AppState;
use crate::views::inventory::{InventoryPage, PurchaseOrderPage};
use crate::views::{ErrorPage, Nav, Section, render};

fn view(state: &AppState, p: clowder_schemas::inventory::Product) -> Result<ProductView, ApiError> {
    Ok(state.system.stock.views(vec![p])?.remove(0))
}

/// Add a product. The SKU is normalised (trimmed, upper-cased, inner spaces removed) and
/// unique; `formulary` links it to a drug, form and strength so prescriptions of it are
/// dispensed from it (one product per drug, form and strength).
#[utoipa::path(
    post, path = "/api/inventory/products", tag = "inventory",
    request_body = CreateProduct,
    responses(
        (status = 201, description = "Added", body = ProductView, headers(("Location" = String, description = "URL of the product"))),
        (status = 404, description = "`vendor_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value`: the SKU (`sku`) or the drug link (`formulary`) is another product's", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the field", body = ErrorResponse),
    )
)]
pub async fn products_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateProduct>,
) -> Result<Response, ApiError> {
    let draft = body.validate()?;
    let p = state.system.products.create(draft, &staff.caller).await?;
    let id = p.id;
    Ok(Created::at(format!("/api/inventory/products/{id}"), view(&state, p)?).into_response())
}

/// Products by name, with what each has on hand; `q` searches the name and SKU, `low=true`
/// keeps those at or below their reorder level.
#[utoipa::path(
    get, path = "/api/inventory/products", tag = "inventory",
    params(ProductListQuery),
    responses((status = 200, body = Page<ProductView>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn products_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ProductListQuery>,
) -> Result<axum::Json<Page<ProductView>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let low = if q.low.unwrap_or(false) { Some(state.system.stock.on_hand_all()?) } else { None };
    let filter = ProductFilter {
        q: q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase),
        include_retired: q.include_retired.unwrap_or(false),
        low,
    };
    let (items, next) = state.system.products.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(state.system.stock.views(items)?, next)))
}

/// A product with what it has on hand and its lots, first-expiring first.
#[utoipa::path(
    get, path = "/api/inventory/products/{id}", tag = "inventory",
    params(("id" = ProductId, Path)),
    responses((status = 200, body = StockView), (status = 404, description = "`product_not_found`", body = ErrorResponse))
)]
pub async fn products_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
) -> Result<axum::Json<StockView>, ApiError> {
    Ok(axum::Json(state.system.stock.view(id, &staff.caller).await?))
}

/// Change a product (JSON merge patch). `active: true` brings back a retired one.
#[utoipa::path(
    patch, path = "/api/inventory/products/{id}", tag = "inventory",
    params(("id" = ProductId, Path)),
    request_body = UpdateProduct,
    responses(
        (status = 200, body = ProductView),
        (status = 404, description = "`product_not_found`, `vendor_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value` (`sku`, `formulary`)", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn products_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Json(patch): Json<UpdateProduct>,
) -> Result<axum::Json<ProductView>, ApiError> {
    let p = state.system.products.update(id, patch, &staff.caller).await?;
    Ok(axum::Json(view(&state, p)?))
}

/// Retire a product: it stays on file with its ledger, takes no new stock and gives up its
/// drug link. Nothing is deleted.
#[utoipa::path(
    delete, path = "/api/inventory/products/{id}", tag = "inventory",
    params(("id" = ProductId, Path)),
    responses((status = 200, description = "Retired", body = ProductView), (status = 404, description = "`product_not_found`", body = ErrorResponse))
)]
pub async fn products_delete(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
) -> Result<axum::Json<ProductView>, ApiError> {
    let p = state.system.products.retire(id, &staff.caller).await?;
    Ok(axum::Json(view(&state, p)?))
}

/// Receive a new lot by hand (opening stock, a delivery without a purchase order): a
/// `received` ledger entry.
#[utoipa::path(
    post, path = "/api/inventory/products/{id}/receive", tag = "inventory",
    params(("id" = ProductId, Path)),
    request_body = ReceiveStock,
    responses(
        (status = 200, body = StockChanged),
        (status = 404, description = "`product_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed` (`quantity` not above 0, a retired product)", body = ErrorResponse),
    )
)]
pub async fn products_receive(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Json(body): Json<ReceiveStock>,
) -> Result<axum::Json<StockChanged>, ApiError> {
    Ok(axum::Json(state.system.stock.receive(id, body, &staff.caller).await?))
}

async fn change(
    state: AppState,
    staff: Staff,
    id: ProductId,
    kind: MoveKind,
    body: ChangeStock,
) -> Result<axum::Json<StockChanged>, ApiError> {
    Ok(axum::Json(state.system.stock.change(id, kind, body, &staff.caller).await?))
}

/// Adjust a lot by a signed `quantity` with a reason (a count that differs). Below zero
/// only with `override_reason` (audited as `inventory.adjustment_override`).
#[utoipa::path(
    post, path = "/api/inventory/products/{id}/adjust", tag = "inventory",
    params(("id" = ProductId, Path)),
    request_body = ChangeStock,
    responses(
        (status = 200, body = StockChanged),
        (status = 404, description = "`product_not_found`, `stock_lot_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: below zero without `override_reason` (`quantity`)", body = ErrorResponse),
    )
)]
pub async fn products_adjust(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Json(body): Json<ChangeStock>,
) -> Result<axum::Json<StockChanged>, ApiError> {
    change(state, staff, id, MoveKind::Adjustment, body).await
}

/// Write off a lot as expired (`quantity` absent: all that remains).
#[utoipa::path(
    post, path = "/api/inventory/products/{id}/expired", tag = "inventory",
    params(("id" = ProductId, Path)),
    request_body = ChangeStock,
    responses(
        (status = 200, body = StockChanged),
        (status = 404, description = "`product_not_found`, `stock_lot_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn products_expired(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Json(body): Json<ChangeStock>,
) -> Result<axum::Json<StockChanged>, ApiError> {
    change(state, staff, id, MoveKind::Expired, body).await
}

/// Write off `quantity` of a lot as damaged (broken, spoiled, lost).
#[utoipa::path(
    post, path = "/api/inventory/products/{id}/damaged", tag = "inventory",
    params(("id" = ProductId, Path)),
    request_body = ChangeStock,
    responses(
        (status = 200, body = StockChanged),
        (status = 404, description = "`product_not_found`, `stock_lot_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn products_damaged(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Json(body): Json<ChangeStock>,
) -> Result<axum::Json<StockChanged>, ApiError> {
    change(state, staff, id, MoveKind::Damaged, body).await
}

/// Return `quantity` of a lot to the vendor.
#[utoipa::path(
    post, path = "/api/inventory/products/{id}/return", tag = "inventory",
    params(("id" = ProductId, Path)),
    request_body = ChangeStock,
    responses(
        (status = 200, body = StockChanged),
        (status = 404, description = "`product_not_found`, `stock_lot_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn products_return(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Json(body): Json<ChangeStock>,
) -> Result<axum::Json<StockChanged>, ApiError> {
    change(state, staff, id, MoveKind::Return, body).await
}

/// A product's stock ledger, newest first.
#[utoipa::path(
    get, path = "/api/inventory/products/{id}/ledger", tag = "inventory",
    params(("id" = ProductId, Path), PageQuery),
    responses((status = 200, body = Page<StockEntry>), (status = 404, description = "`product_not_found`", body = ErrorResponse))
)]
pub async fn products_ledger(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<ProductId>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Page<StockEntry>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let (items, next) = state.system.stock.ledger(id, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// Dispense a prescription's fill from stock: the product linked to its drug, form and
/// strength loses the prescribed quantity, first-expiring unexpired lots first. `fill` 0 is
/// the first fill, n the n-th refill (default: the newest). Each fill leaves stock once. With
/// no linked product nothing changes and `note` says so.
#[utoipa::path(
    post, path = "/api/prescriptions/{id}/dispense", tag = "inventory",
    params(("id" = PrescriptionId, Path)),
    request_body = DispenseBody,
    responses(
        (status = 200, body = Dispensed),
        (status = 404, description = "`prescription_not_found`", body = ErrorResponse),
        (status = 409, description = "`duplicate_value` (`fill`): this fill was dispensed already; `prescription_not_active`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: too little on hand without `override_reason` (`quantity`), a fill not given (`fill`)", body = ErrorResponse),
    )
)]
pub async fn prescriptions_dispense(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PrescriptionId>,
    Json(body): Json<DispenseBody>,
) -> Result<axum::Json<Dispensed>, ApiError> {
    Ok(axum::Json(state.system.stock.dispense(&state.system.prescriptions, id, body, &staff.caller).await?))
}

/// Low stock, lots expiring within `days` (default the setting, 60) and expired lots with
/// stock left.
#[utoipa::path(
    get, path = "/api/inventory/alerts", tag = "inventory",
    params(AlertsQuery),
    responses((status = 200, body = Alerts), (status = 422, description = "`validation_failed` (`days`)", body = ErrorResponse))
)]
pub async fn inventory_alerts(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AlertsQuery>,
) -> Result<axum::Json<Alerts>, ApiError> {
    Ok(axum::Json(state.system.stock.alerts(q.days, &staff.caller).await?))
}

/// Add a vendor.
#[utoipa::path(
    post, path = "/api/inventory/vendors", tag = "inventory",
    request_body = CreateVendor,
    responses(
        (status = 201, description = "Added", body = Vendor, headers(("Location" = String, description = "URL of the vendor"))),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn vendors_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreateVendor>,
) -> Result<Response, ApiError> {
    let v = state.system.vendors.create(body.validate()?, &staff.caller).await?;
    Ok(Created::at(format!("/api/inventory/vendors/{}", v.id), v).into_response())
}

/// Active vendors (`include_retired=true` for all), oldest first.
#[utoipa::path(
    get, path = "/api/inventory/vendors", tag = "inventory",
    params(ProductListQuery),
    responses((status = 200, body = Page<Vendor>))
)]
pub async fn vendors_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ProductListQuery>,
) -> Result<axum::Json<Page<Vendor>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = VendorFilter { include_retired: q.include_retired.unwrap_or(false) };
    let (items, next) = state.system.vendors.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One vendor.
#[utoipa::path(
    get, path = "/api/inventory/vendors/{id}", tag = "inventory",
    params(("id" = VendorId, Path)),
    responses((status = 200, body = Vendor), (status = 404, description = "`vendor_not_found`", body = ErrorResponse))
)]
pub async fn vendors_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VendorId>,
) -> Result<axum::Json<Vendor>, ApiError> {
    Ok(axum::Json(state.system.vendors.get(id, &staff.caller).await?))
}

/// Change a vendor (JSON merge patch).
#[utoipa::path(
    patch, path = "/api/inventory/vendors/{id}", tag = "inventory",
    params(("id" = VendorId, Path)),
    request_body = UpdateVendor,
    responses(
        (status = 200, body = Vendor),
        (status = 404, description = "`vendor_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`", body = ErrorResponse),
    )
)]
pub async fn vendors_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VendorId>,
    Json(patch): Json<UpdateVendor>,
) -> Result<axum::Json<Vendor>, ApiError> {
    Ok(axum::Json(state.system.vendors.update(id, patch, &staff.caller).await?))
}

/// Retire a vendor (kept on file: orders name it).
#[utoipa::path(
    delete, path = "/api/inventory/vendors/{id}", tag = "inventory",
    params(("id" = VendorId, Path)),
    responses((status = 200, description = "Retired", body = Vendor), (status = 404, description = "`vendor_not_found`", body = ErrorResponse))
)]
pub async fn vendors_delete(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VendorId>,
) -> Result<axum::Json<Vendor>, ApiError> {
    Ok(axum::Json(state.system.vendors.retire(id, &staff.caller).await?))
}

/// Draft a purchase order. Lines: a product on file and active, a quantity above 0, a unit
/// cost in cents from 0, each product once; totals are computed (half up to a cent).
#[utoipa::path(
    post, path = "/api/inventory/purchase-orders", tag = "inventory",
    request_body = CreatePurchaseOrder,
    responses(
        (status = 201, description = "Drafted", body = PurchaseOrder, headers(("Location" = String, description = "URL of the order"))),
        (status = 404, description = "`vendor_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the line (`lines[2].quantity`)", body = ErrorResponse),
    )
)]
pub async fn purchase_orders_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreatePurchaseOrder>,
) -> Result<Response, ApiError> {
    let po = state.system.purchase_orders.create(PoDraft::validate(body)?, &staff.caller).await?;
    Ok(Created::at(format!("/api/inventory/purchase-orders/{}", po.id), po).into_response())
}

/// Purchase orders, oldest first, by status or vendor.
#[utoipa::path(
    get, path = "/api/inventory/purchase-orders", tag = "inventory",
    params(PurchaseOrderListQuery),
    responses((status = 200, body = Page<PurchaseOrder>), (status = 422, description = "`validation_failed`", body = ErrorResponse))
)]
pub async fn purchase_orders_list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<PurchaseOrderListQuery>,
) -> Result<axum::Json<Page<PurchaseOrder>>, ApiError> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let filter = PoFilter { status: q.status, vendor_id: q.vendor_id };
    let (items, next) = state.system.purchase_orders.list(&filter, page.after, page.limit, &staff.caller).await?;
    Ok(axum::Json(Page::new(items, next)))
}

/// One purchase order with its lines and receipts.
#[utoipa::path(
    get, path = "/api/inventory/purchase-orders/{id}", tag = "inventory",
    params(("id" = PurchaseOrderId, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 404, description = "`purchase_order_not_found`", body = ErrorResponse))
)]
pub async fn purchase_orders_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PurchaseOrderId>,
) -> Result<axum::Json<PurchaseOrder>, ApiError> {
    Ok(axum::Json(state.system.purchase_orders.get(id, &staff.caller).await?))
}

/// Change a draft: its vendor, notes, or every line at once.
#[utoipa::path(
    patch, path = "/api/inventory/purchase-orders/{id}", tag = "inventory",
    params(("id" = PurchaseOrderId, Path)),
    request_body = UpdatePurchaseOrder,
    responses(
        (status = 200, body = PurchaseOrder),
        (status = 404, description = "`purchase_order_not_found`, `vendor_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: not a draft", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the line", body = ErrorResponse),
    )
)]
pub async fn purchase_orders_update(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PurchaseOrderId>,
    Json(patch): Json<UpdatePurchaseOrder>,
) -> Result<axum::Json<PurchaseOrder>, ApiError> {
    Ok(axum::Json(state.system.purchase_orders.update(id, patch, &staff.caller).await?))
}

/// Submit a draft to its vendor.
#[utoipa::path(
    post, path = "/api/inventory/purchase-orders/{id}/submit", tag = "inventory",
    params(("id" = PurchaseOrderId, Path)),
    responses(
        (status = 200, body = PurchaseOrder),
        (status = 404, description = "`purchase_order_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`", body = ErrorResponse),
    )
)]
pub async fn purchase_orders_submit(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PurchaseOrderId>,
) -> Result<axum::Json<PurchaseOrder>, ApiError> {
    Ok(axum::Json(state.system.purchase_orders.submit(id, &staff.caller).await?))
}

/// Cancel a draft or submitted order, with a reason.
#[utoipa::path(
    post, path = "/api/inventory/purchase-orders/{id}/cancel", tag = "inventory",
    params(("id" = PurchaseOrderId, Path)),
    request_body = CancelPurchaseOrder,
    responses(
        (status = 200, body = PurchaseOrder),
        (status = 404, description = "`purchase_order_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: something was received already", body = ErrorResponse),
    )
)]
pub async fn purchase_orders_cancel(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PurchaseOrderId>,
    Json(body): Json<CancelPurchaseOrder>,
) -> Result<axum::Json<PurchaseOrder>, ApiError> {
    Ok(axum::Json(state.system.purchase_orders.cancel(id, body.reason, &staff.caller).await?))
}

/// Receive lines of a submitted order: each becomes a lot (lot number, expiry) with a
/// `received` ledger entry, in the same change set as the order. Partial receipts are fine;
/// more than a line ordered is refused naming it (`lines[0].quantity`).
#[utoipa::path(
    post, path = "/api/inventory/purchase-orders/{id}/receive", tag = "inventory",
    params(("id" = PurchaseOrderId, Path)),
    request_body = ReceivePurchaseOrder,
    responses(
        (status = 200, body = PurchaseOrder),
        (status = 404, description = "`purchase_order_not_found`", body = ErrorResponse),
        (status = 409, description = "`invalid_transition`: a draft, received or cancelled order", body = ErrorResponse),
        (status = 422, description = "`validation_failed`, naming the line", body = ErrorResponse),
    )
)]
pub async fn purchase_orders_receive(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PurchaseOrderId>,
    Json(body): Json<ReceivePurchaseOrder>,
) -> Result<axum::Json<PurchaseOrder>, ApiError> {
    let system = &state.system;
    Ok(axum::Json(
        system.purchase_orders.receive(&system.stock, id, body.lines, body.witness.as_ref(), &staff.caller).await?,
    ))
}

/// What `POST /api/inventory/expire` wrote off.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WrittenOff {
    /// Lots written off (one `expired` ledger entry each).
    pub lots: usize,
}

/// Write off now every lot past its expiry with stock left (what the daily `inventory_expire`
/// job does).
#[utoipa::path(
    post, path = "/api/inventory/expire", tag = "inventory",
    responses((status = 200, body = WrittenOff))
)]
pub async fn inventory_expire(State(state): State<AppState>, staff: Staff) -> Result<axum::Json<WrittenOff>, ApiError> {
    Ok(axum::Json(WrittenOff { lots: state.system.stock.expire_due(&staff.caller).await? }))
}

// ---- the screens ----

/// Orders the stock page lists, newest first.
const SCREEN_ORDERS: usize = 50;

/// `/inventory`: the alerts, stock by product with its lots and expiry, and the newest
/// purchase orders (`inventory:view`; every read audited by the services).
pub async fn inventory_page(State(state): State<AppState>, staff: Staff) -> Response {
    let nav = Nav::of(&staff, Section::Inventory);
    let result = async {
        let system = &state.system;
        let alerts = system.stock.alerts(None, &staff.caller).await?;
        let stock = system.stock.overview(&staff.caller).await?;
        let (orders, _) =
            system.purchase_orders.list_newest_first(&PoFilter::default(), None, SCREEN_ORDERS, &staff.caller).await?;
        let vendor =
            |o: &PurchaseOrder| system.vendors.peek(o.vendor_id).map_or_else(|_| o.vendor_id.to_string(), |v| v.name);
        let today = system.ctx.clock.now().to_zoned(system.ctx.config.time_zone.clone()).date();
        let view = InventoryPage::new(nav.clone(), &alerts, stock, &orders, vendor, today);
        Ok::<_, ApiError>(render(axum::http::StatusCode::OK, &view))
    }
    .await;
    result.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// `/inventory/purchase-orders/{id}`: an order's lines and receipts, and the receiving form
/// when it is open and the caller may receive (`inventory:edit` on the receive route).
pub async fn purchase_order_page(State(state): State<AppState>, staff: Staff, Id(id): Id<PurchaseOrderId>) -> Response {
    let nav = Nav::of(&staff, Section::Inventory);
    let result = async {
        let system = &state.system;
        let order = system.purchase_orders.get(id, &staff.caller).await?;
        let vendor = system.vendors.peek(order.vendor_id).ok();
        // The route template, as the access table names it.
        let receive = "/api/inventory/purchase-orders/{id}/receive";
        let may_receive = crate::access::granted_on(&staff, &axum::http::Method::POST, receive).is_some();
        let controlled = order.lines.iter().any(|l| system.products.peek(l.product_id).is_ok_and(|p| p.controlled));
        let view = PurchaseOrderPage::new(nav.clone(), &order, vendor.as_ref(), may_receive, controlled);
        Ok::<_, ApiError>(render(axum::http::StatusCode::OK, &view))
    }
    .await;
    result.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}
