//! Exam-room tablets: registered devices whose credential lets staff unlock a session with
//! a short PIN instead of a password. A device session locks again after a few idle minutes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{DeviceId, UserId};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text, required_text};

/// A registered device, as stored. The credential itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: DeviceId,
    pub name: String,
    /// Where it lives, e.g. "Exam 2".
    pub location: Option<String>,
    pub token_hash: String,
    pub active: bool,
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Device {
    const KIND: &'static str = "device";
    const VERSION: u16 = 1;
}

/// What the API shows of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: DeviceId,
    pub name: String,
    pub location: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
}

impl From<&Device> for DeviceView {
    fn from(d: &Device) -> Self {
        DeviceView {
            id: d.id,
            name: d.name.clone(),
            location: d.location.clone(),
            active: d.active,
            created_at: d.created_at,
        }
    }
}

/// Body of `POST /api/devices`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
}

impl CreateDevice {
    /// Returns the validated name and location.
    pub fn validate(&self) -> Result<(String, Option<String>), ValidationError> {
        Ok((
            required_text("name", &self.name, MAX_NAME_CHARS)?,
            optional_text("location", self.location.as_deref(), MAX_NAME_CHARS)?,
        ))
    }
}

/// Answer of `POST /api/devices`: the credential is shown this once. The tablet sends it as
/// the `X-Clowder-Device` header when staff unlock it with their PIN.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceRegistered {
    pub device: DeviceView,
    pub credential: String,
}

/// Body of `PATCH /api/devices/{id}`: retire a lost or replaced tablet with `active: false`
/// (its sessions end).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    pub active: bool,
}

/// Body of `PUT /api/auth/pin`: set or change one's PIN (needs the password).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPin {
    pub password: String,
    pub pin: String,
}

/// Body of `POST /api/auth/pin-unlock` (with the device's `X-Clowder-Device` header).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinUnlock {
    pub username: String,
    pub pin: String,
}

/// Checks a PIN: 4 to 6 digits, not all the same and not a straight run (1234, 987654).
pub fn check_pin(field: &str, pin: &str) -> Result<(), ValidationError> {
    let digits: Vec<u8> = pin.bytes().collect();
    if !(4..=6).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ValidationError::new(field, "must be 4 to 6 digits"));
    }
    let same = digits.windows(2).all(|w| w[0] == w[1]);
    let up = digits.windows(2).all(|w| w[1] == w[0] + 1);
    let down = digits.windows(2).all(|w| w[0] == w[1] + 1);
    if same || up || down {
        return Err(ValidationError::new(field, "is too easy to guess (a repeated digit or a straight run)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_4_to_6_digits_and_not_trivial() {
        for ok in ["2580", "13579", "804217"] {
            assert!(check_pin("pin", ok).is_ok(), "{ok}");
        }
        for bad in ["", "123", "1234567", "12a4", "0000", "1234", "987654", "１２３４"] {
            assert!(check_pin("pin", bad).is_err(), "{bad}");
        }
    }
}
