//! Printed documents (PDF) of the medical record, and the clinic's logo they carry: the logo
//! setting (`/api/settings/logo`, `scheduling:manage` to change it), a cat's vaccination
//! certificate (`visits:view`, as its vaccinations). Each PDF is audited by its service.
//! docs/documents.md.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::clinical::record_pdf::Period;
use clowder_actors::printing;
use clowder_schemas::access::Permission;
use clowder_schemas::ids::{JobId, PatientId, PrescriptionId, VisitId};
use clowder_schemas::printing::{CreatePrintBatch, LogoInfo, PrintBatch, PrintKind, RecordSummaryQuery};
use clowder_schemas::{ErrorCode, ErrorResponse};

use crate::error::ApiError;
use crate::extract::{Id, Json, Query, Staff};
use crate::state::AppState;

/// A PDF answer: `application/pdf`, downloaded as `filename`, never cached.
pub(crate) fn pdf_response(filename: &str, pdf: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        pdf,
    )
        .into_response()
}

/// What is known of the clinic's logo (404 `not_found` when none is set).
#[utoipa::path(
    get, path = "/api/settings/logo", tag = "printing",
    responses(
        (status = 200, body = LogoInfo),
        (status = 404, description = "`not_found`: no logo is set", body = ErrorResponse),
    )
)]
pub async fn logo_get(State(state): State<AppState>, _staff: Staff) -> Result<axum::Json<LogoInfo>, ApiError> {
    printing::logo_info(&state.system.ctx)?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(ErrorCode::NotFound, "logo"))
}

/// The clinic's logo image itself, as uploaded.
#[utoipa::path(
    get, path = "/api/settings/logo.img", tag = "printing",
    responses(
        (status = 200, content_type = "image/png", body = Vec<u8>),
        (status = 404, description = "`not_found`: no logo is set", body = ErrorResponse),
    )
)]
pub async fn logo_image(State(state): State<AppState>, _staff: Staff) -> Result<Response, ApiError> {
    let logo =
        printing::logo_image(&state.system.ctx)?.ok_or_else(|| ApiError::not_found(ErrorCode::NotFound, "logo"))?;
    Ok((
        [(header::CONTENT_TYPE, logo.content_type), (header::CACHE_CONTROL, "private, no-store".to_owned())],
        logo.bytes,
    )
        .into_response())
}

/// Sets the clinic's logo, printed in the letterhead of every PDF: the body is the PNG or
/// JPEG file itself (any content type; the bytes decide), at most 512 KiB. The image is
/// decoded once here, so a damaged file or another format under an image's name is refused.
#[utoipa::path(
    put, path = "/api/settings/logo", tag = "printing",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
        (status = 200, body = LogoInfo),
        (status = 413, description = "`payload_too_large`: over 1 MiB", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `logo`: not a PNG or JPEG, damaged, over 512 KiB", body = ErrorResponse),
    )
)]
pub async fn logo_put(
    State(state): State<AppState>,
    staff: Staff,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<LogoInfo>, ApiError> {
    let body = body.map_err(|_| ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than 1 MiB"))?;
    Ok(axum::Json(printing::put_logo(&state.system.ctx, body.to_vec(), &staff.caller).await?))
}

/// Removes the clinic's logo: documents print without one.
#[utoipa::path(delete, path = "/api/settings/logo", tag = "printing", responses((status = 204)))]
pub async fn logo_delete(State(state): State<AppState>, staff: Staff) -> Result<StatusCode, ApiError> {
    printing::delete_logo(&state.system.ctx, &staff.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A cat's vaccination certificate: the owner, the cat's identity (species, breed, sex and
/// neuter status, colour, date of birth, microchip), every dose given (date, vaccine and
/// product, manufacturer, lot, expiry, route and site, next due on the latest of each
/// vaccine) and the signing veterinarian's name and licence (the caller when a vet, else the
/// vet who gave the latest dose). Declined vaccines and risk assessments are not printed.
/// Audited as `vaccination.certificate_pdf`.
#[utoipa::path(
    get, path = "/api/patients/{id}/vaccination-certificate.pdf", tag = "printing",
    params(("id" = PatientId, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
    )
)]
pub async fn vaccination_certificate(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
) -> Result<Response, ApiError> {
    let pdf = state.system.vaccinations.certificate_pdf(id, &staff.caller).await?;
    Ok(pdf_response(&format!("vaccination-certificate-{id}.pdf"), pdf))
}

/// A visit's health certificate (for travel or boarding): the cat's identity and owner, the
/// exam's date and findings (the visit's vital signs and the signed note's objective), the
/// cat's vaccination status, and the visit vet's statement with their licence. Needs the
/// signed note (409 `note_unsigned` before). Audited as `visit.health_certificate_pdf`.
#[utoipa::path(
    get, path = "/api/visits/{id}/health-certificate.pdf", tag = "printing",
    params(("id" = VisitId, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 409, description = "`note_unsigned`: the findings come from the signed note", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: the visit was voided", body = ErrorResponse),
    )
)]
pub async fn health_certificate(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VisitId>,
) -> Result<Response, ApiError> {
    let pdf = state.system.visits.health_certificate_pdf(id, &staff.caller).await?;
    Ok(pdf_response(&format!("health-certificate-{id}.pdf"), pdf))
}

/// A visit's summary for the owner: reason for the visit, vital signs, the signed note's
/// assessment and plan, medications with their directions, vaccinations given and what is due
/// next. Nothing internal: not the note's subjective, objective or addenda, not a draft (until
/// signed it says the assessment will follow), not handling or client notes, not prescription
/// warnings. Audited as `visit.summary_pdf`.
#[utoipa::path(
    get, path = "/api/visits/{id}/summary.pdf", tag = "printing",
    params(("id" = VisitId, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`visit_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: the visit was voided", body = ErrorResponse),
    )
)]
pub async fn visit_summary(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<VisitId>,
) -> Result<Response, ApiError> {
    let pdf = state.system.visits.summary_pdf(id, &staff.caller).await?;
    Ok(pdf_response(&format!("visit-summary-{id}.pdf"), pdf))
}

/// A cat's medical record summary for a referral or a transfer, optionally for a range of
/// local dates: the owner and the cat, allergies and handling alerts, the problem list,
/// medications, vaccinations, vital signs and weight history, and each visit with its signed
/// SOAP note and addenda (an unsigned note is marked, never printed). Audited as a record
/// export (`patient.record_export`).
#[utoipa::path(
    get, path = "/api/patients/{id}/record-summary.pdf", tag = "printing",
    params(("id" = PatientId, Path), RecordSummaryQuery),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`patient_not_found`", body = ErrorResponse),
        (status = 422, description = "`validation_failed`: `to` before `from`, a malformed date", body = ErrorResponse),
    )
)]
pub async fn record_summary(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PatientId>,
    Query(q): Query<RecordSummaryQuery>,
) -> Result<Response, ApiError> {
    let period = Period::new(q.from, q.to)?;
    let pdf = state.system.charts.record_summary_pdf(id, period, &staff.caller).await?;
    Ok(pdf_response(&format!("record-summary-{id}.pdf"), pdf))
}

/// A prescription's label, printed on the clinic's label sheet (Avery 5163, 2 × 5 labels of
/// 4 × 2 in on Letter; Avery L7165, 2 × 4 on A4), first position: the clinic, the cat and
/// owner, drug and strength, directions, quantity, refills, date, prescriber and "For
/// veterinary use only". Audited as `prescription.label_pdf`.
#[utoipa::path(
    get, path = "/api/prescriptions/{id}/label.pdf", tag = "printing",
    params(("id" = PrescriptionId, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`prescription_not_found`", body = ErrorResponse),
    )
)]
pub async fn prescription_label(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<PrescriptionId>,
) -> Result<Response, ApiError> {
    let pdf = state.system.prescriptions.label_pdf(id, &staff.caller).await?;
    Ok(pdf_response(&format!("prescription-label-{id}.pdf"), pdf))
}

/// The permission a print batch of `kind` needs beyond `patients:view`: the one that reads
/// what it prints.
fn batch_permission(kind: PrintKind) -> Permission {
    match kind {
        PrintKind::PatientLabels => Permission::PatientsView,
        PrintKind::PrescriptionLabels => Permission::PrescriptionsView,
        PrintKind::VaccinationCertificates => Permission::VisitsView,
    }
}

fn may_print(staff: &Staff, kind: PrintKind) -> Result<(), ApiError> {
    let p = batch_permission(kind);
    match staff.principal.permissions.scope(p) {
        Some(_) => Ok(()),
        None => Err(ApiError::forbidden(p)),
    }
}

/// Print labels or certificates for a selection of up to 500 records as one PDF:
/// `patient_labels` (patient ids), `prescription_labels` (prescription ids), or
/// `vaccination_certificates` (patient ids). Runs as a durable job: poll
/// `GET /api/print-batches/{id}` for progress and per-item failures (`not_found`, `error`),
/// then download `file`. Needs the permission that reads what it prints
/// (`patients:view`, `prescriptions:view`, `visits:view`).
#[utoipa::path(
    post, path = "/api/print-batches", tag = "printing",
    request_body = CreatePrintBatch,
    responses(
        (status = 202, description = "The batch, running", body = PrintBatch,
         headers(("Location" = String, description = "URL of the batch"))),
        (status = 403, description = "`forbidden`: the kind's read permission is missing", body = ErrorResponse),
        (status = 422, description = "`validation_failed` on `ids` (none, over 500) or `kind`", body = ErrorResponse),
    )
)]
pub async fn print_batches_create(
    State(state): State<AppState>,
    staff: Staff,
    Json(body): Json<CreatePrintBatch>,
) -> Result<Response, ApiError> {
    may_print(&staff, body.kind)?;
    let batch = state.system.print_batches.start(body, &staff.caller).await?;
    let location = format!("/api/print-batches/{}", batch.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], axum::Json(batch)).into_response())
}

/// A print batch's progress (`done` of `total`, `printed`), each item that failed with why,
/// and once `done` with something printed, `file`: where its PDF is.
#[utoipa::path(
    get, path = "/api/print-batches/{id}", tag = "printing",
    params(("id" = JobId, Path)),
    responses((status = 200, body = PrintBatch), (status = 404, description = "`job_not_found`", body = ErrorResponse))
)]
pub async fn print_batches_get(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<axum::Json<PrintBatch>, ApiError> {
    let batch = state.system.print_batches.get(id)?;
    may_print(&staff, batch.kind)?;
    Ok(axum::Json(batch))
}

/// The PDF a finished print batch made (404 `job_not_found` until it is done, or when nothing
/// printed). Audited as `print.batch_file`.
#[utoipa::path(
    get, path = "/api/print-batches/{id}/file", tag = "printing",
    params(("id" = JobId, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "`job_not_found`", body = ErrorResponse),
    )
)]
pub async fn print_batches_file(
    State(state): State<AppState>,
    staff: Staff,
    Id(id): Id<JobId>,
) -> Result<Response, ApiError> {
    let batch = state.system.print_batches.get(id)?;
    may_print(&staff, batch.kind)?;
    let file = state.system.print_batches.file(id, &staff.caller).await?;
    Ok(pdf_response(&file.filename, file.bytes))
}
