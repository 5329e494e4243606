//! The invoices list of the staff screen (`/invoices`): the list filters of
//! `GET /api/invoices` plus a range of days, applied during the page scan so a page holds
//! `limit` matching invoices and its cursor continues after the last one shown. It owns only
//! the reading; the audit entry names the invoices shown, as every list's does.

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::invoices::Invoice;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::invoices::{InvoiceFilter, InvoiceKind, Invoices};
use crate::error::Result;
use crate::records::RecordKind;
use crate::records::page::{Page, index_page_rev, scan_page_rev};
use crate::store::RecordTable;

/// The day an invoice is listed under: its issue date, or for a draft (and a draft voided
/// before issue) the day it was started, in the clinic's zone.
pub fn invoice_day(inv: &Invoice, tz: &TimeZone) -> Date {
    inv.issued_on.unwrap_or_else(|| inv.created_at.to_zoned(tz.clone()).date())
}

/// A range of days, both included; either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayRange {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl DayRange {
    /// Whether `day` is in the range.
    pub fn holds(&self, day: Date) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

impl Invoices {
    /// A page of invoices newest first that match `filter` and whose [`invoice_day`] is in
    /// `days` (audited as `invoice.list` with the ids shown).
    pub async fn list_days(
        &self,
        filter: &InvoiceFilter,
        days: DayRange,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<Invoice>> {
        let tz = self.ctx().config.time_zone.clone();
        let page = {
            let reader = self.ctx().store.read()?;
            let keep = |i: &Invoice| InvoiceKind::matches(filter, i) && days.holds(invoice_day(i, &tz));
            let key = |i: &Invoice| i.id.as_u128();
            match InvoiceKind::list_via(filter) {
                Some(link) => {
                    index_page_rev(&reader, (link.index, link.parent), RecordTable::Invoices, before, limit, keep, key)?
                }
                None => scan_page_rev(&reader, RecordTable::Invoices, before, limit, keep, key)?,
            }
        };
        let ids: Vec<String> = page.0.iter().map(|i| i.id.to_string()).collect();
        crate::audit::record_read(
            self.ctx(),
            AuditDraft::new(caller, InvoiceKind::LIST_ACTION).detail(serde_json::json!({ "ids": ids })),
        )
        .await?;
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_range_holds_both_ends_and_an_open_end_holds_everything_that_side() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let r = DayRange { from: Some(d("2026-03-01")), to: Some(d("2026-03-31")) };
        assert!(r.holds(d("2026-03-01")) && r.holds(d("2026-03-31")));
        assert!(!r.holds(d("2026-02-28")) && !r.holds(d("2026-04-01")));
        assert!(DayRange { from: None, to: Some(d("2026-03-31")) }.holds(d("1999-01-01")));
        assert!(DayRange::default().holds(d("2026-03-01")));
    }
}
