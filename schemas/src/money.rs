//! Money: amounts in integer cents ([`Cents`]), quantities in thousandths ([`Quantity`]),
//! rates in basis points ([`BasisPoints`]), and the one rounding rule every invoice, credit
//! note and payment follows ([`line_amounts`], [`totals`]). No floating point touches an
//! amount: the only `f64` here parses a JSON quantity such as `1.5` at the edge and is refused
//! unless it is exactly a number of thousandths. See docs/billing.md for the rule and a worked
//! example.
//!
//! The rule, in short: each line is `quantity × unit price`, rounded half-up to the cent
//! once; a line discount (a percentage, rounded half-up, or an amount) comes off the line; an
//! invoice discount comes off the sum of the lines; tax is computed once per invoice on the
//! taxable part of that (the invoice discount shared out in proportion), rounded half-up.
//! So `subtotal − discount + tax = total` always holds to the cent.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::errors::ValidationError;

/// An amount of money in cents (the clinic's currency's smallest unit). Arithmetic is
/// checked: an overflow is an error, never a wrapped amount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = i64, example = 4250)]
pub struct Cents(i64);

/// The largest amount a person may type (a price, a payment): 10,000,000.00.
pub const MAX_AMOUNT: Cents = Cents(1_000_000_000);

/// Most lines on one invoice or credit note: a visit's charges fit many times over, and a
/// document of 10,000 lines is a mistake or an attack.
pub const MAX_LINES: usize = 500;

/// Why a computation with money failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amount is too large")]
    Overflow,
    #[error("the discount is larger than the amount it comes off")]
    DiscountTooLarge,
}

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub const fn new(cents: i64) -> Self {
        Cents(cents)
    }

    /// The amount as a number of cents.
    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Cents) -> Result<Cents, MoneyError> {
        self.0.checked_add(other.0).map(Cents).ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Cents) -> Result<Cents, MoneyError> {
        self.0.checked_sub(other.0).map(Cents).ok_or(MoneyError::Overflow)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Checks an amount a person typed: `0..=MAX_AMOUNT` (or `1..` when `positive`).
    pub fn typed(self, field: &str, positive: bool) -> Result<Cents, ValidationError> {
        if self.0 < 0 || (positive && self.0 == 0) {
            let what = if positive { "must be more than 0 cents" } else { "must not be negative" };
            return Err(ValidationError::new(field, what));
        }
        if self > MAX_AMOUNT {
            return Err(ValidationError::new(field, "is larger than 1,000,000,000 cents"));
        }
        Ok(self)
    }

    /// The sum of amounts, checked.
    pub fn sum(amounts: impl IntoIterator<Item = Cents>) -> Result<Cents, MoneyError> {
        amounts.into_iter().try_fold(Cents::ZERO, Cents::checked_add)
    }
}

impl fmt::Display for Cents {
    /// `12.34`, `-0.05`: for receipts and messages, never parsed back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// A rate in hundredths of a percent: 825 is 8.25 %. `0..=10000`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = u32, example = 825)]
pub struct BasisPoints(u32);

impl BasisPoints {
    pub const ZERO: BasisPoints = BasisPoints(0);
    pub const ALL: BasisPoints = BasisPoints(10_000);

    /// A rate, refused above 100 %.
    pub fn new(bp: u32) -> Result<Self, ValidationError> {
        if bp > 10_000 {
            return Err(ValidationError::new("basis_points", "must be between 0 and 10000 (100 %)"));
        }
        Ok(BasisPoints(bp))
    }

    pub const fn get(self) -> u32 {
        self.0
    }

    /// `amount × rate`, rounded half-up to the cent (amount not negative).
    pub fn of(self, amount: Cents) -> Result<Cents, MoneyError> {
        ratio(amount, i128::from(self.0), 10_000)
    }
}

impl<'de> Deserialize<'de> for BasisPoints {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bp = u32::deserialize(d)?;
        BasisPoints::new(bp).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// `amount × num / den` rounded half-up, for a non-negative amount and ratio.
fn ratio(amount: Cents, num: i128, den: i128) -> Result<Cents, MoneyError> {
    debug_assert!(den > 0 && num >= 0);
    let n = i128::from(amount.0).checked_mul(num).ok_or(MoneyError::Overflow)?;
    let q = div_half_up(n, den);
    i64::try_from(q).map(Cents).map_err(|_| MoneyError::Overflow)
}

/// `amount × num ÷ den`, rounded half-up to the cent by the one rule: a part's share of an
/// amount (the invoice discount's share of one line, a line's value for part of its quantity,
/// a payment plan's simple interest over its term). All not negative, `den` more than 0.
pub fn share(amount: Cents, num: i128, den: i128) -> Result<Cents, MoneyError> {
    if den <= 0 || num < 0 || amount.0 < 0 {
        return Err(MoneyError::Overflow);
    }
    ratio(amount, num, den)
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d > 0`).
fn div_half_up(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// A quantity in thousandths of a unit (1.5 tablets is 1500): enough for a millilitre to three
/// places, exact. On the wire a JSON number (`1.5`) or decimal string (`"1.5"`) with at most
/// three decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = f64, example = 1.5)]
pub struct Quantity(i64);

/// Most of anything on one line: a million units.
pub const MAX_QUANTITY: Quantity = Quantity(1_000_000_000);

impl Quantity {
    pub const ONE: Quantity = Quantity(1000);

    /// From a number of thousandths.
    pub const fn from_thousandths(t: i64) -> Self {
        Quantity(t)
    }

    pub const fn thousandths(self) -> i64 {
        self.0
    }

    /// Checks a quantity a person typed: more than 0, at most a million.
    pub fn typed(self, field: &str) -> Result<Quantity, ValidationError> {
        if self.0 <= 0 {
            return Err(ValidationError::new(field, "must be more than 0"));
        }
        if self > MAX_QUANTITY {
            return Err(ValidationError::new(field, "is more than 1,000,000"));
        }
        Ok(self)
    }

    /// Parses `12`, `1.5`, `0.125` exactly.
    pub fn parse(s: &str) -> Option<Quantity> {
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() || frac.len() > 3 || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
            return None;
        }
        let whole: i64 = int.parse().ok()?;
        let frac_t: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<3}").parse().ok()? };
        let t = whole.checked_mul(1000)?.checked_add(frac_t)?;
        Some(Quantity(if neg { -t } else { t }))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let digits = format!("{frac:03}");
            write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            // A display value only: every number of thousandths below 2^53 prints back as
            // its own shortest decimal, which is what `parse` reads.
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Int(i64),
            Float(f64),
            Text(String),
        }
        const WHY: &str = "a quantity is a number with at most three decimals";
        match Wire::deserialize(d)? {
            Wire::Int(n) => n.checked_mul(1000).map(Quantity).ok_or_else(|| serde::de::Error::custom(WHY)),
            // Parsed through its shortest decimal form, so `1.5` is exactly 1500 and `1.0005`
            // is refused rather than rounded.
            Wire::Float(x) => Quantity::parse(&format!("{x}")).ok_or_else(|| serde::de::Error::custom(WHY)),
            Wire::Text(s) => Quantity::parse(s.trim()).ok_or_else(|| serde::de::Error::custom(WHY)),
        }
    }
}

/// A discount: a percentage (basis points) or an amount in cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Discount {
    /// `{"kind": "percent", "basis_points": 1000}` is 10 %.
    Percent { basis_points: BasisPoints },
    /// `{"kind": "amount", "amount": 500}` is 5.00 off.
    Amount { amount: Cents },
}

impl Discount {
    /// Checks a typed discount (an amount within `0..=MAX_AMOUNT`).
    pub fn typed(self, field: &str) -> Result<Discount, ValidationError> {
        if let Discount::Amount { amount } = self {
            amount.typed(&format!("{field}.amount"), false)?;
        }
        Ok(self)
    }

    /// What comes off `of` (not negative): a percentage rounded half-up; an amount as given,
    /// refused if larger than `of`.
    pub fn off(self, of: Cents) -> Result<Cents, MoneyError> {
        match self {
            Discount::Percent { basis_points } => basis_points.of(of),
            Discount::Amount { amount } if amount > of => Err(MoneyError::DiscountTooLarge),
            Discount::Amount { amount } => Ok(amount),
        }
    }
}

/// What a line's amount is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub quantity: Quantity,
    pub unit_price: Cents,
    pub taxable: bool,
    pub discount: Option<Discount>,
}

/// A line's amounts: `net = gross − discount`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineAmounts {
    /// `quantity × unit price`, rounded half-up to the cent.
    pub gross: Cents,
    /// The line's discount.
    pub discount: Cents,
    pub net: Cents,
}

/// A line's amounts (the quantity and price not negative).
pub fn line_amounts(l: &LineInput) -> Result<LineAmounts, MoneyError> {
    let gross = ratio(l.unit_price, i128::from(l.quantity.0), 1000)?;
    let discount = match l.discount {
        Some(d) => d.off(gross)?,
        None => Cents::ZERO,
    };
    Ok(LineAmounts { gross, discount, net: gross.checked_sub(discount)? })
}

/// A document's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// The sum of the lines' gross amounts.
    pub subtotal: Cents,
    /// Every discount: the lines' and the invoice's.
    pub discount: Cents,
    /// What tax was computed on: the taxable lines' net less their share of the invoice
    /// discount.
    pub taxable: Cents,
    pub tax: Cents,
    /// `subtotal − discount + tax`.
    pub total: Cents,
}

/// The totals of lines (with their taxable flag), an invoice discount and one tax rate.
pub fn totals(
    lines: &[(LineInput, LineAmounts)],
    discount: Option<Discount>,
    rate: BasisPoints,
) -> Result<Totals, MoneyError> {
    let subtotal = Cents::sum(lines.iter().map(|(_, a)| a.gross))?;
    let line_discounts = Cents::sum(lines.iter().map(|(_, a)| a.discount))?;
    let net = Cents::sum(lines.iter().map(|(_, a)| a.net))?;
    let taxable_net = Cents::sum(lines.iter().filter(|(l, _)| l.taxable).map(|(_, a)| a.net))?;
    let invoice_discount = match discount {
        Some(d) => d.off(net)?,
        None => Cents::ZERO,
    };
    // The invoice discount lowers the taxable base in proportion to the taxable part of the
    // net, rounded half-up once; the rest of it falls on the untaxed lines.
    let taxable_share = if net.is_positive() {
        ratio(invoice_discount, i128::from(taxable_net.0), i128::from(net.0))?
    } else {
        Cents::ZERO
    };
    let taxable = taxable_net.checked_sub(taxable_share)?;
    let tax = rate.of(taxable)?;
    let discount = line_discounts.checked_add(invoice_discount)?;
    let total = subtotal.checked_sub(discount)?.checked_add(tax)?;
    Ok(Totals { subtotal, discount, taxable, tax, total })
}

/// Computes each line's amounts and the totals in one go.
pub fn compute(
    lines: &[LineInput],
    discount: Option<Discount>,
    rate: BasisPoints,
) -> Result<(Vec<LineAmounts>, Totals), MoneyError> {
    let with: Vec<(LineInput, LineAmounts)> =
        lines.iter().map(|l| line_amounts(l).map(|a| (*l, a))).collect::<Result<_, _>>()?;
    let t = totals(&with, discount, rate)?;
    Ok((with.into_iter().map(|(_, a)| a).collect(), t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(q: i64, price: i64, taxable: bool, discount: Option<Discount>) -> LineInput {
        LineInput { quantity: Quantity(q), unit_price: Cents(price), taxable, discount }
    }

    #[test]
    fn the_worked_example_of_billing_md() {
        // 1.5 × 13.33 = 19.995 → 20.00; 10 % off 20.00 = 2.00; untaxed exam 65.00;
        // 5.00 invoice discount on 83.00: taxable share 5.00 × 18/83 = 1.084 → 1.08;
        // tax 8.25 % of 16.92 = 1.3959 → 1.40; total 85.00 − 7.00 + 1.40 = 79.40.
        let pct = Discount::Percent { basis_points: BasisPoints(1000) };
        let lines = [line(1500, 1333, true, Some(pct)), line(1000, 6500, false, None)];
        let (amounts, t) = compute(&lines, Some(Discount::Amount { amount: Cents(500) }), BasisPoints(825)).unwrap();
        assert_eq!(amounts[0], LineAmounts { gross: Cents(2000), discount: Cents(200), net: Cents(1800) });
        assert_eq!(
            t,
            Totals {
                subtotal: Cents(8500),
                discount: Cents(700),
                taxable: Cents(1692),
                tax: Cents(140),
                total: Cents(7940)
            }
        );
    }

    #[test]
    fn halves_round_up_and_everything_else_to_the_nearest_cent() {
        let gross = |q, p| line_amounts(&line(q, p, false, None)).unwrap().gross.get();
        assert_eq!(gross(500, 1), 1); // 0.5 cent → 1
        assert_eq!(gross(499, 1), 0);
        assert_eq!(gross(333, 100), 33);
        assert_eq!(gross(1000, 1999), 1999);
        assert_eq!(BasisPoints(825).of(Cents(200)).unwrap(), Cents(17)); // 16.5 → 17
    }

    #[test]
    fn an_amount_discount_larger_than_its_line_is_refused() {
        let d = Some(Discount::Amount { amount: Cents(101) });
        assert_eq!(line_amounts(&line(1000, 100, true, d)), Err(MoneyError::DiscountTooLarge));
        assert_eq!(compute(&[line(1000, 100, true, None)], d, BasisPoints(0)), Err(MoneyError::DiscountTooLarge));
    }

    #[test]
    fn quantities_parse_exactly_and_refuse_a_fourth_decimal() {
        let q = |s: &str| serde_json::from_str::<Quantity>(s).map(|q| q.0).ok();
        assert_eq!(q("2"), Some(2000));
        assert_eq!(q("1.5"), Some(1500));
        assert_eq!(q("0.125"), Some(125));
        assert_eq!(q("\"0.1\""), Some(100));
        assert_eq!(q("1.0005"), None);
        assert_eq!(q("\"1e3\""), None);
        assert_eq!(serde_json::to_string(&Quantity(1500)).unwrap(), "1.5");
        assert_eq!(serde_json::to_string(&Quantity(3000)).unwrap(), "3");
        assert!(serde_json::from_str::<BasisPoints>("10001").is_err());
        assert!(serde_json::from_str::<Cents>("12.5").is_err(), "a fraction of a cent is refused");
        assert_eq!(Cents(-5).to_string(), "-0.05");
        assert_eq!(Cents(123456).to_string(), "1234.56");
    }

    fn any_discount(max_amount: i64) -> impl Strategy<Value = Option<Discount>> {
        prop_oneof![
            Just(None),
            (0u32..=10_000).prop_map(|bp| Some(Discount::Percent { basis_points: BasisPoints(bp) })),
            (0..=max_amount).prop_map(|a| Some(Discount::Amount { amount: Cents(a) })),
        ]
    }

    fn any_line() -> impl Strategy<Value = LineInput> {
        (1i64..=MAX_QUANTITY.0, 0i64..=MAX_AMOUNT.0, any::<bool>(), any_discount(1_000))
            .prop_map(|(q, p, t, d)| line(q, p, t, d))
    }

    proptest! {
        #[test]
        fn totals_always_add_up(
            lines in proptest::collection::vec(any_line(), 0..40),
            discount in any_discount(1_000_000),
            rate in 0u32..=10_000,
        ) {
            let Ok((amounts, t)) = compute(&lines, discount, BasisPoints(rate)) else {
                // Only a discount larger than what it comes off is refused.
                return Ok(());
            };
            let gross: i64 = amounts.iter().map(|a| a.gross.0).sum();
            let line_disc: i64 = amounts.iter().map(|a| a.discount.0).sum();
            prop_assert_eq!(t.subtotal.0, gross);
            prop_assert!(amounts.iter().all(|a| a.gross.0 - a.discount.0 == a.net.0 && a.net.0 >= 0));
            prop_assert_eq!(t.subtotal.0 - t.discount.0 + t.tax.0, t.total.0);
            prop_assert!(t.discount.0 >= line_disc && t.discount.0 <= t.subtotal.0);
            prop_assert!(t.taxable.0 >= 0 && t.total.0 >= 0);
            // Tax is the rate of the taxable base within half a cent.
            let exact = i128::from(t.taxable.0) * i128::from(rate);
            prop_assert!((i128::from(t.tax.0) * 10_000 - exact).abs() * 2 <= 10_000);
            // Each line is its exact product within half a cent.
            for (l, a) in lines.iter().zip(&amounts) {
                let exact = i128::from(l.quantity.0) * i128::from(l.unit_price.0);
                prop_assert!((i128::from(a.gross.0) * 1000 - exact).abs() * 2 <= 1000);
            }
        }

        #[test]
        fn quantities_round_trip_through_json(t in 1i64..=MAX_QUANTITY.0) {
            let json = serde_json::to_string(&Quantity(t)).unwrap();
            prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), Quantity(t));
        }
    }
}
