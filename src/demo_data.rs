//! A realistic demo clinic: a few thousand clients (cat owners) in and around Portland, Oregon,
//! their cats, and a handful of staff accounts, for seeding a fresh server so the software can
//! be shown and exercised with believable data.
//!
//! Generation is pure and deterministic: a tiny self-contained PRNG ([`SplitMix64`], seeded by
//! [`SEED`]) draws from the fixed tables in this file, so the same build always produces the
//! same clinic, independent of the versions of any other crate. The only input, `today`, turns
//! ages into dates of birth; ids, names and everything else do not depend on it.
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

use std::collections::HashSet;

use clowder_schemas::clients::{AddressInput, CreateClient, PreferredContact};
use clowder_schemas::ids::{ClientId, PatientId};
use clowder_schemas::patients::{CreatePatient, HandlingInput, Level, ReproductiveStatus, Sex};
use jiff::Span;
use jiff::civil::Date;
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

// ---- Tables (the long ones are left unformatted so they stay compact) ----

type Texts = &'static [&'static str];

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
}
