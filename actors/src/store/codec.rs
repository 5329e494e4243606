//! Record encoding: an envelope `{v, data}` in MessagePack with named fields, so fields can
//! be added, reordered or removed without rewriting stored data. Older versions are lifted
//! by the record's upcaster (`clowder_schemas::records::Record::upcast`).

use clowder_schemas::records::{Record, UpcastError};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("could not encode a {kind}: {source}")]
    Encode {
        kind: &'static str,
        #[source]
        source: rmp_serde::encode::Error,
    },
    #[error("could not decode a stored {kind}: {source}")]
    Decode {
        kind: &'static str,
        #[source]
        source: rmp_serde::decode::Error,
    },
    #[error(transparent)]
    Upcast(#[from] UpcastError),
}

#[derive(Serialize)]
struct EnvelopeRef<'a, T> {
    v: u16,
    data: &'a T,
}

#[derive(Deserialize)]
struct Envelope<T> {
    v: u16,
    data: T,
}

/// Encodes a record at its current version.
pub fn encode<R: Record>(record: &R) -> Result<Vec<u8>, CodecError> {
    encode_as(R::VERSION, record).map_err(|source| CodecError::Encode { kind: R::KIND, source })
}

/// Encodes `data` under an explicit version (tests write old versions with it).
pub fn encode_as<T: Serialize>(v: u16, data: &T) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    rmp_serde::to_vec_named(&EnvelopeRef { v, data })
}

/// Decodes a record of any version this build understands.
pub fn decode<R: Record>(bytes: &[u8]) -> Result<R, CodecError> {
    // Fast path: the record is at the current version.
    if let Ok(e) = rmp_serde::from_slice::<Envelope<R>>(bytes)
        && e.v == R::VERSION
    {
        return Ok(e.data);
    }
    let e: Envelope<serde_json::Value> =
        rmp_serde::from_slice(bytes).map_err(|source| CodecError::Decode { kind: R::KIND, source })?;
    Ok(R::upcast(e.v, e.data)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::clients::{Client, PreferredContact};
    use clowder_schemas::values::Phone;
    use clowder_schemas::{ClientId, UserId};
    use jiff::Timestamp;

    /// The shape of a client as version 1 wrote it: no `tags`, no `referral_source`.
    #[derive(Serialize)]
    struct ClientV1 {
        id: ClientId,
        first_name: String,
        last_name: String,
        email: Option<String>,
        phone: String,
        phone_secondary: Option<String>,
        address: Option<()>,
        preferred_contact: PreferredContact,
        alerts: Vec<String>,
        notes: Option<String>,
        active: bool,
        created_at: Timestamp,
        updated_at: Timestamp,
        created_by: Option<UserId>,
    }

    #[test]
    fn a_v1_client_reads_as_the_current_version() {
        let v1 = ClientV1 {
            id: ClientId::from_u128(42),
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: Some("jane@example.com".into()),
            phone: "+15551234567".into(),
            phone_secondary: None,
            address: None,
            preferred_contact: PreferredContact::Sms,
            alerts: vec!["Bites".into()],
            notes: None,
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: None,
        };
        let bytes = encode_as(1, &v1).unwrap();
        let c: Client = decode(&bytes).unwrap();
        assert_eq!(c.first_name, "Jane");
        assert_eq!(c.phone, Phone::parse("phone", "+15551234567", "1").unwrap());
        assert_eq!(c.alerts, vec!["Bites"]);
        assert!(c.tags.is_empty(), "fields added in v2 take their defaults");
        assert_eq!(c.referral_source, None);
        // Written back, it is a v2 record that round-trips on the fast path.
        let again: Client = decode(&encode(&c).unwrap()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn a_record_from_a_newer_build_is_refused_not_misread() {
        let bytes = encode_as(99, &serde_json::json!({"first_name": "x"})).unwrap();
        let err = decode::<Client>(&bytes).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\xff\xff", b"\x82\xa1v\x01"] {
            assert!(decode::<Client>(bytes).is_err());
        }
    }
}
