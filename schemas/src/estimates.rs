//! Estimates: what a treatment is likely to cost, given to a client before it is done. An
//! estimate has several **options** (best case, worst case, alternatives), each with lines
//! whose quantity and unit price are **ranges** (low and high), optional lines, line and
//! option discounts, and the location's tax. Every amount is integer cents computed here by
//! the one rule of [`crate::money`] (the same function invoices use), never typed by a person.
//!
//! Statuses: `draft → sent → viewed → accepted | declined`, and `expired` after the validity
//! date. A draft changes freely; after it is sent only the status moves. Accepting one option
//! turns it into a draft invoice (done by the actors' service; the estimate keeps the
//! invoice's id). See docs/estimates.md.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{CatalogueItemId, ClientId, EstimateId, InvoiceId, LocationId, PatientId, UserId, VisitId};
use crate::invoices::{ItemDefaults, MAX_DESCRIPTION_CHARS, money_error};
use crate::money::{self, BasisPoints, Cents, Discount, LineAmounts, LineInput, MAX_LINES, Quantity, Totals};
use crate::patch::Patch;
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, note_text, required_text};

/// Most options on one estimate: best case, worst case and a few alternatives.
pub const MAX_OPTIONS: usize = 10;

/// Days an estimate stays valid after it is sent when the sender gives no date.
pub const DEFAULT_VALID_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EstimateStatus {
    /// Being written; no number yet.
    Draft,
    /// Numbered `EST-YYYY-NNNNNN` and given to the client.
    Sent,
    /// The client opened it (staff mark it; the portal will too).
    Viewed,
    /// One option accepted and converted into a draft invoice.
    Accepted,
    Declined,
    /// Not answered by its validity date (set by a job).
    Expired,
}

impl EstimateStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Sent and not yet answered: what the client can still accept or decline.
    pub fn is_open(self) -> bool {
        matches!(self, EstimateStatus::Sent | EstimateStatus::Viewed)
    }
}

/// One line of an option, with its low and high amounts computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EstimateLine {
    /// 1, 2, 3… within the option.
    pub line_no: u32,
    pub item_id: Option<CatalogueItemId>,
    pub description: String,
    pub category: Option<String>,
    pub quantity_low: Quantity,
    pub quantity_high: Quantity,
    /// Cents per unit, low and high.
    pub unit_price_low: Cents,
    pub unit_price_high: Cents,
    pub taxable: bool,
    pub discount: Option<Discount>,
    /// Offered, not required: left out of the option's low total, counted in its high total,
    /// and put on the invoice only when the client accepts it.
    pub optional: bool,
    /// At the low quantity and price.
    pub low: LineAmounts,
    /// At the high quantity and price.
    pub high: LineAmounts,
}

impl EstimateLine {
    fn input(&self, high: bool) -> LineInput {
        LineInput {
            quantity: if high { self.quantity_high } else { self.quantity_low },
            unit_price: if high { self.unit_price_high } else { self.unit_price_low },
            taxable: self.taxable,
            discount: self.discount,
        }
    }
}

/// One option of an estimate ("best case", "worst case", an alternative).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EstimateOption {
    /// 1, 2, 3… within the estimate: what an acceptance names.
    pub option_no: u32,
    pub name: String,
    pub lines: Vec<EstimateLine>,
    /// Off the sum of the lines' net, as an invoice discount.
    pub discount: Option<Discount>,
    /// The required lines at their low quantity and price.
    pub low: Totals,
    /// Every line, optional ones too, at its high quantity and price.
    pub high: Totals,
}

/// An estimate, as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Estimate {
    pub id: EstimateId,
    /// `EST-YYYY-NNNNNN`, given when it is sent (gap-free per year).
    pub number: Option<String>,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    /// Whose tax rate applies.
    pub location_id: Option<LocationId>,
    pub status: EstimateStatus,
    pub options: Vec<EstimateOption>,
    /// The location's rate, read while a draft and fixed when sent.
    pub tax_rate: BasisPoints,
    pub memo: Option<String>,
    pub sent_on: Option<Date>,
    /// The last day it may be accepted (clinic zone); set when sent.
    pub valid_until: Option<Date>,
    pub viewed_at: Option<Timestamp>,
    pub answered_at: Option<Timestamp>,
    /// The option accepted and the optional lines taken with it.
    pub accepted_option: Option<u32>,
    #[serde(default)]
    pub accepted_optional_lines: Vec<u32>,
    /// The draft invoice the accepted option became.
    pub invoice_id: Option<InvoiceId>,
    pub decline_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Estimate {
    const KIND: &'static str = "estimate";
    const VERSION: u16 = 1;
}

/// A line as a request gives it: from the catalogue (its name, category, price and taxable
/// flag unless given here) or free text (description and a price required). A range is
/// `quantity_low`/`quantity_high` and `unit_price_low`/`unit_price_high`; either end alone
/// stands for both.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEstimateLine {
    #[serde(default)]
    pub item_id: Option<CatalogueItemId>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default the high quantity, else 1.
    #[serde(default)]
    pub quantity_low: Option<Quantity>,
    /// Default the low quantity, else 1.
    #[serde(default)]
    pub quantity_high: Option<Quantity>,
    /// Cents; default the high price, else the catalogue item's price.
    #[serde(default)]
    pub unit_price_low: Option<Cents>,
    /// Cents; default the low price, else the catalogue item's price.
    #[serde(default)]
    pub unit_price_high: Option<Cents>,
    /// Default the catalogue item's flag, else `false`.
    #[serde(default)]
    pub taxable: Option<bool>,
    #[serde(default)]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub optional: bool,
}

/// An option as a request gives it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEstimateOption {
    pub name: String,
    #[serde(default)]
    pub lines: Vec<NewEstimateLine>,
    #[serde(default)]
    pub discount: Option<Discount>,
}

/// A checked line, before its number and amounts.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateLineDraft {
    pub item_id: Option<CatalogueItemId>,
    pub description: String,
    pub category: Option<String>,
    pub quantity_low: Quantity,
    pub quantity_high: Quantity,
    pub unit_price_low: Cents,
    pub unit_price_high: Cents,
    pub taxable: bool,
    pub discount: Option<Discount>,
    pub optional: bool,
}

/// A checked option.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateOptionDraft {
    pub name: String,
    pub lines: Vec<EstimateLineDraft>,
    pub discount: Option<Discount>,
}

impl NewEstimateLine {
    /// Checks the line against its item (`None` for free text); `field` is e.g.
    /// `options.0.lines.2`.
    pub fn validate(&self, item: Option<&ItemDefaults>, field: &str) -> Result<EstimateLineDraft, ValidationError> {
        let f = |name: &str| format!("{field}.{name}");
        let description = match (&self.description, item) {
            (Some(d), _) => required_text(&f("description"), d, MAX_DESCRIPTION_CHARS)?,
            (None, Some(i)) => i.name.clone(),
            (None, None) => {
                return Err(ValidationError::new(f("description"), "is required for a line without item_id"));
            }
        };
        let (plow, phigh) = match (self.unit_price_low.or(self.unit_price_high), item) {
            (Some(any), _) => (self.unit_price_low.unwrap_or(any), self.unit_price_high.unwrap_or(any)),
            (None, Some(i)) => (i.price, i.price),
            (None, None) => {
                return Err(ValidationError::new(f("unit_price_low"), "is required for a line without item_id"));
            }
        };
        let plow = plow.typed(&f("unit_price_low"), false)?;
        let phigh = phigh.typed(&f("unit_price_high"), false)?;
        if plow > phigh {
            return Err(ValidationError::new(f("unit_price_high"), "is lower than unit_price_low"));
        }
        let any_q = self.quantity_low.or(self.quantity_high).unwrap_or(Quantity::ONE);
        let qlow = self.quantity_low.unwrap_or(any_q).typed(&f("quantity_low"))?;
        let qhigh = self.quantity_high.unwrap_or(any_q).typed(&f("quantity_high"))?;
        if qlow > qhigh {
            return Err(ValidationError::new(f("quantity_high"), "is lower than quantity_low"));
        }
        Ok(EstimateLineDraft {
            item_id: self.item_id,
            description,
            category: item.map(|i| i.category.clone()),
            quantity_low: qlow,
            quantity_high: qhigh,
            unit_price_low: plow,
            unit_price_high: phigh,
            taxable: self.taxable.or(item.map(|i| i.taxable)).unwrap_or(false),
            discount: self.discount.map(|d| d.typed(&f("discount"))).transpose()?,
            optional: self.optional,
        })
    }
}

/// Checks the shape of a request's options before any line is looked up: 1 to
/// [`MAX_OPTIONS`] options, each named, at most [`MAX_LINES`] lines in all (10,000 lines is a
/// mistake or an attack, refused with 422 on `options` before anything else runs).
pub fn check_options(options: &[NewEstimateOption], at_least_one: bool) -> Result<(), ValidationError> {
    if options.len() > MAX_OPTIONS {
        return Err(ValidationError::new("options", format!("has more than {MAX_OPTIONS} options")));
    }
    if at_least_one && options.is_empty() {
        return Err(ValidationError::new("options", "needs at least one option"));
    }
    let lines: usize = options.iter().map(|o| o.lines.len()).sum();
    if lines > MAX_LINES {
        return Err(ValidationError::new(
            "options",
            format!("has {lines} lines in all; an estimate takes at most {MAX_LINES}"),
        ));
    }
    for (n, o) in options.iter().enumerate() {
        required_text(&format!("options.{n}.name"), &o.name, MAX_NAME_CHARS)?;
        if let Some(d) = o.discount {
            d.typed(&format!("options.{n}.discount"))?;
        }
    }
    Ok(())
}

impl EstimateOptionDraft {
    /// The option numbered `option_no`, its amounts computed at `rate`.
    fn into_option(self, option_no: u32, rate: BasisPoints, field: &str) -> Result<EstimateOption, ValidationError> {
        let lines = self
            .lines
            .into_iter()
            .zip(1..)
            .map(|(l, line_no)| EstimateLine {
                line_no,
                item_id: l.item_id,
                description: l.description,
                category: l.category,
                quantity_low: l.quantity_low,
                quantity_high: l.quantity_high,
                unit_price_low: l.unit_price_low,
                unit_price_high: l.unit_price_high,
                taxable: l.taxable,
                discount: l.discount,
                optional: l.optional,
                low: LineAmounts::default(),
                high: LineAmounts::default(),
            })
            .collect();
        let mut option = EstimateOption {
            option_no,
            name: self.name,
            lines,
            discount: self.discount,
            low: Totals::default(),
            high: Totals::default(),
        };
        option.recompute(rate, field)?;
        Ok(option)
    }
}

impl EstimateOption {
    /// Computes each line's low and high amounts and the option's two totals, by the same
    /// rule and function as an invoice's (`money::compute`).
    fn recompute(&mut self, rate: BasisPoints, field: &str) -> Result<(), ValidationError> {
        for (n, l) in self.lines.iter_mut().enumerate() {
            let at = format!("{field}.lines.{n}");
            l.low = money::line_amounts(&l.input(false)).map_err(|e| money_error(e, &at))?;
            l.high = money::line_amounts(&l.input(true)).map_err(|e| money_error(e, &at))?;
        }
        let low: Vec<LineInput> = self.lines.iter().filter(|l| !l.optional).map(|l| l.input(false)).collect();
        let high: Vec<LineInput> = self.lines.iter().map(|l| l.input(true)).collect();
        let at = format!("{field}.discount");
        self.low = money::compute(&low, self.discount, rate).map_err(|e| money_error(e, &at))?.1;
        self.high = money::compute(&high, self.discount, rate).map_err(|e| money_error(e, &at))?.1;
        Ok(())
    }
}

/// Numbers and computes options (`options.N` names a refused one).
pub fn build_options(
    options: Vec<EstimateOptionDraft>,
    rate: BasisPoints,
) -> Result<Vec<EstimateOption>, ValidationError> {
    options
        .into_iter()
        .zip(1u32..)
        .enumerate()
        .map(|(n, (o, no))| o.into_option(no, rate, &format!("options.{n}")))
        .collect()
}

/// Body of `POST /api/estimates`: a draft.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEstimate {
    pub client_id: ClientId,
    pub patient_id: PatientId,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    #[serde(default)]
    pub location_id: Option<LocationId>,
    pub options: Vec<NewEstimateOption>,
    #[serde(default)]
    pub memo: Option<String>,
}

impl CreateEstimate {
    /// Checks what needs no other record (counts, names, memo, discounts).
    pub fn check(&self) -> Result<(), ValidationError> {
        check_options(&self.options, true)?;
        note_text("memo", self.memo.as_deref())?;
        Ok(())
    }
}

/// The validated content of a new estimate (lines checked against their items by the
/// service).
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateDraft {
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    pub location_id: Option<LocationId>,
    pub options: Vec<EstimateOptionDraft>,
    pub memo: Option<String>,
}

impl EstimateDraft {
    /// A new draft estimate, its amounts computed at `tax_rate`.
    pub fn into_estimate(
        self,
        id: EstimateId,
        tax_rate: BasisPoints,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<Estimate, ValidationError> {
        Ok(Estimate {
            id,
            number: None,
            client_id: self.client_id,
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            location_id: self.location_id,
            status: EstimateStatus::Draft,
            options: build_options(self.options, tax_rate)?,
            tax_rate,
            memo: self.memo,
            sent_on: None,
            valid_until: None,
            viewed_at: None,
            answered_at: None,
            accepted_option: None,
            accepted_optional_lines: Vec::new(),
            invoice_id: None,
            decline_reason: None,
            created_at: now,
            updated_at: now,
            created_by: by,
        })
    }
}

/// Body of `PATCH /api/estimates/{id}`, a draft only: `options` replaces every option;
/// `null` clears the memo or location.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEstimate {
    #[serde(default)]
    pub options: Option<Vec<NewEstimateOption>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub memo: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<LocationId>)]
    pub location_id: Patch<LocationId>,
}

/// `PATCH /api/estimates/{id}/options/{option_no}/lines/{line_no}`: one line of a draft
/// changed in place; what is absent stays. The line is then checked as a new one is (a range
/// the wrong way, a negative price, a discount above the line: 422 naming the field as
/// `options.N.lines.M.<field>`), and the option's totals are computed again.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEstimateLine {
    #[serde(default)]
    pub quantity_low: Option<Quantity>,
    #[serde(default)]
    pub quantity_high: Option<Quantity>,
    /// Cents.
    #[serde(default)]
    pub unit_price_low: Option<Cents>,
    /// Cents.
    #[serde(default)]
    pub unit_price_high: Option<Cents>,
    /// `null` removes the line's discount.
    #[serde(default)]
    #[schema(value_type = Option<Discount>)]
    pub discount: Patch<Discount>,
    #[serde(default)]
    pub optional: Option<bool>,
}

/// A draft's change, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstimateChange {
    pub options: Option<Vec<EstimateOptionDraft>>,
    pub memo: Patch<String>,
    pub location_id: Patch<LocationId>,
}

impl Estimate {
    /// Recomputes every option at the estimate's rate.
    pub fn recompute(&mut self) -> Result<(), ValidationError> {
        let rate = self.tax_rate;
        for (n, o) in self.options.iter_mut().enumerate() {
            o.recompute(rate, &format!("options.{n}"))?;
        }
        Ok(())
    }

    /// Applies a draft's change; returns the changed fields (the rate is refreshed by the
    /// caller, which knows the location's).
    pub fn change_draft(&mut self, change: EstimateChange) -> Result<Vec<&'static str>, ValidationError> {
        let before = self.clone();
        if let Some(options) = change.options {
            self.options = build_options(options, self.tax_rate)?;
        }
        self.memo = match change.memo {
            Patch::Keep => self.memo.take(),
            Patch::Clear => None,
            Patch::Set(m) => note_text("memo", Some(&m))?,
        };
        self.location_id = change.location_id.optional(self.location_id);
        let mut changed = Vec::new();
        macro_rules! diff {
            ($($f:ident),*) => { $( if before.$f != self.$f { changed.push(stringify!($f)); } )* };
        }
        diff!(options, memo, location_id);
        Ok(changed)
    }

    /// Changes line `line_no` of option `option_no` in place (a draft's; the caller checks
    /// the status), checked as a new line is, and computes the option again. 422 on
    /// `option_no` or `line_no` when the estimate has no such option or line.
    pub fn edit_line(
        &mut self,
        option_no: u32,
        line_no: u32,
        edit: &UpdateEstimateLine,
    ) -> Result<(), ValidationError> {
        let rate = self.tax_rate;
        let Some(n) = self.options.iter().position(|o| o.option_no == option_no) else {
            return Err(ValidationError::new("option_no", format!("the estimate has no option {option_no}")));
        };
        let option = &mut self.options[n];
        let Some(m) = option.lines.iter().position(|l| l.line_no == line_no) else {
            return Err(ValidationError::new("line_no", format!("option {option_no} has no line {line_no}")));
        };
        let line = &option.lines[m];
        // The line as a request would give it: its own description, price and flag, so no
        // catalogue item is needed to check it.
        let input = NewEstimateLine {
            item_id: line.item_id,
            description: Some(line.description.clone()),
            quantity_low: Some(edit.quantity_low.unwrap_or(line.quantity_low)),
            quantity_high: Some(edit.quantity_high.unwrap_or(line.quantity_high)),
            unit_price_low: Some(edit.unit_price_low.unwrap_or(line.unit_price_low)),
            unit_price_high: Some(edit.unit_price_high.unwrap_or(line.unit_price_high)),
            taxable: Some(line.taxable),
            discount: edit.discount.optional(line.discount),
            optional: edit.optional.unwrap_or(line.optional),
        };
        let checked = input.validate(None, &format!("options.{n}.lines.{m}"))?;
        let line = &mut option.lines[m];
        line.quantity_low = checked.quantity_low;
        line.quantity_high = checked.quantity_high;
        line.unit_price_low = checked.unit_price_low;
        line.unit_price_high = checked.unit_price_high;
        line.discount = checked.discount;
        line.optional = checked.optional;
        option.recompute(rate, &format!("options.{n}"))
    }

    /// The option numbered `no`.
    pub fn option(&self, no: u32) -> Option<&EstimateOption> {
        self.options.iter().find(|o| o.option_no == no)
    }
}

/// Body of `POST /api/estimates/{id}/send`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEstimate {
    /// The last day it may be accepted; default 30 days after today. Not before today.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "2026-07-01")]
    pub valid_until: Option<Date>,
}

/// Body of `POST /api/estimates/{id}/accept`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptEstimate {
    /// The option accepted (`option_no`).
    pub option_no: u32,
    /// The option's optional lines the client takes too (`line_no`s).
    #[serde(default)]
    pub optional_lines: Vec<u32>,
}

/// Body of `POST /api/estimates/{id}/decline`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineEstimate {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Filters of `GET /api/estimates`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EstimateListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub status: Option<EstimateStatus>,
    pub client_id: Option<ClientId>,
}

/// How an invoice's total compares with the option's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Against {
    Below,
    Within,
    Above,
}

/// One row of the estimate-vs-actual report: an accepted estimate's option against the
/// invoice it became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EstimateActual {
    pub estimate_id: EstimateId,
    pub number: Option<String>,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub option_no: u32,
    pub option_name: String,
    /// The option's low and high totals.
    pub low: Cents,
    pub high: Cents,
    pub invoice_id: Option<InvoiceId>,
    pub invoice_number: Option<String>,
    pub invoice_status: Option<String>,
    /// The invoice's total now (a draft's changes as it is built).
    pub actual: Option<Cents>,
    /// `actual − high` when above the range, `actual − low` when below, else 0.
    pub difference: Cents,
    pub against: Option<Against>,
}

impl EstimateActual {
    /// Compares `actual` with the range `[low, high]`.
    pub fn compare(low: Cents, high: Cents, actual: Cents) -> (Against, Cents) {
        if actual < low {
            (Against::Below, Cents::new(actual.get() - low.get()))
        } else if actual > high {
            (Against::Above, Cents::new(actual.get() - high.get()))
        } else {
            (Against::Within, Cents::ZERO)
        }
    }
}

/// The report's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EstimateReport {
    pub rows: Vec<EstimateActual>,
    /// How many rows fell below, within and above their range.
    pub below: u32,
    pub within: u32,
    pub above: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(json: serde_json::Value) -> Result<EstimateLineDraft, ValidationError> {
        serde_json::from_value::<NewEstimateLine>(json).unwrap().validate(None, "l")
    }

    #[test]
    fn a_range_is_checked_and_either_end_stands_for_both() {
        let l = line(serde_json::json!({"description": "x", "unit_price_low": 100, "quantity_high": 2})).unwrap();
        assert_eq!((l.unit_price_low, l.unit_price_high), (Cents::new(100), Cents::new(100)));
        assert_eq!(
            (l.quantity_low, l.quantity_high),
            (Quantity::from_thousandths(2000), Quantity::from_thousandths(2000))
        );
        let e =
            line(serde_json::json!({"description": "x", "unit_price_low": 200, "unit_price_high": 100})).unwrap_err();
        assert_eq!(e.field, "l.unit_price_high");
        let e =
            line(serde_json::json!({"description": "x", "unit_price_low": 1, "quantity_low": 3, "quantity_high": 2}))
                .unwrap_err();
        assert_eq!(e.field, "l.quantity_high");
        assert_eq!(
            line(serde_json::json!({"description": "x", "unit_price_low": -1})).unwrap_err().field,
            "l.unit_price_low"
        );
    }

    #[test]
    fn optional_lines_count_only_in_the_high_total_and_tax_follows_the_invoice_rule() {
        let mk = |q: (i64, i64), p: (i64, i64), taxable, optional| EstimateLineDraft {
            item_id: None,
            description: "x".into(),
            category: None,
            quantity_low: Quantity::from_thousandths(q.0),
            quantity_high: Quantity::from_thousandths(q.1),
            unit_price_low: Cents::new(p.0),
            unit_price_high: Cents::new(p.1),
            taxable,
            discount: None,
            optional,
        };
        let option = EstimateOptionDraft {
            name: "Dental".into(),
            lines: vec![mk((1000, 2000), (1333, 1333), true, false), mk((1000, 1000), (5000, 8000), false, true)],
            discount: None,
        };
        let o = build_options(vec![option], BasisPoints::new(825).unwrap()).unwrap().remove(0);
        // Low: 13.33 taxed → tax 1.0997 → 1.10; total 14.43. High: 26.66 + 80.00, tax 2.19945 → 2.20.
        assert_eq!((o.low.subtotal.get(), o.low.tax.get(), o.low.total.get()), (1333, 110, 1443));
        assert_eq!((o.high.subtotal.get(), o.high.tax.get(), o.high.total.get()), (10666, 220, 10886));
    }

    #[test]
    fn too_many_lines_or_options_are_refused_before_anything_runs() {
        let one =
            NewEstimateOption { name: "a".into(), lines: vec![NewEstimateLine::default(); 10_000], discount: None };
        assert_eq!(check_options(&[one], true).unwrap_err().field, "options");
        let many = vec![NewEstimateOption { name: "a".into(), ..Default::default() }; MAX_OPTIONS + 1];
        assert_eq!(check_options(&many, true).unwrap_err().field, "options");
        assert_eq!(check_options(&[], true).unwrap_err().field, "options");
    }
}
