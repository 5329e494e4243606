//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the `ToSchema` types in `schemas`. Routes are registered here together with their docs,
//! so a route cannot exist without being described.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Rule;
use crate::routes::capture;
use crate::routes::inventory;
use crate::routes::loyalty;
use crate::routes::payments;
use crate::routes::printing;
use crate::routes::subscribe;
use crate::routes::vaccinations;
use crate::routes::visits;
use crate::routes::{analytics, tracking};
use crate::routes::{
    appointment_types, appointments, audit, auth, automations, backups, calendar_feeds, campaigns, clients,
    communications, devices, health, jobs, links, locations, messages, patients, roles, search, staff, templates,
    users, waitlist,
};
use crate::routes::{catalogue, invoices};
use crate::routes::{clinical_facts, consent_forms, documents, labs, problems, protocols, vitals, wards};
use crate::routes::{consent, hooks};
use crate::routes::{controlled, prescriptions};
use crate::routes::{estimates, payment_plans};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clowder",
        description = "Operations server of a feline veterinary clinic. Every error is `{\"error\": {\"code\", \"message\", \"field\"?}}`; codes are listed in docs/errors.md.",
    ),
    modifiers(&Security),
    security(("session_cookie" = []), ("bearer" = [])),
    tags(
        (name = "auth", description = "Staff sign-in and sessions"),
        (name = "users", description = "Staff accounts and their sessions"),
        (name = "devices", description = "Exam-room tablets"),
        (name = "clients", description = "Clients (cat owners)"),
        (name = "patients", description = "Patients (cats)"),
        (name = "scheduling", description = "Locations, rooms and appointment types"),
        (name = "staff", description = "Staff profiles, shifts and time off"),
        (name = "appointments", description = "The calendar: appointments, their workflow and the day view"),
        (name = "waitlist", description = "Clients waiting for a slot, and offers of freed slots"),
        (name = "search", description = "Finding clients and patients; recent searches and records"),
        (name = "audit", description = "The tamper-evident audit trail"),
        (name = "access", description = "Roles and permissions"),
        (name = "operations", description = "Health and metrics"),
        (name = "communications", description = "The message log and test messages"),
        (name = "marketing", description = "Segments, campaigns and the newsletter's double opt-in"),
        (name = "webhooks", description = "Delivery reports and inbound texts from the message providers (signed, no session)"),
        (name = "clinical", description = "The medical record: visits, SOAP notes, a cat's timeline, vitals, weights, the problem list, lab orders and results, and clinical facts"),
        (name = "printing", description = "Printed documents (PDF): certificates, summaries, labels, print batches, and the clinic's logo"),
        (name = "ward", description = "The hospital ward: wards and cages, admissions, the treatment sheet and the live board"),
        (name = "inventory", description = "Products, lots and the stock ledger, vendors, purchase orders, dispensing and stock alerts"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::extract::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every documented route.
pub fn api_router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::auth_login))
        .routes(routes!(auth::auth_logout))
        .routes(routes!(auth::auth_me))
        .routes(routes!(auth::auth_password))
        .routes(routes!(auth::auth_totp_enroll))
        .routes(routes!(auth::auth_totp_confirm))
        .routes(routes!(auth::auth_totp_disable))
        .routes(routes!(devices::auth_pin))
        .routes(routes!(devices::auth_pin_unlock))
        .routes(routes!(devices::devices_create, devices::devices_list))
        .routes(routes!(devices::devices_update))
        .routes(routes!(auth::auth_sessions))
        .routes(routes!(auth::auth_sessions_revoke))
        .routes(routes!(users::users_create, users::users_list))
        .routes(routes!(users::users_get, users::users_update))
        .routes(routes!(users::users_reset_password))
        .routes(routes!(users::users_sessions, users::users_sessions_revoke))
        .routes(routes!(users::sessions_revoke_all))
        .routes(routes!(clients::clients_create, clients::clients_list))
        .routes(routes!(clients::clients_get, clients::clients_update, clients::clients_delete))
        .routes(routes!(clients::clients_patients))
        .routes(routes!(patients::patients_create, patients::patients_list))
        .routes(routes!(patients::patients_get, patients::patients_update, patients::patients_delete))
        .routes(routes!(search::search_run))
        .routes(routes!(search::search_history, search::search_history_clear))
        .routes(routes!(search::recent_list))
        .routes(routes!(audit::audit_list))
        .routes(routes!(backups::backups_list, backups::backups_run))
        .routes(routes!(backups::backups_get))
        .routes(routes!(jobs::jobs_list))
        .routes(routes!(jobs::jobs_get))
        .routes(routes!(jobs::jobs_retry))
        .routes(routes!(jobs::jobs_cancel))
        .routes(routes!(messages::messages_list))
        .routes(routes!(messages::messages_get))
        .routes(routes!(messages::communications_test))
        .routes(routes!(templates::templates_list, templates::templates_create))
        .routes(routes!(templates::templates_get, templates::templates_update))
        .routes(routes!(templates::templates_preview))
        .routes(routes!(automations::automations_list))
        .routes(routes!(automations::automations_update))
        .routes(routes!(automations::automations_preview))
        .routes(routes!(automations::automations_sweep))
        .routes(routes!(links::link_page, links::link_act))
        .routes(routes!(communications::communications_send))
        .routes(routes!(communications::communications_send_batch))
        .routes(routes!(communications::communications_batch_get))
        .routes(routes!(communications::communications_log))
        .routes(routes!(communications::communications_templates))
        .routes(routes!(communications::communications_stats))
        .routes(routes!(tracking::open_pixel))
        .routes(routes!(tracking::click_redirect))
        .routes(routes!(analytics::communications_analytics))
        .routes(routes!(campaigns::segments_list, campaigns::segments_create))
        .routes(routes!(campaigns::segments_get))
        .routes(routes!(campaigns::segments_preview))
        .routes(routes!(campaigns::campaigns_list, campaigns::campaigns_create))
        .routes(routes!(campaigns::campaigns_get))
        .routes(routes!(campaigns::campaigns_schedule))
        .routes(routes!(campaigns::campaigns_send_now))
        .routes(routes!(campaigns::campaigns_cancel))
        .routes(routes!(campaigns::clients_newsletter))
        .routes(routes!(subscribe::newsletter_subscribe))
        .routes(routes!(campaigns::clients_referral))
        .routes(routes!(campaigns::referrals_create))
        .routes(routes!(campaigns::referrals_redeem))
        .routes(routes!(appointment_types::appointment_types_list, appointment_types::appointment_types_create))
        .routes(routes!(appointment_types::appointment_types_get, appointment_types::appointment_types_update))
        .routes(routes!(locations::locations_list, locations::locations_create))
        .routes(routes!(locations::locations_get, locations::locations_update))
        .routes(routes!(locations::rooms_list, locations::rooms_create))
        .routes(routes!(locations::rooms_get, locations::rooms_update))
        .routes(routes!(locations::rooms_board))
        .routes(routes!(locations::rooms_state))
        .routes(routes!(staff::staff_list, staff::staff_create))
        .routes(routes!(staff::staff_get, staff::staff_update))
        .routes(routes!(staff::shifts_list, staff::shifts_create))
        .routes(routes!(staff::shifts_update, staff::shifts_cancel))
        .routes(routes!(staff::time_off_list, staff::time_off_request))
        .routes(routes!(staff::time_off_approve))
        .routes(routes!(staff::time_off_deny))
        .routes(routes!(staff::time_off_cancel))
        .routes(routes!(appointments::appointments_list, appointments::appointments_create))
        .routes(routes!(appointments::appointments_get, appointments::appointments_update))
        .routes(routes!(appointments::appointments_transition))
        .routes(routes!(appointments::calendar_day))
        .routes(routes!(appointments::availability))
        .routes(routes!(appointments::dashboard))
        .routes(routes!(calendar_feeds::appointments_ics))
        .routes(routes!(calendar_feeds::staff_feed_issue, calendar_feeds::staff_feed_revoke))
        .routes(routes!(calendar_feeds::ical_feed))
        .routes(routes!(waitlist::waitlist_list, waitlist::waitlist_create))
        .routes(routes!(waitlist::waitlist_get, waitlist::waitlist_update, waitlist::waitlist_cancel))
        .routes(routes!(waitlist::waitlist_matches))
        .routes(routes!(waitlist::waitlist_fulfill))
        .routes(routes!(waitlist::waitlist_offers))
        .routes(routes!(waitlist::waitlist_offer_accept))
        .routes(routes!(waitlist::waitlist_offer_decline))
        .routes(routes!(roles::permissions_list))
        .routes(routes!(roles::roles_list, roles::roles_create))
        .routes(routes!(roles::roles_get, roles::roles_update))
        .routes(routes!(health::health))
        .routes(routes!(health::health_ready))
        .routes(routes!(health::health_detailed))
        .routes(routes!(health::metrics))
        .routes(routes!(consent::preferences_get, consent::preferences_update))
        .routes(routes!(consent::consent_list, consent::consent_create))
        .routes(routes!(hooks::hooks_twilio_status))
        .routes(routes!(hooks::hooks_twilio_inbound))
        .routes(routes!(hooks::hooks_sendgrid_events))
        .routes(routes!(clinical_facts::clinical_facts_list))
        .routes(routes!(clinical_facts::clinical_facts_get, clinical_facts::clinical_facts_put))
        .routes(routes!(vitals::vitals_create))
        .routes(routes!(vitals::vitals_get))
        .routes(routes!(vitals::vitals_amend))
        .routes(routes!(vitals::patients_vitals))
        .routes(routes!(vitals::patients_weights))
        .routes(routes!(wards::wards_create, wards::wards_list))
        .routes(routes!(wards::wards_get, wards::wards_update))
        .routes(routes!(wards::wards_board))
        .routes(routes!(wards::admissions_create))
        .routes(routes!(wards::admissions_get))
        .routes(routes!(wards::admissions_add_treatment))
        .routes(routes!(wards::admissions_mark))
        .routes(routes!(crate::routes::ward_tablet::admissions_mark_by_pin))
        .routes(routes!(wards::admissions_discharge))
        .routes(routes!(wards::admissions_move))
        .routes(routes!(wards::admissions_stop_treatment))
        .routes(routes!(problems::problems_create))
        .routes(routes!(problems::problems_get, problems::problems_update))
        .routes(routes!(problems::patients_problems))
        .routes(routes!(protocols::protocols_list, protocols::protocols_create))
        .routes(routes!(protocols::protocols_get, protocols::protocols_update))
        .routes(routes!(protocols::protocols_starters))
        .routes(routes!(protocols::protocols_copy_starter))
        .routes(routes!(protocols::treatment_plans_create))
        .routes(routes!(protocols::treatment_plans_get))
        .routes(routes!(protocols::treatment_plans_change))
        .routes(routes!(protocols::treatment_plans_book))
        .routes(routes!(protocols::treatment_plans_history))
        .routes(routes!(protocols::treatment_plans_offer))
        .routes(routes!(protocols::patients_treatment_plans))
        .routes(routes!(labs::lab_orders_create))
        .routes(routes!(labs::lab_orders_get))
        .routes(routes!(labs::lab_orders_results))
        .routes(routes!(labs::lab_orders_review))
        .routes(routes!(labs::lab_orders_cancel))
        .routes(routes!(labs::lab_orders_amend))
        .routes(routes!(labs::patients_lab_orders))
        .routes(routes!(labs::patients_lab_trends))
        .routes(routes!(labs::lab_results_import))
        .routes(routes!(labs::lab_unmatched_list))
        .routes(routes!(labs::lab_unmatched_get))
        .routes(routes!(labs::lab_unmatched_attach))
        .routes(routes!(labs::lab_unmatched_discard))
        // The upload streams its body to disk with its own limit (CLOWDER_DOCUMENT_MAX_BYTES),
        // so the 1 MiB default does not apply to it.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(documents::documents_upload, documents::documents_list))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(documents::documents_get))
        .routes(routes!(documents::documents_content))
        .routes(routes!(documents::documents_deactivate))
        .routes(routes!(consent_forms::consent_templates_list, consent_forms::consent_templates_create))
        .routes(routes!(consent_forms::consent_templates_get, consent_forms::consent_templates_update))
        .routes(routes!(consent_forms::consent_forms_create, consent_forms::consent_forms_list))
        .routes(routes!(consent_forms::consent_forms_get, consent_forms::consent_forms_update))
        .routes(routes!(consent_forms::consent_forms_sign))
        .routes(routes!(consent_forms::consent_forms_void))
        .routes(routes!(visits::visits_create, visits::visits_list))
        .routes(routes!(visits::visits_get, visits::visits_update))
        .routes(routes!(visits::visits_complete))
        .routes(routes!(visits::visits_void))
        .routes(routes!(visits::notes_get))
        .routes(routes!(visits::notes_save_draft))
        .routes(routes!(visits::notes_sign))
        .routes(routes!(visits::notes_add_addendum))
        .routes(routes!(visits::note_templates_list))
        .routes(routes!(visits::note_templates_put))
        .routes(routes!(visits::patients_timeline))
        .routes(routes!(prescriptions::prescriptions_create))
        .routes(routes!(prescriptions::prescriptions_get))
        .routes(routes!(prescriptions::prescriptions_refill))
        .routes(routes!(prescriptions::prescriptions_complete))
        .routes(routes!(prescriptions::prescriptions_cancel))
        .routes(routes!(prescriptions::patients_prescriptions))
        .routes(routes!(controlled::controlled_receive, controlled::controlled_list))
        .routes(routes!(controlled::controlled_get))
        .routes(routes!(controlled::controlled_use))
        .routes(routes!(controlled::controlled_discrepancy))
        .routes(routes!(controlled::controlled_count))
        .routes(routes!(controlled::controlled_reverse))
        .routes(routes!(controlled::controlled_register_csv))
        .routes(routes!(controlled::controlled_register_pdf))
        .routes(routes!(vaccinations::vaccinations_create))
        .routes(routes!(vaccinations::vaccinations_decline))
        .routes(routes!(vaccinations::vaccinations_due))
        .routes(routes!(vaccinations::vaccinations_get))
        .routes(routes!(vaccinations::vaccinations_reaction))
        .routes(routes!(vaccinations::patient_vaccinations))
        .routes(routes!(vaccinations::patient_vaccination_override))
        .routes(routes!(vaccinations::patient_vaccination_risk))
        .routes(routes!(printing::logo_get, printing::logo_put, printing::logo_delete))
        .routes(routes!(printing::logo_image))
        .routes(routes!(printing::vaccination_certificate))
        .routes(routes!(printing::health_certificate))
        .routes(routes!(printing::visit_summary))
        .routes(routes!(printing::record_summary))
        .routes(routes!(printing::prescription_label))
        .routes(routes!(printing::print_batches_create))
        .routes(routes!(printing::print_batches_get))
        .routes(routes!(printing::print_batches_file))
        .routes(routes!(inventory::products_create, inventory::products_list))
        .routes(routes!(inventory::products_get, inventory::products_update, inventory::products_delete))
        .routes(routes!(inventory::products_receive))
        .routes(routes!(inventory::products_adjust))
        .routes(routes!(inventory::products_expired))
        .routes(routes!(inventory::products_damaged))
        .routes(routes!(inventory::products_return))
        .routes(routes!(inventory::products_ledger))
        .routes(routes!(inventory::prescriptions_dispense))
        .routes(routes!(inventory::inventory_alerts))
        .routes(routes!(inventory::inventory_expire))
        .routes(routes!(inventory::vendors_create, inventory::vendors_list))
        .routes(routes!(inventory::vendors_get, inventory::vendors_update, inventory::vendors_delete))
        .routes(routes!(inventory::purchase_orders_create, inventory::purchase_orders_list))
        .routes(routes!(inventory::purchase_orders_get, inventory::purchase_orders_update))
        .routes(routes!(inventory::purchase_orders_submit))
        .routes(routes!(inventory::purchase_orders_cancel))
        .routes(routes!(inventory::purchase_orders_receive))
        .routes(routes!(visits::patients_chart))
        .routes(routes!(catalogue::catalogue_create, catalogue::catalogue_list))
        .routes(routes!(catalogue::catalogue_get, catalogue::catalogue_update))
        .routes(routes!(invoices::invoices_create, invoices::invoices_list))
        .routes(routes!(invoices::invoices_get, invoices::invoices_update))
        .routes(routes!(invoices::invoices_add_lines))
        .routes(routes!(invoices::invoices_issue))
        .routes(routes!(invoices::invoices_void))
        .routes(routes!(invoices::invoices_credit))
        .routes(routes!(invoices::invoices_pay))
        .routes(routes!(invoices::clients_invoices))
        .routes(routes!(invoices::clients_balance))
        .routes(routes!(estimates::estimates_create, estimates::estimates_list))
        .routes(routes!(estimates::estimates_get, estimates::estimates_update))
        .routes(routes!(estimates::estimates_update_line))
        .routes(routes!(estimates::estimates_send))
        .routes(routes!(estimates::estimates_email))
        .routes(routes!(estimates::estimates_viewed))
        .routes(routes!(estimates::estimates_accept))
        .routes(routes!(estimates::estimates_decline))
        .routes(routes!(estimates::estimates_report))
        .routes(routes!(payment_plans::payment_plans_create))
        .routes(routes!(payment_plans::payment_plans_get, payment_plans::payment_plans_update))
        .routes(routes!(payment_plans::payment_plans_cancel))
        .routes(routes!(payment_plans::invoices_payment_plans))
        .routes(routes!(capture::invoices_resolve_uncharged))
        .routes(routes!(capture::invoice_batches_create))
        .routes(routes!(capture::invoice_batches_get))
        .routes(routes!(payments::payments_refund))
        .routes(routes!(payments::invoices_apply_credit))
        .routes(routes!(payments::clients_credit))
        .routes(routes!(payments::payments_receipt_pdf))
        .routes(routes!(payments::payments_receipt_email))
        .routes(routes!(crate::routes::reports::reports_ar_ageing))
        .routes(routes!(crate::routes::reports::reports_revenue))
        .routes(routes!(
            crate::routes::accounting::accounting_mapping_get,
            crate::routes::accounting::accounting_mapping_put
        ))
        .routes(routes!(
            crate::routes::accounting::accounting_exports_create,
            crate::routes::accounting::accounting_exports_list
        ))
        .routes(routes!(crate::routes::accounting::accounting_exports_get))
        .routes(routes!(crate::routes::accounting::accounting_exports_file))
        .routes(routes!(crate::routes::accounting::invoice_batches_discount))
        .routes(routes!(crate::routes::accounting::invoice_batches_export))
        .routes(routes!(crate::routes::accounting::invoice_batches_file));
    // Statements (issue 16 item 6).
    router = router
        .routes(routes!(crate::routes::statements::clients_statement))
        .routes(routes!(crate::routes::statements::clients_statement_pdf))
        .routes(routes!(crate::routes::statements::clients_statement_email))
        .routes(routes!(crate::routes::statements::statement_runs_create))
        .routes(routes!(crate::routes::statements::statement_runs_get))
        .routes(routes!(loyalty::loyalty_settings_get, loyalty::loyalty_settings_put))
        .routes(routes!(loyalty::clients_loyalty))
        .routes(routes!(loyalty::clients_loyalty_adjust))
        .routes(routes!(loyalty::invoices_loyalty_redeem))
        .routes(routes!(loyalty::invoices_loyalty_release));
    crate::idempotency::document(router.get_openapi_mut());
    router
}

/// The OpenAPI document as served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().into_openapi();
    add_common_responses(&mut doc);
    doc
}

/// An answer many routes share, and which routes give it.
struct Common {
    status: &'static str,
    codes: &'static [&'static str],
    why: &'static str,
    applies: fn(&Shape) -> bool,
}

/// What decides the common answers of one operation.
struct Shape {
    method: &'static str,
    body: bool,
    query: bool,
    path: bool,
    rule: Option<Rule>,
}

impl Shape {
    fn gated(&self) -> bool {
        matches!(self.rule, Some(Rule::SignedIn | Rule::Needs(_) | Rule::OwnOr(_)))
    }
}

/// Answers that come from the shared layers (extractors, CSRF check, session gate, access
/// table, rate limit, the store), described once here rather than in every handler.
const COMMON: &[Common] = &[
    Common { status: "400", codes: &["invalid_json"], why: "the body is not well-formed JSON", applies: |s| s.body },
    Common {
        status: "401",
        codes: &["unauthenticated"],
        why: "no valid session (cookie or bearer token)",
        applies: Shape::gated,
    },
    Common {
        status: "403",
        codes: &["csrf_rejected"],
        why: "a state-changing request from a foreign origin",
        applies: |s| !matches!(s.method, "GET" | "HEAD" | "OPTIONS"),
    },
    Common {
        status: "403",
        codes: &["password_change_required", "totp_enrollment_required"],
        why: "the account must first change its password or set up a second factor",
        applies: Shape::gated,
    },
    Common {
        status: "403",
        codes: &["forbidden"],
        why: "the caller's roles lack the permission this route needs",
        applies: |s| matches!(s.rule, Some(Rule::Needs(_) | Rule::OwnOr(_))),
    },
    Common {
        status: "404",
        codes: &["not_found"],
        why: "an id in the path that does not parse or names nothing (or the kind's own `*_not_found`)",
        applies: |s| s.path,
    },
    Common { status: "413", codes: &["payload_too_large"], why: "the body is larger than 1 MiB", applies: |s| s.body },
    Common {
        status: "415",
        codes: &["unsupported_media_type"],
        why: "the body is not sent as JSON",
        applies: |s| s.body,
    },
    Common {
        status: "422",
        codes: &["validation_failed"],
        why: "a body value or query parameter of the wrong shape, unknown or missing; `field` names it",
        applies: |s| s.body || s.query,
    },
    Common {
        status: "429",
        codes: &["rate_limited"],
        why: "too many requests from this session",
        applies: Shape::gated,
    },
    Common { status: "500", codes: &["internal_error"], why: "a fault on the server's side", applies: |_| true },
    Common {
        status: "503",
        codes: &["overloaded", "timeout", "unavailable"],
        why: "the server is busy or stopping; retry later",
        applies: |_| true,
    },
    Common {
        status: "507",
        codes: &["insufficient_storage"],
        why: "the server's disk is below its reserve: nothing was saved",
        applies: |s| !matches!(s.method, "GET" | "HEAD" | "OPTIONS"),
    },
];

/// Adds to every operation the answers of the shared layers that its shape implies (a body,
/// query parameters, path ids, its access rule, a method that changes something), so the
/// document lists every status a route can answer and no handler has to repeat them. An
/// answer the handler already documents keeps its description, with the common codes added.
pub fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(op) = operation else { continue };
            let has = |place: ParameterIn| {
                op.parameters
                    .iter()
                    .flatten()
                    .any(|p| std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&place))
            };
            let shape = Shape {
                method,
                body: op.request_body.is_some(),
                query: has(ParameterIn::Query),
                path: has(ParameterIn::Path),
                rule: crate::access::ROUTES.iter().find(|(m, p, _)| *m == method && p == path).map(|(_, _, r)| *r),
            };
            for common in COMMON.iter().filter(|c| (c.applies)(&shape)) {
                let named: Vec<String> = common.codes.iter().map(|c| format!("`{c}`")).collect();
                let line = format!("{}: {}", named.join(", "), common.why);
                match op.responses.responses.get_mut(common.status) {
                    Some(RefOr::T(response)) => {
                        if !common.codes.iter().all(|c| response.description.contains(&format!("`{c}`"))) {
                            response.description = if response.description.is_empty() {
                                line
                            } else {
                                format!("{}; {line}", response.description)
                            };
                        }
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        let content =
                            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build();
                        let response = ResponseBuilder::new().description(line).content("application/json", content);
                        op.responses.responses.insert(common.status.to_owned(), RefOr::T(response.build()));
                    }
                }
            }
        }
    }
}
