//! Access control: the authorization matrix (every route × every built-in role × no session,
//! against a table written here by hand from DOMAIN.md), staff accounts, password policy,
//! forced password change, lockout, privilege limits, the last administrator, and sessions.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, client_body, id_of};

pub(crate) const NEW_PASSWORD: &str = "lantern-orchard-giraffe";

/// Creates a user with `roles` (as admin), and has them replace the temporary password.
pub(crate) async fn staff_user(app: &TestApp, username: &str, roles: &[&str]) -> String {
    staff_user_with_id(app, username, roles).await.0
}

/// A signed-in staff user with these roles: their bearer token and user id.
pub(crate) async fn staff_user_with_id(app: &TestApp, username: &str, roles: &[&str]) -> (String, String) {
    let res = app
        .post_json(
            "/api/users",
            &json!({"username": username, "display_name": username, "password": "temporary-pass-phrase-1", "roles": roles}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    let user: serde_json::Value = res.json().await.unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();
    let token = sign_in(app, username, "temporary-pass-phrase-1").await;
    let res = app
        .anonymous(Method::POST, "/api/auth/password")
        .bearer_auth(&token)
        .json(&json!({"current_password": "temporary-pass-phrase-1", "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    (sign_in(app, username, NEW_PASSWORD).await, user_id)
}

async fn sign_in(app: &TestApp, username: &str, password: &str) -> String {
    let res = app
        .anonymous(Method::POST, "/api/auth/login")
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "signing in as {username}");
    res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// Who may call each route: A administrator, V veterinarian, T vet tech, R receptionist,
/// B billing, M practice manager; `*` every signed-in user; `public` anyone; `signed` anyone
/// whose request carries the provider's signature (webhooks: 401 without one, whatever the session).
const MATRIX: &[(&str, &str, &str)] = &[
    ("GET", "/api/auth/me", "*"),
    ("POST", "/api/auth/password", "*"),
    ("PUT", "/api/auth/pin", "*"),
    ("POST", "/api/auth/totp/enroll", "*"),
    ("POST", "/api/auth/totp/confirm", "*"),
    ("DELETE", "/api/auth/totp", "*"),
    ("POST", "/api/auth/pin-unlock", "public"),
    ("GET", "/api/devices", "A"),
    ("POST", "/api/devices", "A"),
    ("PATCH", "/api/devices/{id}", "A"),
    ("GET", "/api/auth/sessions", "*"),
    ("DELETE", "/api/auth/sessions/{id}", "*"),
    ("GET", "/api/openapi.json", "*"),
    ("GET", "/health/detailed", "*"),
    ("GET", "/api/permissions", "AM"),
    ("GET", "/api/roles", "AM"),
    ("POST", "/api/roles", "A"),
    ("GET", "/api/roles/{id}", "AM"),
    ("PATCH", "/api/roles/{id}", "A"),
    ("GET", "/api/users", "AM"),
    ("POST", "/api/users", "A"),
    ("GET", "/api/users/{id}", "AM"),
    ("PATCH", "/api/users/{id}", "A"),
    ("POST", "/api/users/{id}/password", "A"),
    ("GET", "/api/users/{id}/sessions", "A"),
    ("DELETE", "/api/users/{id}/sessions", "A"),
    ("DELETE", "/api/sessions", "A"),
    ("GET", "/api/clients", "AVTRBM"),
    ("POST", "/api/clients", "ARM"),
    ("GET", "/api/clients/{id}", "AVTRBM"),
    ("PATCH", "/api/clients/{id}", "ARM"),
    ("DELETE", "/api/clients/{id}", "ARM"),
    ("GET", "/api/clients/{id}/patients", "AVTRM"),
    ("GET", "/api/patients", "AVTRM"),
    ("POST", "/api/patients", "AV"),
    ("GET", "/api/patients/{id}", "AVTRM"),
    ("PATCH", "/api/patients/{id}", "AVT"),
    ("DELETE", "/api/patients/{id}", "AV"),
    ("GET", "/api/audit", "AM"),
    ("GET", "/api/backups", "A"),
    ("POST", "/api/backups", "A"),
    ("GET", "/api/backups/{id}", "A"),
    ("GET", "/api/jobs", "A"),
    ("GET", "/api/jobs/{id}", "A"),
    ("POST", "/api/jobs/{id}/retry", "A"),
    ("POST", "/api/jobs/{id}/cancel", "A"),
    ("GET", "/api/messages", "ARM"),
    ("GET", "/api/messages/{id}", "ARM"),
    ("POST", "/api/communications/test", "A"),
    ("GET", "/api/templates", "ARM"),
    ("POST", "/api/templates", "AM"),
    ("GET", "/api/templates/{id}", "ARM"),
    ("PATCH", "/api/templates/{id}", "AM"),
    ("POST", "/api/templates/{id}/preview", "ARM"),
    ("GET", "/api/automations", "ARM"),
    ("PATCH", "/api/automations/{kind}", "AM"),
    ("GET", "/api/automations/{kind}/preview", "ARM"),
    ("POST", "/api/automations/sweep", "AM"),
    ("GET", "/l/{purpose}/{token}", "public"),
    ("POST", "/l/{purpose}/{token}", "public"),
    ("POST", "/api/communications/send", "ARM"),
    ("POST", "/api/communications/send-batch", "ARM"),
    ("GET", "/api/communications/batches/{id}", "ARM"),
    ("GET", "/api/communications/log", "ARM"),
    ("GET", "/api/communications/templates", "ARM"),
    ("GET", "/api/communications/stats", "ARM"),
    ("GET", "/api/appointment-types", "AVTRM"),
    ("POST", "/api/appointment-types", "AM"),
    ("GET", "/api/appointment-types/{id}", "AVTRM"),
    ("PATCH", "/api/appointment-types/{id}", "AM"),
    ("GET", "/api/locations", "AVTRM"),
    ("POST", "/api/locations", "AM"),
    ("GET", "/api/locations/{id}", "AVTRM"),
    ("PATCH", "/api/locations/{id}", "AM"),
    ("GET", "/api/rooms", "AVTRM"),
    ("POST", "/api/rooms", "AM"),
    ("GET", "/api/rooms/{id}", "AVTRM"),
    ("PATCH", "/api/rooms/{id}", "AM"),
    ("GET", "/api/rooms/board", "AVTRM"),
    ("POST", "/api/rooms/{id}/state", "AVTRM"),
    ("GET", "/api/staff", "AVTRM"),
    ("POST", "/api/staff", "AM"),
    ("GET", "/api/staff/{id}", "AVTRM"),
    ("PATCH", "/api/staff/{id}", "AM"),
    ("GET", "/api/staff/{id}/shifts", "AVTRM"),
    ("POST", "/api/staff/{id}/shifts", "AM"),
    ("PATCH", "/api/staff/{id}/shifts/{shift_id}", "AM"),
    ("DELETE", "/api/staff/{id}/shifts/{shift_id}", "AM"),
    ("GET", "/api/time-off", "AVTRM"),
    ("POST", "/api/time-off", "*"),
    ("POST", "/api/time-off/{id}/approve", "AM"),
    ("POST", "/api/time-off/{id}/deny", "AM"),
    ("POST", "/api/time-off/{id}/cancel", "*"),
    ("GET", "/api/appointments", "AVTRM"),
    ("POST", "/api/appointments", "ARM"),
    ("GET", "/api/appointments/{id}", "AVTRM"),
    ("PATCH", "/api/appointments/{id}", "AVTRM"),
    ("POST", "/api/appointments/{id}/transition", "AVTRM"),
    ("GET", "/api/calendar", "AVTRM"),
    ("GET", "/api/availability", "AVTRM"),
    ("GET", "/api/dashboard", "AVTRM"),
    ("GET", "/api/appointments/{id}/ics", "AVTRM"),
    ("POST", "/api/staff/{id}/feed", "*"),
    ("DELETE", "/api/staff/{id}/feed", "*"),
    ("GET", "/ical/{file}", "public"),
    ("GET", "/ws", "*"),
    ("GET", "/", "public"),
    ("GET", "/signin", "public"),
    ("GET", "/board", "AVTRM"),
    ("GET", "/tablet", "public"),
    ("GET", "/clients", "AVTRBM"),
    ("GET", "/clients/{id}", "AVTRBM"),
    ("GET", "/patients", "AVTRM"),
    ("GET", "/patients/{id}", "AVTRM"),
    ("GET", "/messages", "ARM"),
    ("GET", "/messages/{id}", "ARM"),
    ("GET", "/messages/templates", "ARM"),
    ("GET", "/messages/templates/{id}", "ARM"),
    ("GET", "/messages/bulk", "ARM"),
    ("GET", "/messages/dashboard", "ARM"),
    ("GET", "/jobs", "A"),
    ("GET", "/api/search", "*"),
    ("GET", "/api/search/history", "*"),
    ("DELETE", "/api/search/history", "*"),
    ("GET", "/api/recent", "*"),
    ("GET", "/assets/{file}", "public"),
    ("GET", "/api/waitlist", "AVTRM"),
    ("POST", "/api/waitlist", "ARM"),
    ("GET", "/api/waitlist/{id}", "AVTRM"),
    ("PATCH", "/api/waitlist/{id}", "AVTRM"),
    ("DELETE", "/api/waitlist/{id}", "ARM"),
    ("GET", "/api/waitlist/matches/{appointment_id}", "AVTRM"),
    ("POST", "/api/waitlist/{id}/fulfill", "ARM"),
    ("GET", "/api/waitlist/offers", "AVTRM"),
    ("POST", "/api/waitlist/offers/{id}/accept", "ARM"),
    ("POST", "/api/waitlist/offers/{id}/decline", "AVTRM"),
    ("POST", "/api/auth/logout", "*"),
    ("POST", "/api/auth/login", "public"),
    ("GET", "/health", "public"),
    ("GET", "/health/ready", "public"),
    ("GET", "/metrics", "public"),
    ("GET", "/api/clients/{id}/preferences", "AVTRBM"),
    ("PUT", "/api/clients/{id}/preferences", "ARM"),
    ("GET", "/api/clients/{id}/consent", "AVTRBM"),
    ("POST", "/api/clients/{id}/consent", "ARM"),
    ("POST", "/hooks/twilio/status", "signed"),
    ("POST", "/hooks/twilio/inbound", "signed"),
    ("POST", "/hooks/sendgrid/events", "signed"),
    ("GET", "/l/unsubscribe/{token}", "public"),
    ("POST", "/l/unsubscribe/{token}", "public"),
    ("GET", "/l/open/{token}", "public"),
    ("GET", "/l/click/{token}/{n}", "public"),
    ("GET", "/api/communications/analytics", "ARM"),
    ("GET", "/api/segments", "AM"),
    ("POST", "/api/segments", "AM"),
    ("GET", "/api/segments/{id}", "AM"),
    ("GET", "/api/segments/{id}/preview", "AM"),
    ("GET", "/api/campaigns", "AM"),
    ("POST", "/api/campaigns", "AM"),
    ("GET", "/api/campaigns/{id}", "AM"),
    ("POST", "/api/campaigns/{id}/schedule", "AM"),
    ("POST", "/api/campaigns/{id}/send-now", "AM"),
    ("POST", "/api/campaigns/{id}/cancel", "AM"),
    ("POST", "/api/clients/{id}/newsletter", "ARM"),
    ("POST", "/api/communications/newsletter/subscribe", "public"),
    ("GET", "/l/subscribe/{token}", "public"),
    ("POST", "/l/subscribe/{token}", "public"),
    ("GET", "/api/clients/{id}/referral", "AVTRBM"),
    ("POST", "/api/referrals", "ARM"),
    ("POST", "/api/referrals/{id}/redeem", "ARM"),
    ("GET", "/messages/analytics", "ARM"),
    ("GET", "/messages/segments", "AM"),
    ("GET", "/messages/segments/{id}", "AM"),
    ("GET", "/messages/campaigns", "AM"),
    ("GET", "/messages/campaigns/{id}", "AM"),
    ("GET", "/api/clinical-facts", "*"),
    ("GET", "/api/clinical-facts/{name}", "*"),
    ("PUT", "/api/clinical-facts/{name}", "A"),
    ("POST", "/api/vitals", "AVT"),
    ("GET", "/api/vitals/{id}", "AVT"),
    ("POST", "/api/vitals/{id}/amendments", "AVT"),
    ("GET", "/api/patients/{id}/vitals", "AVT"),
    ("GET", "/api/patients/{id}/weights", "AVT"),
    ("POST", "/api/problems", "AV"),
    ("GET", "/api/problems/{id}", "AVT"),
    ("PATCH", "/api/problems/{id}", "AV"),
    ("GET", "/api/patients/{id}/problems", "AVT"),
    ("GET", "/api/protocols", "AVTM"),
    ("POST", "/api/protocols", "AVM"),
    ("GET", "/api/protocols/{id}", "AVTM"),
    ("PATCH", "/api/protocols/{id}", "AVM"),
    ("GET", "/api/protocols/starters", "AVTM"),
    ("POST", "/api/protocols/starters/{key}", "AVM"),
    ("POST", "/api/treatment-plans", "AV"),
    ("GET", "/api/treatment-plans/{id}", "AVT"),
    ("POST", "/api/treatment-plans/{id}/changes", "AV"),
    ("POST", "/api/treatment-plans/{id}/bookings", "AV"),
    ("GET", "/api/treatment-plans/{id}/history", "AVT"),
    ("GET", "/api/treatment-plans/{id}/offer", "AVT"),
    ("GET", "/api/patients/{id}/treatment-plans", "AVT"),
    ("POST", "/api/lab-orders", "AVT"),
    ("GET", "/api/lab-orders/{id}", "AVT"),
    ("POST", "/api/lab-orders/{id}/results", "AVT"),
    ("POST", "/api/lab-orders/{id}/review", "AV"),
    ("POST", "/api/lab-orders/{id}/cancel", "AVT"),
    ("POST", "/api/lab-orders/{id}/amend", "AVT"),
    ("GET", "/api/patients/{id}/lab-orders", "AVT"),
    ("GET", "/api/patients/{id}/lab-trends", "AVT"),
    ("POST", "/api/lab-results/import", "AVT"),
    ("GET", "/api/lab-results/unmatched", "AVT"),
    ("GET", "/api/lab-results/unmatched/{id}", "AVT"),
    ("POST", "/api/lab-results/unmatched/{id}/attach", "AVT"),
    ("POST", "/api/lab-results/unmatched/{id}/discard", "AVT"),
    ("GET", "/labs", "AVT"),
    ("GET", "/labs/orders/{id}", "AVT"),
    ("GET", "/labs/unmatched", "AVT"),
    ("POST", "/api/documents", "AV"),
    ("GET", "/api/documents", "AVT"),
    ("GET", "/api/documents/{id}", "AVT"),
    ("GET", "/api/documents/{id}/content", "AVT"),
    ("POST", "/api/documents/{id}/deactivate", "AV"),
    ("GET", "/api/consent-templates", "AVT"),
    ("POST", "/api/consent-templates", "AM"),
    ("GET", "/api/consent-templates/{id}", "AVT"),
    ("PATCH", "/api/consent-templates/{id}", "AM"),
    ("POST", "/api/consent-forms", "AV"),
    ("GET", "/api/consent-forms", "AVT"),
    ("GET", "/api/consent-forms/{id}", "AVT"),
    ("PATCH", "/api/consent-forms/{id}", "AV"),
    ("POST", "/api/consent-forms/{id}/sign", "AV"),
    ("POST", "/api/consent-forms/{id}/void", "AV"),
    ("POST", "/api/visits", "AV"),
    ("GET", "/api/visits", "AVT"),
    ("GET", "/api/visits/{id}", "AVT"),
    ("PATCH", "/api/visits/{id}", "AV"),
    ("POST", "/api/visits/{id}/complete", "AV"),
    ("POST", "/api/visits/{id}/void", "AV"),
    ("GET", "/api/visits/{id}/note", "AVT"),
    ("PUT", "/api/visits/{id}/note/draft", "AV"),
    ("POST", "/api/visits/{id}/note/sign", "AV"),
    ("POST", "/api/visits/{id}/note/addenda", "AV"),
    ("GET", "/api/visits/{id}/health-certificate.pdf", "AVT"),
    ("GET", "/api/visits/{id}/summary.pdf", "AVT"),
    ("GET", "/api/note-templates", "AVT"),
    ("PUT", "/api/note-templates/{key}", "AV"),
    ("GET", "/api/patients/{id}/timeline", "AVT"),
    ("GET", "/visits/{id}", "AVT"),
    ("GET", "/consents/{id}/sign", "AVT"),
    ("GET", "/documents/rows", "AVT"),
    ("GET", "/tablet/chart", "AVT"),
    ("POST", "/api/prescriptions", "AV"),
    ("GET", "/api/prescriptions/{id}", "AV"),
    ("GET", "/api/prescriptions/{id}/label.pdf", "AV"),
    ("POST", "/api/prescriptions/{id}/refill", "AV"),
    ("POST", "/api/prescriptions/{id}/complete", "AV"),
    ("POST", "/api/prescriptions/{id}/cancel", "AV"),
    ("GET", "/api/patients/{id}/prescriptions", "AV"),
    ("POST", "/api/controlled/containers", "AVT"),
    ("GET", "/api/controlled/containers", "AVTM"),
    ("GET", "/api/controlled/containers/{id}", "AVTM"),
    ("POST", "/api/controlled/containers/{id}/uses", "AVT"),
    ("POST", "/api/controlled/containers/{id}/discrepancies", "AVT"),
    ("POST", "/api/controlled/containers/{id}/counts", "AVT"),
    ("POST", "/api/controlled/entries/{id}/reversal", "AVT"),
    ("GET", "/api/controlled/register.csv", "AVTM"),
    ("GET", "/api/controlled/register.pdf", "AVTM"),
    ("POST", "/api/vaccinations", "AVT"),
    ("POST", "/api/vaccinations/declined", "AVT"),
    ("GET", "/api/vaccinations/due", "AVTRM"),
    ("GET", "/api/vaccinations/{id}", "AVT"),
    ("POST", "/api/vaccinations/{id}/reactions", "AVT"),
    ("GET", "/api/patients/{id}/vaccinations", "AVT"),
    ("POST", "/api/patients/{id}/vaccinations/overrides", "AVT"),
    ("POST", "/api/patients/{id}/vaccinations/risk", "AVT"),
    ("GET", "/api/patients/{id}/vaccination-certificate.pdf", "AVT"),
    ("GET", "/api/patients/{id}/record-summary.pdf", "AVT"),
    ("GET", "/api/settings/logo", "signed"),
    ("GET", "/api/settings/logo.img", "signed"),
    ("PUT", "/api/settings/logo", "AM"),
    ("DELETE", "/api/settings/logo", "AM"),
    ("POST", "/api/print-batches", "AVTRM"),
    ("GET", "/api/print-batches/{id}", "AVTRM"),
    ("GET", "/api/print-batches/{id}/file", "AVTRM"),
    ("POST", "/api/inventory/products", "AM"),
    ("GET", "/api/inventory/products", "AM"),
    ("GET", "/api/inventory/products/{id}", "AM"),
    ("PATCH", "/api/inventory/products/{id}", "AM"),
    ("DELETE", "/api/inventory/products/{id}", "AM"),
    ("POST", "/api/inventory/products/{id}/receive", "AM"),
    ("POST", "/api/inventory/products/{id}/adjust", "AM"),
    ("POST", "/api/inventory/products/{id}/expired", "AM"),
    ("POST", "/api/inventory/products/{id}/damaged", "AM"),
    ("POST", "/api/inventory/products/{id}/return", "AM"),
    ("GET", "/api/inventory/products/{id}/ledger", "AM"),
    ("POST", "/api/prescriptions/{id}/dispense", "AV"),
    ("GET", "/api/inventory/alerts", "AM"),
    ("POST", "/api/inventory/expire", "AM"),
    ("POST", "/api/inventory/vendors", "AM"),
    ("GET", "/api/inventory/vendors", "AM"),
    ("GET", "/api/inventory/vendors/{id}", "AM"),
    ("PATCH", "/api/inventory/vendors/{id}", "AM"),
    ("DELETE", "/api/inventory/vendors/{id}", "AM"),
    ("POST", "/api/inventory/purchase-orders", "AM"),
    ("GET", "/api/inventory/purchase-orders", "AM"),
    ("GET", "/api/inventory/purchase-orders/{id}", "AM"),
    ("PATCH", "/api/inventory/purchase-orders/{id}", "AM"),
    ("POST", "/api/inventory/purchase-orders/{id}/submit", "AM"),
    ("POST", "/api/inventory/purchase-orders/{id}/cancel", "AM"),
    ("POST", "/api/inventory/purchase-orders/{id}/receive", "AM"),
    ("GET", "/inventory", "AM"),
    ("GET", "/inventory/purchase-orders/{id}", "AM"),
    ("GET", "/api/patients/{id}/chart", "AVT"),
    ("POST", "/api/catalogue", "ABM"),
    ("GET", "/api/catalogue", "ARBM"),
    ("GET", "/api/catalogue/{id}", "ARBM"),
    ("PATCH", "/api/catalogue/{id}", "ABM"),
    ("POST", "/api/invoices", "ARBM"),
    ("GET", "/api/invoices", "ARBM"),
    ("GET", "/api/invoices/{id}", "ARBM"),
    ("PATCH", "/api/invoices/{id}", "ARBM"),
    ("POST", "/api/invoices/{id}/lines", "ARBM"),
    ("POST", "/api/invoices/{id}/issue", "ARBM"),
    ("POST", "/api/invoices/{id}/void", "ARBM"),
    ("POST", "/api/invoices/{id}/credit-notes", "ARBM"),
    ("POST", "/api/invoices/{id}/payments", "ARBM"),
    ("GET", "/api/clients/{id}/invoices", "ARBM"),
    ("GET", "/api/clients/{id}/balance", "ARBM"),
    ("POST", "/api/estimates", "ARBM"),
    ("GET", "/api/estimates", "ARBM"),
    ("GET", "/api/estimates/report", "ARBM"),
    ("GET", "/api/estimates/{id}", "ARBM"),
    ("PATCH", "/api/estimates/{id}", "ARBM"),
    ("PATCH", "/api/estimates/{id}/options/{option_no}/lines/{line_no}", "ARBM"),
    ("POST", "/api/estimates/{id}/send", "ARBM"),
    ("POST", "/api/estimates/{id}/email", "ARBM"),
    ("POST", "/api/estimates/{id}/viewed", "ARBM"),
    ("POST", "/api/estimates/{id}/accept", "ARBM"),
    ("POST", "/api/estimates/{id}/decline", "ARBM"),
    ("POST", "/api/payment-plans", "ARBM"),
    ("GET", "/api/payment-plans/{id}", "ARBM"),
    ("PATCH", "/api/payment-plans/{id}", "ARBM"),
    ("POST", "/api/payment-plans/{id}/cancel", "ARBM"),
    ("GET", "/api/invoices/{id}/payment-plans", "ARBM"),
    ("POST", "/api/invoices/{id}/uncharged/resolve", "ARBM"),
    ("POST", "/api/invoice-batches", "ARBM"),
    ("GET", "/api/invoice-batches/{id}", "ARBM"),
    ("POST", "/api/payments/{id}/refunds", "ARBM"),
    ("POST", "/api/invoices/{id}/apply-credit", "ARBM"),
    ("GET", "/api/clients/{id}/credit", "ARBM"),
    ("GET", "/api/payments/{id}/receipt.pdf", "ARBM"),
    ("POST", "/api/payments/{id}/receipt/email", "ARBM"),
    ("GET", "/api/reports/ar-ageing", "ABM"),
    ("GET", "/api/reports/revenue", "ABM"),
    ("GET", "/api/accounting/mapping", "ABM"),
    ("PUT", "/api/accounting/mapping", "ABM"),
    ("POST", "/api/accounting/exports", "ABM"),
    ("GET", "/api/accounting/exports", "ABM"),
    ("GET", "/api/accounting/exports/{id}", "ABM"),
    ("GET", "/api/accounting/exports/{id}/file", "ABM"),
    ("POST", "/api/invoice-batches/discount", "ARBM"),
    ("POST", "/api/invoice-batches/export", "ARBM"),
    ("GET", "/api/invoice-batches/{id}/file", "ARBM"),
    ("GET", "/estimates", "ARBM"),
    ("GET", "/estimates/new", "ARBM"),
    ("GET", "/estimates/{id}", "ARBM"),
    ("GET", "/payment-plans/new", "ARBM"),
    ("GET", "/payment-plans/{id}", "ARBM"),
    ("GET", "/treatment-plans/{id}", "AVT"),
    ("GET", "/reports", "ABM"),
    ("GET", "/api/clients/{id}/statement", "ARBM"),
    ("GET", "/api/clients/{id}/statement.pdf", "ARBM"),
    ("POST", "/api/clients/{id}/statement/email", "ARBM"),
    ("POST", "/api/statements/runs", "ARBM"),
    ("GET", "/api/statements/runs/{id}", "ARBM"),
    ("GET", "/api/loyalty/settings", "ARBM"),
    ("PUT", "/api/loyalty/settings", "AM"),
    ("GET", "/api/clients/{id}/loyalty", "ARBM"),
    ("POST", "/api/clients/{id}/loyalty/adjustments", "AM"),
    ("POST", "/api/invoices/{id}/loyalty/redeem", "ARBM"),
    ("POST", "/api/invoices/{id}/loyalty/release", "ARBM"),
    ("GET", "/invoices", "ARBM"),
    ("GET", "/invoices/{id}", "ARBM"),
    ("GET", "/clients/{id}/account", "ARBM"),
    ("GET", "/loyalty", "AM"),
    ("GET", "/accounting", "ABM"),
    ("GET", "/protocols", "AVTM"),
    ("GET", "/protocols/new", "AVM"),
    ("GET", "/protocols/{id}", "AVTM"),
    ("POST", "/api/wards", "AM"),
    ("GET", "/api/wards", "AVTM"),
    ("GET", "/api/wards/{id}", "AVTM"),
    ("PATCH", "/api/wards/{id}", "AM"),
    ("GET", "/api/wards/{id}/board", "AVTM"),
    ("POST", "/api/admissions", "AVT"),
    ("GET", "/api/admissions/{id}", "AVTM"),
    ("POST", "/api/admissions/{id}/treatments", "AVT"),
    ("POST", "/api/admissions/{id}/slots", "AVT"),
    ("POST", "/api/admissions/{id}/discharge", "AVT"),
    ("POST", "/api/admissions/{id}/move", "AVT"),
    ("POST", "/api/admissions/{id}/treatments/{treatment_id}/stop", "AVT"),
    ("GET", "/wards", "AVTM"),
    ("GET", "/wards/{id}", "AVTM"),
    ("GET", "/wards/{id}/display", "AVTM"),
    ("GET", "/wards/{id}/tablet", "AVTM"),
    ("POST", "/api/admissions/{id}/slots/pin", "AVTM"),
];

const ROLES: &[(char, &str)] = &[
    ('A', "administrator"),
    ('V', "veterinarian"),
    ('T', "vet_tech"),
    ('R', "receptionist"),
    ('B', "billing"),
    ('M', "practice_manager"),
];

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> StatusCode {
    let path = path
        .replace("{id}", UNKNOWN_ID)
        .replace("{shift_id}", UNKNOWN_ID)
        .replace("{appointment_id}", UNKNOWN_ID)
        .replace("{treatment_id}", UNKNOWN_ID)
        .replace("{file}", "nope.ics")
        .replace("{kind}", "birthday")
        .replace("{purpose}", "confirm")
        .replace("{token}", "nope")
        .replace("{name}", "vital_ranges");
    // Redirects are not followed: a page's answer to no session is the redirect itself.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut rb = client.request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(&path));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if matches!(method, "POST" | "PATCH" | "PUT") {
        rb = rb.json(&json!({}));
    }
    rb.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_as_the_matrix_says() {
    let app = TestApp::signed_in().await;
    // The table covers exactly the routes of the access table.
    let mut declared: Vec<(&str, &str)> = clowder_web::access::ROUTES.iter().map(|(m, p, _)| (*m, *p)).collect();
    let mut tabled: Vec<(&str, &str)> = MATRIX.iter().map(|(m, p, _)| (*m, *p)).collect();
    declared.sort();
    tabled.sort();
    assert_eq!(declared, tabled, "the matrix and the access table list different routes");

    let mut failures = Vec::new();
    // No session.
    for (method, path, who) in MATRIX {
        let status = call(&app, method, path, None).await;
        // A staff screen sends a browser to the sign-in page instead of answering 401.
        let refused =
            if clowder_web::routes::pages::is_page(path) { StatusCode::SEE_OTHER } else { StatusCode::UNAUTHORIZED };
        let ok = match *who {
            "public" => status != StatusCode::UNAUTHORIZED,
            "signed" => status == StatusCode::UNAUTHORIZED,
            _ => status == refused,
        };
        if !ok {
            failures.push(format!("no session: {method} {path} → {status}"));
        }
    }
    for (letter, role) in ROLES {
        let mut token = staff_user(&app, &format!("matrix.{role}"), &[role]).await;
        for (method, path, who) in MATRIX {
            if *who == "public" || *who == "signed" {
                continue;
            }
            let allowed = *who == "*" || who.contains(*letter);
            let status = call(&app, method, path, Some(&token)).await;
            let ok = if allowed {
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!("{role}: {method} {path} → {status} (allowed: {allowed})"));
            }
            if *path == "/api/auth/logout" || *path == "/api/sessions" {
                token = sign_in(&app, &format!("matrix.{role}"), NEW_PASSWORD).await;
            }
            if *path == "/api/sessions" && allowed {
                app.login_admin().await; // everyone else was signed out
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn a_refusal_is_403_naming_the_permission_and_is_audited() {
    let app = TestApp::signed_in().await;
    let token = staff_user(&app, "billy", &["billing"]).await;
    let res = app.anonymous(Method::GET, "/api/patients").bearer_auth(&token).send().await.unwrap();
    let body = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(body["message"].as_str().unwrap().contains("patients:view"));
    let denied = app.get_json("/api/audit?action=access.denied").await;
    assert_eq!(denied["items"][0]["username"], "billy");
    assert_eq!(denied["items"][0]["detail"]["permission"], "patients:view");
}

#[tokio::test]
async fn me_lists_the_effective_permissions() {
    let app = TestApp::signed_in().await;
    let token = staff_user(&app, "tech.lee", &["vet_tech"]).await;
    let me: Value =
        app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let perms: Vec<&str> =
        me["permissions"].as_array().unwrap().iter().map(|g| g["permission"].as_str().unwrap()).collect();
    assert!(perms.contains(&"patients:edit") && perms.contains(&"labs:create"));
    assert!(!perms.contains(&"patients:create") && !perms.contains(&"invoices:view"));
    assert!(me["permissions"].as_array().unwrap().iter().all(|g| g["scope"] == "all"));
}

#[tokio::test]
async fn a_new_user_must_change_the_temporary_password_first() {
    let app = TestApp::signed_in().await;
    app.post_json("/api/users", &json!({"username": "newbie", "display_name": "New Bie", "password": "temporary-pass-phrase-1", "roles": ["receptionist"]})).await;
    let token = sign_in(&app, "newbie", "temporary-pass-phrase-1").await;
    let res = app.anonymous(Method::GET, "/api/clients").bearer_auth(&token).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "password_change_required", None).await;
    let me: Value =
        app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["must_change_password"], true);
    // A weak new password is refused with the field named; the right one works.
    for (new, why) in [("short", "length"), ("password12345", "common"), ("newbie-is-me-2026", "username")] {
        let res = app
            .anonymous(Method::POST, "/api/auth/password")
            .bearer_auth(&token)
            .json(&json!({"current_password": "temporary-pass-phrase-1", "new_password": new}))
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("new_password")).await;
        let _ = why;
    }
    let res = app
        .anonymous(Method::POST, "/api/auth/password")
        .bearer_auth(&token)
        .json(&json!({"current_password": "temporary-pass-phrase-1", "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.anonymous(Method::GET, "/api/clients").bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the session that changed the password goes on");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    let app = TestApp::signed_in().await;
    staff_user(&app, "locky", &["receptionist"]).await;
    for _ in 0..4 {
        assert_eq!(app.login("locky", "wrong-password-here").await.status(), StatusCode::UNAUTHORIZED);
    }
    // A success resets the counter…
    sign_in(&app, "locky", NEW_PASSWORD).await;
    for _ in 0..4 {
        assert_eq!(app.login("locky", "wrong-password-here").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.login("locky", NEW_PASSWORD).await.status(), StatusCode::OK, "four in a row do not lock");
    for _ in 0..5 {
        app.login("locky", "wrong-password-here").await;
    }
    // …but five in a row lock, and then even the right password is refused.
    let body = assert_error(app.login("locky", NEW_PASSWORD).await, StatusCode::LOCKED, "account_locked", None).await;
    assert!(body["message"].as_str().unwrap().contains("until"));
    let users = app.get_json("/api/users?status=all").await;
    let locky = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "locky")
        .unwrap_or_else(|| panic!("{users}"))
        .clone();
    assert!(locky["locked_until"].is_string());
    // An administrator can lift the lock.
    let res = app.patch_json(&format!("/api/users/{}", id_of(&locky)), &json!({"locked": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.login("locky", NEW_PASSWORD).await.status(), StatusCode::OK);
    assert!(!app.get_json("/api/audit?action=auth.account_locked").await["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn nobody_grants_what_they_do_not_hold() {
    let app = TestApp::signed_in().await;
    // A custom role that may manage users and roles but holds no clinical permission.
    let res = app
        .post_json(
            "/api/roles",
            &json!({"name": "hr_staff", "grants": [{"permission": "users:manage"}, {"permission": "users:view"}, {"permission": "roles:manage"}, {"permission": "roles:view"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hr = staff_user(&app, "hr.person", &["hr_staff"]).await;
    let post = |path: &'static str, body: Value| {
        let token = hr.clone();
        let app = &app;
        async move { app.anonymous(Method::POST, path).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let res = post("/api/users", json!({"username": "sneaky", "display_name": "S", "password": "temporary-pass-phrase-1", "roles": ["administrator"]})).await;
    let body = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(body["message"].as_str().unwrap().contains(':'));
    let res = post("/api/roles", json!({"name": "sneaky_role", "grants": [{"permission": "audit:view"}]})).await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let res = post("/api/roles", json!({"name": "helpers", "grants": [{"permission": "users:view"}]})).await;
    let status = res.status();
    assert_eq!(status, StatusCode::CREATED, "granting what one holds is fine: {}", res.text().await.unwrap());
    // Nor act on an account more powerful than oneself: no resetting the administrator.
    let admin_id = app.get_json("/api/auth/me").await["user"]["id"].as_str().unwrap().to_owned();
    let res = app
        .anonymous(Method::POST, &format!("/api/users/{admin_id}/password"))
        .bearer_auth(&hr)
        .json(&json!({"password": "taken-over-account-1"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let res = app
        .anonymous(Method::PATCH, &format!("/api/users/{admin_id}"))
        .bearer_auth(&hr)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let res =
        app.post_json("/api/roles", &json!({"name": "bad", "grants": [{"permission": "patients:teleport"}]})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("grants[0].permission")).await;
}

#[tokio::test]
async fn built_in_roles_cannot_change_and_custom_ones_can() {
    let app = TestApp::signed_in().await;
    let roles = app.get_json("/api/roles").await;
    let names: Vec<&str> = roles.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    for r in ["administrator", "veterinarian", "vet_tech", "receptionist", "billing", "practice_manager"] {
        assert!(names.contains(&r), "{r}");
    }
    let vet = roles.as_array().unwrap().iter().find(|r| r["name"] == "veterinarian").unwrap();
    let res = app.patch_json(&format!("/api/roles/{}", id_of(vet)), &json!({"display_name": "Doc"})).await;
    assert_error(res, StatusCode::CONFLICT, "role_is_builtin", None).await;
    let custom = app
        .post_json(
            "/api/roles",
            &json!({"name": "kennel", "grants": [{"permission": "patients:view", "scope": "own"}]}),
        )
        .await;
    let custom: Value = custom.json().await.unwrap();
    let res = app
        .patch_json(&format!("/api/roles/{}", id_of(&custom)), &json!({"grants": [{"permission": "patients:view"}]}))
        .await;
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["grants"][0]["scope"], "all");
    let res = app.post_json("/api/roles", &json!({"name": "kennel", "grants": []})).await;
    assert_error(res, StatusCode::CONFLICT, "duplicate_value", Some("name")).await;
}

#[tokio::test]
async fn the_last_active_administrator_cannot_be_removed() {
    let app = TestApp::signed_in().await;
    let me = app.get_json("/api/auth/me").await;
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let res = app.patch_json(&format!("/api/users/{admin_id}"), &json!({"active": false})).await;
    assert_error(res, StatusCode::CONFLICT, "last_administrator", None).await;
    let res = app.patch_json(&format!("/api/users/{admin_id}"), &json!({"roles": ["receptionist"]})).await;
    assert_error(res, StatusCode::CONFLICT, "last_administrator", None).await;
    // With a second administrator, the first may step down.
    staff_user(&app, "second.admin", &["administrator"]).await;
    let res =
        app.patch_json(&format!("/api/users/{admin_id}"), &json!({"roles": ["administrator", "veterinarian"]})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_roles_or_resetting_a_password_ends_that_users_sessions() {
    let app = TestApp::signed_in().await;
    let token = staff_user(&app, "rosa", &["receptionist"]).await;
    let users = app.get_json("/api/users").await;
    let rosa = users["items"].as_array().unwrap().iter().find(|u| u["username"] == "rosa").unwrap().clone();
    let me = || app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&token).send();
    assert_eq!(me().await.unwrap().status(), StatusCode::OK);
    app.patch_json(&format!("/api/users/{}", id_of(&rosa)), &json!({"roles": ["billing"]})).await;
    assert_eq!(me().await.unwrap().status(), StatusCode::UNAUTHORIZED, "new roles: sign in again");

    let token2 = sign_in(&app, "rosa", NEW_PASSWORD).await;
    let res = app
        .post_json(&format!("/api/users/{}/password", id_of(&rosa)), &json!({"password": "another-temporary-phrase"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&token2).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let t3 = sign_in(&app, "rosa", "another-temporary-phrase").await;
    let res = app.anonymous(Method::GET, "/api/clients").bearer_auth(&t3).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "password_change_required", None).await;
}

#[tokio::test]
async fn a_fourth_sign_in_ends_the_oldest_session_and_sessions_can_be_listed_and_revoked() {
    let app = TestApp::signed_in().await;
    staff_user(&app, "sam", &["vet_tech"]).await; // one session from the set-up
    let t2 = sign_in(&app, "sam", NEW_PASSWORD).await;
    let t3 = sign_in(&app, "sam", NEW_PASSWORD).await;
    let t4 = sign_in(&app, "sam", NEW_PASSWORD).await; // the limit is 3
    let list: Value =
        app.anonymous(Method::GET, "/api/auth/sessions").bearer_auth(&t4).send().await.unwrap().json().await.unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(list[0]["last_seen_at"].is_string() && list[0]["ip"] == "127.0.0.1");
    // Revoke t2's session from t4.
    let me2: Value =
        app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&t2).send().await.unwrap().json().await.unwrap();
    let sid = me2["session"]["id"].as_str().unwrap();
    let res =
        app.anonymous(Method::DELETE, &format!("/api/auth/sessions/{sid}")).bearer_auth(&t4).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&t2).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&t3).send().await.unwrap().status(),
        StatusCode::OK
    );
    // Someone else's session is not found for a user without sessions:manage.
    let admin_session = app.get_json("/api/auth/me").await["session"]["id"].as_str().unwrap().to_owned();
    let res = app
        .anonymous(Method::DELETE, &format!("/api/auth/sessions/{admin_session}"))
        .bearer_auth(&t4)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "session_not_found", None).await;
    // The administrator signs everyone else out.
    let res = app.request(Method::DELETE, "/api/sessions").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&t4).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/auth/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn deactivated_users_cannot_sign_in_and_over_long_input_is_refused_before_hashing() {
    let app = TestApp::signed_in().await;
    staff_user(&app, "gone", &["billing"]).await;
    let users = app.get_json("/api/users").await;
    let gone = users["items"].as_array().unwrap().iter().find(|u| u["username"] == "gone").unwrap().clone();
    let res = app.patch_json(&format!("/api/users/{}", id_of(&gone)), &json!({"active": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_error(app.login("gone", NEW_PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    assert_eq!(app.get(&format!("/api/users/{}", id_of(&gone))).await.status(), StatusCode::OK, "kept, not deleted");
    let huge = "p".repeat(512 * 1024);
    assert_error(app.login("admin", &huge).await, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    assert_error(
        app.login(&huge[..300], "whatever-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        None,
    )
    .await;
    let res = app.post_json("/api/users", &json!({"username": "x".repeat(300), "display_name": "X", "password": "temporary-pass-phrase-1", "roles": []})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("username")).await;
    let _ = client_body("a", "b");
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address_and_per_username() {
    let app = TestApp::spawn_with(|a| {
        a.security.login_attempts = 3;
        a.security.login_window_secs = 300;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.login("someone", "not-the-right-one").await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login("someone", "not-the-right-one").await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "Retry-After {retry}");
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
    // The same address is now limited for every username, the right password included.
    assert_eq!(app.login("admin", &app.admin_password).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_busy_session_is_never_throttled_but_a_runaway_one_is() {
    let app = TestApp::spawn_with(|a| {
        a.security.rate_per_sec = 20;
        a.security.rate_burst = 40;
    })
    .await;
    app.login_admin().await;
    // A burst of 40 at once passes (a front desk opening a busy record)…
    for _ in 0..40 {
        assert_eq!(app.get("/api/auth/me").await.status(), StatusCode::OK);
    }
    // …and a runaway loop is then held to the sustained rate.
    let mut limited = None;
    for _ in 0..200 {
        let res = app.get("/api/auth/me").await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the session was limited");
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
}

#[tokio::test]
async fn cookie_changes_must_come_from_the_clinics_own_origin() {
    let app = TestApp::spawn().await;
    app.login_admin().await; // sets the cookie in the browser-like client
    let body = client_body("Cross", "Site");
    // A cookie-authenticated POST without Origin or Referer, or from another site, is refused.
    let jar_only = |origin: Option<&str>| {
        let mut rb = app.client.post(app.url("/api/clients")).json(&body);
        // Override the client's default Origin header.
        rb = match origin {
            Some(o) => rb.header("origin", o),
            None => rb.header("origin", "null"),
        };
        rb
    };
    let res = jar_only(Some("https://evil.example")).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "csrf_rejected", None).await;
    let res = jar_only(None).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "csrf_rejected", None).await;
    // From the clinic's own origin (what the real UI sends) it works; a Referer will do too.
    let res = jar_only(Some(&app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let no_origin = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = no_origin
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "admin", "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "sign-in without Origin (command line) works");
    let res = no_origin.post(app.url("/api/clients")).json(&body).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "csrf_rejected", None).await;
    let res = no_origin
        .post(app.url("/api/clients"))
        .header("referer", format!("{}/today", app.base))
        .json(&client_body("Ref", "Erer"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // Bearer tokens cannot be forged by a browser: no Origin needed.
    let token = app.token().unwrap();
    let res = reqwest::Client::new()
        .post(app.url("/api/clients"))
        .bearer_auth(token)
        .json(&client_body("Tab", "Let"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // A sign-in posted from another site is refused.
    let res = reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"username": "admin", "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "csrf_rejected", None).await;
}

#[tokio::test]
async fn security_headers_are_set_and_no_server_banner_is_sent() {
    let app = TestApp::spawn().await;
    let res = app.anonymous(Method::GET, "/health").send().await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert!(!h["content-security-policy"].to_str().unwrap().contains("unsafe-inline"));
    assert!(!h.contains_key("server"));
    assert!(!h.contains_key("strict-transport-security"), "no HSTS over plain HTTP");
}

#[tokio::test]
async fn an_own_scope_grant_reaches_only_the_users_own_records() {
    let app = TestApp::signed_in().await;
    let res = app
        .post_json(
            "/api/roles",
            &json!({"name": "volunteer", "grants": [
                {"permission": "clients:view", "scope": "own"},
                {"permission": "clients:create"},
                {"permission": "clients:edit", "scope": "own"}
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let theirs = id_of(&app.create_client(client_body("Admin", "Made")).await);
    let token = staff_user(&app, "vol", &["volunteer"]).await;
    let as_vol = |m: Method, p: String| app.anonymous(m, &p).bearer_auth(&token);
    let mine: Value = as_vol(Method::POST, "/api/clients".into())
        .json(&client_body("Vol", "Made"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine = id_of(&mine);
    assert_eq!(as_vol(Method::GET, format!("/api/clients/{mine}")).send().await.unwrap().status(), StatusCode::OK);
    let res = as_vol(Method::GET, format!("/api/clients/{theirs}")).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let res =
        as_vol(Method::PATCH, format!("/api/clients/{theirs}")).json(&json!({"notes": "x"})).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let page: Value = as_vol(Method::GET, "/api/clients?status=all".into()).send().await.unwrap().json().await.unwrap();
    let ids: Vec<String> = page["items"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, vec![mine], "the list holds only the user's own clients");
}

#[tokio::test]
async fn staff_unlock_a_registered_tablet_with_their_pin() {
    let app = TestApp::signed_in().await;
    let reg: Value =
        app.post_json("/api/devices", &json!({"name": "Tablet 2", "location": "Exam 2"})).await.json().await.unwrap();
    let credential = reg["credential"].as_str().unwrap().to_owned();
    let device_id = reg["device"]["id"].as_str().unwrap().to_owned();
    let token = staff_user(&app, "nurse.ana", &["vet_tech"]).await;
    let put_pin = |pin: &str| {
        app.anonymous(Method::PUT, "/api/auth/pin")
            .bearer_auth(&token)
            .json(&json!({"password": NEW_PASSWORD, "pin": pin}))
            .send()
    };
    assert_error(put_pin("1234").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("pin"))
        .await;
    assert_eq!(put_pin("2580").await.unwrap().status(), StatusCode::NO_CONTENT);

    let unlock = |device: Option<&str>, pin: &str| {
        let mut rb =
            app.anonymous(Method::POST, "/api/auth/pin-unlock").json(&json!({"username": "nurse.ana", "pin": pin}));
        if let Some(d) = device {
            rb = rb.header("x-clowder-device", d);
        }
        rb.send()
    };
    assert_error(unlock(None, "2580").await.unwrap(), StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
    assert_error(
        unlock(Some("not-a-device"), "2580").await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        None,
    )
    .await;
    let ok: Value = unlock(Some(&credential), "2580").await.unwrap().json().await.unwrap();
    assert_eq!(ok["session"]["device_id"], device_id.as_str());
    let tablet = ok["token"].as_str().unwrap().to_owned();
    let res = app.anonymous(Method::GET, "/api/patients").bearer_auth(&tablet).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Five wrong PINs lock PIN unlock, even against the right PIN, until a password sign-in.
    for _ in 0..4 {
        assert_error(
            unlock(Some(&credential), "9999").await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            None,
        )
        .await;
    }
    assert_error(unlock(Some(&credential), "9999").await.unwrap(), StatusCode::LOCKED, "pin_locked", None).await;
    assert_error(unlock(Some(&credential), "2580").await.unwrap(), StatusCode::LOCKED, "pin_locked", None).await;
    sign_in(&app, "nurse.ana", NEW_PASSWORD).await;
    assert_eq!(unlock(Some(&credential), "2580").await.unwrap().status(), StatusCode::OK);
    let actions: Vec<String> = app.get_json("/api/audit?action=auth.").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.iter().any(|a| a == "auth.pin_unlock") && actions.iter().any(|a| a == "auth.pin_unlock_failed"));

    // Retiring the tablet ends the sessions unlocked on it.
    let res = app.patch_json(&format!("/api/devices/{device_id}"), &json!({"active": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.anonymous(Method::GET, "/api/patients").bearer_auth(&tablet).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_error(unlock(Some(&credential), "2580").await.unwrap(), StatusCode::UNAUTHORIZED, "unauthenticated", None)
        .await;
}

/// What the authenticator app shows `offset` seconds from now.
fn app_code(secret_b32: &str, offset: i64) -> String {
    use clowder_actors::Clock;
    let now = clowder_actors::SystemClock.now().as_second() + offset;
    clowder_actors::staff::totp::code_at(&clowder_actors::staff::totp::decode_base32(secret_b32).unwrap(), now as u64)
        .unwrap()
}

#[tokio::test]
async fn second_factor_sign_in_with_totp_and_recovery_codes() {
    let app = TestApp::signed_in().await;
    let res = app.post_json("/api/auth/totp/enroll", &json!({"password": "not-my-password-at-all"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("password")).await;
    let enrol: Value =
        app.post_json("/api/auth/totp/enroll", &json!({"password": app.admin_password})).await.json().await.unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    assert!(enrol["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Clowder:admin?"));
    let res = app.post_json("/api/auth/totp/confirm", &json!({"code": "000000"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("code")).await;
    let codes: Value =
        app.post_json("/api/auth/totp/confirm", &json!({"code": app_code(&secret, 0)})).await.json().await.unwrap();
    let recovery: Vec<String> =
        codes["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);

    let login = |body: Value| app.anonymous(Method::POST, "/api/auth/login").json(&body).send();
    let pw = app.admin_password.clone();
    let res = login(json!({"username": "admin", "password": pw})).await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "totp_required", None).await;
    let res = login(json!({"username": "admin", "password": pw, "totp_code": "123456"})).await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    // The next step's code (the confirmation used this one; a code is accepted only once).
    let res = login(json!({"username": "admin", "password": pw, "totp_code": app_code(&secret, 30)})).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = login(json!({"username": "admin", "password": pw, "totp_code": app_code(&secret, 30)})).await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    // A recovery code works once, typed any which way.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    let res = login(json!({"username": "admin", "password": pw, "recovery_code": typed})).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = login(json!({"username": "admin", "password": pw, "recovery_code": recovery[0]})).await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    let me = app.get_json("/api/auth/me").await;
    assert_eq!(me["user"]["totp_enabled"], true);
}

#[tokio::test]
async fn an_administrator_can_require_a_second_factor_for_a_role() {
    let app = TestApp::signed_in().await;
    let roles = app.get_json("/api/roles").await;
    let front = roles.as_array().unwrap().iter().find(|r| r["name"] == "receptionist").unwrap().clone();
    let res = app.patch_json(&format!("/api/roles/{}", id_of(&front)), &json!({"require_totp": true})).await;
    assert_eq!(res.status(), StatusCode::OK, "a built-in role may require TOTP");
    let res = app
        .patch_json(&format!("/api/roles/{}", id_of(&front)), &json!({"require_totp": true, "display_name": "Desk"}))
        .await;
    assert_error(res, StatusCode::CONFLICT, "role_is_builtin", None).await;

    let token = staff_user(&app, "desk.dee", &["receptionist"]).await;
    let call = |m: Method, p: &str| app.anonymous(m, p).bearer_auth(&token);
    let res = call(Method::GET, "/api/clients").send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "totp_enrollment_required", None).await;
    let me: Value = call(Method::GET, "/api/auth/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["totp_enrollment_required"], true);
    let enrol: Value = call(Method::POST, "/api/auth/totp/enroll")
        .json(&json!({"password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let res =
        call(Method::POST, "/api/auth/totp/confirm").json(&json!({"code": app_code(&secret, 0)})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(call(Method::GET, "/api/clients").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn an_administrators_reset_clears_a_lost_second_factor() {
    let app = TestApp::signed_in().await;
    let token = staff_user(&app, "lost.phone", &["billing"]).await;
    let call = |m: Method, p: &str| app.anonymous(m, p).bearer_auth(&token);
    let enrol: Value = call(Method::POST, "/api/auth/totp/enroll")
        .json(&json!({"password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    call(Method::POST, "/api/auth/totp/confirm").json(&json!({"code": app_code(&secret, 0)})).send().await.unwrap();
    let res = app.login("lost.phone", NEW_PASSWORD).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "totp_required", None).await;
    let users = app.get_json("/api/users").await;
    let id = id_of(users["items"].as_array().unwrap().iter().find(|u| u["username"] == "lost.phone").unwrap());
    let res = app.post_json(&format!("/api/users/{id}/password"), &json!({"password": "temporary-again-phrase"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.login("lost.phone", "temporary-again-phrase").await.status(), StatusCode::OK);
}
