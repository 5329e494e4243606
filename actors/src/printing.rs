//! What every printed document (PDF) shares: the clinic's letterhead, the paper it prints on,
//! the footer's generation time, and rendering off the async threads. A domain builds a
//! `clowder_documents::Document` from its records and hands it to [`render`]; the layout and
//! the PDF library live in `clowder-documents` (docs/documents.md).

use std::sync::Mutex;

use clowder_documents::{Document, Label, LabelSheet, Letterhead, Logo, PaperSize};
use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::locations::Location;
use clowder_schemas::printing::{ClinicLogo, LogoInfo, MAX_LOGO_BYTES, image_type};
use jiff::Timestamp;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::{ChangeSet, Reader, RecordTable};

/// The logo's key in `clinic_logo`.
const LOGO_KEY: u128 = 0;

/// The clinic as its documents head it: the name and phone of `CLOWDER_CLINIC_NAME` and
/// `CLOWDER_CLINIC_PHONE`, with the address (and the phone, when none is set) of the oldest
/// active location that has an address (else the oldest active one).
pub fn letterhead(ctx: &Ctx) -> Result<Letterhead> {
    let profile = &ctx.config.comms.clinic;
    let mut first: Option<Location> = None;
    ctx.store.read()?.scan::<Location>(RecordTable::Locations, None, |l| {
        if !l.active {
            return std::ops::ControlFlow::Continue(());
        }
        let has_address = l.address.is_some();
        if first.is_none() || has_address {
            first = Some(l);
        }
        if has_address { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) }
    })?;
    let mut lines = Vec::new();
    if let Some(address) = first.as_ref().and_then(|l| l.address.clone()) {
        lines.extend(address.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned));
    }
    if let Some(phone) = profile.phone.clone().or_else(|| first.as_ref().and_then(|l| l.phone.clone())) {
        lines.push(format!("Tel. {phone}"));
    }
    Ok(Letterhead { name: profile.name.clone(), lines, logo: logo(&ctx.store.read()?)? })
}

/// The stored logo, ready to print. Checking a logo renders a probe PDF, so the last one
/// made is kept (keyed by its bytes) rather than checked again for every document of a batch.
/// A stored logo that no longer decodes is left out rather than failing every PDF.
fn logo(reader: &Reader) -> Result<Option<Logo>> {
    static LAST: Mutex<Option<(Vec<u8>, Logo)>> = Mutex::new(None);
    let Some(stored) = reader.get::<ClinicLogo>(RecordTable::ClinicLogo, LOGO_KEY)? else { return Ok(None) };
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((bytes, logo)) = last.as_ref()
        && *bytes == stored.bytes
    {
        return Ok(Some(logo.clone()));
    }
    match Logo::new(stored.bytes.clone()) {
        Ok(logo) => {
            *last = Some((stored.bytes, logo.clone()));
            Ok(Some(logo))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the stored clinic logo does not decode; printing without it");
            Ok(None)
        }
    }
}

/// What is known of the clinic's logo (`None`: none set).
pub fn logo_info(ctx: &Ctx) -> Result<Option<LogoInfo>> {
    Ok(ctx.store.read()?.get::<ClinicLogo>(RecordTable::ClinicLogo, LOGO_KEY)?.as_ref().map(LogoInfo::from))
}

/// The clinic's logo image, with its content type.
pub fn logo_image(ctx: &Ctx) -> Result<Option<ClinicLogo>> {
    Ok(ctx.store.read()?.get::<ClinicLogo>(RecordTable::ClinicLogo, LOGO_KEY)?)
}

/// Sets the clinic's logo from a PNG or JPEG file's bytes (at most [`MAX_LOGO_BYTES`]),
/// decoded once here so a damaged or disguised file is refused (422 on field `logo`) instead
/// of breaking every PDF later. Audited as `settings.logo_update`.
pub async fn put_logo(ctx: &Ctx, bytes: Vec<u8>, caller: &Caller) -> Result<LogoInfo> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(ValidationError::new("logo", format!("is larger than {} KiB", MAX_LOGO_BYTES / 1024)).into());
    }
    let content_type = image_type(&bytes)
        .ok_or_else(|| ValidationError::new("logo", "must be a PNG or JPEG image (by its content, not its name)"))?;
    let checked = bytes.clone();
    tokio::task::spawn_blocking(move || Logo::new(checked))
        .await
        .map_err(|e| Error::Internal(format!("checking a logo stopped: {e}")))?
        .map_err(|e| ValidationError::new("logo", format!("is not an image we can print: {e}")))?;
    let logo = ClinicLogo {
        content_type: content_type.to_owned(),
        bytes,
        updated_at: ctx.clock.now(),
        updated_by: caller.user_id(),
    };
    let info = LogoInfo::from(&logo);
    let mut set = ChangeSet::new();
    set.put(RecordTable::ClinicLogo, LOGO_KEY, &logo)?;
    set.audit(
        AuditDraft::new(caller, "settings.logo_update")
            .record("clinic_logo", 0)
            .detail(serde_json::json!({ "content_type": info.content_type, "size": info.size })),
    );
    ctx.store.commit(set).await?;
    Ok(info)
}

/// Removes the clinic's logo (documents print without one); audited `settings.logo_delete`.
/// Removing none is not an error.
pub async fn delete_logo(ctx: &Ctx, caller: &Caller) -> Result<()> {
    let mut set = ChangeSet::new();
    set.delete(RecordTable::ClinicLogo, LOGO_KEY);
    set.audit(AuditDraft::new(caller, "settings.logo_delete").record("clinic_logo", 0));
    ctx.store.commit(set).await?;
    Ok(())
}

/// The clinic's paper: Letter where the calling code is North America's (`1`), else A4.
pub fn paper(ctx: &Ctx) -> PaperSize {
    PaperSize::for_calling_code(&ctx.config.country_code)
}

/// The footer's line: when, in the clinic's zone, and for whom.
pub fn generated(ctx: &Ctx, now: Timestamp, by: &str) -> String {
    let tz = ctx.config.time_zone.clone();
    let zone = tz.iana_name().unwrap_or("local time").to_owned();
    format!("Generated {} ({zone}) for {by} by Clowder", now.to_zoned(tz).strftime("%Y-%m-%d %H:%M"))
}

/// Renders on a blocking thread: a long document takes milliseconds of CPU, which must not
/// hold an async worker.
pub async fn render(doc: Document) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || clowder_documents::render(&doc))
        .await
        .map_err(|e| Error::Internal(format!("rendering a document stopped: {e}")))?
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Renders labels on `sheet` on a blocking thread, as [`render`].
pub async fn render_labels(sheet: LabelSheet, title: String, labels: Vec<Label>) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || clowder_documents::render_labels(&sheet, &title, &labels, 0))
        .await
        .map_err(|e| Error::Internal(format!("rendering labels stopped: {e}")))?
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Renders several documents as one PDF (a print batch) on a blocking thread, as [`render`].
pub async fn render_many(title: String, docs: Vec<Document>) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || clowder_documents::render_many(&title, &docs))
        .await
        .map_err(|e| Error::Internal(format!("rendering documents stopped: {e}")))?
        .map_err(|e| Error::Internal(e.to_string()))
}
