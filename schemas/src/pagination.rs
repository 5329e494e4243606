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
    fn limits_are_bounded() {
        assert_eq!(parse_limit(None).unwrap(), 50);
        assert_eq!(parse_limit(Some(200)).unwrap(), 200);
        assert!(parse_limit(Some(0)).is_err());
        assert!(parse_limit(Some(201)).is_err());
        assert!(parse_limit(Some(-1)).is_err());
    }
}
