//! A realistic demo clinic: a few thousand clients (cat owners) in and around Portland, Oregon,
//! their cats, a handful of staff accounts, and a calendar (rooms, staff profiles, shifts,
//! time off and two weeks of appointments), for seeding a fresh server so the software can be
//! shown and exercised with believable data.
//!
//! Generation is pure and deterministic: a tiny self-contained PRNG ([`SplitMix64`], seeded by
//! [`SEED`]) draws from the fixed tables in this file, so the same build always produces the
//! same clinic, independent of the versions of any other crate. In [`generate`] the only
//! input, `today`, turns ages into dates of birth; ids, names and everything else do not
//! depend on it. [`plan_schedule`] lays the calendar out around `today` (who works when,
//! which cat comes when, and what became of each visit); [`status_path`] turns a visit's
//! fate into workflow moves at the moment of seeding. Seeding (`demo.rs`) does the I/O.
//!
//! Every record passes the schemas' own validation (`CreateClient::validate`,
//! `CreatePatient::validate`). Emails use the reserved `example.com`/`.net`/`.org` domains and
//! phone numbers the `555` exchange, so demo messages cannot reach real people.
//!
//! # Demo passwords
//!
//! [`STAFF`] carries fixed passwords. They are for the demo only: they are public (they are
//! in this file) and the demo start-up prints them so whoever runs the demo can sign in.
//! Never seed demo data into a clinic that holds real data.

use std::collections::{HashMap, HashSet};

use clowder_schemas::appointments::Status;
use clowder_schemas::clients::{AddressInput, CreateClient, PreferredContact};
use clowder_schemas::ids::{ClientId, LocationId, PatientId, UserId};
use clowder_schemas::locations::Day;
use clowder_schemas::patients::{CreatePatient, HandlingInput, Level, ReproductiveStatus, Sex};
use clowder_schemas::scheduling::{DEFAULT_DURATION, RoomKind, default_appointment_types};
use clowder_schemas::staff::{Capabilities, CreateStaff, EmploymentType, Licence, PatternSpan, Position};
use jiff::civil::{Date, Time, Weekday, date};
use jiff::{SignedDuration, Span, Timestamp};
use ulid::Ulid;

/// Seed of the demo clinic; changing it changes every generated record.
pub const SEED: u64 = 0xC10D_E2C0_2026_CA75;
/// Number of demo clients; each has one to three cats.
pub const CLIENT_COUNT: usize = 2_400;
/// Time part of the first client's id (2019-01-01T00:00:00Z); one new client a day after it,
/// and each of their cats ten minutes apart.
const ID_EPOCH_MS: u64 = 1_546_300_800_000;
const DAY_MS: u64 = 86_400_000;

/// The generated clinic. Each client's cats follow one another in `patients`.
#[derive(Debug, Clone)]
pub struct DemoClinic {
    pub clients: Vec<(ClientId, CreateClient)>,
    pub patients: Vec<(PatientId, CreatePatient)>,
    pub staff: Vec<DemoStaff>,
}

/// A demo staff account; `password` is public and for the demo only (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoStaff {
    pub username: &'static str,
    pub display_name: &'static str,
    pub roles: &'static [&'static str],
    pub password: &'static str,
}

/// The demo staff accounts: two vets and one account for each other role.
pub const STAFF: &[DemoStaff] = &[
    staff("drmorgan", "Dr. Elena Morgan", &["veterinarian"], "demo-morgan-2026"),
    staff("drpatel", "Dr. Raj Patel", &["veterinarian"], "demo-patel-2026"),
    staff("tech.kim", "Sam Kim", &["vet_tech"], "demo-kim-vettech-2026"),
    staff("frontdesk", "Maria Lopez", &["receptionist"], "demo-lopez-2026"),
    staff("billing", "Dana Wright", &["billing"], "demo-wright-2026"),
    staff("manager", "Chris Taylor", &["practice_manager"], "demo-taylor-2026"),
    staff("admin", "Alex Rivera", &["administrator"], "demo-rivera-2026"),
];

const fn staff(
    username: &'static str,
    display_name: &'static str,
    roles: &'static [&'static str],
    password: &'static str,
) -> DemoStaff {
    DemoStaff { username, display_name, roles, password }
}

/// Generates the demo clinic. With the same `today` the output is identical.
pub fn generate(today: Date) -> DemoClinic {
    let mut g = Gen { rng: SplitMix64(SEED), ..Gen::default() };
    let (mut clients, mut patients) = (Vec::with_capacity(CLIENT_COUNT), Vec::with_capacity(CLIENT_COUNT * 2));
    for i in 0..CLIENT_COUNT as u64 {
        let created_ms = ID_EPOCH_MS + i * DAY_MS;
        let id = ClientId::from_ulid(Ulid::from_parts(created_ms, g.rng.random80()));
        let (first, last) = match FIXED_CLIENTS.get(i as usize) {
            Some(&names) => names,
            None => g.name(),
        };
        let cats = *g.rng.weighted(CATS_PER_CLIENT);
        clients.push((id, g.client(first, last, cats)));
        let mut household = Household::default();
        for k in 1..=cats {
            let pid = PatientId::from_ulid(Ulid::from_parts(created_ms + k * 600_000, g.rng.random80()));
            patients.push((pid, g.patient(id, today, &mut household)));
        }
    }
    let staff = STAFF.to_vec();
    DemoClinic { clients, patients, staff }
}

/// SplitMix64 (Steele, Lea & Flood 2014, constants as published by Vigna): a 64-bit counter
/// stepped by the golden-ratio constant and scrambled by two xor-shift-multiply rounds. Not
/// for secrets; chosen because it is tiny, fast, and its output is fixed forever by this code.
#[derive(Debug, Clone, Default)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-high; the bias is below 2^-40 for the small `n` used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// The 80 random bits of a ULID.
    fn random80(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 16) | u128::from(self.next_u64() & 0xFFFF)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn text(&mut self, items: &[&str]) -> String {
        (*self.pick(items)).to_owned()
    }

    /// With probability `per_mille` / 1000, one of `items`.
    fn maybe(&mut self, per_mille: u64, items: &[&str]) -> Option<String> {
        self.chance(per_mille).then(|| self.text(items))
    }

    fn weighted_by<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u64) -> &'a T {
        let mut roll = self.below(items.iter().map(&weight).sum());
        for item in items {
            let w = weight(item);
            if roll < w {
                return item;
            }
            roll -= w;
        }
        items.last().expect("weighted tables in this file are never empty")
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        &self.weighted_by(items, |(_, w)| *w).0
    }
}

/// The generator: the PRNG and what must stay unique across the clinic.
#[derive(Default)]
struct Gen {
    rng: SplitMix64,
    emails: HashSet<String>,
    phones: HashSet<String>,
    chips: HashSet<String>,
}

/// Age in days, date of birth (if known) and whether that date is an estimate.
type Birth = (u64, Option<Date>, bool);

/// What the cats of one client share: names already used, and the last cat (for littermates).
#[derive(Default)]
struct Household {
    names: Vec<&'static str>,
    last: Option<(&'static Breed, Birth)>,
}

impl Gen {
    fn name(&mut self) -> (&'static str, &'static str) {
        let first = *self.rng.pick(FIRST_NAMES);
        let surnames = if self.rng.chance(450) { COMMON_LAST_NAMES } else { LAST_NAMES };
        (first, *self.rng.pick(surnames))
    }

    fn client(&mut self, first: &str, last: &str, cats: u64) -> CreateClient {
        let &(city, region, zips, streets, _) = self.rng.weighted_by(CITIES, |c| c.4);
        let area = match (self.rng.chance(100), region) {
            (true, _) => *self.rng.pick(FAR_AREA_CODES),
            (false, "WA") => "360",
            (false, _) => *self.rng.weighted(&[("503", 70), ("971", 30)]),
        };
        let email = self.rng.chance(860).then(|| self.email(first, last));
        let phone = self.phone(area);
        let phone_secondary = self.rng.chance(200).then(|| self.phone(area));
        let address = self.rng.chance(900).then(|| {
            let partial = self.rng.chance(30); // city, state and ZIP only
            let unit = format!("{} {}", self.rng.pick(UNIT_KINDS), self.rng.between(1, 400));
            AddressInput {
                line1: (!partial).then(|| format!("{} {}", self.rng.between(100, 20_000), self.rng.pick(streets))),
                line2: (!partial && self.rng.chance(130)).then_some(unit),
                city: Some(city.to_owned()),
                region: Some(region.to_owned()),
                postal_code: Some((*self.rng.pick(zips)).to_owned()),
                country: Some("US".to_owned()),
            }
        });
        let alerts: Vec<String> = self.rng.maybe(50, CLIENT_ALERTS).into_iter().collect();
        let preferred_contact = if alerts.iter().any(|a| a.contains("text messages")) {
            Some(PreferredContact::Sms)
        } else if self.rng.chance(80) {
            None // the server's default applies
        } else {
            Some(*self.rng.weighted(if email.is_some() { CONTACT_WITH_EMAIL } else { CONTACT_NO_EMAIL }))
        };
        let mut tags: Vec<String> = self.rng.maybe(80, CLIENT_TAGS).into_iter().collect();
        if cats == 3 && self.rng.chance(600) {
            tags.push("multi-cat household".to_owned());
        }
        CreateClient {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            email,
            phone,
            phone_secondary,
            address,
            preferred_contact,
            alerts,
            notes: self.rng.maybe(120, CLIENT_NOTES),
            tags,
            referral_source: self.rng.maybe(500, REFERRAL_SOURCES),
        }
    }

    /// A unique address at a reserved example domain; uniqueness ignores case.
    fn email(&mut self, first: &str, last: &str) -> String {
        let (f, l) = (ascii_fold(first), ascii_fold(last));
        let initial = &f[..1.min(f.len())];
        let local = match self.rng.below(8) {
            0..=2 => format!("{f}.{l}"),
            3 => format!("{f}{l}"),
            4 => format!("{initial}{l}"),
            5 => format!("{f}_{l}"),
            6 => format!("{l}.{f}"),
            _ => format!("{f}{}", self.rng.between(10, 100)),
        };
        let domain = self.rng.weighted(EMAIL_DOMAINS);
        let mut email = format!("{local}@{domain}");
        let mut n = 2;
        while !self.emails.insert(email.clone()) {
            email = format!("{local}{n}@{domain}");
            n += 1;
        }
        if self.rng.chance(80) {
            // Some people type their address capitalised; the server lower-cases it.
            email = format!("{}{}", email[..1].to_ascii_uppercase(), &email[1..]);
        }
        email
    }

    /// A unique number in the `555` exchange (avoiding 555-1212 and 555-4334, which are real
    /// services), mostly written `(503) 555-0123`.
    fn phone(&mut self, area: &str) -> String {
        loop {
            let line = self.rng.between(100, 10_000);
            if line == 1212 || line == 4334 || !self.phones.insert(format!("{area}555{line:04}")) {
                continue;
            }
            return match self.rng.below(20) {
                0 => format!("{area}.555.{line:04}"),
                1 | 2 => format!("{area}-555-{line:04}"),
                _ => format!("({area}) 555-{line:04}"),
            };
        }
    }

    fn patient(&mut self, client_id: ClientId, today: Date, household: &mut Household) -> CreatePatient {
        let name = loop {
            let n = *self.rng.pick(CAT_NAMES);
            if !household.names.contains(&n) {
                household.names.push(n);
                break n;
            }
        };
        let littermate = household.last.filter(|_| self.rng.chance(120));
        let (breed, (age_days, date_of_birth, estimated)) = match littermate {
            Some(previous_cat) => previous_cat,
            None => (self.rng.weighted_by(BREEDS, |b| b.weight), self.birth(today)),
        };
        household.last = Some((breed, (age_days, date_of_birth, estimated)));
        let color = *self.rng.pick(breed.colors);
        let ginger = ["orange", "red", "flame"].iter().any(|c| color.contains(c));
        let sex = if is_tortie(color) {
            Some(Sex::Female) // the orange/black mosaic needs two X chromosomes
        } else if self.rng.chance(10) {
            None
        } else {
            let male = self.rng.chance(if ginger { 780 } else { 500 }); // orange is X-linked
            Some(if male { Sex::Male } else { Sex::Female })
        };
        let intact = match age_days {
            0..180 => 930,
            180..365 => 450,
            _ if !breed.name.starts_with("Domestic") => 70,
            _ => 25,
        };
        let reproductive_status = match sex {
            Some(_) if self.rng.chance(15) => None,
            Some(_) if self.rng.chance(intact) => Some(ReproductiveStatus::Intact),
            Some(Sex::Male) => Some(ReproductiveStatus::Neutered),
            Some(Sex::Female) => Some(ReproductiveStatus::Spayed),
            None => None,
        };
        let microchip = self.rng.chance(700).then(|| self.microchip());
        let mut allergies: Vec<String> = self.rng.maybe(40, ALLERGIES).into_iter().collect();
        if !allergies.is_empty() && self.rng.chance(200) {
            let another = self.rng.text(ALLERGIES);
            if !allergies.contains(&another) {
                allergies.push(another);
            }
        }
        let (handling, behavior_notes) = if self.rng.chance(150) {
            (Some(self.handling()), Some(self.rng.text(BEHAVIOR_HARD)))
        } else {
            (None, self.rng.maybe(60, BEHAVIOR_EASY))
        };
        let insurance = self.rng.chance(200).then(|| {
            let provider = self.rng.weighted(INSURERS);
            let policy = self.rng.below(100_000_000);
            if self.rng.chance(500) { format!("{provider} – policy {policy:08}") } else { (*provider).to_owned() }
        });
        CreatePatient {
            client_id,
            name: name.to_owned(),
            breed: self.rng.chance(985).then(|| breed.name.to_owned()),
            color: self.rng.chance(990).then(|| color.to_owned()),
            sex,
            reproductive_status,
            date_of_birth,
            date_of_birth_estimated: estimated,
            microchip,
            allergies,
            behavior_notes,
            handling,
            insurance,
        }
    }

    /// Age from 6 weeks to about 21 years; estimated birth dates (strays, rescues) are
    /// rounded to the first of the month or, for older cats, of the year.
    fn birth(&mut self, today: Date) -> Birth {
        let &(lo, hi) = self.rng.weighted(AGE_BANDS);
        let age_days = self.rng.between(lo, hi);
        let estimated = self.rng.chance(match age_days {
            0..365 => 100,
            365..2557 => 140,
            _ => 230,
        });
        let (known, january) = (self.rng.chance(980), self.rng.chance(400) && age_days >= 730);
        let dob = today.saturating_sub(Span::new().days(age_days as i64));
        let date_of_birth = known.then_some(match (estimated, january) {
            (false, _) => dob,
            (true, false) => dob.first_of_month(),
            (true, true) => dob.first_of_year(),
        });
        (age_days, date_of_birth, estimated && known)
    }

    /// A unique 15-digit ISO microchip with a real manufacturer/registry prefix.
    fn microchip(&mut self) -> String {
        loop {
            let prefix = self.rng.weighted(CHIP_PREFIXES);
            let chip = format!("{prefix}{:09}", self.rng.below(1_000_000_000));
            if self.chips.insert(chip.clone()) {
                return chip;
            }
        }
    }

    /// Coherent Fear Free handling notes: fear usually drives the difficulty.
    fn handling(&mut self) -> HandlingInput {
        let tier = *self.rng.weighted(HANDLING_TIERS);
        let (lower, sedation) = match tier {
            Level::Severe => (Level::Moderate, 900),
            Level::Moderate => (Level::Mild, 450),
            _ => (Level::None, 50),
        };
        let aggression = if self.rng.chance(450) { tier } else { lower };
        let fear_anxiety = if self.rng.chance(800) { tier } else { lower };
        HandlingInput {
            aggression,
            fear_anxiety,
            handling_difficulty: aggression.max(fear_anxiety),
            muzzle: tier == Level::Severe && self.rng.chance(500),
            towel_wrap: tier >= Level::Moderate || self.rng.chance(300),
            sedation_history: self.rng.maybe(sedation, SEDATION),
            preferred_restraint: self.rng.maybe(700, RESTRAINT),
            staff_safety_notes: (aggression >= Level::Moderate).then(|| self.rng.text(SAFETY)),
        }
    }
}

/// Tortoiseshell and calico colourings (including dilutes and tortie points): female cats.
fn is_tortie(color: &str) -> bool {
    TORTIE.iter().any(|t| color.contains(t))
}

/// Lower-case ASCII letters and digits of a name, with accents removed (`Zoë` → `zoe`).
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match (c, FOLD_FROM.chars().position(|f| f == c)) {
            ('a'..='z' | '0'..='9', _) => out.push(c),
            (_, Some(i)) => out.extend(FOLD_TO.chars().nth(i)),
            ('æ', _) => out.push_str("ae"),
            ('œ', _) => out.push_str("oe"),
            ('ß', _) => out.push_str("ss"),
            ('þ', _) => out.push_str("th"),
            _ => {} // spaces, apostrophes, hyphens, combining marks
        }
    }
    out
}

// ---- The schedule: rooms, staff profiles, shifts, time off and appointments ----

/// Name, address and phone the demo gives the first location while it still has its
/// start-up name ("Main clinic").
pub const LOCATION_NAME: &str = "Rose City Cat Clinic";
pub const LOCATION_ADDRESS: &str = "3520 SE Hawthorne Blvd, Portland, OR 97214";
pub const LOCATION_PHONE: &str = "(503) 555-0142";

/// The days most US practices close, on the day itself: New Year's Day, Memorial Day,
/// Independence Day, Labor Day, Thanksgiving and Christmas Day. The demo location gets them
/// as blackout dates, so the demo does not book a full Thanksgiving.
pub fn holidays(year: i16) -> Vec<Date> {
    let day = |month, day| Date::new(year, month, day).ok();
    let nth = |month, nth, weekday| Date::new(year, month, 1).and_then(|d| d.nth_weekday_of_month(nth, weekday)).ok();
    [
        day(1, 1),
        nth(5, -1, Weekday::Monday),
        day(7, 4),
        nth(9, 1, Weekday::Monday),
        nth(11, 4, Weekday::Thursday),
        day(12, 25),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The demo location's rooms. The exam rooms come first: veterinarian number `i` (in
/// [`PEOPLE`] order) sees patients in exam room `i`, so two vets never need the same room.
pub const ROOMS: &[(&str, RoomKind)] = &[
    ("Exam 1", RoomKind::Exam),
    ("Exam 2", RoomKind::Exam),
    ("Exam 3", RoomKind::Exam),
    ("Exam 4", RoomKind::Exam),
    ("Surgery", RoomKind::Surgery),
    ("Dental", RoomKind::Dental),
    ("Isolation", RoomKind::Isolation),
    ("Cat ward", RoomKind::CatWard),
];
const EXAM_ROOMS: usize = 4;
const SURGERY_ROOM: usize = 4;
const DENTAL_ROOM: usize = 5;

/// How someone works one weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Off,
    /// Opening to closing.
    Full,
    /// Opening to 13:00.
    Morning,
    /// 12:00 to closing.
    Afternoon,
    /// Opening to closing every other week: `Rota(0)` in even weeks, `Rota(1)` in odd ones
    /// (how the Saturday mornings are shared).
    Rota(u8),
}

/// A week written Monday first, one letter a day: `F` full day, `M` morning, `A` afternoon,
/// `-` off, `0`/`1` every other week ([`Part::Rota`]).
const fn week(s: &str) -> [Part; 7] {
    let b = s.as_bytes();
    assert!(b.len() == 7, "a week has seven days");
    let mut w = [Part::Off; 7];
    let mut i = 0;
    while i < 7 {
        w[i] = match b[i] {
            b'F' => Part::Full,
            b'M' => Part::Morning,
            b'A' => Part::Afternoon,
            b'0' => Part::Rota(0),
            b'1' => Part::Rota(1),
            b'-' => Part::Off,
            _ => panic!("a day is one of F, M, A, -, 0, 1"),
        };
        i += 1;
    }
    w
}

/// Someone who works at the demo clinic: a staff profile, linked to the demo account
/// `username` when they have one.
#[derive(Debug, Clone, Copy)]
pub struct DemoPerson {
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub position: Position,
    pub employment: EmploymentType,
    pub username: Option<&'static str>,
    pub surgeon: bool,
    /// Oregon licence number (veterinarians).
    pub licence: Option<&'static str>,
    pub hired: Date,
    /// The usual week, Monday first.
    pub week: [Part; 7],
}

impl DemoPerson {
    /// Veterinarians and technicians: they get shifts.
    pub fn clinical(&self) -> bool {
        matches!(self.position, Position::Veterinarian | Position::VetTech)
    }
}

const fn person(
    first_name: &'static str,
    last_name: &'static str,
    position: Position,
    username: Option<&'static str>,
    hired: Date,
    days: &str,
) -> DemoPerson {
    DemoPerson {
        first_name,
        last_name,
        position,
        employment: EmploymentType::FullTime,
        username,
        surgeon: false,
        licence: None,
        hired,
        week: week(days),
    }
}

const fn vet(
    first: &'static str,
    last: &'static str,
    user: Option<&'static str>,
    hired: Date,
    days: &str,
) -> DemoPerson {
    person(first, last, Position::Veterinarian, user, hired, days)
}

/// The demo clinic's people: four veterinarians (two of them surgeons), four technicians,
/// two receptionists, the practice manager and the billing clerk. Every weekday has at
/// least two vets in the morning and in the afternoon; two vets share each Saturday.
pub const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        surgeon: true,
        licence: Some("V-10482"),
        ..vet("Elena", "Morgan", Some("drmorgan"), date(2015, 3, 2), "FFFFM0-")
    },
    DemoPerson { licence: Some("V-11937"), ..vet("Raj", "Patel", Some("drpatel"), date(2018, 8, 13), "FFAFF1-") },
    DemoPerson {
        surgeon: true,
        licence: Some("V-12655"),
        ..vet("Grace", "Nakamura", None, date(2020, 1, 6), "AFFMF1-")
    },
    DemoPerson {
        employment: EmploymentType::PartTime,
        licence: Some("V-13804"),
        ..vet("Daniel", "Okafor", None, date(2023, 5, 15), "F-FA-0-")
    },
    person("Sam", "Kim", Position::VetTech, Some("tech.kim"), date(2017, 9, 5), "FFFFM0-"),
    person("Jordan", "Ellis", Position::VetTech, None, date(2019, 4, 22), "FFMFF1-"),
    DemoPerson {
        employment: EmploymentType::PartTime,
        ..person("Priya", "Shah", Position::VetTech, None, date(2022, 2, 14), "-AFFA--")
    },
    person("Marcus", "Hill", Position::VetTech, None, date(2021, 7, 12), "FFA-F0-"),
    person("Maria", "Lopez", Position::Receptionist, Some("frontdesk"), date(2016, 11, 1), "FFFFF--"),
    DemoPerson {
        employment: EmploymentType::PartTime,
        ..person("Tyler", "Brooks", Position::Receptionist, None, date(2024, 6, 3), "AA-AA1-")
    },
    person("Chris", "Taylor", Position::PracticeManager, Some("manager"), date(2014, 5, 19), "FFFFF--"),
    person("Dana", "Wright", Position::Billing, Some("billing"), date(2019, 10, 7), "MFMFM--"),
];

/// Opening hours per weekday, Monday first (as `Location::week` gives them).
pub type Week = [Option<(Time, Time)>; 7];

const fn hm(h: i8, m: i8) -> Time {
    Time::constant(h, m, 0, 0)
}

fn minutes(t: Time) -> i32 {
    i32::from(t.hour()) * 60 + i32::from(t.minute())
}

fn at(m: i32) -> Time {
    Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).expect("plan times stay within one day")
}

fn add_days(d: Date, n: i64) -> Date {
    d.saturating_add(Span::new().days(n))
}

/// 0 in even weeks, 1 in odd ones, counted in whole weeks from a Monday (stable across years).
fn week_parity(d: Date) -> u8 {
    ((d - date(2001, 1, 1)).get_days().div_euclid(7).rem_euclid(2)) as u8
}

/// Where someone works on `d`, given the day's opening hours: `(start, end)` local times.
fn working_span(part: Part, hours: Option<(Time, Time)>, d: Date) -> Option<(Time, Time)> {
    let (open, close) = hours?;
    let span = match part {
        Part::Off => return None,
        Part::Full => (open, close),
        Part::Morning => (open, close.min(hm(13, 0))),
        Part::Afternoon => (open.max(hm(12, 0)), close),
        Part::Rota(p) if p == week_parity(d) => (open, close),
        Part::Rota(_) => return None,
    };
    (span.0 < span.1).then_some(span)
}

/// An hour's lunch on a long day, half an hour on a medium one.
fn break_for(start: Time, end: Time) -> u16 {
    match minutes(end) - minutes(start) {
        481.. => 60,
        301.. => 30,
        _ => 0,
    }
}

/// The staff profile of `p`. Veterinarians can prescribe; surgeons can operate; the front
/// desk, the manager and billing take payments. Licences run to the end of next year.
pub fn staff_profile(
    p: &DemoPerson,
    user_id: Option<UserId>,
    location: LocationId,
    hours: &Week,
    today: Date,
) -> CreateStaff {
    let vet = p.position == Position::Veterinarian;
    let weekly_pattern = p
        .week
        .iter()
        .enumerate()
        .filter(|(_, part)| matches!(part, Part::Full | Part::Morning | Part::Afternoon))
        .filter_map(|(i, part)| {
            let day = Day::of(Weekday::from_monday_one_offset(i as i8 + 1).expect("0..7 is a weekday"));
            // Rota days alternate, so the usual week leaves them out; the date only matters for those.
            working_span(*part, hours[i], today).map(|(start, end)| PatternSpan { day, start, end })
        })
        .collect();
    CreateStaff {
        user_id,
        first_name: p.first_name.to_owned(),
        last_name: p.last_name.to_owned(),
        email: Some(format!("{}.{}@clinic.example.com", ascii_fold(p.first_name), ascii_fold(p.last_name))),
        phone: None,
        position: p.position,
        employment_type: p.employment,
        hire_date: Some(p.hired),
        licence: p.licence.map(|number| Licence {
            number: number.to_owned(),
            state: "OR".to_owned(),
            expires_on: Date::new(today.year().saturating_add(1), 12, 31).ok(),
        }),
        capabilities: Capabilities {
            can_prescribe: vet,
            can_perform_surgery: p.surgeon,
            can_access_billing: matches!(
                p.position,
                Position::Receptionist | Position::PracticeManager | Position::Billing
            ),
        },
        home_location_id: Some(location),
        weekly_pattern,
    }
}

/// Seed of the schedule: its own stream, so planning never changes the generated clinic.
const SCHEDULE_SEED: u64 = SEED ^ 0x5C4E_D01E_5C4E_D01E;

/// Shifts run from a week before today to two weeks after; appointments a week either side.
pub const SHIFT_DAYS: (i64, i64) = (-7, 14);
pub const VISIT_DAYS: (i64, i64) = (-7, 7);

/// One planned shift; `person` indexes [`PEOPLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedShift {
    pub person: usize,
    pub date: Date,
    pub start: Time,
    pub end: Time,
    pub break_minutes: u16,
}

/// The one time-off request, approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTimeOff {
    pub person: usize,
    pub first_day: Date,
    pub last_day: Date,
    pub reason: &'static str,
    pub note: &'static str,
}

impl PlannedTimeOff {
    fn covers(&self, person: usize, d: Date) -> bool {
        self.person == person && (self.first_day..=self.last_day).contains(&d)
    }
}

/// What becomes of a booked appointment; [`status_path`] turns it into workflow moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub fate: Fate,
    /// How many hours before the start the owner confirmed (answering a reminder, or at
    /// booking); 0 if they never did.
    pub confirm_hours: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Seen,
    NoShow,
    /// Cancelled before the visit, with the reason given.
    Cancelled(&'static str),
}

/// One planned appointment. `vet` indexes [`PEOPLE`], `room` [`ROOMS`]; `type_name` is
/// one of the default appointment types, `minutes` and `buffer_minutes` its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVisit {
    pub date: Date,
    pub start: Time,
    pub minutes: u16,
    pub buffer_minutes: u16,
    pub vet: usize,
    pub room: usize,
    pub type_name: &'static str,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub reason: String,
    pub outcome: Outcome,
}

/// Who works when, the approved time off, and the appointments around `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulePlan {
    pub shifts: Vec<PlannedShift>,
    pub time_off: PlannedTimeOff,
    pub visits: Vec<PlannedVisit>,
}

/// Plans the demo schedule around `today` for a location with opening hours `hours` and
/// closed on `closed` dates. Pure: the same inputs give the same plan. Nobody works on
/// approved time off; nobody (vet, room or cat) is in two appointments at once, counting
/// each type's buffer; procedures go to surgeons, in the morning, in their own rooms.
pub fn plan_schedule(
    today: Date,
    hours: &Week,
    closed: &[Date],
    patients: &[(PatientId, CreatePatient)],
) -> SchedulePlan {
    let mut rng = SplitMix64(SCHEDULE_SEED);
    let time_off = plan_time_off(today);
    let mut shifts = Vec::new();
    for offset in SHIFT_DAYS.0..=SHIFT_DAYS.1 {
        let d = add_days(today, offset);
        if closed.contains(&d) {
            continue;
        }
        let open = hours[Day::of(d.weekday()).index()];
        for (i, p) in PEOPLE.iter().enumerate() {
            if !p.clinical() || time_off.covers(i, d) {
                continue;
            }
            if let Some((start, end)) = working_span(p.week[Day::of(d.weekday()).index()], open, d) {
                shifts.push(PlannedShift { person: i, date: d, start, end, break_minutes: break_for(start, end) });
            }
        }
    }
    let visits = plan_visits(&mut rng, today, hours, &shifts, patients);
    SchedulePlan { shifts, time_off, visits }
}

/// Dr. Patel is at a conference on the first Thursday and Friday at least three days away.
fn plan_time_off(today: Date) -> PlannedTimeOff {
    let mut first = add_days(today, 3);
    while first.weekday() != Weekday::Thursday {
        first = add_days(first, 1);
    }
    PlannedTimeOff {
        person: PEOPLE.iter().position(|p| p.username == Some("drpatel")).expect("Dr. Patel is on the staff"),
        first_day: first,
        last_day: add_days(first, 1),
        reason: "Continuing education: feline medicine conference",
        note: "Approved; Dr. Nakamura covers the Friday rechecks.",
    }
}

/// What the plan knows of a cat.
struct Cat {
    id: PatientId,
    client: ClientId,
    age_days: Option<i64>,
    sex: Option<Sex>,
    intact: bool,
}

/// The cats not yet booked; each cat is booked at most once in the plan, so no cat can be
/// in two places at once.
struct CatPool {
    cats: Vec<Cat>,
    used: Vec<bool>,
    households: HashMap<ClientId, Vec<usize>>,
}

impl CatPool {
    fn new(patients: &[(PatientId, CreatePatient)], today: Date) -> CatPool {
        let cats: Vec<Cat> = patients
            .iter()
            .map(|(id, p)| Cat {
                id: *id,
                client: p.client_id,
                age_days: p.date_of_birth.map(|b| i64::from((today - b).get_days())),
                sex: p.sex,
                intact: p.reproductive_status == Some(ReproductiveStatus::Intact),
            })
            .collect();
        let mut households: HashMap<ClientId, Vec<usize>> = HashMap::new();
        for (i, c) in cats.iter().enumerate() {
            households.entry(c.client).or_default().push(i);
        }
        CatPool { used: vec![false; cats.len()], cats, households }
    }

    /// A random unbooked cat that suits `fit`, if one turns up in a few hundred draws.
    fn take(&mut self, rng: &mut SplitMix64, fit: Fit) -> Option<usize> {
        if self.cats.is_empty() {
            return None;
        }
        for _ in 0..400 {
            let i = rng.below(self.cats.len() as u64) as usize;
            if !self.used[i] && fit.suits(&self.cats[i]) {
                self.used[i] = true;
                return Some(i);
            }
        }
        None
    }

    /// Another unbooked cat of the same household.
    fn sibling(&mut self, of: usize) -> Option<usize> {
        let i = *self.households.get(&self.cats[of].client)?.iter().find(|&&j| !self.used[j])?;
        self.used[i] = true;
        Some(i)
    }
}

/// Which cats a kind of visit suits (ages in days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    Any,
    /// Under six months.
    Kitten,
    /// Six months to seven years (or age unknown).
    Adult,
    /// Seven years and over (DOMAIN.md: senior from 7, geriatric from 11).
    Senior,
    /// Fourteen years and over.
    Elderly,
    /// Old enough for vaccines (8 weeks).
    Vaccinable,
    /// Intact, four months to three years: spay or neuter.
    Intact,
    /// Three years and over (or age unknown): dental disease.
    Dental,
}

impl Fit {
    fn suits(self, c: &Cat) -> bool {
        let age = c.age_days;
        match self {
            Fit::Any => true,
            Fit::Kitten => age.is_some_and(|a| a < 183),
            Fit::Adult => age.is_none_or(|a| (183..2_557).contains(&a)),
            Fit::Senior => age.is_some_and(|a| a >= 2_557),
            Fit::Elderly => age.is_some_and(|a| a >= 5_113),
            Fit::Vaccinable => age.is_none_or(|a| a >= 56),
            Fit::Intact => c.intact && c.sex.is_some() && age.is_some_and(|a| (120..1_096).contains(&a)),
            Fit::Dental => age.is_none_or(|a| a >= 1_096),
        }
    }
}

/// Exam-room visits: type, relative frequency, the cats it suits, and whether a second cat
/// of the household often comes along.
const VISITS: &[(&str, u64, Fit, bool)] = &[
    ("Wellness exam", 26, Fit::Adult, true),
    ("Sick visit", 22, Fit::Any, false),
    ("Vaccination", 14, Fit::Vaccinable, true),
    ("Recheck", 14, Fit::Any, false),
    ("Senior wellness exam", 10, Fit::Senior, true),
    ("New kitten visit", 6, Fit::Kitten, true),
    ("Nail trim", 5, Fit::Any, false),
    ("Quality-of-life consultation", 2, Fit::Elderly, false),
];
const SPAY: &str = "Spay or neuter";
const DENTAL: &str = "Dental cleaning";

/// Chance (per mille) that a free quarter hour of a vet's exam time starts an appointment:
/// about twelve appointments on a full day, with some gaps left for walk-ins.
const BOOKING_CHANCE: (u64, u64) = (450, 650);

/// The length and buffer of a default appointment type.
fn type_spec(name: &str) -> (u16, u16) {
    default_appointment_types()
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| (t.duration_minutes.unwrap_or(DEFAULT_DURATION), t.buffer_after_minutes))
        .unwrap_or_else(|| panic!("{name} is one of the default appointment types"))
}

fn plan_visits(
    rng: &mut SplitMix64,
    today: Date,
    hours: &Week,
    shifts: &[PlannedShift],
    patients: &[(PatientId, CreatePatient)],
) -> Vec<PlannedVisit> {
    let specs: HashMap<&str, (u16, u16)> =
        VISITS.iter().map(|v| v.0).chain([SPAY, DENTAL]).map(|n| (n, type_spec(n))).collect();
    let vets: Vec<usize> = (0..PEOPLE.len()).filter(|&i| PEOPLE[i].position == Position::Veterinarian).collect();
    let mut pool = CatPool::new(patients, today);
    let mut out = Vec::new();
    for offset in VISIT_DAYS.0..=VISIT_DAYS.1 {
        let d = add_days(today, offset);
        let on_duty: Vec<&PlannedShift> = shifts.iter().filter(|s| s.date == d && vets.contains(&s.person)).collect();
        // Procedures only on full clinic days, by surgeons there from the start; who gets
        // the surgery and who the dental room alternates day by day.
        let long_day =
            hours[Day::of(d.weekday()).index()].is_some_and(|(open, close)| minutes(close) - minutes(open) >= 480);
        let mut surgeons: Vec<&PlannedShift> = on_duty
            .iter()
            .copied()
            .filter(|s| long_day && PEOPLE[s.person].surgeon && s.start <= hm(10, 0) && s.end >= hm(12, 0))
            .collect();
        if !surgeons.is_empty() {
            let turn = (d - date(2001, 1, 1)).get_days().rem_euclid(surgeons.len() as i32) as usize;
            surgeons.rotate_left(turn);
        }
        let mut theatre: HashMap<usize, usize> = HashMap::new();
        for (s, room) in surgeons.iter().zip([SURGERY_ROOM, DENTAL_ROOM]) {
            if rng.chance(800) {
                theatre.insert(s.person, room);
            }
        }
        for s in on_duty {
            let rank = vets.iter().position(|&v| v == s.person).expect("on_duty holds vets only");
            let mut day =
                VetDay { rng: &mut *rng, pool: &mut pool, specs: &specs, out: &mut out, date: d, vet: s.person };
            let (start, end) = (minutes(s.start), minutes(s.end));
            // An hour's lunch from 12:30 splits a long shift that spans it.
            let segments = if s.break_minutes >= 60 && start < 750 && end > 810 {
                vec![(start, 750), (810, end)]
            } else {
                vec![(start, end)]
            };
            let busy = day.rng.between(BOOKING_CHANCE.0, BOOKING_CHANCE.1);
            for (k, &(from, to)) in segments.iter().enumerate() {
                match theatre.get(&s.person) {
                    // Admissions take the first half hour; the rest of the morning after
                    // the procedures is for recovery and calls.
                    Some(&room) if k == 0 => day.procedures(from + 30, to, room),
                    _ => day.exams(from, to, rank % EXAM_ROOMS, busy),
                }
            }
        }
    }
    out
}

/// Fills one vet's day.
struct VetDay<'a> {
    rng: &'a mut SplitMix64,
    pool: &'a mut CatPool,
    specs: &'a HashMap<&'static str, (u16, u16)>,
    out: &'a mut Vec<PlannedVisit>,
    date: Date,
    vet: usize,
}

/// Minutes rounded up to the quarter hour: appointments start on the quarter hour.
fn quarter_hours(m: i32) -> i32 {
    (m + 14) / 15 * 15
}

impl VetDay<'_> {
    /// Books `cat` for `type_name` at `t` if it ends (with its buffer) by `end`; returns
    /// where the next appointment may start.
    fn place(&mut self, t: i32, end: i32, room: usize, type_name: &'static str, cat: usize) -> Option<i32> {
        let (length, buffer) = self.specs[type_name];
        let blocked = i32::from(length) + i32::from(buffer);
        if t + blocked > end {
            return None;
        }
        let c = &self.pool.cats[cat];
        let reason = visit_reason(self.rng, type_name, c);
        let outcome = outcome(self.rng, type_name);
        self.out.push(PlannedVisit {
            date: self.date,
            start: at(t),
            minutes: length,
            buffer_minutes: buffer,
            vet: self.vet,
            room,
            type_name,
            client_id: c.client,
            patient_id: c.id,
            reason,
            outcome,
        });
        Some(t + quarter_hours(blocked))
    }

    /// Spays, neuters or dentals back to back from `t`, as many as fit (at most three).
    fn procedures(&mut self, mut t: i32, end: i32, room: usize) {
        let (type_name, fit) = if room == DENTAL_ROOM { (DENTAL, Fit::Dental) } else { (SPAY, Fit::Intact) };
        for _ in 0..3 {
            let (length, buffer) = self.specs[type_name];
            if t + i32::from(length + buffer) > end {
                return;
            }
            let Some(cat) = self.pool.take(self.rng, fit) else { return };
            match self.place(t, end, room, type_name, cat) {
                Some(next) => t = next,
                None => return,
            }
        }
    }

    /// Exam-room appointments from `t` to `end`: every free quarter hour starts one with
    /// chance `busy` per mille; some owners bring a second cat.
    fn exams(&mut self, mut t: i32, end: i32, room: usize, busy: u64) {
        while t + 10 <= end {
            if !self.rng.chance(busy) {
                t += 15;
                continue;
            }
            let &(type_name, _, fit, household) = self.rng.weighted_by(VISITS, |v| v.1);
            let (length, buffer) = self.specs[type_name];
            if t + i32::from(length + buffer) > end {
                t += 15;
                continue;
            }
            let Some(cat) = self.pool.take(self.rng, fit) else {
                t += 15;
                continue;
            };
            t = self.place(t, end, room, type_name, cat).unwrap_or(t + 15);
            if household
                && self.rng.chance(250)
                && let Some(second) = self.pool.sibling(cat)
            {
                let c = &self.pool.cats[second];
                let second_type = [("New kitten visit", Fit::Kitten), ("Senior wellness exam", Fit::Senior)]
                    .into_iter()
                    .find(|(_, f)| f.suits(c))
                    .map_or(if type_name == "Vaccination" { "Vaccination" } else { "Wellness exam" }, |(n, _)| n);
                match self.place(t, end, room, second_type, second) {
                    Some(next) => t = next,
                    // No room left today: the second cat stays unbooked.
                    None => self.pool.used[second] = false,
                }
            }
        }
    }
}

fn visit_reason(rng: &mut SplitMix64, type_name: &str, c: &Cat) -> String {
    let senior = Fit::Senior.suits(c);
    let male = c.sex == Some(Sex::Male);
    match type_name {
        SPAY => {
            let what = if male { "Neuter" } else { "Spay" };
            if rng.chance(300) { format!("{what} and microchip") } else { what.to_owned() }
        }
        DENTAL => {
            let grade = rng.between(1, 4);
            let extractions = if grade >= 2 && rng.chance(600) { "; possible extractions" } else { "" };
            format!("Dental cleaning under anaesthesia, grade {grade} dental disease{extractions}")
        }
        "Sick visit" if male && rng.chance(60) => {
            "Straining in the litter box, little urine – rule out a blocked urethra".to_owned()
        }
        "Sick visit" if senior && rng.chance(350) => rng.text(SICK_SENIOR),
        "Sick visit" => rng.text(SICK),
        "Recheck" if senior && rng.chance(450) => rng.text(RECHECK_SENIOR),
        "Recheck" => rng.text(RECHECK),
        "Vaccination" if Fit::Kitten.suits(c) => rng.text(VACCINES_KITTEN),
        "Vaccination" => rng.text(VACCINES_ADULT),
        "Wellness exam" => rng.text(WELLNESS),
        "Senior wellness exam" => rng.text(SENIOR_WELLNESS),
        "New kitten visit" => rng.text(KITTEN_VISIT),
        "Quality-of-life consultation" => rng.text(QUALITY_OF_LIFE),
        _ => "Nail trim".to_owned(),
    }
}

/// Most appointments are kept; about 4 % are no-shows and 7 % are cancelled. Three
/// owners in four confirm, most of them when the reminder arrives two days before.
fn outcome(rng: &mut SplitMix64, type_name: &str) -> Outcome {
    let fate = match rng.below(1000) {
        0..40 => Fate::NoShow,
        40..110 => {
            let reasons = if type_name == SPAY || type_name == DENTAL { CANCEL_PROCEDURE } else { CANCEL };
            let reason = *rng.pick(reasons);
            Fate::Cancelled(reason)
        }
        _ => Fate::Seen,
    };
    Outcome { fate, confirm_hours: *rng.weighted(CONFIRM_HOURS) }
}

/// The workflow moves (each with a reason when one is needed) that bring a just-booked
/// appointment from `scheduled` to where it would be at `now`: past ones completed,
/// no-show or cancelled; the current one in progress; the next quarter hour checked in;
/// later ones confirmed once the owner has confirmed. Future appointments are never
/// cancelled or missed yet.
pub fn status_path(
    o: &Outcome,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Vec<(Status, Option<&'static str>)> {
    let mut path = Vec::new();
    let confirmed_at = start.saturating_sub(SignedDuration::from_hours(o.confirm_hours.into())).unwrap_or(start);
    if o.confirm_hours > 0 && now >= confirmed_at {
        path.push((Status::Confirmed, None));
    }
    if now < start {
        if o.fate == Fate::Seen && start.duration_since(now) <= SignedDuration::from_mins(15) {
            path.push((Status::CheckedIn, None));
        }
        return path;
    }
    match o.fate {
        Fate::NoShow => path.push((Status::NoShow, None)),
        Fate::Cancelled(reason) => path.push((Status::Cancelled, Some(reason))),
        Fate::Seen => {
            path.extend([(Status::CheckedIn, None), (Status::InProgress, None)]);
            if now >= end {
                path.push((Status::Completed, None));
            }
        }
    }
    path
}

// ---- Tables (the long ones are left unformatted so they stay compact) ----

type Texts = &'static [&'static str];

// Schedule texts.

/// Hours before the start that owners confirm (0: never), by frequency.
const CONFIRM_HOURS: &[(u16, u64)] = &[(0, 25), (24, 20), (36, 20), (48, 20), (336, 15)];

#[rustfmt::skip]
const WELLNESS: &[&str] = &[
    "Annual wellness exam", "Annual wellness exam", "Annual wellness exam", "Annual exam and vaccines",
    "Annual exam and vaccines", "Annual exam; owner asks about weight gain",
    "New client – wellness exam and records review", "Annual exam and flea prevention refill",
    "Wellness exam before a move (health certificate)",
];

#[rustfmt::skip]
const SENIOR_WELLNESS: &[&str] = &[
    "Senior wellness exam with bloodwork and urinalysis", "Senior exam and blood pressure check",
    "Senior wellness – owner notes some weight loss", "Six-month senior check and bloodwork",
];

#[rustfmt::skip]
const KITTEN_VISIT: &[&str] = &[
    "New kitten – first exam, deworming, FVRCP #1", "Newly adopted from the shelter – exam and records review",
    "New kitten: FeLV/FIV test and first vaccines", "Kitten exam, FVRCP booster and deworming",
];

#[rustfmt::skip]
const VACCINES_KITTEN: &[&str] = &[
    "FVRCP booster (kitten series)", "FVRCP and FeLV boosters (kitten series)", "Final kitten FVRCP booster and rabies",
];

#[rustfmt::skip]
const VACCINES_ADULT: &[&str] = &[
    "FVRCP booster (every 3 years)", "Rabies booster", "FeLV booster (indoor-outdoor cat)", "FVRCP and rabies boosters",
    "One-year FVRCP, FeLV and rabies boosters",
];

#[rustfmt::skip]
const SICK: &[&str] = &[
    "Vomiting for two days", "Not eating since yesterday", "Sneezing and discharge from both eyes",
    "Diarrhoea for three days", "Limping on the right hind leg", "Scratching at the ears and shaking the head",
    "Swelling on the cheek – possible bite abscess", "Hair loss on the belly from overgrooming",
    "Lump on the left side", "Coughing fits – owner has a video", "Squinting, left eye watery",
    "Hiding and lethargic since the weekend", "Urinating outside the litter box",
];

#[rustfmt::skip]
const SICK_SENIOR: &[&str] = &[
    "Weight loss despite a good appetite", "Drinking and urinating more than usual", "Bad breath and dropping food",
    "Stiff and reluctant to jump", "Eating less; lost weight since the last visit", "Vomiting more often, thinner",
];

#[rustfmt::skip]
const RECHECK: &[&str] = &[
    "Recheck – upper respiratory infection", "Recheck – ear infection", "Recheck – overgrooming and skin",
    "Incision check after spay", "Recheck – cystitis, urine sample", "Recheck – corneal ulcer (fluorescein stain)",
    "Weigh-in on the weight-loss plan", "Recheck – bite abscess", "Suture removal",
];

#[rustfmt::skip]
const RECHECK_SENIOR: &[&str] = &[
    "Recheck – CKD bloodwork (creatinine, SDMA) and blood pressure", "Recheck – T4 on methimazole",
    "Recheck – glucose curve (diabetes)", "Recheck – blood pressure on amlodipine", "Recheck after dental extractions",
];

#[rustfmt::skip]
const QUALITY_OF_LIFE: &[&str] = &[
    "Quality-of-life discussion – end-stage kidney disease", "Quality-of-life consultation – eating less, very thin",
    "Quality-of-life consultation – lymphoma", "Quality-of-life consultation – mobility and pain",
];

#[rustfmt::skip]
const CANCEL: &[&str] = &[
    "Could not get the cat into the carrier", "Owner is unwell", "Cat is doing better; owner will call if needed",
    "Work conflict – owner will rebook", "Car trouble", "Owner travelling – will rebook after the trip",
];

#[rustfmt::skip]
const CANCEL_PROCEDURE: &[&str] = &[
    "Cat ate breakfast – anaesthesia postponed", "Owner wants a written estimate first",
    "Cat is sneezing – procedure postponed until recovered",
];

const FOLD_FROM: &str = "àáâãäåāąçčćđðèéêëēęễěğìíîïıłñńòóôõöøőřśšşùúûüůýÿžźż";
const FOLD_TO: &str = "aaaaaaaacccddeeeeeeeegiiiiilnnooooooorsssuuuuuyyzzz";
const TORTIE: &[&str] = &["calico", "tortoiseshell", "tortie", "torbie", "blue-cream"];
const UNIT_KINDS: &[&str] = &["Apt", "Apt", "Unit"];
const HANDLING_TIERS: &[(Level, u64)] = &[(Level::Mild, 60), (Level::Moderate, 30), (Level::Severe, 10)];
const CATS_PER_CLIENT: &[(u64, u64)] = &[(1, 48), (2, 32), (3, 20)];
const EMAIL_DOMAINS: &[(&str, u64)] = &[("example.com", 60), ("example.net", 25), ("example.org", 15)];
const CONTACT_NO_EMAIL: &[(PreferredContact, u64)] = &[(PreferredContact::Sms, 60), (PreferredContact::Phone, 40)];
#[rustfmt::skip]
const CONTACT_WITH_EMAIL: &[(PreferredContact, u64)] =
    &[(PreferredContact::Email, 45), (PreferredContact::Sms, 35), (PreferredContact::Phone, 20)];
/// Age bands in days: kitten, adult (1–7 y), senior (7–11 y), geriatric (11–17 y), super-senior.
#[rustfmt::skip]
const AGE_BANDS: &[((u64, u64), u64)] =
    &[((42, 365), 13), ((365, 2_557), 45), ((2_557, 4_018), 22), ((4_018, 6_209), 17), ((6_209, 7_670), 3)];
/// ISO 11784 prefixes: HomeAgain, Datamars/PetLink, 24PetWatch, AKC Reunite, Destron Fearing, others.
#[rustfmt::skip]
const CHIP_PREFIXES: &[(&str, u64)] =
    &[("985112", 30), ("981020", 25), ("982000", 12), ("956000", 10), ("941000", 8), ("900164", 10), ("900215", 5)];

/// The first clients, fixed so that search demos (accents, spelling variants) always work.
#[rustfmt::skip]
const FIXED_CLIENTS: &[(&str, &str)] = &[
    ("John", "Smith"), ("Jon", "Smyth"), ("Jonathan", "Smith"), ("Joan", "Smith"), ("John", "Smythe"),
    ("Johnny", "Smith"), ("Jane", "Smith"), ("Zoë", "Martin"), ("Zoe", "Martin"), ("José", "García"),
    ("Jose", "Garcia"), ("Björn", "Andersson"), ("Chloé", "Dubois"), ("Renée", "Lefèvre"), ("Siobhán", "O'Connor"),
    ("François", "Côté"), ("Søren", "Østergaard"), ("María José", "Núñez-Peña"), ("Anh", "Nguyễn"),
    ("Mary-Kate", "O'Neill"), ("Þóra", "Jónsdóttir"), ("Łukasz", "Wiśniewski"), ("Ayşe", "Yılmaz"),
];

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen", "Daniel", "Lisa",
    "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley", "Andrew", "Emily", "Joshua",
    "Michelle", "Kevin", "Amanda", "Brian", "Melissa", "Ryan", "Stephanie", "Jacob", "Rebecca", "Nicholas", "Laura",
    "Tyler", "Megan", "Brandon", "Hannah", "Justin", "Olivia", "Ethan", "Emma", "Noah", "Ava", "Liam", "Sophia",
    "Mason", "Madison", "Logan", "Abigail", "Caleb", "Grace", "Dylan", "Chloe", "Owen", "Zoe", "Evan", "Claire", "Ian",
    "Hailey", "Colin", "Morgan", "Jordan", "Taylor", "Casey", "Riley", "Avery", "Quinn", "Jon", "Jane", "Kathy",
    "José", "María", "Juan", "Guadalupe", "Luis", "Carmen", "Carlos", "Rosa", "Jesús", "Ana", "Miguel", "Sofía",
    "Alejandro", "Valentina", "Diego", "Camila", "Andrés", "Lucía", "Javier", "Ximena", "Mateo", "Isabel", "Raúl",
    "Inés", "Ramón", "Tomás", "Wei", "Mei", "Jun", "Hiroshi", "Yuki", "Kenji", "Aiko", "Min-jun", "Ji-woo", "Seo-yeon",
    "Thanh", "Linh", "Minh", "Anh", "Arjun", "Priya", "Rahul", "Ananya", "Vikram", "Deepa", "Sanjay", "Kavya", "Rohan",
    "Aisha", "Jamal", "Aaliyah", "DeShawn", "Imani", "Malik", "Keisha", "Tyrone", "Ebony", "Kwame", "Amara", "Chidi",
    "Nia", "Darnell", "Latoya", "Zoë", "Chloé", "Renée", "Björn", "Søren", "Åsa", "Jürgen", "François", "Hélène",
    "Noémie", "Anaïs", "Léa", "Élodie", "Zoltán", "Małgorzata", "Łukasz", "Siobhán", "Seán", "Niamh", "Aoife", "Þóra",
    "Ayşe", "Omar", "Fatima", "Yusuf", "Layla", "Karim", "Nadia", "Reza", "Shirin", "Ali", "Leila", "Dmitri", "Olga",
    "Sergei", "Natasha", "Ivan", "Katya", "Nikolai", "Irina", "Kai", "Leilani", "Keanu", "Noelani", "Mary Ann",
];

/// The commonest US surnames, drawn more often than the long tail in [`LAST_NAMES`].
#[rustfmt::skip]
const COMMON_LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
];

#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers",
    "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox",
    "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz",
    "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "García", "Hernández", "Pérez", "Sánchez", "Martínez", "Núñez", "Muñoz", "Peña", "Ibáñez", "Müller", "Schäfer",
    "Köhler", "Weiß", "Andersson", "Björklund", "Lindqvist", "Østergaard", "Sørensen", "Håkansson", "Dubois",
    "Lefèvre", "Côté", "Gagnon", "Bélanger", "Tremblay", "Lévesque", "O'Brien", "O'Connor", "McCarthy", "MacDonald",
    "O'Neill", "Nowak", "Kowalski", "Wiśniewski", "Dvořák", "Novák", "Horváth", "Nagy", "Kovačević", "Jovanović",
    "Yılmaz", "Öztürk", "Papadopoulos", "Rossi", "Russo", "Esposito", "Bianchi", "Ferrari", "Tanaka", "Suzuki",
    "Watanabe", "Sato", "Yamamoto", "Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Wu", "Park", "Choi", "Jung", "Tran",
    "Pham", "Le", "Hoang", "Vu", "Nguyễn", "Shah", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Okafor", "Adeyemi",
    "Mensah", "Okonkwo", "Diallo", "Haddad", "Khalil", "Rahman", "Hosseini", "Cohen", "Levi", "Ivanov", "Petrov",
    "Volkov", "Kuznetsov", "Kahananui", "Silva", "Santos", "Oliveira", "Costa", "Pereira", "Hoffmann", "Schmidt",
    "Wagner", "Becker", "van der Berg", "De la Cruz", "St. John", "Smyth", "Smythe", "García-López", "Jones-Whitfield",
    "Jónsdóttir",
];

/// (city, state, ZIP codes, streets, weight): the Portland metro area the demo clinic serves.
#[rustfmt::skip]
const CITIES: &[(&str, &str, Texts, Texts, u64)] = &[
    ("Portland", "OR", &["97201", "97202", "97206", "97209", "97211", "97212", "97214", "97215", "97217", "97219",
        "97220", "97230", "97232", "97239"], PORTLAND_STREETS, 45),
    ("Beaverton", "OR", &["97005", "97006", "97007", "97008"], SUBURB_STREETS, 10),
    ("Gresham", "OR", &["97030", "97080"], SUBURB_STREETS, 6),
    ("Hillsboro", "OR", &["97123", "97124"], SUBURB_STREETS, 6),
    ("Tigard", "OR", &["97223", "97224"], SUBURB_STREETS, 5),
    ("Lake Oswego", "OR", &["97034", "97035"], SUBURB_STREETS, 4),
    ("Milwaukie", "OR", &["97222", "97267"], SUBURB_STREETS, 4),
    ("Oregon City", "OR", &["97045"], SUBURB_STREETS, 3),
    ("Tualatin", "OR", &["97062"], SUBURB_STREETS, 2),
    ("West Linn", "OR", &["97068"], SUBURB_STREETS, 2),
    ("Happy Valley", "OR", &["97086"], SUBURB_STREETS, 2),
    ("Vancouver", "WA", &["98660", "98661", "98662", "98664", "98665", "98682", "98683", "98684"], SUBURB_STREETS, 9),
    ("Camas", "WA", &["98607"], SUBURB_STREETS, 2),
];

/// Area codes of people who kept their mobile number after moving to Portland.
const FAR_AREA_CODES: &[&str] = &["206", "415", "212", "312", "617", "808", "512", "303", "702", "916", "213"];

#[rustfmt::skip]
const PORTLAND_STREETS: &[&str] = &[
    "SE Hawthorne Blvd", "SE Division St", "NE Alberta St", "NE Broadway", "NW 23rd Ave", "N Williams Ave",
    "SE Belmont St", "NE Sandy Blvd", "SW Capitol Hwy", "N Lombard St", "SE 82nd Ave", "NE Fremont St",
    "SW Macadam Ave", "NW Glisan St", "SE Foster Rd", "NE Killingsworth St", "N Mississippi Ave", "SE Woodstock Blvd",
];
#[rustfmt::skip]
const SUBURB_STREETS: &[&str] = &[
    "Maple St", "Oak Ave", "Cedar Ln", "Pine Ridge Dr", "Willow Ct", "Elm St", "Birch Way", "Hemlock Ave", "Meadow Ln",
    "Lakeview Dr", "Hillcrest Rd", "Park Ave", "Main St", "River Rd", "Fir Grove Ln", "Alder St", "Madrona Ct",
    "Douglas Fir Dr", "Orchard View Ln",
];

#[rustfmt::skip]
const CLIENT_ALERTS: &[&str] = &[
    "Prefers text messages only", "Outstanding balance – check with billing", "Hard of hearing – speak clearly",
    "Spanish-speaking", "Pays cash only", "Payment required at time of service",
    "Vietnamese-speaking – daughter translates", "Mobility impaired – offer curbside check-in", "Has a service dog",
    "Do not discuss euthanasia unless the owner raises it",
];

#[rustfmt::skip]
const CLIENT_NOTES: &[&str] = &[
    "Works nights; call after 2 pm.",
    "Dog at home as well – cats are stressed by dogs in the waiting room.",
    "Fosters kittens for a local rescue; may bring new kittens in for intake exams.",
    "Transferred from Eastside Animal Hospital; records received and scanned.",
    "Prefers appointments with Dr. Morgan.",
    "Lives with elderly mother who sometimes brings the cats in.",
    "Travels often; cat sitter is authorised to bring cats in for care.",
    "Asked for written estimates before any procedure.",
    "Previous cat treated here for CKD (deceased 2021).",
];

const CLIENT_TAGS: &[&str] = &["foster", "breeder", "staff family", "rescue partner", "senior client"];

#[rustfmt::skip]
const REFERRAL_SOURCES: &[&str] = &[
    "Google search", "Friend or family", "Yelp", "Nextdoor", "Drove by", "Shelter adoption", "Instagram",
    "Previous clinic closed", "Referred by another veterinarian",
];

#[rustfmt::skip]
const CAT_NAMES: &[&str] = &[
    "Mittens", "Luna", "Oliver", "Leo", "Milo", "Bella", "Chloe", "Simba", "Nala", "Tiger", "Smokey", "Shadow",
    "Pumpkin", "Cleo", "Charlie", "Lucy", "Max", "Kitty", "Jack", "Lily", "Loki", "Jasper", "Oreo", "Pepper", "Sophie",
    "Gracie", "Zoe", "Sasha", "Boots", "Socks", "Ginger", "Salem", "Midnight", "Whiskers", "Tigger", "Garfield",
    "Felix", "Sylvester", "Binx", "Mochi", "Sushi", "Tofu", "Miso", "Nori", "Boba", "Biscuit", "Cookie", "Peanut",
    "Butterscotch", "Marmalade", "Cheeto", "Nugget", "Waffles", "Pickles", "Olive", "Hazel", "Willow", "Daisy",
    "Rosie", "Penny", "Ruby", "Stella", "Lola", "Callie", "Kiki", "Misty", "Coco", "Mocha", "Latte", "Toast", "Bean",
    "Muffin", "Noodle", "Pip", "Gizmo", "Ziggy", "Bandit", "Rocky", "Buddy", "Oscar", "Sammy", "Toby", "Dexter",
    "Finn", "Gus", "Louie", "Murphy", "Winston", "Theo", "Ollie", "Frankie", "George", "Henry", "Arthur", "Archie",
    "Bear", "Zeus", "Apollo", "Athena", "Freya", "Thor", "Ozzy", "Pixel", "Luigi", "Yoda", "Hermione", "Dobby",
    "Mr. Whiskers", "Señor Bigotes", "Crème Brûlée", "Zoë", "Chloé", "Mimi", "Lulu", "Princess", "Duchess",
    "Bubbles", "Snowball", "Storm", "Smudge", "Patches", "Tux", "Figaro", "Sir Pounce", "Meatball", "Jellybean",
];

struct Breed {
    name: &'static str,
    /// Relative frequency in a US general-practice caseload.
    weight: u64,
    /// Colours and patterns seen in the breed; repeats make a colour more common.
    colors: &'static [&'static str],
}

const fn breed(name: &'static str, weight: u64, colors: &'static [&'static str]) -> Breed {
    Breed { name, weight, colors }
}

#[rustfmt::skip]
const MOGGY: &[&str] = &[
    "black", "black", "black", "brown tabby", "brown tabby", "orange tabby", "orange tabby", "grey tabby", "tuxedo",
    "tuxedo", "tortoiseshell", "calico", "dilute calico", "dilute tortoiseshell", "torbie", "grey", "white",
    "orange and white", "grey and white", "brown tabby and white", "silver tabby", "cream tabby", "black smoke",
    "lynx point", "seal point", "buff tabby",
];
const POINTS: &[&str] = &["seal point", "seal point", "blue point", "chocolate point", "lilac point"];
#[rustfmt::skip]
const PERSIAN: &[&str] =
    &["white", "black", "cream", "red", "blue", "silver chinchilla", "calico", "tortoiseshell", "blue-cream"];
const ABYSSINIAN: &[&str] = &["ruddy", "ruddy", "sorrel", "blue", "fawn"];
const REX: &[&str] = &["black", "white", "blue", "calico", "cream", "tortoiseshell", "seal point", "blue and white"];

#[rustfmt::skip]
const BREEDS: &[Breed] = &[
    breed("Domestic Shorthair", 520, MOGGY),
    breed("Domestic Longhair", 110, MOGGY),
    breed("Domestic Medium Hair", 75, MOGGY),
    breed("Maine Coon", 40, &["brown tabby", "brown tabby and white", "red tabby", "black", "silver tabby",
        "black smoke", "blue", "tortoiseshell", "white", "cream tabby"]),
    breed("Ragdoll", 35, &["seal point", "blue point", "seal mitted", "blue mitted", "seal bicolor", "blue bicolor",
        "seal lynx point", "flame point", "tortie point"]),
    breed("Siamese", 28, &["seal point", "seal point", "blue point", "chocolate point", "lilac point", "lynx point",
        "flame point", "tortie point"]),
    breed("Persian", 22, PERSIAN),
    breed("Bengal", 18, &["brown spotted", "brown spotted", "brown marbled", "snow lynx", "silver spotted"]),
    breed("British Shorthair", 18, &["blue", "blue", "lilac", "black", "cream", "silver tabby", "golden shaded"]),
    breed("Sphynx", 12, &["pink (hairless)", "black", "blue", "cream", "calico", "tortoiseshell", "black and white"]),
    breed("American Shorthair", 10, &["silver tabby", "silver tabby", "brown tabby", "red tabby", "black", "cream"]),
    breed("Russian Blue", 10, &["blue"]),
    breed("Scottish Fold", 9, &["blue", "silver tabby", "cream", "brown tabby", "white", "calico", "blue and white"]),
    breed("Abyssinian", 8, ABYSSINIAN),
    breed("Exotic Shorthair", 8, PERSIAN),
    breed("Himalayan", 8, &["seal point", "blue point", "flame point", "tortie point", "chocolate point"]),
    breed("Siberian", 7, &["brown tabby", "silver tabby", "neva masquerade", "black", "red tabby", "tortoiseshell"]),
    breed("Norwegian Forest Cat", 7, &["brown tabby and white", "silver tabby", "black", "white", "red tabby"]),
    breed("Devon Rex", 6, REX),
    breed("Burmese", 6, &["sable", "sable", "champagne", "blue", "platinum"]),
    breed("Birman", 5, POINTS),
    breed("Oriental Shorthair", 4, &["ebony", "chestnut", "blue", "cinnamon", "white", "lavender"]),
    breed("Tonkinese", 3, &["natural mink", "champagne mink", "blue mink", "platinum mink"]),
    breed("Cornish Rex", 3, REX),
    breed("Savannah", 3, &["brown spotted", "silver spotted", "black smoke", "black"]),
    breed("Manx", 3, &["brown tabby", "black", "orange tabby", "calico", "tuxedo"]),
    breed("Balinese", 2, POINTS),
    breed("Turkish Van", 2, &["red and white van", "cream and white van", "black and white van", "calico van"]),
    breed("Egyptian Mau", 2, &["silver spotted", "bronze spotted", "black smoke"]),
    breed("Somali", 2, ABYSSINIAN),
    breed("Ocicat", 1, &["tawny spotted", "chocolate spotted", "silver spotted", "cinnamon spotted"]),
    breed("Chartreux", 1, &["blue"]),
    breed("Selkirk Rex", 1, REX),
];

#[rustfmt::skip]
const ALLERGIES: &[&str] = &[
    "Penicillin", "Amoxicillin", "Chicken protein", "Fish", "Beef", "Dairy", "Flea saliva (flea allergy dermatitis)",
    "Cefovecin (Convenia) – facial swelling", "FeLV vaccine – lethargy and fever",
];

#[rustfmt::skip]
const INSURERS: &[(&str, u64)] = &[
    ("Trupanion", 25), ("Nationwide", 18), ("Healthy Paws", 16), ("Lemonade", 10), ("Pets Best", 10),
    ("Embrace", 8), ("ASPCA Pet Health Insurance", 8), ("Figo", 5),
];

#[rustfmt::skip]
const SEDATION: &[&str] = &[
    "Gabapentin 100 mg PO 2 h before visits", "Gabapentin 50 mg PO the night before and 2 h before visits",
    "Gabapentin 150 mg PO 2–3 h before visits (worked well last year)", "Trazodone 50 mg PO 90 min before visits",
    "Pregabalin oral solution (Bonqat) 5 mg/kg PO 90 min before visits",
    "Dexmedetomidine + butorphanol IM for exam and blood draw", "Alfaxalone IM for nail trim – smooth recovery",
];

#[rustfmt::skip]
const RESTRAINT: &[&str] = &[
    "Towel wrap (burrito), head out", "Minimal restraint – examine in the bottom half of the carrier",
    "Cat bag for injections", "Two-person hold, no scruffing", "Owner holds during exam",
    "Towel over the head, work from behind", "Exam on owner's lap",
];

#[rustfmt::skip]
const SAFETY: &[&str] = &[
    "Bites when handled at the rear", "Swats at faces – keep your face back",
    "Redirects when nails are trimmed – wear gloves", "Escape artist – close doors before opening the carrier",
    "Do not attempt a jugular draw without sedation", "Bites without warning when restrained",
];

#[rustfmt::skip]
const BEHAVIOR_HARD: &[&str] = &[
    "Hides in carrier; remove the top instead of tipping the cat out.",
    "Hisses and growls from the moment the carrier opens.", "Very fearful at the clinic, relaxed at home.",
    "Gets more reactive the longer the visit – keep it short.", "Food motivated: lickable treats help a lot.",
    "Tolerates the exam but not rectal temperature – use an ear thermometer.", "Needs a quiet room away from dogs.",
    "Pheromone spray (Feliway) on the towels helps.",
];

#[rustfmt::skip]
const BEHAVIOR_EASY: &[&str] = &[
    "Very friendly, loves chin scratches.", "Purrs through everything.", "Talkative, but it is chatter, not distress.",
    "Likes to explore the exam room – let the cat wander first.", "Easy patient; treats welcome.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::values::{Email, Microchip};
    use jiff::civil::date;

    const TODAY: Date = date(2026, 3, 15);

    /// Per mille of `items` for which `f` holds.
    fn share<T>(items: &[T], f: impl Fn(&T) -> bool) -> usize {
        items.iter().filter(|x| f(x)).count() * 1000 / items.len()
    }

    #[test]
    fn every_record_passes_validation() {
        let clinic = generate(TODAY);
        let owners: HashSet<ClientId> = clinic.clients.iter().map(|(id, _)| *id).collect();
        for (id, c) in &clinic.clients {
            c.validate("1").unwrap_or_else(|e| panic!("client {id} {c:?}: {e}"));
        }
        for (id, p) in &clinic.patients {
            p.validate(TODAY).unwrap_or_else(|e| panic!("patient {id} {p:?}: {e}"));
            assert!(owners.contains(&p.client_id), "patient {id} has no owner");
        }
    }

    #[test]
    fn the_clinic_is_deterministic_and_only_birth_dates_follow_today() {
        assert_eq!(format!("{:?}", generate(TODAY)), format!("{:?}", generate(TODAY)));
        let (now, later) = (generate(TODAY), generate(date(2031, 7, 1)));
        assert_eq!(format!("{:?}", now.clients), format!("{:?}", later.clients));
        let ids = |c: &DemoClinic| c.patients.iter().map(|(id, p)| (*id, p.name.clone())).collect::<Vec<_>>();
        assert_eq!(ids(&now), ids(&later));
    }

    #[test]
    fn counts_and_uniqueness() {
        let clinic = generate(TODAY);
        assert!(clinic.clients.len() >= 2_000, "{} clients", clinic.clients.len());
        assert!(clinic.patients.len() >= 3_000, "{} cats", clinic.patients.len());
        let client_ids: HashSet<_> = clinic.clients.iter().map(|(id, _)| id.as_u128()).collect();
        let patient_ids: HashSet<_> = clinic.patients.iter().map(|(id, _)| id.as_u128()).collect();
        assert_eq!(client_ids.len(), clinic.clients.len());
        assert_eq!(patient_ids.len(), clinic.patients.len());
        assert!(client_ids.is_disjoint(&patient_ids));
        let drafts: Vec<_> = clinic.clients.iter().map(|(_, c)| c.validate("1").unwrap()).collect();
        let emails: Vec<&Email> = drafts.iter().filter_map(|d| d.email.as_ref()).collect();
        assert!(emails.iter().all(|e| e.as_str().is_ascii()));
        assert_eq!(emails.iter().collect::<HashSet<_>>().len(), emails.len(), "emails unique ignoring case");
        let phones: HashSet<_> = drafts.iter().map(|d| &d.phone).collect();
        assert_eq!(phones.len(), drafts.len(), "primary phones are unique");
        let chip = |m: &str| Microchip::parse("microchip", m).unwrap();
        let chips: Vec<Microchip> =
            clinic.patients.iter().filter_map(|(_, p)| p.microchip.as_deref()).map(chip).collect();
        assert!(chips.iter().all(|m| m.as_str().len() == 15));
        assert_eq!(chips.iter().collect::<HashSet<_>>().len(), chips.len(), "microchips are unique");
    }

    #[test]
    fn tortoiseshell_and_calico_cats_are_female() {
        let clinic = generate(TODAY);
        let torties: Vec<_> =
            clinic.patients.iter().filter(|(_, p)| p.color.as_deref().is_some_and(is_tortie)).collect();
        assert!(torties.len() > 50);
        assert!(torties.iter().all(|(_, p)| p.sex == Some(Sex::Female)));
    }

    #[test]
    fn proportions_look_like_a_real_clinic() {
        let DemoClinic { clients, patients, .. } = generate(TODAY);
        assert!((650..750).contains(&share(&patients, |(_, p)| p.microchip.is_some())));
        assert!((120..180).contains(&share(&patients, |(_, p)| p.handling.is_some())));
        assert!((170..230).contains(&share(&patients, |(_, p)| p.insurance.is_some())));
        assert!((30..80).contains(&share(&clients, |(_, c)| !c.alerts.is_empty())));
        assert!(share(&patients, |(_, p)| p.date_of_birth_estimated) > 100);
        let age = |p: &CreatePatient| p.date_of_birth.map_or(-1, |d| (TODAY - d).get_days());
        assert!(patients.iter().any(|(_, p)| (0..120).contains(&age(p))), "some kittens are weeks old");
        assert!(patients.iter().any(|(_, p)| age(p) > 19 * 365), "some cats are about 20");
        let dsh = share(&patients, |(_, p)| p.breed.as_deref() == Some("Domestic Shorthair"));
        for b in &BREEDS[1..] {
            assert!(dsh > share(&patients, |(_, p)| p.breed.as_deref() == Some(b.name)), "{}", b.name);
        }
        let adults: Vec<_> = patients.iter().filter(|(_, p)| age(p) > 2 * 365).collect();
        let altered = share(&adults, |(_, p)| p.reproductive_status.is_some_and(|s| s != ReproductiveStatus::Intact));
        assert!(altered > 850, "most adults are spayed or neutered: {altered}");
        let names: Vec<_> = clients.iter().map(|(_, c)| (c.first_name.as_str(), c.last_name.as_str())).collect();
        for want in [("John", "Smith"), ("Jon", "Smyth"), ("Zoë", "Martin"), ("José", "García"), ("Chloé", "Dubois")]
        {
            assert!(names.contains(&want), "{want:?}");
        }
    }

    #[test]
    fn names_fold_to_ascii_for_emails() {
        assert_eq!(ascii_fold("Þóra Jónsdóttir"), "thorajonsdottir");
        assert_eq!(ascii_fold("María José Núñez-Peña O'Brien"), "mariajosenunezpenaobrien");
        assert_eq!(
            ascii_fold("Łukasz Wiśniewski, Søren, Nguyễn, Ayşe Yılmaz"),
            "lukaszwisniewskisorennguyenayseyilmaz"
        );
    }

    #[test]
    fn staff_accounts_are_usable() {
        let staff = generate(TODAY).staff;
        assert_eq!(staff.iter().map(|s| s.username).collect::<HashSet<_>>().len(), staff.len());
        for s in &staff {
            assert!(s.password.chars().count() >= 12, "{}", s.username);
            assert!(!s.password.contains(s.username), "{}", s.username);
            assert!(!s.roles.is_empty() && !s.display_name.is_empty());
        }
    }

    fn default_week() -> Week {
        let mut w: Week = [None; 7];
        for h in clowder_schemas::locations::default_hours() {
            w[h.day.index()] = Some((h.open, h.close));
        }
        w
    }

    fn plan() -> SchedulePlan {
        plan_schedule(TODAY, &default_week(), &[], &generate(TODAY).patients)
    }

    /// Minutes of the day a visit holds its vet, room and cat: start to end plus buffer.
    fn held(v: &PlannedVisit) -> (i32, i32) {
        (minutes(v.start), minutes(v.start) + i32::from(v.minutes + v.buffer_minutes))
    }

    fn instant(d: Date, t: Time) -> Timestamp {
        d.to_datetime(t).to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp()
    }

    /// FNV-1a (64-bit) of the text: a hash whose value is fixed by this code, not by a crate.
    fn fingerprint(text: &str) -> u64 {
        text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
    }

    /// The generated clinic, the schedule plan, the staff profiles and the holidays, exactly
    /// as this build makes them. Any change to a generator, a table or the order of draws
    /// changes this; so does a new field in a generated record. If the change is meant,
    /// update the numbers (the other tests say whether the new data still makes sense).
    #[test]
    fn the_demo_data_is_exactly_what_it_was() {
        let clinic = generate(TODAY);
        let profiles: Vec<CreateStaff> = PEOPLE
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let user = p.username.map(|_| UserId::from_u128(i as u128 + 1));
                staff_profile(p, user, LocationId::from_u128(1), &default_week(), TODAY)
            })
            .collect();
        let closed = holidays(2026);
        let plan = plan_schedule(date(2026, 3, 17), &default_week(), &closed, &clinic.patients);
        let got = [
            fingerprint(&format!("{clinic:?}")),
            fingerprint(&format!("{plan:?}")),
            fingerprint(&format!("{profiles:?}")),
            fingerprint(&format!("{closed:?}")),
        ];
        let want = [0xC8D7_1F52_7433_00D7, 0xE57B_0E53_A0A1_574E, 0x7A55_0852_1213_F200, 0x8B0B_22A0_A24B_3B58];
        assert_eq!(got, want, "the demo data changed");
    }

    #[test]
    fn the_schedule_plan_is_deterministic() {
        assert_eq!(plan(), plan());
        let other = plan_schedule(date(2026, 3, 18), &default_week(), &[], &generate(TODAY).patients);
        assert_ne!(plan().visits, other.visits, "the plan follows today");
    }

    #[test]
    fn no_vet_room_or_cat_is_double_booked_in_the_plan() {
        let p = plan();
        let cats: HashSet<PatientId> = p.visits.iter().map(|v| v.patient_id).collect();
        assert_eq!(cats.len(), p.visits.len(), "each cat comes once");
        for (i, a) in p.visits.iter().enumerate() {
            for b in &p.visits[i + 1..] {
                let ((a0, a1), (b0, b1)) = (held(a), held(b));
                let overlap = a.date == b.date && a0 < b1 && b0 < a1;
                assert!(!(overlap && a.vet == b.vet), "vet double-booked: {a:?} {b:?}");
                assert!(!(overlap && a.room == b.room), "room double-booked: {a:?} {b:?}");
            }
        }
    }

    #[test]
    fn every_visit_is_in_its_vets_shift_in_a_room_of_the_right_kind() {
        let p = plan();
        let types = default_appointment_types();
        for v in &p.visits {
            let t = types.iter().find(|t| t.name == v.type_name).expect("a default type");
            assert_eq!(Some(ROOMS[v.room].1), t.room_kind, "{v:?}");
            assert_eq!(PEOPLE[v.vet].position, Position::Veterinarian);
            let s = p.shifts.iter().find(|s| s.person == v.vet && s.date == v.date).expect("on shift");
            let (from, to) = held(v);
            assert!(minutes(s.start) <= from && to <= minutes(s.end), "{v:?} outside {s:?}");
            assert!(!p.time_off.covers(v.vet, v.date));
            assert_eq!(v.start.minute() % 15, 0, "on the quarter hour");
        }
    }

    #[test]
    fn procedures_are_for_surgeons_in_the_morning_and_suit_the_cat() {
        let p = plan();
        let clinic = generate(TODAY);
        let cats: HashMap<PatientId, &CreatePatient> = clinic.patients.iter().map(|(id, c)| (*id, c)).collect();
        let mut procedures = 0;
        for v in p.visits.iter().filter(|v| v.type_name == SPAY || v.type_name == DENTAL) {
            procedures += 1;
            assert!(PEOPLE[v.vet].surgeon, "{v:?}");
            assert!(v.start < hm(12, 0), "{v:?}");
            assert_ne!(v.date.weekday(), Weekday::Saturday);
            if v.type_name == SPAY {
                assert_eq!(cats[&v.patient_id].reproductive_status, Some(ReproductiveStatus::Intact));
            }
        }
        assert!(procedures >= 10, "{procedures} procedures");
        let owners: HashMap<PatientId, ClientId> = cats.iter().map(|(id, c)| (*id, c.client_id)).collect();
        assert!(p.visits.iter().all(|v| owners[&v.patient_id] == v.client_id), "each cat comes with its owner");
    }

    #[test]
    fn a_full_day_has_ten_to_fourteen_appointments_per_vet() {
        let p = plan();
        let mut per_day: Vec<usize> = p
            .shifts
            .iter()
            .filter(|s| PEOPLE[s.person].position == Position::Veterinarian && s.break_minutes == 60)
            .filter(|s| (add_days(TODAY, VISIT_DAYS.0)..=add_days(TODAY, VISIT_DAYS.1)).contains(&s.date))
            .map(|s| p.visits.iter().filter(|v| v.vet == s.person && v.date == s.date).collect::<Vec<_>>())
            // A morning of procedures leaves only the afternoon for exams.
            .filter(|day| day.iter().all(|v| ROOMS[v.room].1 == RoomKind::Exam))
            .map(|day| day.len())
            .collect();
        per_day.sort();
        let mean = per_day.iter().sum::<usize>() as f64 / per_day.len() as f64;
        assert!((10.0..=14.0).contains(&mean), "{mean} on average: {per_day:?}");
        assert!(per_day.len() >= 10, "{per_day:?}");
        let kinds: HashSet<&str> = p.visits.iter().map(|v| v.type_name).collect();
        assert!(kinds.len() >= 9, "{kinds:?}");
    }

    #[test]
    fn shifts_follow_the_week_the_opening_hours_and_the_time_off() {
        let p = plan();
        let hours = default_week();
        let days = (SHIFT_DAYS.0..=SHIFT_DAYS.1).map(|o| add_days(TODAY, o));
        for d in days {
            let open = hours[Day::of(d.weekday()).index()];
            let today: Vec<&PlannedShift> = p.shifts.iter().filter(|s| s.date == d).collect();
            let Some((o, c)) = open else {
                assert!(today.is_empty(), "nobody works on {d} (closed)");
                continue;
            };
            for s in &today {
                assert!(o <= s.start && s.end <= c && s.start < s.end, "{s:?}");
                assert!(PEOPLE[s.person].clinical());
                assert!(!p.time_off.covers(s.person, d));
                assert_eq!(today.iter().filter(|x| x.person == s.person).count(), 1);
            }
            let vets = |from: Time, to: Time| {
                today
                    .iter()
                    .filter(|s| PEOPLE[s.person].position == Position::Veterinarian)
                    .filter(|s| s.start <= from && to <= s.end)
                    .count()
            };
            if d.weekday() == Weekday::Saturday {
                assert_eq!(vets(o, c), 2, "two vets share each Saturday ({d})");
            } else {
                assert!(vets(o, hm(12, 0)) >= 2 && vets(hm(13, 0), c) >= 1, "cover on {d}: {today:?}");
            }
        }
        let t = &p.time_off;
        assert_eq!(PEOPLE[t.person].position, Position::Veterinarian);
        assert!(TODAY < t.first_day && t.last_day <= add_days(TODAY, 14));
        assert!(p.shifts.iter().any(|s| s.person == t.person && s.date > t.last_day), "back after the time off");
    }

    #[test]
    fn nobody_works_or_is_booked_on_a_closed_day() {
        let clinic = generate(TODAY);
        let tuesday = date(2026, 3, 17);
        let open = plan_schedule(tuesday, &default_week(), &[], &clinic.patients);
        assert!(open.shifts.iter().any(|s| s.date == tuesday) && open.visits.iter().any(|v| v.date == tuesday));
        let closed = plan_schedule(tuesday, &default_week(), &[tuesday], &clinic.patients);
        assert!(closed.shifts.iter().all(|s| s.date != tuesday) && closed.visits.iter().all(|v| v.date != tuesday));
        assert!(closed.visits.len() > 200, "the other days are still booked");
    }

    #[test]
    fn holidays_fall_on_their_days() {
        let h = holidays(2026);
        for d in [date(2026, 1, 1), date(2026, 5, 25), date(2026, 7, 4), date(2026, 9, 7), date(2026, 11, 26)] {
            assert!(h.contains(&d), "{d} in {h:?}");
        }
        assert_eq!((h.len(), holidays(2027)[4]), (6, date(2027, 11, 25)));
    }

    #[test]
    fn staff_profiles_are_valid_and_linked_to_the_demo_accounts() {
        let location = LocationId::from_u128(1);
        for (i, person) in PEOPLE.iter().enumerate() {
            let user = person.username.map(|_| UserId::from_u128(i as u128 + 1));
            let body = staff_profile(person, user, location, &default_week(), TODAY);
            let s = body.validate(clowder_schemas::StaffId::from_u128(1), Timestamp::UNIX_EPOCH).unwrap();
            assert_eq!(s.capabilities.can_prescribe, person.position == Position::Veterinarian);
            assert_eq!(s.licence.is_some(), person.position == Position::Veterinarian, "{}", person.last_name);
            assert!(!s.weekly_pattern.is_empty());
        }
        for account in STAFF.iter().filter(|s| s.username != "admin") {
            assert!(PEOPLE.iter().any(|p| p.username == Some(account.username)), "{}", account.username);
        }
        let vets = PEOPLE.iter().filter(|p| p.position == Position::Veterinarian).count();
        assert!(vets <= EXAM_ROOMS, "one exam room per vet");
        assert_eq!(PEOPLE.iter().filter(|p| p.surgeon).count(), 2);
        assert_eq!((ROOMS[SURGERY_ROOM].1, ROOMS[DENTAL_ROOM].1), (RoomKind::Surgery, RoomKind::Dental));
        assert!(ROOMS[..EXAM_ROOMS].iter().all(|r| r.1 == RoomKind::Exam));
    }

    #[test]
    fn status_paths_follow_the_workflow_and_the_clock() {
        use Status::*;
        let d = TODAY;
        let (start, end) = (instant(d, hm(10, 0)), instant(d, hm(10, 30)));
        let now = |h, m| instant(d, hm(h, m));
        let seen = Outcome { fate: Fate::Seen, confirm_hours: 24 };
        let path = |o: &Outcome, n| status_path(o, start, end, n).into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert_eq!(path(&seen, now(11, 0)), [Confirmed, CheckedIn, InProgress, Completed]);
        assert_eq!(path(&seen, now(10, 10)), [Confirmed, CheckedIn, InProgress]);
        assert_eq!(path(&seen, now(9, 50)), [Confirmed, CheckedIn]);
        assert_eq!(path(&seen, now(8, 0)), [Confirmed]);
        let unconfirmed = Outcome { confirm_hours: 0, ..seen };
        assert_eq!(path(&unconfirmed, now(11, 0)), [CheckedIn, InProgress, Completed], "scheduled → checked_in");
        let early = instant(add_days(d, -2), hm(9, 0));
        assert_eq!(path(&seen, early), [] as [Status; 0], "confirmed only once the reminder is answered");
        let no_show = Outcome { fate: Fate::NoShow, confirm_hours: 0 };
        assert_eq!(path(&no_show, now(9, 0)), [] as [Status; 0], "not a no-show before the start");
        assert_eq!(path(&no_show, now(12, 0)), [NoShow]);
        let cancelled = Outcome { fate: Fate::Cancelled("Car trouble"), confirm_hours: 48 };
        assert_eq!(path(&cancelled, now(9, 0)), [Confirmed], "future appointments are not cancelled yet");
        assert_eq!(
            status_path(&cancelled, start, end, now(12, 0)),
            [(Confirmed, None), (Cancelled, Some("Car trouble"))]
        );
    }

    #[test]
    fn every_planned_status_path_is_allowed_by_the_workflow() {
        // TODAY is a Sunday, when the clinic is closed: look at a Tuesday through the day.
        let tuesday = date(2026, 3, 17);
        let p = plan_schedule(tuesday, &default_week(), &[], &generate(TODAY).patients);
        let mut finals: HashMap<Status, usize> = HashMap::new();
        for (h, m) in [(8, 5), (9, 40), (11, 20), (14, 50), (16, 35)] {
            let now = instant(tuesday, hm(h, m));
            for v in &p.visits {
                let start = instant(v.date, v.start);
                let end = start.saturating_add(SignedDuration::from_mins(v.minutes.into())).unwrap();
                let mut status = Status::Scheduled;
                for (to, reason) in status_path(&v.outcome, start, end, now) {
                    assert!(status.allowed(start, now).contains(&to), "{status} → {to} for {v:?}");
                    assert_eq!(reason.is_some(), to == Status::Cancelled);
                    status = to;
                }
                if v.date > tuesday {
                    assert!(matches!(status, Status::Scheduled | Status::Confirmed), "{status} in the future");
                }
                *finals.entry(status).or_default() += 1;
            }
        }
        for s in Status::ALL {
            assert!(finals.get(&s).copied().unwrap_or(0) > 0, "no {s} in {finals:?}");
        }
        let missed = finals[&Status::NoShow] + finals[&Status::Cancelled];
        assert!(finals[&Status::Completed] > 5 * missed, "{finals:?}");
    }
}
