//! Reminder analytics' wire types: the query of `GET /api/communications/analytics` (parsed
//! and checked here) and its report: totals and per-template (A/B variant) figures of the
//! messages queued in a date range, and the no-show rate of reminded vs not reminded
//! appointments. Counts only: a report names no client.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::TemplateId;
use crate::messages::Channel;
use crate::templates::TemplateCategory;

/// Default booking-conversion window, days after the message was sent.
pub const DEFAULT_CONVERT_DAYS: u16 = 14;
/// Longest booking-conversion window, days.
pub const MAX_CONVERT_DAYS: u16 = 90;
/// Longest range of one report, days (`from` to `to`, both included).
pub const MAX_RANGE_DAYS: i32 = 366;
/// The range when `from` is not given: this many days up to `to`.
pub const DEFAULT_RANGE_DAYS: i32 = 30;

/// A checked analytics query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsQuery {
    /// First local date (clinic's zone) of the range, included.
    pub from: Date,
    /// Last local date of the range, included.
    pub to: Date,
    /// Only messages sent by this automation (`appointment_reminder`, …).
    pub automation: Option<String>,
    /// Only messages rendered from templates of this category.
    pub category: Option<TemplateCategory>,
    /// Booking-conversion window in days after `sent_at`.
    pub convert_days: u16,
}

fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn date(field: &str, v: &str) -> Result<Date, ValidationError> {
    v.parse::<Date>().map_err(|_| ValidationError::new(field, "must be a date, YYYY-MM-DD"))
}

impl AnalyticsQuery {
    /// Parses the query's raw values; `today` (the clinic's local date) is the default `to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        automation: Option<&str>,
        category: Option<&str>,
        convert_days: Option<&str>,
        today: Date,
    ) -> Result<AnalyticsQuery, ValidationError> {
        let to = given(to).map(|v| date("to", v)).transpose()?.unwrap_or(today);
        let from = match given(from) {
            Some(v) => date("from", v)?,
            None => to.checked_sub(jiff::Span::new().days(DEFAULT_RANGE_DAYS - 1)).unwrap_or(to),
        };
        if to < from {
            return Err(ValidationError::new("to", "must not be before from"));
        }
        let days = from.until(to).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if days >= MAX_RANGE_DAYS {
            return Err(ValidationError::new("to", format!("the range may span at most {MAX_RANGE_DAYS} days")));
        }
        let automation = given(automation)
            .map(|a| {
                if a.len() <= 64 && a.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    Ok(a.to_owned())
                } else {
                    Err(ValidationError::new("automation", "must be an automation's kind, e.g. appointment_reminder"))
                }
            })
            .transpose()?;
        let category = given(category)
            .map(|c| {
                serde_json::from_value::<TemplateCategory>(serde_json::Value::String(c.to_owned())).map_err(|_| {
                    ValidationError::new("category", "must be a template category, e.g. appointment_reminder")
                })
            })
            .transpose()?;
        let convert_days = match given(convert_days) {
            None => DEFAULT_CONVERT_DAYS,
            Some(v) => match v.parse::<u16>() {
                Ok(n) if (1..=MAX_CONVERT_DAYS).contains(&n) => n,
                _ => {
                    return Err(ValidationError::new(
                        "convert_days",
                        format!("must be a whole number of days from 1 to {MAX_CONVERT_DAYS}"),
                    ));
                }
            },
        };
        Ok(AnalyticsQuery { from, to, automation, category, convert_days })
    }
}

/// The figures of a set of messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    /// Every message in the range and filters, whatever its status.
    pub messages: u32,
    /// Accepted by a provider (`sent`, `delivered` or `bounced`).
    pub sent: u32,
    /// Reported delivered by the provider's webhook.
    pub delivered: u32,
    /// Sent emails with HTML to a client: the ones with an open pixel and tracked links.
    pub tracked: u32,
    /// Tracked emails whose pixel loaded at least once (a lower bound, see the docs).
    pub opened: u32,
    /// Tracked emails with at least one tracked click.
    pub clicked: u32,
    /// Sent messages whose client booked an appointment within `convert_days` after it.
    pub converted: u32,
    /// `delivered / sent` (`null` when nothing was sent).
    pub delivery_rate: Option<f64>,
    /// `opened / tracked`.
    pub open_rate: Option<f64>,
    /// `clicked / tracked`.
    pub click_rate: Option<f64>,
    /// `converted / sent`.
    pub conversion_rate: Option<f64>,
}

/// One template's (one A/B variant's) figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantFigures {
    /// `null`: messages not rendered from a template (staff's test messages).
    pub template_id: Option<TemplateId>,
    /// The template's current name, if it still exists.
    pub template_name: Option<String>,
    pub category: Option<TemplateCategory>,
    pub channel: Channel,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Final appointments of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoShowGroup {
    pub completed: u32,
    pub no_show: u32,
    pub cancelled: u32,
    /// `no_show / (completed + no_show)`: a cancelled visit was not missed.
    pub no_show_rate: Option<f64>,
}

/// Appointments that started in the range and reached a final status, split by whether an
/// `appointment_reminder` was sent for them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoShowComparison {
    pub reminded: NoShowGroup,
    pub not_reminded: NoShowGroup,
}

/// `GET /api/communications/analytics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalyticsReport {
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    pub automation: Option<String>,
    pub category: Option<TemplateCategory>,
    pub convert_days: u16,
    pub totals: Figures,
    /// Per template (A/B variant), by category, channel and template id.
    pub variants: Vec<VariantFigures>,
    pub no_shows: NoShowComparison,
}

/// `part / whole`, rounded to 4 places; `None` when `whole` is 0.
pub fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) / f64::from(whole) * 10_000.0).round() / 10_000.0)
}

impl Figures {
    /// Fills the rates from the counts.
    pub fn with_rates(mut self) -> Figures {
        self.delivery_rate = rate(self.delivered, self.sent);
        self.open_rate = rate(self.opened, self.tracked);
        self.click_rate = rate(self.clicked, self.tracked);
        self.conversion_rate = rate(self.converted, self.sent);
        self
    }
}

impl NoShowGroup {
    /// Fills the rate from the counts.
    pub fn with_rate(mut self) -> NoShowGroup {
        self.no_show_rate = rate(self.no_show, self.completed + self.no_show);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        jiff::civil::date(2026, 3, 10)
    }

    #[test]
    fn defaults_and_checks() {
        let q = AnalyticsQuery::parse(None, None, None, None, None, today()).unwrap();
        assert_eq!((q.from, q.to, q.convert_days), (jiff::civil::date(2026, 2, 9), today(), 14));
        let q = AnalyticsQuery::parse(
            Some("2026-01-01"),
            Some("2026-01-31"),
            Some("appointment_reminder"),
            Some("appointment_reminder"),
            Some("7"),
            today(),
        )
        .unwrap();
        assert_eq!(q.category, Some(TemplateCategory::AppointmentReminder));
        assert_eq!(q.convert_days, 7);
        let field = |r: Result<AnalyticsQuery, ValidationError>| r.unwrap_err().field;
        assert_eq!(field(AnalyticsQuery::parse(Some("2026-13-01"), None, None, None, None, today())), "from");
        assert_eq!(field(AnalyticsQuery::parse(Some("2026-03-11"), None, None, None, None, today())), "to");
        assert_eq!(field(AnalyticsQuery::parse(Some("2024-01-01"), None, None, None, None, today())), "to");
        assert_eq!(field(AnalyticsQuery::parse(None, None, Some("Bad!"), None, None, today())), "automation");
        assert_eq!(field(AnalyticsQuery::parse(None, None, None, Some("nope"), None, today())), "category");
        for bad in ["0", "91", "-1", "x", "1.5"] {
            assert_eq!(field(AnalyticsQuery::parse(None, None, None, None, Some(bad), today())), "convert_days");
        }
    }

    #[test]
    fn rates_are_rounded_and_absent_over_nothing() {
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(0, 0), None);
        assert_eq!(
            NoShowGroup { completed: 3, no_show: 1, cancelled: 5, no_show_rate: None }.with_rate().no_show_rate,
            Some(0.25)
        );
    }
}
