//! JSON merge-patch helpers (RFC 7396): in a PATCH body an absent field means "leave as is",
//! `null` means "clear", and a value means "set".

use serde::{Deserialize, Deserializer};

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

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only reached when the field is present (absent fields use `Default`).
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(v) => Patch::Set(v),
            None => Patch::Clear,
        })
    }
}
