//! JSON merge-patch helpers (RFC 7396): in a PATCH body an absent field means "leave as is",
//! `null` means "clear", and a value means "set".

use serde::{Deserialize, Deserializer};

use crate::errors::ValidationError;

/// One field of a PATCH body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// The field was not in the body: keep the stored value.
    #[default]
    Keep,
    /// The field was `null`: clear the stored value (refused for required fields).
    Clear,
    /// The field had a value.
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

impl<T: Clone> Patch<T> {
    /// The value after the patch, for a field that cannot be cleared.
    pub fn required(&self, current: T, field: &str) -> Result<T, ValidationError> {
        match self {
            Patch::Keep => Ok(current),
            Patch::Clear => Err(cleared(field)),
            Patch::Set(v) => Ok(v.clone()),
        }
    }

    /// The value after the patch, for a field that may be empty.
    pub fn optional(&self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v.clone()),
        }
    }
}

/// The error for `null` sent for a field that cannot be cleared.
pub fn cleared(field: &str) -> ValidationError {
    ValidationError::new(field, "is required and cannot be cleared")
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only reached when the field is present (absent fields use `Default`).
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        })
    }
}
