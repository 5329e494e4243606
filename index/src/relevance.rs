//! The relevance suite: what a receptionist types, and what must come back, over one fixed
//! practice. Each case names the query and an expectation (first hit, within the first n,
//! exactly these, or nothing). Adding a case is one line; a case that fails prints the hits.
//!
//! The fixture has near neighbours on purpose (John Smith and Jon Smyth, Catherine Johnson and
//! Kathryn Jonson, Stephen Schmidt and Steven Schmitt, two cats named Mittens), so the cases
//! check ranking, not just recall.

use clowder_schemas::values::{Email, Microchip};

use crate::tests::{client, patient};
use crate::{RecordId, SearchIndex};

/// What a query must return.
enum Expect {
    /// This record first.
    First(&'static str),
    /// Each of these records within the first `n` hits.
    Within(usize, &'static [&'static str]),
    /// Exactly these records, in this order.
    Only(&'static [&'static str]),
    /// No record.
    Nothing,
    /// Not this record, anywhere.
    Never(&'static str),
}

use Expect::{First, Never, Nothing, Only, Within};

/// Clients: key, first, last, phone, email.
const CLIENTS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("john", "John", "Smith", "503-555-0142", Some("john.smith@example.com")),
    ("jane", "Jane", "Smith", "503-555-0143", None),
    ("jon", "Jon", "Smyth", "971-555-0100", None),
    ("catherine", "Catherine", "Johnson", "503-555-0111", None),
    ("kathryn", "Kathryn", "Jonson", "503-555-0112", None),
    ("zoe", "Zoë", "Lefèvre", "503-555-0199", Some("zoe@lefevre.example")),
    ("francois", "François", "Müller", "503-555-0177", None),
    ("stephen", "Stephen", "Schmidt", "503-555-0155", None),
    ("steven", "Steven", "Schmitt", "503-555-0156", None),
    ("philip", "Philip", "O'Brien", "503-555-0160", None),
    ("maria", "María", "García", "503-555-0170", None),
    ("soren", "Søren", "Kierkegaard", "503-555-0180", None),
    ("alexander", "Alexander", "Thompson", "503-555-0190", None),
    ("elizabeth", "Elizabeth", "Nguyen", "+44 20 7946 0018", None),
    ("mohammed", "Mohammed", "Al-Farsi", "503-555-0101", None),
    ("bob", "Bob", "Lee", "503-555-0102", None),
    ("ann", "Ann", "Wu", "503-555-0103", None),
    ("dana", "Dana", "Reyes", "508-555-0148", None),
    ("nora", "Nora", "Blake", "503-555-5085", None),
];

/// A fixture patient: key, owner key, name, breed, colour, microchip.
type PatientRow =
    (&'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>);

const PATIENTS: &[PatientRow] = &[
    ("mittens", "john", "Mittens", Some("Maine Coon"), Some("Brown tabby"), Some("985141000123456")),
    ("whiskers", "jane", "Whiskers", Some("Siamese"), Some("Seal point"), None),
    ("tom", "jon", "Tom", Some("Domestic Shorthair"), Some("Black"), None),
    ("shadow", "catherine", "Shadow", Some("Bombay"), Some("Black"), Some("985141000654321")),
    ("luna", "kathryn", "Luna", Some("Ragdoll"), Some("Blue point"), None),
    ("chloe", "zoe", "Chloé", Some("Persian"), Some("White"), None),
    ("oliver", "francois", "Oliver", Some("British Shorthair"), Some("Grey"), Some("900164000000001")),
    ("cleopatra", "stephen", "Cleopatra", Some("Abyssinian"), Some("Ruddy"), None),
    ("smokey", "steven", "Smokey", Some("Russian Blue"), Some("Grey"), None),
    ("pumpkin", "philip", "Pumpkin", Some("Domestic Shorthair"), Some("Orange tabby"), None),
    ("nala", "maria", "Nala", Some("Bengal"), Some("Spotted"), None),
    ("mochi", "soren", "Mochi", Some("Scottish Fold"), Some("Cream"), None),
    ("jasper", "alexander", "Jasper", Some("Maine Coon"), Some("Silver"), None),
    ("tigger", "elizabeth", "Tigger", Some("Domestic Longhair"), Some("Orange"), None),
    ("bella", "mohammed", "Bella", Some("Sphynx"), Some("Pink"), None),
    ("max", "bob", "Max", Some("Domestic Shorthair"), Some("Tuxedo"), None),
    ("mittens_wu", "ann", "Mittens", Some("Ragdoll"), Some("Seal point"), None),
];

const CASES: &[(&str, Expect)] = &[
    // Names as written.
    ("John Smith", First("john")),
    ("catherine johnson", First("catherine")),
    ("bob lee", First("bob")),
    ("smith", Within(2, &["john", "jane"])),
    ("bob", Within(2, &["bob", "max"])),
    // Typos: substitution, deletion, insertion; two edits only from eight letters.
    ("mitens", Within(2, &["mittens", "mittens_wu"])),
    ("wiskers", First("whiskers")),
    ("shaddow", First("shadow")),
    ("cleopatre", First("cleopatra")),
    ("kierkegard", First("soren")),
    ("thomson alexander", First("alexander")),
    // Transpositions count as one edit.
    ("jhon smith", First("john")),
    ("whsikers", First("whiskers")),
    ("cleoptara", First("cleopatra")),
    ("smiht jane", First("jane")),
    // Three letters or fewer allow no typo; a word that also sounds different is no match.
    ("ton smyth", Never("tom")),
    ("tom smyth", First("tom")),
    ("max", First("max")),
    // Sound: Double Metaphone.
    ("Jon Smyth", First("jon")),
    ("Jon Smyth", Within(4, &["john"])),
    ("john smyth", Within(2, &["john", "jon"])),
    ("kathrin jonson", First("kathryn")),
    // An exact word ranks above a sound-alike, even in the owner's name: Catherine's cat
    // comes before Kathryn, Stephen's cat before Steven.
    ("katherine johnsen", Within(3, &["catherine", "kathryn"])),
    ("stephen", Within(3, &["stephen", "steven"])),
    ("schmidt", First("stephen")),
    ("schmidt", Within(3, &["steven"])),
    ("filip obrien", First("philip")),
    // Accents fold both ways.
    ("zoe", First("zoe")),
    ("lefevre", First("zoe")),
    ("ZOË LEFÈVRE", First("zoe")),
    ("francois muller", First("francois")),
    ("chloe", First("chloe")),
    ("garcia maria", First("maria")),
    ("soren", First("soren")),
    // As you type: the last word is a prefix (two letters or more).
    ("whis", First("whiskers")),
    ("smith mitt", First("mittens")),
    ("cleo", First("cleopatra")),
    ("jasp", First("jasper")),
    ("mo", Within(3, &["mochi", "mohammed"])),
    // Owner and pet together, either order.
    ("smith mittens", First("mittens")),
    ("mittens smith", First("mittens")),
    ("wu mittens", First("mittens_wu")),
    ("jane whiskers", First("whiskers")),
    ("schmitt smokey", First("smokey")),
    // Breed and colour.
    ("maine coon", Within(2, &["mittens", "jasper"])),
    ("orange tabby", First("pumpkin")),
    ("siamese jane", First("whiskers")),
    ("grey", Within(2, &["oliver", "smokey"])),
    // Phones: whole, formatted any way, national, seven digits, last four.
    ("0142", Only(&["john"])),
    ("503-555-0142", First("john")),
    ("(503) 555 0142", First("john")),
    ("+1 503 555 0142", First("john")),
    ("5550142", First("john")),
    ("020 7946 0018", First("elizabeth")),
    ("0018", First("elizabeth")),
    ("smith 0143", Only(&["jane"])),
    // Phones typed from their start, as read out: the national number, with the country
    // code, the local seven digits; exact numbers rank first.
    ("508", Only(&["dana"])),
    ("508555", Only(&["dana"])),
    ("50855501", Only(&["dana"])),
    ("(508) 555", Only(&["dana"])),
    ("508-555-01", Only(&["dana"])),
    ("+1 508 55", Only(&["dana"])),
    ("1 508 555 0", Only(&["dana"])),
    ("555014", Within(3, &["john", "jane", "dana"])),
    ("555-0148", First("dana")),
    ("5085", Only(&["nora", "dana"])),
    ("020 79", First("elizabeth")),
    ("+44 20", First("elizabeth")),
    ("855", Nothing),
    // Microchips: exact only, spaces allowed.
    ("985141000123456", Only(&["mittens"])),
    ("985 141 000 654 321", Only(&["shadow"])),
    ("98514100012345", Nothing),
    // Email: exact, any case.
    ("John.Smith@Example.com", Only(&["john"])),
    // Punctuation inside names.
    ("al-farsi", First("mohammed")),
    ("o'brien", First("philip")),
    // Nothing to find.
    ("xyzzy", Nothing),
    ("", Nothing),
];

fn fixture() -> (SearchIndex, Vec<(&'static str, RecordId)>) {
    let mut index = SearchIndex::in_memory().expect("an in-memory index");
    let mut keys = Vec::new();
    let mut clients = Vec::new();
    for (n, &(key, first, last, phone, email)) in CLIENTS.iter().enumerate() {
        let mut client = client(1000 + n as u128, first, last, phone);
        client.email = email.map(|e| Email::parse("email", e).expect("fixture email"));
        index.upsert_client(&client).expect("indexed");
        keys.push((key, RecordId::Client(client.id)));
        clients.push((key, client));
    }
    for (n, &(key, owner, name, breed, color, chip)) in PATIENTS.iter().enumerate() {
        let (_, owner) = clients.iter().find(|(k, _)| *k == owner).expect("fixture owner");
        let mut patient = patient(2000 + n as u128, owner, name);
        patient.breed = breed.map(Into::into);
        patient.color = color.map(Into::into);
        patient.microchip = chip.map(|c| Microchip::parse("microchip", c).expect("fixture chip"));
        index.upsert_patient(&patient, &owner.display_name()).expect("indexed");
        keys.push((key, RecordId::Patient(patient.id)));
    }
    index.commit().expect("committed");
    (index, keys)
}

#[test]
fn every_relevance_case_holds() {
    assert!(CASES.len() >= 40, "the suite keeps at least 40 cases");
    let (index, keys) = fixture();
    let key_of = |id: RecordId| keys.iter().find(|(_, k)| *k == id).map_or("?", |(key, _)| key);
    let id_of = |key: &str| keys.iter().find(|(k, _)| *k == key).unwrap_or_else(|| panic!("no fixture record {key}")).1;
    let mut failures = Vec::new();
    for (query, expect) in CASES {
        let hits: Vec<RecordId> = index.search(query, 10).expect("search").into_iter().map(|h| h.id).collect();
        let ok = match expect {
            First(key) => hits.first() == Some(&id_of(key)),
            Within(n, want) => want.iter().all(|key| hits.iter().take(*n).any(|h| *h == id_of(key))),
            Only(want) => hits == want.iter().map(|k| id_of(k)).collect::<Vec<_>>(),
            Nothing => hits.is_empty(),
            Never(key) => !hits.contains(&id_of(key)),
        };
        if !ok {
            let got: Vec<&str> = hits.iter().map(|h| key_of(*h)).collect();
            failures.push(format!("{query:?}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

/// What the automata found is kept between searches (`expansions`); it must never change an
/// answer: the same queries (every case above, and more typos, prefixes and accents) give the
/// same hits, scores and highlights with the cache, cold and warm, as without it, over two
/// segments.
#[test]
fn kept_expansions_change_no_answer() {
    let (mut index, _) = fixture();
    let late = client(3000, "Jonathan", "Smithers", "503-555-0999");
    index.upsert_client(&late).expect("indexed");
    index.commit().expect("committed");
    let kept = index.reader();
    let fresh = kept.keeping_no_expansions();
    let more = [
        "smiht",
        "smyt",
        "jonh smith",
        "zoë lef",
        "zoe lefevre",
        "LEFÈVRE",
        "kathrin jonsen",
        "mittens smi",
        "schmit",
        "smithrs",
        "jo sm",
        "müll",
        "garcia maría",
        "sören kierkegard",
        "tabby mai",
        "smith ",
    ];
    let queries: Vec<&str> = CASES.iter().map(|(q, _)| *q).chain(more).collect();
    for round in ["cold", "warm"] {
        for q in &queries {
            let with = kept.search(q, 10).expect("search");
            let without = fresh.search(q, 10).expect("search");
            assert_eq!(with, without, "{q:?} ({round})");
        }
    }
    assert!(kept.expansions_kept().0 > 0);
    assert_eq!(fresh.expansions_kept(), (0, 0));
}
