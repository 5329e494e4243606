//! Behaviour of the index as its callers see it: records in, hits out.

use clowder_schemas::clients::{Client, PreferredContact};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::values::{Email, Microchip, Phone};
use clowder_schemas::{ClientId, PatientId};

use clowder_schemas::search::SearchKind;

use crate::{IndexError, MAX_QUERY_CHARS, RecordId, SCHEMA_VERSION_FILE, SearchIndex, needs_rebuild};

pub(crate) fn client(n: u128, first: &str, last: &str, phone: &str) -> Client {
    Client {
        id: ClientId::from_u128(n),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        email: None,
        phone: Phone::parse("phone", phone, "1").expect("test phones are valid"),
        phone_secondary: None,
        address: None,
        preferred_contact: PreferredContact::Phone,
        alerts: Vec::new(),
        notes: None,
        tags: Vec::new(),
        referral_source: None,
        active: true,
        created_at: Default::default(),
        updated_at: Default::default(),
        created_by: None,
    }
}

pub(crate) fn patient(n: u128, owner: &Client, name: &str) -> Patient {
    Patient {
        id: PatientId::from_u128(n),
        client_id: owner.id,
        name: name.to_owned(),
        breed: None,
        color: None,
        sex: None,
        reproductive_status: None,
        date_of_birth: None,
        date_of_birth_estimated: false,
        microchip: None,
        allergies: Vec::new(),
        behavior_notes: None,
        handling: Default::default(),
        insurance: None,
        status: PatientStatus::Active,
        deceased_on: None,
        created_at: Default::default(),
        updated_at: Default::default(),
        created_by: None,
    }
}

/// An index holding a small practice: two Smiths, a Zoë, and three cats.
struct Clinic {
    index: SearchIndex,
    jane: Client,
    john: Client,
    zoe: Client,
    mittens: Patient,
    tom: Patient,
    chip: &'static str,
}

impl Clinic {
    fn new() -> Self {
        let mut index = SearchIndex::in_memory().expect("an in-memory index opens");
        let mut jane = client(1, "Jane", "Smith", "+1 555 123 4567");
        jane.email = Some(Email::parse("email", "Jane.Smith@Example.com").expect("valid email"));
        jane.phone_secondary = Some(Phone::parse("phone", "+44 20 7946 0018", "1").expect("valid phone"));
        let john = client(2, "John", "Smith", "555-987-6543");
        let zoe = client(3, "Zoë", "Lefèvre", "555-222-3333");
        let chip = "985141000123456";
        let mut mittens = patient(10, &jane, "Mittens");
        mittens.breed = Some("Maine Coon".to_owned());
        mittens.color = Some("Brown tabby".to_owned());
        mittens.microchip = Some(Microchip::parse("microchip", chip).expect("valid chip"));
        let mut tom = patient(11, &john, "Tom");
        tom.breed = Some("Siamese".to_owned());
        // Shares the microchip's last four digits, so a chip search must not be a suffix match.
        let mut smudge = patient(12, &zoe, "Smudge");
        smudge.microchip = Some(Microchip::parse("microchip", "985141000993456").expect("valid chip"));
        for c in [&jane, &john, &zoe] {
            index.upsert_client(c).expect("client indexed");
        }
        index.upsert_patient(&mittens, &jane.display_name()).expect("patient indexed");
        index.upsert_patient(&tom, &john.display_name()).expect("patient indexed");
        index.upsert_patient(&smudge, &zoe.display_name()).expect("patient indexed");
        index.commit().expect("commit");
        Clinic { index, jane, john, zoe, mittens, tom, chip }
    }

    fn ids(&self, query: &str) -> Vec<RecordId> {
        ids(&self.index, query)
    }
}

fn ids(index: &SearchIndex, query: &str) -> Vec<RecordId> {
    let hits = index.search(query, 10).unwrap_or_else(|e| panic!("{query:?} failed: {e}"));
    hits.into_iter().map(|h| h.id).collect()
}

fn c(client: &Client) -> RecordId {
    RecordId::Client(client.id)
}

fn p(patient: &Patient) -> RecordId {
    RecordId::Patient(patient.id)
}

#[test]
fn a_typo_in_a_last_name_still_finds_the_client() {
    let clinic = Clinic::new();
    let found = clinic.ids("Jane Smyth");
    assert_eq!(found.first(), Some(&c(&clinic.jane)), "{found:?}");
    assert!(clinic.ids("Smyth").contains(&c(&clinic.john)));
}

#[test]
fn a_transposition_counts_as_one_typo() {
    let clinic = Clinic::new();
    // "smiht" is "smith" with two letters swapped; not the last word, so no prefix help.
    assert_eq!(clinic.ids("smiht jane").first(), Some(&c(&clinic.jane)));
}

#[test]
fn short_words_must_match_exactly() {
    let clinic = Clinic::new();
    // "ton" (3 letters) allows no typo, and sounds different: it does not find Tom.
    assert!(!clinic.ids("ton smith").contains(&p(&clinic.tom)));
    assert_eq!(clinic.ids("tom smith"), [p(&clinic.tom)]);
}

#[test]
fn the_last_word_matches_as_a_prefix() {
    let clinic = Clinic::new();
    assert_eq!(clinic.ids("mitt"), [p(&clinic.mittens)]);
    // Once a space follows, the word is complete and no longer a prefix.
    assert_eq!(clinic.ids("mitt "), Vec::<RecordId>::new());
}

#[test]
fn every_word_must_match_some_field() {
    let clinic = Clinic::new();
    // Jane and her cat first; John sounds like Jane to Double Metaphone, so he and his cat
    // follow, below them.
    assert_eq!(clinic.ids("jane smith")[..2], [c(&clinic.jane), p(&clinic.mittens)]);
    assert_eq!(clinic.ids("maine coon tabby"), [p(&clinic.mittens)]);
    assert!(clinic.ids("zoe siamese").is_empty());
}

#[test]
fn a_patient_is_found_by_its_owner_and_labelled_with_them() {
    let clinic = Clinic::new();
    let hits = clinic.index.search("siamese john", 10).expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].kind, SearchKind::Patient);
    assert_eq!(hits[0].id, p(&clinic.tom));
    assert_eq!(hits[0].label, "Tom (Smith, John)");
}

#[test]
fn phone_numbers_match_whole_national_or_by_last_four_digits() {
    let clinic = Clinic::new();
    let jane = c(&clinic.jane);
    for query in ["4567", "+1 (555) 123-4567", "15551234567", "555.123.4567", "1234567", "020 7946 0018", "0018"] {
        assert_eq!(clinic.ids(query).first(), Some(&jane), "{query}");
    }
    assert_eq!(clinic.ids("smith 4567"), [jane]);
    assert!(clinic.ids("4568").is_empty());
}

#[test]
fn a_microchip_matches_exactly_and_ranks_first() {
    let clinic = Clinic::new();
    assert_eq!(clinic.ids(clinic.chip), [p(&clinic.mittens)]);
    assert_eq!(clinic.ids("985 141 000 123 456"), [p(&clinic.mittens)]);
    assert!(clinic.ids(&clinic.chip[..14]).is_empty(), "a partial chip is not a match");
}

#[test]
fn an_identifier_match_outranks_a_name_match() {
    let mut clinic = Clinic::new();
    // A cat literally named after Jane's last four digits.
    let odd = patient(20, &clinic.john, "4567");
    clinic.index.upsert_patient(&odd, &clinic.john.display_name()).expect("indexed");
    clinic.index.commit().expect("commit");
    let found = clinic.ids("4567");
    assert_eq!(found, [c(&clinic.jane), p(&odd)]);
}

#[test]
fn an_email_matches_exactly_whatever_its_case() {
    let clinic = Clinic::new();
    assert_eq!(clinic.ids("JANE.SMITH@example.com"), [c(&clinic.jane)]);
    assert!(clinic.ids("jane.smith@example.org").is_empty());
}

#[test]
fn accents_and_case_are_folded() {
    let clinic = Clinic::new();
    for query in ["zoe", "ZOË", "Zoë lefevre", "lefèvre"] {
        assert_eq!(clinic.ids(query).first(), Some(&c(&clinic.zoe)), "{query}");
    }
}

#[test]
fn query_syntax_is_plain_text() {
    let clinic = Clinic::new();
    let long = "a".repeat(MAX_QUERY_CHARS * 4);
    let nasty = [
        "\"",
        "*",
        ":",
        "(",
        ")",
        "AND",
        "OR NOT",
        "name:smith",
        "\"unclosed",
        "smith AND",
        "-smith",
        "+smith",
        "smith~2",
        "smith^3",
        "[a TO z]",
        "{*}",
        "\\",
        "/regex/",
        "?",
        "!",
        "&&",
        "||",
        "🐈",
        "\u{0}",
        &long,
    ];
    for query in nasty {
        clinic.index.search(query, 10).unwrap_or_else(|e| panic!("{query:?} failed: {e}"));
    }
    // Syntax characters around words are ignored; the words still match. "AND" would be a
    // word to match like any other.
    assert_eq!(clinic.ids("\"smith\": (jane*")[..2], [c(&clinic.jane), p(&clinic.mittens)]);
}

#[test]
fn blank_input_finds_nothing() {
    let clinic = Clinic::new();
    for query in ["", "   ", "\t\n", "!!!"] {
        assert!(clinic.ids(query).is_empty(), "{query:?}");
    }
    assert!(clinic.index.search("smith", 0).expect("search").is_empty());
}

#[test]
fn the_limit_caps_the_hits() {
    let clinic = Clinic::new();
    assert_eq!(clinic.index.search("smith", 1).expect("search").len(), 1);
}

#[test]
fn a_deleted_record_disappears_after_commit() {
    let mut clinic = Clinic::new();
    clinic.index.delete(clinic.mittens.id);
    assert_eq!(clinic.ids("mittens"), [p(&clinic.mittens)], "not before the commit");
    clinic.index.commit().expect("commit");
    assert!(clinic.ids("mittens").is_empty());
    assert_eq!(clinic.ids("tom"), [p(&clinic.tom)], "other records stay");
}

#[test]
fn an_upsert_replaces_the_previous_document() {
    let mut clinic = Clinic::new();
    let mut jane = clinic.jane.clone();
    jane.last_name = "Jones".to_owned();
    clinic.index.upsert_client(&jane).expect("indexed");
    clinic.index.commit().expect("commit");
    assert_eq!(clinic.ids("jane jones"), [c(&jane)]);
    let hits = clinic.index.search("jane", 10).expect("search");
    let janes: Vec<_> = hits.iter().filter(|h| h.id == c(&jane)).collect();
    assert_eq!(janes.len(), 1, "one document per record: {hits:?}");
    assert_eq!(janes[0].label, "Jones, Jane");
}

#[test]
fn a_reader_sees_commits_and_can_move_to_another_thread() {
    let mut clinic = Clinic::new();
    let reader = clinic.index.reader();
    let felix = patient(30, &clinic.zoe, "Felix");
    clinic.index.upsert_patient(&felix, &clinic.zoe.display_name()).expect("indexed");
    clinic.index.commit().expect("commit");
    let hits = std::thread::spawn(move || reader.search("felix", 10).expect("search")).join().expect("search thread");
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [p(&felix)]);
}

#[test]
fn an_index_on_disk_survives_reopening_and_knows_when_to_rebuild() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("index");
    let jane = client(1, "Jane", "Smith", "555-123-4567");
    assert!(needs_rebuild(&dir), "no index yet");

    let mut index = SearchIndex::open_or_create(&dir).expect("created");
    assert!(!needs_rebuild(&dir), "a fresh index is current");
    index.upsert_client(&jane).expect("indexed");
    index.commit().expect("commit");
    assert!(matches!(SearchIndex::open_or_create(&dir), Err(IndexError::Locked { .. })), "one writer per directory");
    drop(index);

    let index = SearchIndex::open_or_create(&dir).expect("reopened");
    assert_eq!(ids(&index, "smith"), [c(&jane)]);
    drop(index);

    let version_file = dir.join(SCHEMA_VERSION_FILE);
    std::fs::write(&version_file, "0\n").expect("write");
    assert!(needs_rebuild(&dir), "another version");
    assert!(matches!(SearchIndex::open_or_create(&dir), Err(IndexError::Outdated { found: Some(0), .. })));
    std::fs::remove_file(&version_file).expect("remove");
    assert!(needs_rebuild(&dir), "no version file");
    assert!(matches!(SearchIndex::open_or_create(&dir), Err(IndexError::Outdated { found: None, .. })));

    let mut index = SearchIndex::recreate(&dir).expect("recreated");
    assert!(ids(&index, "smith").is_empty(), "a recreated index starts empty");
    index.upsert_client(&jane).expect("indexed");
    index.commit().expect("commit");
    assert!(needs_rebuild(&dir), "still rebuilding");
    index.finish_rebuild().expect("finished");
    assert!(!needs_rebuild(&dir));
    drop(index);
    assert_eq!(ids(&SearchIndex::open_or_create(&dir).expect("reopened"), "smith"), [c(&jane)]);
}

#[test]
fn the_event_sequence_of_the_last_commit_survives_closing_and_reopening() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("index");
    let mut index = SearchIndex::open_or_create(&dir).expect("created");
    assert_eq!(index.committed_seq().expect("metas"), None);
    index.upsert_client(&client(1, "Jane", "Smith", "555-123-4567")).expect("indexed");
    index.commit_through(41).expect("commit");
    index.upsert_client(&client(2, "John", "Smith", "555-123-4568")).expect("indexed");
    index.commit_through(42).expect("commit");
    assert_eq!(index.committed_seq().expect("metas"), Some(42));
    index.close().expect("closed");
    let index = SearchIndex::open_or_create(&dir).expect("reopened at once: the lock is released");
    assert_eq!(index.committed_seq().expect("metas"), Some(42));
    assert_eq!(index.num_docs(), 2);
}

#[test]
fn kept_expansions_are_reused_and_a_new_segment_is_still_searched() {
    let mut clinic = Clinic::new();
    // "lefe" is still being typed: its prefix automaton finds Lefèvre (and her cat).
    assert_eq!(clinic.ids("lefe").first(), Some(&c(&clinic.zoe)));
    let kept = clinic.index.reader().expansions_kept();
    assert!(kept.0 > 0, "a prefix search keeps what its automata accepted: {kept:?}");
    // The same search again is answered from what was kept: nothing new is added.
    assert_eq!(clinic.ids("lefe").first(), Some(&c(&clinic.zoe)));
    assert_eq!(clinic.index.reader().expansions_kept(), kept);
    // A client added later lands in a new segment, whose dictionary the kept words do not
    // describe: the automaton walks it and finds the new word.
    let lefebure = client(4, "Anna", "Lefebure", "555-444-5555");
    clinic.index.upsert_client(&lefebure).expect("upsert");
    clinic.index.commit().expect("commit");
    let found = clinic.ids("lefe");
    assert!(found.contains(&c(&lefebure)) && found.contains(&c(&clinic.zoe)), "{found:?}");
    assert!(clinic.index.reader().expansions_kept().0 > kept.0);
}
