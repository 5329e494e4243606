//! The demo clients (cat owners in and around Portland, Oregon) and [`generate`], which draws
//! the whole clinic: each client followed by their cats (see `cats`). Names, addresses,
//! emails and phones, with the tables they are drawn from.
//!
//! Every record passes the schemas' own validation (`CreateClient::validate`,
//! `CreatePatient::validate`). Emails use the reserved `example.com`/`.net`/`.org` domains and
//! phone numbers the `555` exchange, so demo messages cannot reach real people.

use std::collections::HashSet;

use clowder_schemas::clients::{AddressInput, CreateClient, PreferredContact};
use clowder_schemas::ids::{ClientId, PatientId};
use clowder_schemas::patients::CreatePatient;
use jiff::civil::Date;
use ulid::Ulid;

use super::cats::Household;
use super::random::{SEED, SplitMix64};
use super::staff::{DemoStaff, STAFF};

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

/// The generator: the PRNG and what must stay unique across the clinic.
#[derive(Default)]
pub(super) struct Gen {
    pub(super) rng: SplitMix64,
    emails: HashSet<String>,
    phones: HashSet<String>,
    pub(super) chips: HashSet<String>,
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
            referral_code: None,
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
}

/// Lower-case ASCII letters and digits of a name, with accents removed (`Zoë` → `zoe`).
pub(super) fn ascii_fold(s: &str) -> String {
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
const UNIT_KINDS: &[&str] = &["Apt", "Apt", "Unit"];
const CATS_PER_CLIENT: &[(u64, u64)] = &[(1, 48), (2, 32), (3, 20)];
const EMAIL_DOMAINS: &[(&str, u64)] = &[("example.com", 60), ("example.net", 25), ("example.org", 15)];
const CONTACT_NO_EMAIL: &[(PreferredContact, u64)] = &[(PreferredContact::Sms, 60), (PreferredContact::Phone, 40)];
#[rustfmt::skip]
const CONTACT_WITH_EMAIL: &[(PreferredContact, u64)] =
    &[(PreferredContact::Email, 45), (PreferredContact::Sms, 35), (PreferredContact::Phone, 20)];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::cats::BREEDS;
    use crate::demo::tests::TODAY;
    use clowder_schemas::patients::ReproductiveStatus;
    use clowder_schemas::values::{Email, Microchip};
    use jiff::civil::date;

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
}
