//! The feline vaccination protocol as a clinical fact set (`vaccine_protocol`, AAHA/AAFP 2020
//! by default, `schemas/data/clinical-facts/vaccine_protocol.json`), and the pure rules that
//! compute a cat's next due date of each vaccine from it: the kitten series, late starters,
//! the 6-month or 1-year booster, adult intervals (3-year FVRCP; rabies per product label,
//! capped by local law), and risk-based vaccines (FeLV for kittens and at-risk adults, the
//! non-core ones for at-risk cats only). Every computed date carries the sentence of the rule
//! that produced it and the protocol's name and version.
//!
//! Nothing here reads a clock or a store: callers pass the cat's date of birth, its doses and
//! today's date in the clinic's zone.

use jiff::civil::Date;
use jiff::{Span, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clinical_facts::FactSet;
use crate::errors::ValidationError;

/// Which booster follows the FVRCP kitten series (AAHA/AAFP 2020: at 6 months of age, to
/// catch kittens whose maternal antibodies blocked the series; older guidance: 1 year later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KittenBooster {
    SixMonths,
    OneYear,
}

/// Which cats a vaccine is recommended for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// Core for every cat (FVRCP, rabies).
    All,
    /// Core for kittens (series and the 1-year booster), then only for cats at risk (FeLV).
    KittensAndAtRisk,
    /// Non-core: only for cats recorded at risk.
    AtRisk,
}

/// The initial series of a vaccine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Youngest age for the first dose, in weeks.
    pub from_weeks: u16,
    /// Weeks between series doses: the next one is due (its date) after the minimum; the
    /// maximum is the window the rule names, and counts the doses a kitten series still needs.
    pub interval_min_weeks: u16,
    pub interval_max_weeks: u16,
    /// Kittens started before this age repeat the dose until one is given at or after it
    /// (FVRCP: 16 weeks). `None`: a fixed number of doses.
    pub until_weeks: Option<u16>,
    /// Doses of a fixed series, and of late starters (first dose at or after `until_weeks`,
    /// or no date of birth on file).
    pub doses: u8,
}

/// One vaccine of the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VaccineSpec {
    /// The code doses name (`fvrcp`): lower-case letters, digits and `_`.
    pub code: String,
    pub name: String,
    pub applies_to: AppliesTo,
    pub series: Series,
    /// Months from the end of the series to the first booster.
    pub booster_months: u16,
    /// Whether the protocol's [`KittenBooster`] choice applies after a kitten series.
    pub six_month_booster: bool,
    /// Months between adult doses after the first booster.
    pub adult_months: u16,
    /// The interval after the first booster is the product's labelled duration (rabies: 1 or
    /// 3 years), recorded on each dose; `adult_months` when a dose does not say.
    pub label_duration: bool,
}

/// The `vaccine_protocol` fact set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VaccineProtocol {
    /// The protocol's name as rules cite it ("AAHA/AAFP 2020").
    pub name: String,
    pub kitten_booster: KittenBooster,
    /// Local law: the longest interval, in months, between doses of label-duration vaccines
    /// (a jurisdiction requiring annual rabies sets 12 whatever the label says).
    pub jurisdiction_max_months: Option<u16>,
    pub vaccines: Vec<VaccineSpec>,
}

impl FactSet for VaccineProtocol {
    const NAME: &'static str = "vaccine_protocol";
    const KEY: u64 = 2;
    const DESCRIPTION: &'static str = "The feline vaccination protocol: vaccines, kitten series, boosters and adult intervals, from which due dates are computed";
    const DEFAULTS: &'static str = include_str!("../data/clinical-facts/vaccine_protocol.json");

    fn check(&self) -> Result<(), ValidationError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(ValidationError::new("name", "must be 1 to 100 characters"));
        }
        if self.jurisdiction_max_months.is_some_and(|m| !(1..=60).contains(&m)) {
            return Err(ValidationError::new("jurisdiction_max_months", "must be from 1 to 60"));
        }
        if self.vaccines.is_empty() || self.vaccines.len() > 50 {
            return Err(ValidationError::new("vaccines", "must list 1 to 50 vaccines"));
        }
        for (i, v) in self.vaccines.iter().enumerate() {
            v.check().map_err(|e| e.within(&format!("vaccines[{i}]")))?;
            if self.vaccines[..i].iter().any(|w| w.code == v.code) {
                return Err(ValidationError::new(format!("vaccines[{i}].code"), "is listed twice"));
            }
        }
        Ok(())
    }
}

impl VaccineSpec {
    fn check(&self) -> Result<(), ValidationError> {
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 40
            && self.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !code_ok {
            return Err(ValidationError::new("code", "must be 1 to 40 lower-case letters, digits or _"));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(ValidationError::new("name", "must be 1 to 100 characters"));
        }
        let s = &self.series;
        if s.from_weeks > 104 {
            return Err(ValidationError::new("series.from_weeks", "must be at most 104"));
        }
        if s.interval_min_weeks == 0 || s.interval_min_weeks > s.interval_max_weeks || s.interval_max_weeks > 52 {
            return Err(ValidationError::new(
                "series.interval_min_weeks",
                "must be at least 1 and at most interval_max_weeks (at most 52)",
            ));
        }
        if s.until_weeks.is_some_and(|u| u < s.from_weeks || u > 104) {
            return Err(ValidationError::new("series.until_weeks", "must be from from_weeks to 104"));
        }
        if !(1..=5).contains(&s.doses) {
            return Err(ValidationError::new("series.doses", "must be from 1 to 5"));
        }
        if !(1..=60).contains(&self.booster_months) {
            return Err(ValidationError::new("booster_months", "must be from 1 to 60"));
        }
        if !(1..=60).contains(&self.adult_months) {
            return Err(ValidationError::new("adult_months", "must be from 1 to 60"));
        }
        Ok(())
    }
}

impl VaccineProtocol {
    /// The vaccine called `code`.
    pub fn vaccine(&self, code: &str) -> Option<&VaccineSpec> {
        self.vaccines.iter().find(|v| v.code == code)
    }
}

/// A dose as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenDose {
    pub on: Date,
    /// The product's labelled duration in months (rabies 12 or 36), if recorded.
    pub label_months: Option<u16>,
}

/// What the rules compute for one vaccine of one cat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    /// `None`: no dose is recommended (e.g. FeLV for an adult not at risk).
    pub due_on: Option<Date>,
    /// The rule, in words, ending with the protocol and its version.
    pub rule: String,
    /// The last day of the dose's window when the rule gives one (a series dose: its
    /// `interval_max_weeks` after the dose before): due from `due_on`, overdue only after
    /// this. `None`: overdue once `due_on` has passed.
    pub overdue_after: Option<Date>,
}

/// Whole weeks from `from` to `to` (negative when before).
fn weeks(from: Date, to: Date) -> i64 {
    from.until(to).map(|s| i64::from(s.get_days()) / 7).unwrap_or(0)
}

fn add(d: Date, span: Span) -> Date {
    d.checked_add(span).unwrap_or(d)
}

fn interval_words(months: u16) -> String {
    match months {
        12 => "every year".into(),
        m if m % 12 == 0 => format!("every {} years", m / 12),
        m => format!("every {m} months"),
    }
}

/// The next due date of vaccine `v` for a cat born on `dob` (if known), with `doses` given
/// (any order), recorded at risk or not, on local date `today`. `version` is the protocol's
/// version, cited in the rule.
pub fn next_due(
    p: &VaccineProtocol,
    version: u32,
    v: &VaccineSpec,
    dob: Option<Date>,
    doses: &[GivenDose],
    at_risk: bool,
    today: Date,
) -> Computed {
    let tag = format!("({} v{version})", p.name);
    let s = &v.series;
    let none = |why: String| Computed { due_on: None, rule: format!("{why} {tag}"), overdue_after: None };
    let adult_now = dob.is_none_or(|b| add(b, 12.months()) <= today);
    if v.applies_to == AppliesTo::AtRisk && !at_risk {
        return none(format!("{}: non-core, only for cats at risk; this cat is not recorded at risk", v.name));
    }
    let mut doses = doses.to_vec();
    doses.sort_by_key(|d| d.on);
    let Some(first) = doses.first().copied() else {
        if v.applies_to == AppliesTo::KittensAndAtRisk && !at_risk && adult_now {
            return none(format!("{}: adults not at risk need no dose", v.name));
        }
        return match dob {
            Some(b) => Computed {
                due_on: Some(add(b, i64::from(s.from_weeks).weeks())),
                rule: format!("{}: first dose from {} weeks of age {tag}", v.name, s.from_weeks),
                overdue_after: None,
            },
            None => Computed {
                due_on: Some(today),
                rule: format!("{}: first dose (no date of birth on file) {tag}", v.name),
                overdue_after: None,
            },
        };
    };
    let age = |d: Date| dob.map(|b| weeks(b, d));
    // A kitten series runs until a dose at or after `until_weeks` of age; anyone else (late
    // starters, cats of unknown age) gets the fixed number of doses.
    let kitten = matches!((s.until_weeks, age(first.on)), (Some(u), Some(a)) if a < i64::from(u));
    let series_end = if kitten {
        let until = i64::from(s.until_weeks.unwrap_or(0));
        doses.iter().position(|d| age(d.on).is_some_and(|a| a >= until))
    } else {
        let n = usize::from(s.doses);
        (doses.len() >= n).then(|| n - 1)
    };
    let what = if kitten { "kitten series" } else { "initial series" };
    let Some(end) = series_end else {
        let k = doses.len();
        let last = doses[k - 1];
        let total = match (kitten, s.until_weeks, age(last.on)) {
            (true, Some(u), Some(a)) => {
                let left = (i64::from(u) - a).max(1);
                k + usize::try_from((left + i64::from(s.interval_max_weeks) - 1) / i64::from(s.interval_max_weeks))
                    .unwrap_or(1)
            }
            _ => usize::from(s.doses),
        };
        let until = match (kitten, s.until_weeks) {
            (true, Some(u)) => format!(" until {u} weeks of age"),
            _ if !kitten && s.until_weeks.is_some() => " (started after the kitten age)".to_owned(),
            _ => String::new(),
        };
        return Computed {
            due_on: Some(add(last.on, i64::from(s.interval_min_weeks).weeks())),
            rule: format!(
                "{} {what}: dose {} of {total}, {}–{} weeks after dose {k}{until} {tag}",
                v.name,
                k + 1,
                s.interval_min_weeks,
                s.interval_max_weeks
            ),
            // A series dose has a window: due from its start, overdue only once it has closed.
            overdue_after: Some(add(last.on, i64::from(s.interval_max_weeks).weeks())),
        };
    };
    let series_last = doses[end];
    let after = &doses[end + 1..];
    let Some(last) = after.last().copied() else {
        return match (kitten && v.six_month_booster, p.kitten_booster, dob) {
            (true, KittenBooster::SixMonths, Some(b)) => Computed {
                due_on: Some(add(b, 6.months()).max(add(series_last.on, i64::from(s.interval_min_weeks).weeks()))),
                rule: format!("{} booster at 6 months of age, after the kitten series {tag}", v.name),
                overdue_after: None,
            },
            (true, KittenBooster::OneYear, _) => Computed {
                due_on: Some(add(series_last.on, 1.year())),
                rule: format!("{} booster 1 year after the kitten series (the clinic's older guidance) {tag}", v.name),
                overdue_after: None,
            },
            _ => Computed {
                due_on: Some(add(series_last.on, i64::from(v.booster_months).months())),
                rule: format!("{} booster {} after the {what}", v.name, booster_words(v.booster_months)) + " " + &tag,
                overdue_after: None,
            },
        };
    };
    if v.applies_to == AppliesTo::KittensAndAtRisk && !at_risk {
        return none(format!("{}: series and booster done; further doses only for cats at risk", v.name));
    }
    let (months, why) = if v.label_duration {
        let label = last.label_months.unwrap_or(v.adult_months);
        match p.jurisdiction_max_months {
            Some(max) if max < label => {
                (max, format!("{} per local law (label: {})", interval_words(max), interval_words(label)))
            }
            _ => (label, format!("{} per the product label of the last dose", interval_words(label))),
        }
    } else {
        (v.adult_months, interval_words(v.adult_months))
    };
    Computed {
        due_on: Some(add(last.on, i64::from(months).months())),
        rule: format!("{}: {why} {tag}", v.name),
        overdue_after: None,
    }
}

fn booster_words(months: u16) -> String {
    match months {
        12 => "1 year".into(),
        m if m % 12 == 0 => format!("{} years", m / 12),
        m => format!("{m} months"),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::clinical_facts::fact_set;

    fn protocol() -> VaccineProtocol {
        let (_, body) = fact_set("vaccine_protocol").unwrap().first_version().unwrap();
        serde_json::from_value(body).unwrap()
    }

    fn due(p: &VaccineProtocol, code: &str, dob: Option<Date>, doses: &[Date], at_risk: bool, today: Date) -> Computed {
        let d: Vec<GivenDose> = doses.iter().map(|&on| GivenDose { on, label_months: None }).collect();
        next_due(p, 1, p.vaccine(code).unwrap(), dob, &d, at_risk, today)
    }

    const DOB: Date = date(2026, 1, 1);

    #[test]
    fn the_fvrcp_kitten_series_runs_every_3_weeks_until_16_weeks() {
        let p = protocol();
        let c = due(&p, "fvrcp", Some(DOB), &[], false, date(2026, 1, 20));
        assert_eq!(c.due_on, Some(date(2026, 2, 12)));
        assert_eq!(c.rule, "FVRCP: first dose from 6 weeks of age (AAHA/AAFP 2020 v1)");
        // First dose at 8 weeks: 8, 12, 16 weeks, three doses.
        let d1 = date(2026, 2, 26);
        let c = due(&p, "fvrcp", Some(DOB), &[d1], false, d1);
        assert_eq!(c.due_on, Some(date(2026, 3, 19)));
        assert_eq!(
            c.rule,
            "FVRCP kitten series: dose 2 of 3, 3–4 weeks after dose 1 until 16 weeks of age (AAHA/AAFP 2020 v1)"
        );
        // A dose at 15 weeks does not end it; one at 16 does.
        let c = due(&p, "fvrcp", Some(DOB), &[d1, date(2026, 3, 26), date(2026, 4, 16)], false, d1);
        assert!(c.rule.contains("dose 4 of 4"), "{}", c.rule);
        let c = due(&p, "fvrcp", Some(DOB), &[d1, date(2026, 3, 26), date(2026, 4, 23)], false, d1);
        assert!(c.rule.starts_with("FVRCP booster at 6 months of age"), "{}", c.rule);
        assert_eq!(c.due_on, Some(date(2026, 7, 1)));
    }

    #[test]
    fn late_starters_get_two_doses_then_the_booster_a_year_later() {
        let p = protocol();
        let first = date(2026, 6, 1); // 21 weeks old
        let c = due(&p, "fvrcp", Some(DOB), &[first], false, first);
        assert_eq!(c.due_on, Some(date(2026, 6, 22)));
        assert!(c.rule.starts_with("FVRCP initial series: dose 2 of 2"), "{}", c.rule);
        let c = due(&p, "fvrcp", Some(DOB), &[first, date(2026, 6, 25)], false, first);
        assert_eq!(c.due_on, Some(date(2027, 6, 25)));
        assert_eq!(c.rule, "FVRCP booster 1 year after the initial series (AAHA/AAFP 2020 v1)");
        // No date of birth: treated as a late starter.
        let c = due(&p, "fvrcp", None, &[first], false, first);
        assert!(c.rule.contains("dose 2 of 2"), "{}", c.rule);
    }

    #[test]
    fn the_clinic_may_choose_the_one_year_booster() {
        let mut p = protocol();
        p.kitten_booster = KittenBooster::OneYear;
        let series = [date(2026, 2, 26), date(2026, 3, 26), date(2026, 4, 23)];
        let c = due(&p, "fvrcp", Some(DOB), &series, false, date(2026, 5, 1));
        assert_eq!(c.due_on, Some(date(2027, 4, 23)));
        assert!(c.rule.contains("1 year after the kitten series"), "{}", c.rule);
    }

    #[test]
    fn adult_fvrcp_is_every_three_years_after_the_booster() {
        let p = protocol();
        let doses = [date(2026, 2, 26), date(2026, 3, 26), date(2026, 4, 23), date(2026, 7, 1)];
        let c = due(&p, "fvrcp", Some(DOB), &doses, false, date(2026, 7, 2));
        assert_eq!(c.due_on, Some(date(2029, 7, 1)));
        assert_eq!(c.rule, "FVRCP: every 3 years (AAHA/AAFP 2020 v1)");
    }

    #[test]
    fn rabies_follows_the_product_label_and_local_law() {
        let mut p = protocol();
        let v = p.vaccine("rabies").unwrap().clone();
        let first = GivenDose { on: date(2026, 4, 1), label_months: Some(12) };
        let c = next_due(&p, 1, &v, Some(DOB), &[first], false, first.on);
        assert_eq!(c.due_on, Some(date(2027, 4, 1)));
        assert_eq!(c.rule, "Rabies booster 1 year after the initial series (AAHA/AAFP 2020 v1)");
        let one = GivenDose { on: date(2027, 4, 1), label_months: Some(12) };
        let three = GivenDose { on: date(2027, 4, 1), label_months: Some(36) };
        let c = next_due(&p, 1, &v, Some(DOB), &[first, one], false, one.on);
        assert_eq!(c.due_on, Some(date(2028, 4, 1)));
        assert_eq!(c.rule, "Rabies: every year per the product label of the last dose (AAHA/AAFP 2020 v1)");
        let c = next_due(&p, 1, &v, Some(DOB), &[first, three], false, one.on);
        assert_eq!(c.due_on, Some(date(2030, 4, 1)));
        p.jurisdiction_max_months = Some(12);
        let c = next_due(&p, 2, &v, Some(DOB), &[first, three], false, one.on);
        assert_eq!(c.due_on, Some(date(2028, 4, 1)));
        assert_eq!(c.rule, "Rabies: every year per local law (label: every 3 years) (AAHA/AAFP 2020 v2)");
    }

    #[test]
    fn felv_for_kittens_then_only_for_cats_at_risk() {
        let p = protocol();
        // Kitten: two doses from 8 weeks, then the booster at 1 year, whatever the risk.
        let c = due(&p, "felv", Some(DOB), &[], false, date(2026, 2, 1));
        assert_eq!(c.due_on, Some(date(2026, 2, 26)));
        let c = due(&p, "felv", Some(DOB), &[date(2026, 2, 26)], false, date(2026, 3, 1));
        assert!(c.rule.starts_with("FeLV initial series: dose 2 of 2"), "{}", c.rule);
        let series = [date(2026, 2, 26), date(2026, 3, 26)];
        let c = due(&p, "felv", Some(DOB), &series, false, date(2026, 4, 1));
        assert_eq!(c.due_on, Some(date(2027, 3, 26)));
        // After the booster: annual when at risk, nothing otherwise.
        let all = [date(2026, 2, 26), date(2026, 3, 26), date(2027, 3, 26)];
        let c = due(&p, "felv", Some(DOB), &all, true, date(2027, 4, 1));
        assert_eq!(c.due_on, Some(date(2028, 3, 26)));
        let c = due(&p, "felv", Some(DOB), &all, false, date(2027, 4, 1));
        assert_eq!(c.due_on, None);
        assert!(c.rule.contains("only for cats at risk"), "{}", c.rule);
        // An adult never vaccinated: due when at risk, not otherwise.
        let old = Some(date(2020, 1, 1));
        assert_eq!(due(&p, "felv", old, &[], false, date(2026, 1, 1)).due_on, None);
        assert!(due(&p, "felv", old, &[], true, date(2026, 1, 1)).due_on.is_some());
    }

    #[test]
    fn non_core_vaccines_only_for_cats_at_risk() {
        let p = protocol();
        assert_eq!(due(&p, "chlamydia", Some(DOB), &[], false, date(2026, 3, 1)).due_on, None);
        assert_eq!(due(&p, "chlamydia", Some(DOB), &[], true, date(2026, 3, 1)).due_on, Some(date(2026, 3, 5)));
    }

    #[test]
    fn a_protocol_that_does_not_hold_together_is_refused_naming_the_field() {
        let mut p = protocol();
        p.vaccines[0].series.interval_min_weeks = 5;
        assert_eq!(p.check().unwrap_err().field, "vaccines[0].series.interval_min_weeks");
        let mut p = protocol();
        p.vaccines[1].code = "fvrcp".into();
        assert_eq!(p.check().unwrap_err().field, "vaccines[1].code");
        let mut p = protocol();
        p.jurisdiction_max_months = Some(0);
        assert_eq!(p.check().unwrap_err().field, "jurisdiction_max_months");
    }
}
