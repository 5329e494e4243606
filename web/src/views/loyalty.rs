//! The loyalty panel of a client's page: their balance, what drafts hold, what is available
//! and its worth, and the newest movements of their points, in words. Built from what
//! `GET /api/clients/{id}/loyalty` answers (audited); it decides no rule.

use clowder_schemas::loyalty::{EntryKind, LoyaltyAccount, LoyaltyEntry};
use jiff::tz::TimeZone;

/// A client's loyalty panel.
#[derive(Debug, Clone)]
pub struct LoyaltyPanel {
    /// The programme is on (off: the panel says so, and shows the history kept).
    pub enabled: bool,
    pub balance: i64,
    pub held: i64,
    pub available: i64,
    /// What `available` is worth, `12.00`.
    pub worth: String,
    pub rows: Vec<LoyaltyRow>,
}

/// One movement on the panel.
#[derive(Debug, Clone)]
pub struct LoyaltyRow {
    pub when: String,
    pub what: &'static str,
    /// Signed, `+90` or `−45`.
    pub points: String,
    /// The source or the adjustment's reason.
    pub detail: String,
}

impl LoyaltyPanel {
    /// The panel of an account (its first page of history).
    pub fn of(a: &LoyaltyAccount, tz: &TimeZone) -> LoyaltyPanel {
        LoyaltyPanel {
            enabled: a.enabled,
            balance: a.balance,
            held: a.held,
            available: a.available,
            worth: a.available_value.to_string(),
            rows: a.entries.iter().map(|e| LoyaltyRow::of(e, tz)).collect(),
        }
    }
}

impl LoyaltyRow {
    fn of(e: &LoyaltyEntry, tz: &TimeZone) -> LoyaltyRow {
        let what = match e.kind {
            EntryKind::Earned => "Earned",
            EntryKind::Redeemed => "Redeemed",
            EntryKind::Expired => "Expired",
            EntryKind::Adjusted => "Adjusted",
            EntryKind::Reversed => "Reversed (refund)",
        };
        let detail = e.reason.clone().unwrap_or_else(|| {
            let (source, id) = e.source.split_once(':').unwrap_or((e.source.as_str(), ""));
            match source {
                "invoice" => "An invoice".to_owned(),
                "referral" => "A client they referred".to_owned(),
                "birthday" => format!("Birthday {id}"),
                other => other.to_owned(),
            }
        });
        LoyaltyRow {
            when: super::visits::when(e.at, tz),
            what,
            points: if e.points > 0 { format!("+{}", e.points) } else { format!("−{}", e.points.unsigned_abs()) },
            detail,
        }
    }
}
