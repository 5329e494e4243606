//! The demo cats: breed, colour and sex that agree (torties are female, most gingers male),
//! ages from kittens to twenty-year-olds, microchips, allergies, insurance and Fear Free
//! handling notes, with the tables they are drawn from. Littermates in one household share
//! a breed and a birthday.

use clowder_schemas::ids::ClientId;
use clowder_schemas::patients::{CreatePatient, HandlingInput, Level, ReproductiveStatus, Sex};
use jiff::Span;
use jiff::civil::Date;

use super::clients::Gen;

/// Age in days, date of birth (if known) and whether that date is an estimate.
pub(super) type Birth = (u64, Option<Date>, bool);

/// What the cats of one client share: names already used, and the last cat (for littermates).
#[derive(Default)]
pub(super) struct Household {
    names: Vec<&'static str>,
    last: Option<(&'static Breed, Birth)>,
}

impl Gen {
    pub(super) fn patient(&mut self, client_id: ClientId, today: Date, household: &mut Household) -> CreatePatient {
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

// ---- Tables (the long ones are left unformatted so they stay compact) ----

const TORTIE: &[&str] = &["calico", "tortoiseshell", "tortie", "torbie", "blue-cream"];
const HANDLING_TIERS: &[(Level, u64)] = &[(Level::Mild, 60), (Level::Moderate, 30), (Level::Severe, 10)];
/// Age bands in days: kitten, adult (1–7 y), senior (7–11 y), geriatric (11–17 y), super-senior.
#[rustfmt::skip]
const AGE_BANDS: &[((u64, u64), u64)] =
    &[((42, 365), 13), ((365, 2_557), 45), ((2_557, 4_018), 22), ((4_018, 6_209), 17), ((6_209, 7_670), 3)];
/// ISO 11784 prefixes: HomeAgain, Datamars/PetLink, 24PetWatch, AKC Reunite, Destron Fearing, others.
#[rustfmt::skip]
const CHIP_PREFIXES: &[(&str, u64)] =
    &[("985112", 30), ("981020", 25), ("982000", 12), ("956000", 10), ("941000", 8), ("900164", 10), ("900215", 5)];

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

pub(super) struct Breed {
    pub(super) name: &'static str,
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
pub(super) const BREEDS: &[Breed] = &[
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
    use crate::demo::clients::generate;
    use crate::demo::tests::TODAY;

    #[test]
    fn tortoiseshell_and_calico_cats_are_female() {
        let clinic = generate(TODAY);
        let torties: Vec<_> =
            clinic.patients.iter().filter(|(_, p)| p.color.as_deref().is_some_and(is_tortie)).collect();
        assert!(torties.len() > 50);
        assert!(torties.iter().all(|(_, p)| p.sex == Some(Sex::Female)));
    }
}
