//! List pagination: `limit` (default 50, at most 200) and an opaque `cursor` that continues
//! after the last item of the previous page. Items are returned in creation order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page whose continuation is the store key `next` (`None` on the last page).
    pub fn new(items: Vec<T>, next: Option<u128>) -> Self {
        Page { items, next_cursor: next.map(|k| Cursor(k).encode()) }
    }
}

/// The query of a list that takes only a page (`limit`, `cursor`): a cat's vitals and
/// weights, a product's stock ledger. Lists with filters declare their own query with these
/// two fields beside the filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Which page a list request asks for: its size and the key it continues after. Every list
/// parses its `limit` and `cursor` parameters through this, so every cursor has one form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// The store key of the last item of the previous page.
    pub after: Option<u128>,
}

impl PageRequest {
    /// Parses `limit` (default 50, 1–200) and `cursor` (absent or empty: the first page).
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ValidationError> {
        let after = match cursor.map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(Cursor::decode(c)?.0),
        };
        Ok(PageRequest { limit: parse_limit(limit)?, after })
    }
}

/// Parses the `limit` parameter.
pub fn parse_limit(limit: Option<i64>) -> Result<usize, ValidationError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as usize),
        Some(_) => Err(ValidationError::new("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

/// A position in a list: the store key of the last item returned. Clients treat the text as
/// opaque; its form may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub u128);

impl Cursor {
    pub fn encode(self) -> String {
        format!("c1{:032x}", self.0)
    }

    pub fn decode(text: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("cursor", "is not a cursor returned by this list");
        let hex = text.strip_prefix("c1").ok_or_else(bad)?;
        if hex.len() != 32 {
            return Err(bad());
        }
        u128::from_str_radix(hex, 16).map(Cursor).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "c1", "c1zz", "x1000", &"c1".repeat(40)] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_page_request_reads_limit_and_cursor_and_names_the_bad_one() {
        let c = Cursor(42).encode();
        assert_eq!(PageRequest::parse(Some(10), Some(&c)).unwrap(), PageRequest { limit: 10, after: Some(42) });
        assert_eq!(PageRequest::parse(None, Some("")).unwrap(), PageRequest { limit: 50, after: None });
        assert_eq!(PageRequest::parse(None, Some("a17")).unwrap_err().field, "cursor");
        assert_eq!(PageRequest::parse(Some(0), None).unwrap_err().field, "limit");
        assert_eq!(Page::new(vec![1], Some(42)).next_cursor, Some(c));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(parse_limit(None).unwrap(), 50);
        assert_eq!(parse_limit(Some(200)).unwrap(), 200);
        assert!(parse_limit(Some(0)).is_err());
        assert!(parse_limit(Some(201)).is_err());
        assert!(parse_limit(Some(-1)).is_err());
    }
}
