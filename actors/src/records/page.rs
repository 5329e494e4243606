//! Cursor pages read from a store snapshot: the `limit + 1` scan and the cut to a page, once
//! for every list (records, users, and any later kind).
//!
//! A page holds at most `limit` items in key (creation) order after the cursor; one more item
//! is read to know whether more remain, and the continuation key is the last item's.

use std::ops::ControlFlow;

use clowder_schemas::records::Record;

use crate::store::{IndexTable, Reader, RecordTable, StoreError};

/// One page and the key to continue after, when more remain.
pub type Page<T> = (Vec<T>, Option<u128>);

/// Scans `table` after `after`, keeping the records `keep` accepts, until `limit + 1` are
/// found; `key` gives a record's store key (its id).
pub fn scan_page<R: Record>(
    reader: &Reader,
    table: RecordTable,
    after: Option<u128>,
    limit: usize,
    keep: impl Fn(&R) -> bool,
    key: impl Fn(&R) -> u128,
) -> Result<Page<R>, StoreError> {
    let mut items = Vec::with_capacity(limit + 1);
    reader.scan::<R>(table, after, |r| {
        if keep(&r) {
            items.push(r);
        }
        if items.len() > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    Ok(cut(items, limit, key))
}

/// Like [`scan_page`], but walks the children of `parent` in `index` (e.g. one client's
/// cats) instead of the whole table.
pub fn index_page<R: Record>(
    reader: &Reader,
    (index, parent): (IndexTable, u128),
    table: RecordTable,
    after: Option<u128>,
    limit: usize,
    keep: impl Fn(&R) -> bool,
    key: impl Fn(&R) -> u128,
) -> Result<Page<R>, StoreError> {
    let mut items = Vec::with_capacity(limit + 1);
    for child in reader.children(index, parent, after)? {
        if let Some(r) = reader.get::<R>(table, child)?
            && keep(&r)
        {
            items.push(r);
            if items.len() > limit {
                break;
            }
        }
    }
    Ok(cut(items, limit, key))
}

/// Like [`index_page`], newest (highest key) first: the children of `parent` below `before`.
/// The continuation key is the last (oldest) item's, to pass as the next `before`.
pub fn index_page_rev<R: Record>(
    reader: &Reader,
    (index, parent): (IndexTable, u128),
    table: RecordTable,
    before: Option<u128>,
    limit: usize,
    keep: impl Fn(&R) -> bool,
    key: impl Fn(&R) -> u128,
) -> Result<Page<R>, StoreError> {
    let mut items = Vec::with_capacity(limit + 1);
    reader.children_rev(index, parent, before, |child| {
        if let Some(r) = reader.get::<R>(table, child)?
            && keep(&r)
        {
            items.push(r);
        }
        Ok(if items.len() > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    Ok(cut(items, limit, key))
}

/// Like [`scan_page`], newest (highest key) first, below `before`.
pub fn scan_page_rev<R: Record>(
    reader: &Reader,
    table: RecordTable,
    before: Option<u128>,
    limit: usize,
    keep: impl Fn(&R) -> bool,
    key: impl Fn(&R) -> u128,
) -> Result<Page<R>, StoreError> {
    let mut items = Vec::with_capacity(limit + 1);
    reader.scan_rev::<R>(table, before, |r| {
        if keep(&r) {
            items.push(r);
        }
        if items.len() > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    Ok(cut(items, limit, key))
}

/// Cuts a `limit + 1` result to a page and its continuation key.
pub fn cut<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> u128) -> Page<T> {
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(key);
        (items, next)
    } else {
        (items, None)
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn a_full_page_continues_after_its_last_item() {
        assert_eq!(cut(vec![1u128, 2, 3], 2, |k| *k), (vec![1, 2], Some(2)));
    }

    #[test]
    fn a_short_page_is_the_last() {
        assert_eq!(cut(vec![1u128, 2], 2, |k| *k), (vec![1, 2], None));
        assert_eq!(cut(Vec::<u128>::new(), 0, |k| *k), (vec![], None));
    }
}
