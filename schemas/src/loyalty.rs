//! Loyalty points: the programme's settings (one record), a client's ledger entries, the
//! points a draft invoice redeems, and the arithmetic of earning and redeeming (integer only:
//! points are whole, values are cents, every division floors). A client's balance is derived
//! from the ledger and their invoices' redemptions, never typed. Rules: docs/loyalty.md.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{CatalogueItemId, ClientId, InvoiceId, LoyaltyEntryId, UserId};
use crate::invoices::Invoice;
use crate::money::Cents;
use crate::records::Record;
use crate::values::{MAX_NOTE_CHARS, required_text};

/// The most points one setting, adjustment or redemption names (ten million): no sum of
/// them can overflow an `i64`.
pub const MAX_POINTS: i64 = 10_000_000;
/// The most catalogue items with a bonus.
pub const MAX_ITEM_BONUSES: usize = 500;

/// A catalogue item's bonus: points for each invoice line that charges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBonus {
    pub item_id: CatalogueItemId,
    pub points: i64,
}

/// The programme's settings (table `loyalty_settings`, key 0). Off until a manager turns it on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoyaltySettings {
    /// Off: nothing is earned and nothing redeemed (the ledger stays readable).
    pub enabled: bool,
    /// Points for each whole 1.00 paid, net of tax (floored per invoice).
    pub points_per_unit: i64,
    /// Extra points per invoice line charging one of these catalogue items.
    pub item_bonuses: Vec<ItemBonus>,
    /// Points to the referrer when the client they referred has a first invoice paid.
    pub referral_bonus: i64,
    /// Points to a client once a year, on the birthday of one of their cats.
    pub birthday_bonus: i64,
    /// Points are redeemed in steps of this many points ...
    pub redeem_points: i64,
    /// ... each worth this many cents (100 points = 1.00 by default).
    pub redeem_cents: Cents,
    /// The fewest points one redemption takes.
    pub min_redeem: i64,
    /// Earned points expire this many months after they were earned (none: never).
    pub expiry_months: Option<u16>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
}

impl Default for LoyaltySettings {
    fn default() -> Self {
        LoyaltySettings {
            enabled: false,
            points_per_unit: 1,
            item_bonuses: Vec::new(),
            referral_bonus: 0,
            birthday_bonus: 0,
            redeem_points: 100,
            redeem_cents: Cents::new(100),
            min_redeem: 100,
            expiry_months: None,
            updated_at: None,
            updated_by: None,
        }
    }
}

/// Version history: v1.
impl Record for LoyaltySettings {
    const KIND: &'static str = "loyalty_settings";
    const VERSION: u16 = 1;
}

/// Body of `PUT /api/loyalty/settings`: the whole programme (every field required).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutLoyaltySettings {
    pub enabled: bool,
    pub points_per_unit: i64,
    pub item_bonuses: Vec<ItemBonus>,
    pub referral_bonus: i64,
    pub birthday_bonus: i64,
    pub redeem_points: i64,
    pub redeem_cents: Cents,
    pub min_redeem: i64,
    #[serde(default)]
    pub expiry_months: Option<u16>,
}

fn points_in(field: &str, v: i64, min: i64, max: i64) -> Result<i64, ValidationError> {
    if v < min || v > max {
        return Err(ValidationError::new(field, format!("must be {min}–{max}")));
    }
    Ok(v)
}

impl PutLoyaltySettings {
    /// The settings, each number in its range (the items' existence is the service's check).
    pub fn validate(self) -> Result<LoyaltySettings, ValidationError> {
        points_in("points_per_unit", self.points_per_unit, 0, 10_000)?;
        if self.item_bonuses.len() > MAX_ITEM_BONUSES {
            return Err(ValidationError::new("item_bonuses", format!("at most {MAX_ITEM_BONUSES} items")));
        }
        for (n, b) in self.item_bonuses.iter().enumerate() {
            points_in(&format!("item_bonuses.{n}.points"), b.points, 1, MAX_POINTS)?;
            if self.item_bonuses[..n].iter().any(|o| o.item_id == b.item_id) {
                return Err(ValidationError::new(format!("item_bonuses.{n}.item_id"), "is listed twice"));
            }
        }
        points_in("referral_bonus", self.referral_bonus, 0, MAX_POINTS)?;
        points_in("birthday_bonus", self.birthday_bonus, 0, MAX_POINTS)?;
        points_in("redeem_points", self.redeem_points, 1, MAX_POINTS)?;
        if !(1..=1_000_000).contains(&self.redeem_cents.get()) {
            return Err(ValidationError::new("redeem_cents", "must be 1–1000000 cents"));
        }
        points_in("min_redeem", self.min_redeem, 0, MAX_POINTS)?;
        if let Some(m) = self.expiry_months
            && !(1..=120).contains(&m)
        {
            return Err(ValidationError::new("expiry_months", "must be 1–120 months, or null for never"));
        }
        Ok(LoyaltySettings {
            enabled: self.enabled,
            points_per_unit: self.points_per_unit,
            item_bonuses: self.item_bonuses,
            referral_bonus: self.referral_bonus,
            birthday_bonus: self.birthday_bonus,
            redeem_points: self.redeem_points,
            redeem_cents: self.redeem_cents,
            min_redeem: self.min_redeem,
            expiry_months: self.expiry_months,
            updated_at: None,
            updated_by: None,
        })
    }
}

impl LoyaltySettings {
    /// What `points` are worth, if they are a whole number of redemption steps of at least
    /// the minimum (422 on `field` otherwise).
    pub fn value_of(&self, points: i64, field: &str) -> Result<Cents, ValidationError> {
        if points <= 0 || points > MAX_POINTS {
            return Err(ValidationError::new(field, format!("must be 1–{MAX_POINTS} points")));
        }
        if points < self.min_redeem {
            return Err(ValidationError::new(
                field,
                format!("at least {} points are redeemed at once", self.min_redeem),
            ));
        }
        if points % self.redeem_points != 0 {
            return Err(ValidationError::new(
                field,
                format!(
                    "points are redeemed in steps of {} (each worth {} cents)",
                    self.redeem_points, self.redeem_cents
                ),
            ));
        }
        // ≤ 10^7 steps × ≤ 10^6 cents: no overflow.
        Ok(Cents::new(points / self.redeem_points * self.redeem_cents.get()))
    }

    /// The points an invoice earns: `points_per_unit` per whole 1.00 of what it sold net of
    /// tax and of its credit notes (floored once), plus each bonus item's points per line.
    pub fn points_for(&self, inv: &Invoice) -> i64 {
        let net_of = |total: Cents, tax: Cents| total.get().saturating_sub(tax.get());
        let credited: i64 = inv.credit_notes.iter().map(|c| net_of(c.totals.total, c.totals.tax)).sum();
        let net = net_of(inv.totals.total, inv.totals.tax).saturating_sub(credited).max(0);
        let base = i64::try_from(i128::from(net) * i128::from(self.points_per_unit) / 100).unwrap_or(MAX_POINTS);
        let bonus: i64 = inv
            .lines
            .iter()
            .filter_map(|l| l.item_id)
            .filter_map(|i| self.item_bonuses.iter().find(|b| b.item_id == i))
            .map(|b| b.points)
            .sum();
        base.saturating_add(bonus)
    }
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Points earned by a paid invoice, a referral or a birthday.
    Earned,
    /// Points spent on an issued invoice (derived from the invoice, never stored).
    Redeemed,
    /// Earned points that reached their expiry unspent.
    Expired,
    /// A manager's correction, with a reason.
    Adjusted,
    /// Points given back because money earning them was refunded.
    Reversed,
}

/// One movement of a client's points (table `loyalty_ledger`, append-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoyaltyEntry {
    pub id: LoyaltyEntryId,
    pub client_id: ClientId,
    pub kind: EntryKind,
    /// Signed: earned and a positive adjustment add, the rest take away.
    pub points: i64,
    /// Where it came from: `invoice:<id>`, `referral:<referred client>`,
    /// `birthday:<year>`, `adjustment`, `expiry`.
    pub source: String,
    pub invoice_id: Option<InvoiceId>,
    /// For points earned on an invoice: what it had paid then (reversals are in proportion).
    pub paid: Option<Cents>,
    pub reason: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub by: Option<UserId>,
}

/// Version history: v1.
impl Record for LoyaltyEntry {
    const KIND: &'static str = "loyalty_entry";
    const VERSION: u16 = 1;
}

/// Points a draft invoice redeems (`Invoice::loyalty`): an amount off the invoice, held
/// against the client's balance while a draft, spent once issued, given back if voided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoyaltyRedemption {
    pub points: i64,
    /// What they are worth, taken off the invoice as part of its invoice-level discount.
    pub value: Cents,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub by: Option<UserId>,
}

/// A draft invoice holding points.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Hold {
    pub invoice_id: InvoiceId,
    pub points: i64,
    pub value: Cents,
}

/// `GET /api/clients/{id}/loyalty`: the balance and a page of the history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LoyaltyAccount {
    pub client_id: ClientId,
    pub enabled: bool,
    /// Every entry's points summed, less what issued invoices redeemed.
    pub balance: i64,
    /// What open drafts hold.
    pub held: i64,
    /// `balance − held`: what a new redemption may take.
    pub available: i64,
    /// What `available` is worth now, in whole redemption steps.
    pub available_value: Cents,
    pub holds: Vec<Hold>,
    pub entries: Vec<LoyaltyEntry>,
    /// Give it as `cursor` for the next (older) page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Body of `POST /api/clients/{id}/loyalty/adjustments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustPoints {
    /// Signed, not 0.
    pub points: i64,
    pub reason: String,
}

impl AdjustPoints {
    /// The points (not 0, at most ten million either way) and the reason (required).
    pub fn validate(&self) -> Result<(i64, String), ValidationError> {
        if self.points == 0 || self.points.abs() > MAX_POINTS {
            return Err(ValidationError::new("points", format!("must be ±1–{MAX_POINTS}, not 0")));
        }
        Ok((self.points, required_text("reason", &self.reason, MAX_NOTE_CHARS)?))
    }
}

/// Body of `POST /api/invoices/{id}/loyalty/redeem`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemPoints {
    pub points: i64,
}

/// The page of `GET /api/clients/{id}/loyalty`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyHistoryQuery {
    /// Entries per page, 1–200 (default 50).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LoyaltySettings {
        LoyaltySettings { enabled: true, ..LoyaltySettings::default() }
    }

    #[test]
    fn points_are_redeemed_in_whole_steps_of_at_least_the_minimum() {
        let s = LoyaltySettings { redeem_points: 50, redeem_cents: Cents::new(25), min_redeem: 100, ..settings() };
        assert_eq!(s.value_of(150, "points").unwrap(), Cents::new(75));
        for bad in [0, -100, 50, 120, MAX_POINTS + 50] {
            assert_eq!(s.value_of(bad, "points").unwrap_err().field, "points", "{bad}");
        }
    }

    #[test]
    fn settings_out_of_range_are_refused_naming_the_field() {
        let ok = PutLoyaltySettings {
            enabled: true,
            points_per_unit: 1,
            item_bonuses: Vec::new(),
            referral_bonus: 0,
            birthday_bonus: 0,
            redeem_points: 100,
            redeem_cents: Cents::new(100),
            min_redeem: 0,
            expiry_months: None,
        };
        assert!(ok.clone().validate().is_ok());
        let e = PutLoyaltySettings { redeem_points: 0, ..ok.clone() }.validate().unwrap_err();
        assert_eq!(e.field, "redeem_points");
        let e = PutLoyaltySettings { expiry_months: Some(0), ..ok.clone() }.validate().unwrap_err();
        assert_eq!(e.field, "expiry_months");
        let item = CatalogueItemId::from_u128(7);
        let twice = vec![ItemBonus { item_id: item, points: 5 }, ItemBonus { item_id: item, points: 6 }];
        let e = PutLoyaltySettings { item_bonuses: twice, ..ok }.validate().unwrap_err();
        assert_eq!(e.field, "item_bonuses.1.item_id");
    }
}
