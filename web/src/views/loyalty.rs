//! The loyalty panel of a client's page: their balance, what drafts hold, what is available
//! and its worth, and the newest movements of their points, in words. Built from what
//! `GET /api/clients/{id}/loyalty` answers (audited); it decides no rule. Also the programme's
//! settings screen (`/loyalty`), whose form `loyalty.js` sends to `PUT /api/loyalty/settings`.

use askama::Template;
use clowder_schemas::loyalty::{EntryKind, LoyaltyAccount, LoyaltyEntry, LoyaltySettings};
use jiff::tz::TimeZone;

use super::Nav;

/// A catalogue item's bonus on the settings screen.
#[derive(Debug, Clone)]
pub struct BonusRow {
    pub item_id: String,
    /// The item's name (its id when it is no longer in the catalogue).
    pub name: String,
    pub points: i64,
}

/// `/loyalty`: the programme's rules as a form, each field as stored.
#[derive(Template)]
#[template(path = "loyalty.html")]
pub struct LoyaltySettingsPage {
    pub nav: Nav,
    pub enabled: bool,
    pub points_per_unit: i64,
    pub bonuses: Vec<BonusRow>,
    pub referral_bonus: i64,
    pub birthday_bonus: i64,
    pub redeem_points: i64,
    /// The worth of a step as typed, `1.00`.
    pub redeem_value: String,
    pub min_redeem: i64,
    /// Empty: never.
    pub expiry_months: String,
    /// "Last changed 2026-03-02 14:05", or empty.
    pub updated: String,
}

impl LoyaltySettingsPage {
    /// `name` names a catalogue item by id (`None`: not in the catalogue any more).
    pub fn of(
        nav: Nav,
        s: &LoyaltySettings,
        name: impl Fn(&clowder_schemas::ids::CatalogueItemId) -> Option<String>,
        tz: &TimeZone,
    ) -> Self {
        LoyaltySettingsPage {
            nav,
            enabled: s.enabled,
            points_per_unit: s.points_per_unit,
            bonuses: s
                .item_bonuses
                .iter()
                .map(|b| BonusRow {
                    item_id: b.item_id.to_string(),
                    name: name(&b.item_id).unwrap_or_else(|| b.item_id.to_string()),
                    points: b.points,
                })
                .collect(),
            referral_bonus: s.referral_bonus,
            birthday_bonus: s.birthday_bonus,
            redeem_points: s.redeem_points,
            redeem_value: s.redeem_cents.to_string(),
            min_redeem: s.min_redeem,
            expiry_months: s.expiry_months.map(|m| m.to_string()).unwrap_or_default(),
            updated: s.updated_at.map(|t| format!("Last changed {}", super::visits::when(t, tz))).unwrap_or_default(),
        }
    }
}

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
