//! What every printed document (PDF) shares: the clinic's letterhead, the paper it prints on,
//! the footer's generation time, and rendering off the async threads. A domain builds a
//! `clowder_documents::Document` from its records and hands it to [`render`]; the layout and
//! the PDF library live in `clowder-documents` (docs/documents.md).

use clowder_documents::{Document, Letterhead, PaperSize};
use clowder_schemas::locations::Location;
use jiff::Timestamp;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::RecordTable;

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
    Ok(Letterhead { name: profile.name.clone(), lines, logo: None })
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
