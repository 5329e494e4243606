//! Stored records carry a schema version. Values on disk are envelopes `{v, data}`; when a
//! newer build reads an older version, the record's upcaster lifts it to the current shape.
//! Adding a field with a serde default needs no upcaster code at all (MessagePack with named
//! fields tolerates it); renames and reshapes are written as explicit `upcast` arms.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a stored record could not be read as the current version.
#[derive(Debug, thiserror::Error)]
pub enum UpcastError {
    #[error("{kind} version {version} is newer than this build understands ({current}); upgrade Clowder")]
    FromTheFuture { kind: &'static str, version: u16, current: u16 },
    #[error("{kind} version {version} could not be decoded: {source}")]
    Decode {
        kind: &'static str,
        version: u16,
        #[source]
        source: serde_json::Error,
    },
}

/// A kind of record kept in the store.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Name of the record kind, used in errors and the store layout document.
    const KIND: &'static str;
    /// The version this build writes.
    const VERSION: u16;

    /// Lifts `data` written at an older `version` to the current shape. The old record arrives
    /// as a JSON value (the MessagePack map transcoded), which is easy to reshape for renames.
    /// The default reads it with serde, which fills fields added since then from their
    /// defaults.
    fn upcast(version: u16, data: serde_json::Value) -> Result<Self, UpcastError> {
        if version > Self::VERSION {
            return Err(UpcastError::FromTheFuture { kind: Self::KIND, version, current: Self::VERSION });
        }
        serde_json::from_value(data).map_err(|source| UpcastError::Decode { kind: Self::KIND, version, source })
    }
}
