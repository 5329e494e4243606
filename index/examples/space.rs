//! Where an index's bytes go, per field (term dictionary and postings) and per segment (store,
//! term dictionaries, postings, field norms): `cargo run -p clowder-index --example space --
//! <data dir>/index`. Read-only; run it on a copy or with the server stopped.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: space <index directory>")?;
    let index = tantivy::Index::open_in_dir(&dir)?;
    let reader = index.reader()?;
    let searcher = reader.searcher();
    let usage = searcher.space_usage()?;
    let mut per_field = std::collections::BTreeMap::<String, (u64, u64, u64)>::new();
    for seg in usage.segments() {
        for fu in seg.termdict().fields() {
            per_field.entry(fu.field_name().to_owned()).or_default().0 += fu.total().get_bytes();
        }
        for fu in seg.postings().fields() {
            per_field.entry(fu.field_name().to_owned()).or_default().1 += fu.total().get_bytes();
        }
    }
    println!("total {} bytes, docs {}", usage.total().get_bytes(), searcher.num_docs());
    for (f, (t, p, _)) in per_field {
        println!("{f:14} termdict {:>10} postings {:>10}", t, p);
    }
    for seg in usage.segments() {
        println!(
            "segment: store {} termdict {} postings {} fieldnorms {}",
            seg.store().total().get_bytes(),
            seg.termdict().total().get_bytes(),
            seg.postings().total().get_bytes(),
            seg.fieldnorms().total().get_bytes()
        );
    }
    Ok(())
}
