//! The search scenario's data and questions: clients and cats with varied, realistic names (a
//! compact copy of the idea behind `cargo bench -p clowder-index --bench search`, which this
//! crate may not depend on), the typo-tolerant name queries and exact phone and microchip
//! queries it asks of `GET /api/search`, the check of a probe's answers, and the scenario's
//! own figures (seeding, how soon the index caught up, the server's memory).
//!
//! Everything here is a pure function of a record's number and the run's seed, so the
//! queries can name records the run created without keeping their bodies.

use std::time::Duration;

use serde::Serialize;

use clowder_schemas::ClientId;

use crate::bodies::{NewClient, NewPatient};
use crate::rng::SplitMix64;

/// Requests in flight while seeding: enough to seed tens of thousands of records in well
/// under a minute, without being a load test of its own.
pub const SEED_IN_FLIGHT: u32 = 32;

/// Cats per seeded client.
pub const CATS_PER_CLIENT: u64 = 2;

/// How long the index may take, after the last record was created, to find it.
pub const INDEX_WAIT: Duration = Duration::from_secs(120);

/// Pause between two look-ups while waiting for the index.
pub const INDEX_POLL: Duration = Duration::from_millis(100);

/// Seeding time allowed per client (one client and its cats), on top of the setup budget.
pub const SEED_BUDGET_PER_CLIENT: Duration = Duration::from_millis(10);

/// Hits asked for: what the search box shows.
pub const LIMIT: u32 = 10;

/// Distinct queries of each kind; every request picks one at random.
pub const QUERY_SET: usize = 2_000;

/// Queries of each kind asked once during setup, whose answers are checked.
pub const PROBE_QUERIES: usize = 50;

/// Out of 100 cats, how many have a microchip.
const CHIPPED_PERCENT: usize = 70;

/// Local numbers (exchange 200–999, any line) available for phones unique within a run.
const PHONE_SPACE: u64 = 8_000_000;

/// Odd and not a multiple of 5: multiplying by it permutes `0..PHONE_SPACE`.
const SPREAD: u64 = 7_368_787;

const AREA_CODES: [u16; 12] = [212, 305, 312, 415, 503, 512, 617, 702, 720, 808, 904, 971];

const FIRST_NAMES: [&str; 48] = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Margaret",
    "Anthony",
    "Sandra",
    "Steven",
    "Ashley",
    "Andrew",
    "Emily",
    "Kevin",
    "Michelle",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Zoë",
    "José",
    "Chloé",
    "Renée",
    "Björn",
    "Søren",
    "François",
    "Hélène",
    "Léa",
    "Jürgen",
    "Priya",
    "Wei",
];

/// Common surnames first (they come up most often); generated ones follow.
const LAST_NAMES: [&str; 48] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Nguyen",
    "O'Brien",
    "McCarthy",
    "Lefèvre",
    "Müller",
    "Núñez",
    "Peña",
    "Dvořák",
    "Schäfer",
    "Sørensen",
    "Gutiérrez",
    "Côté",
    "Bélanger",
    "Østergaard",
    "Öztürk",
    "Håkansson",
];

/// Place-name parts that build the long tail of surnames ("Ashford", "Thornbury").
const SURNAME_HEADS: [&str; 16] = [
    "Ash", "Black", "Brad", "Brook", "Cald", "Dun", "Fair", "Hart", "Kings", "Lang", "North", "Oak", "Red", "Thorn",
    "West", "Whit",
];
const SURNAME_TAILS: [&str; 16] = [
    "ley", "ton", "ford", "wood", "field", "by", "ham", "well", "more", "worth", "brook", "ridge", "dale", "bury",
    "croft", "wick",
];

const CAT_NAMES: [&str; 48] = [
    "Luna",
    "Bella",
    "Oliver",
    "Leo",
    "Milo",
    "Charlie",
    "Lucy",
    "Max",
    "Simba",
    "Kitty",
    "Chloe",
    "Nala",
    "Tiger",
    "Loki",
    "Cleo",
    "Sophie",
    "Oreo",
    "Smokey",
    "Shadow",
    "Pepper",
    "Jasper",
    "Daisy",
    "Coco",
    "Mittens",
    "Tom",
    "Felix",
    "Whiskers",
    "Ginger",
    "Misty",
    "Boots",
    "Patches",
    "Pumpkin",
    "Mochi",
    "Salem",
    "Oscar",
    "Biscuit",
    "Noodle",
    "Pickles",
    "Waffles",
    "Gizmo",
    "Merlin",
    "Ziggy",
    "Pixel",
    "Amélie",
    "Crème Brûlée",
    "Zoë",
    "Noël",
    "Hazel",
];

const BREEDS: [&str; 12] = [
    "Domestic Shorthair",
    "Domestic Longhair",
    "Maine Coon",
    "Siamese",
    "Persian",
    "Ragdoll",
    "Bengal",
    "British Shorthair",
    "Sphynx",
    "Russian Blue",
    "Norwegian Forest Cat",
    "Devon Rex",
];

const COLOURS: [&str; 10] = [
    "Black",
    "White",
    "Grey",
    "Orange tabby",
    "Brown tabby",
    "Tortoiseshell",
    "Calico",
    "Tuxedo",
    "Cream",
    "Seal point",
];

/// Number of surnames: the hand-written ones and every head × tail.
pub fn surname_count() -> usize {
    LAST_NAMES.len() + SURNAME_HEADS.len() * SURNAME_TAILS.len()
}

fn surname(index: usize) -> String {
    match index.checked_sub(LAST_NAMES.len()) {
        None => LAST_NAMES[index].to_owned(),
        Some(built) => {
            format!("{}{}", SURNAME_HEADS[built / SURNAME_TAILS.len()], SURNAME_TAILS[built % SURNAME_TAILS.len()])
        }
    }
}

/// One run's clinic: `clients` clients numbered from 0, each with [`CATS_PER_CLIENT`] cats.
#[derive(Debug, Clone, Copy)]
pub struct Clinic {
    pub clients: u64,
    /// Varies phones and microchips between runs against the same data directory (the
    /// server refuses a microchip twice).
    pub seed: u64,
}

impl Clinic {
    fn rng(&self, stream: u64, n: u64) -> SplitMix64 {
        SplitMix64::new(self.seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Client `n`'s first and last name; common names come up more often.
    pub fn name(&self, n: u64) -> (&'static str, String) {
        let mut rng = self.rng(1, n);
        let first = FIRST_NAMES[skewed(&mut rng, FIRST_NAMES.len())];
        (first, surname(skewed(&mut rng, surname_count())))
    }

    /// "(503) 555-0123": no two clients of a run share one (up to 8,000,000 clients).
    pub fn phone(&self, n: u64) -> String {
        let area = AREA_CODES[self.rng(2, n).below(AREA_CODES.len())];
        let local = (n.wrapping_add(self.seed) % PHONE_SPACE) * SPREAD % PHONE_SPACE;
        format!("({area}) {}-{:04}", 200 + local / 10_000, local % 10_000)
    }

    pub fn client(&self, n: u64) -> NewClient {
        let (first, last) = self.name(n);
        NewClient { first_name: first.to_owned(), last_name: last, phone: self.phone(n), email: None }
    }

    /// Cat `cat` (0 or 1) of client `n`.
    pub fn patient(&self, client_id: ClientId, n: u64, cat: u64) -> NewPatient {
        let number = n * CATS_PER_CLIENT + cat;
        let mut rng = self.rng(3, number);
        NewPatient {
            client_id,
            name: CAT_NAMES[skewed(&mut rng, CAT_NAMES.len())].to_owned(),
            breed: Some(BREEDS[skewed(&mut rng, BREEDS.len())].to_owned()),
            color: Some(COLOURS[rng.below(COLOURS.len())].to_owned()),
            microchip: self.microchip(number),
        }
    }

    /// Cat `number`'s microchip, if it has one: "985" and twelve digits unique within the run
    /// (and, the run's seed being random, almost surely across runs).
    pub fn microchip(&self, number: u64) -> Option<String> {
        let chipped = self.rng(4, number).below(100) < CHIPPED_PERCENT;
        const SPACE: u64 = 1_000_000_000_000;
        chipped.then(|| format!("985{:012}", (self.seed % SPACE + number % SPACE) % SPACE))
    }

    /// Typo-tolerant name queries: a client's first and last name with one typo in the
    /// longer word ("Jon Smyth"), each with the client it should find.
    pub fn name_queries(&self, count: usize) -> Vec<(String, u64)> {
        let mut rng = self.rng(5, 0);
        (0..count)
            .map(|k| {
                let n = rng.below(self.clients as usize) as u64;
                let (first, last) = self.name(n);
                let query = if first.chars().count() > last.chars().count() {
                    format!("{} {last}", typo(first, k, &mut rng))
                } else {
                    format!("{first} {}", typo(&last, k, &mut rng))
                };
                (query, n)
            })
            .collect()
    }

    /// Exact queries in turn: a whole phone number, the last four digits of one, a
    /// microchip; each with what it should find.
    pub fn exact_queries(&self, count: usize) -> Vec<(String, Expect)> {
        let mut rng = self.rng(6, 0);
        let mut out = Vec::with_capacity(count);
        let mut k = 0;
        while out.len() < count {
            let n = rng.below(self.clients as usize) as u64;
            let phone = self.phone(n);
            match k % 3 {
                0 => out.push((phone, Expect::Client(n))),
                1 => out.push((phone[phone.len() - 4..].to_owned(), Expect::Client(n))),
                _ => {
                    let number = n * CATS_PER_CLIENT + rng.below(CATS_PER_CLIENT as usize) as u64;
                    if let Some(chip) = self.microchip(number) {
                        out.push((chip, Expect::Patient(number)));
                    }
                }
            }
            k += 1;
        }
        out
    }
}

/// What a probe query should find, by the record's number in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Client(u64),
    /// Cat number `client × CATS_PER_CLIENT + cat`.
    Patient(u64),
}

/// In `0..n`, favouring the start of a list ordered most common first.
fn skewed(rng: &mut SplitMix64, n: usize) -> usize {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    ((u.powf(1.5) * n as f64) as usize).min(n - 1)
}

/// `word` with one typo after its first letter: a substitution, a transposition or a
/// deletion, in turn by `k`. Words under three letters are left alone.
pub fn typo(word: &str, k: usize, rng: &mut SplitMix64) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        return word.to_owned();
    }
    let at = 1 + rng.below(chars.len() - 2);
    match k % 3 {
        0 => {
            let was = chars[at].to_ascii_lowercase();
            let with = (b'a'..=b'z').map(char::from).filter(|&c| c != was).nth(rng.below(25)).unwrap_or('x');
            chars[at] = with;
        }
        1 => chars.swap(at, at + 1),
        _ => {
            chars.remove(at);
        }
    }
    chars.into_iter().collect()
}

/// The ids an answer of `GET /api/search` lists, in order (the answer is read as plain JSON:
/// this crate does not share the server's search types).
pub fn hit_ids(answer: &serde_json::Value) -> Vec<&str> {
    answer["hits"].as_array().map_or_else(Vec::new, |hits| hits.iter().filter_map(|h| h["id"].as_str()).collect())
}

/// How many probe answers found what they should, of how many asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProbeCount {
    pub found: u64,
    pub asked: u64,
}

/// The search run's own figures, beside its two table rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchFigures {
    pub clients: u64,
    pub patients: u64,
    /// Creating every client and cat.
    pub seed_secs: f64,
    /// From the last creation to the search finding the last client.
    pub index_catch_up_secs: f64,
    /// Typo'd names whose client was among the hits.
    pub names_probe: ProbeCount,
    /// Exact queries whose client or cat was among the hits.
    pub exact_probe: ProbeCount,
    /// The server's `VmRSS` before seeding, once the index caught up, and after the queries
    /// (with `--server-pid`).
    pub rss_before_kib: Option<u64>,
    pub rss_indexed_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// The server's CPU per search of each row, in µs (with `--server-pid`).
    pub cpu_us_per_search: Vec<(&'static str, Option<f64>)>,
}

/// The line under the table for a search run.
pub fn search_line(f: &SearchFigures) -> String {
    let records = f.clients + f.patients;
    let rate = if f.seed_secs > 0.0 { records as f64 / f.seed_secs } else { 0.0 };
    let mut line = format!(
        "search: seeded {} clients and {} cats in {:.1} s ({rate:.0} records/s); the index found the last client \
         {:.2} s after seeding; probe: {} of {} typo'd names found their client in the top {LIMIT}, {} of {} exact \
         queries their record",
        f.clients,
        f.patients,
        f.seed_secs,
        f.index_catch_up_secs,
        f.names_probe.found,
        f.names_probe.asked,
        f.exact_probe.found,
        f.exact_probe.asked,
    );
    let mib = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
    match (f.rss_before_kib, f.rss_indexed_kib, f.rss_after_kib) {
        (Some(before), Some(indexed), Some(after)) => line.push_str(&format!(
            "; server RSS {} before seeding, {} once indexed, {} after the queries",
            mib(before),
            mib(indexed),
            mib(after)
        )),
        _ => line.push_str("; server RSS not measured (needs --server-pid)"),
    }
    for (row, cpu) in &f.cpu_us_per_search {
        if let Some(cpu) = cpu {
            line.push_str(&format!("; server CPU {cpu:.1} µs per search in {row}"));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::clients::CreateClient;
    use clowder_schemas::patients::CreatePatient;
    use std::collections::HashSet;

    fn clinic() -> Clinic {
        Clinic { clients: 5_000, seed: 0x5EED }
    }

    #[test]
    fn bodies_pass_the_servers_validation() {
        let owner: ClientId = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T".parse().unwrap();
        let c = clinic();
        for n in [0, 1, 77, 4_999] {
            let create: CreateClient = serde_json::from_value(serde_json::to_value(c.client(n)).unwrap()).unwrap();
            create.validate("1").unwrap();
            for cat in 0..CATS_PER_CLIENT {
                let json = serde_json::to_value(c.patient(owner, n, cat)).unwrap();
                let create: CreatePatient = serde_json::from_value(json).unwrap();
                create.validate(jiff::civil::date(2026, 1, 1)).unwrap();
            }
        }
    }

    #[test]
    fn phones_and_microchips_are_unique_within_a_run() {
        let c = clinic();
        let phones: HashSet<String> = (0..c.clients).map(|n| c.phone(n)).collect();
        assert_eq!(phones.len(), c.clients as usize);
        let chips: Vec<String> = (0..c.clients * CATS_PER_CLIENT).filter_map(|n| c.microchip(n)).collect();
        assert_eq!(chips.iter().collect::<HashSet<_>>().len(), chips.len());
        assert!(chips.iter().all(|chip| chip.len() == 15 && chip.bytes().all(|b| b.is_ascii_digit())));
        // About 70 % of the cats are chipped.
        assert!((6_500..7_500).contains(&chips.len()), "{}", chips.len());
    }

    #[test]
    fn names_vary_and_include_accents_and_the_generated_tail() {
        let c = clinic();
        let last: HashSet<String> = (0..c.clients).map(|n| c.name(n).1).collect();
        assert!(last.len() > 200, "{}", last.len());
        assert!(last.contains("Smith"));
        assert!(last.iter().any(|n| !n.is_ascii()));
        assert!(last.iter().any(|n| SURNAME_HEADS.iter().any(|h| n.starts_with(h)) && n.ends_with("ford")));
    }

    #[test]
    fn a_typo_is_one_edit_after_the_first_letter() {
        let mut rng = SplitMix64::new(3);
        let sub = typo("Smith", 0, &mut rng);
        assert_eq!(sub.chars().count(), 5);
        assert_eq!(sub.chars().zip("Smith".chars()).filter(|(a, b)| a != b).count(), 1);
        assert!(sub.starts_with('S'));
        let swap = typo("Smith", 1, &mut rng);
        assert_ne!(swap, "Smith");
        assert_eq!(swap.chars().collect::<HashSet<_>>(), "Smith".chars().collect::<HashSet<_>>());
        assert_eq!(typo("Smith", 2, &mut rng).chars().count(), 4);
        assert_eq!(typo("Lee", 2, &mut rng), "Le");
        assert_eq!(typo("Wu", 0, &mut rng), "Wu");
    }

    #[test]
    fn queries_name_seeded_records() {
        let c = clinic();
        let names = c.name_queries(30);
        assert_eq!(names.len(), 30);
        assert!(names.iter().all(|(q, n)| *n < c.clients && q.contains(' ')));
        let exact = c.exact_queries(30);
        assert_eq!(exact.len(), 30);
        assert!(exact.iter().any(|(q, _)| q.starts_with('(')));
        assert!(exact.iter().any(|(q, _)| q.len() == 4));
        assert!(exact.iter().any(|(q, e)| q.len() == 15 && matches!(e, Expect::Patient(_))));
    }

    #[test]
    fn hit_ids_are_read_from_the_answer() {
        let answer = serde_json::json!({"query": "x", "hits": [{"kind": "client", "id": "A"}, {"id": "B"}]});
        assert_eq!(hit_ids(&answer), ["A", "B"]);
        assert!(hit_ids(&serde_json::json!({"query": "x"})).is_empty());
    }

    #[test]
    fn the_line_names_the_missing_pid() {
        let mut f = SearchFigures { clients: 10, patients: 20, seed_secs: 3.0, ..Default::default() };
        assert!(search_line(&f).starts_with("search: seeded 10 clients and 20 cats in 3.0 s (10 records/s)"));
        assert!(search_line(&f).ends_with("server RSS not measured (needs --server-pid)"));
        (f.rss_before_kib, f.rss_indexed_kib, f.rss_after_kib) = (Some(102_400), Some(204_800), Some(206_848));
        assert!(
            search_line(&f)
                .ends_with("server RSS 100 MiB before seeding, 200 MiB once indexed, 202 MiB after the queries")
        );
    }
}
