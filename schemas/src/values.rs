//! Value types parsed once at the edge: an `Email`, `Phone` or `Microchip` that exists is
//! valid. Each parser names the JSON field it was given so errors can point at it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::errors::ValidationError;

/// Longest free-text note we accept in one field (characters).
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Longest name-like field (characters).
pub const MAX_NAME_CHARS: usize = 100;
/// Most entries in a list field such as `alerts` or `allergies`.
pub const MAX_LIST_ENTRIES: usize = 50;

/// A required, trimmed, single-line text of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    single_line(field, v, max)
}

/// An optional single-line text: empty or whitespace becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ValidationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => single_line(field, v, max).map(Some),
    }
}

/// Free multi-line text (notes). Control characters other than newline and tab are refused.
pub fn note_text(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            if v.chars().count() > MAX_NOTE_CHARS {
                return Err(ValidationError::new(field, format!("must be at most {MAX_NOTE_CHARS} characters")));
            }
            if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
                return Err(ValidationError::new(field, "must not contain control characters"));
            }
            Ok(Some(v.to_owned()))
        }
    }
}

/// A list of short single-line entries (alerts, allergies, tags); blanks are dropped,
/// duplicates removed while keeping the first spelling.
pub fn text_list(field: &str, values: &[String], max_len: usize) -> Result<Vec<String>, ValidationError> {
    if values.len() > MAX_LIST_ENTRIES {
        return Err(ValidationError::new(field, format!("must have at most {MAX_LIST_ENTRIES} entries")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let v = single_line(&format!("{field}[{i}]"), v, max_len)?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
            out.push(v);
        }
    }
    Ok(out)
}

fn single_line(field: &str, v: &str, max: usize) -> Result<String, ValidationError> {
    if v.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must be a single line without control characters"));
    }
    Ok(v.to_owned())
}

/// An email address, trimmed and lower-cased (so uniqueness ignores case).
///
/// The check is deliberately simple (one `@`, a dotted domain, no spaces, at most 254
/// characters): the only real proof of an address is a delivered message.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, input: &str) -> Result<Self, ValidationError> {
        let v = input.trim().to_lowercase();
        let bad = || ValidationError::new(field, "must be an email address like name@example.com");
        if v.is_empty() || v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = v.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
            || !domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        {
            return Err(bad());
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A telephone number in E.164 form (`+` and up to 15 digits).
///
/// Input may carry spaces, dots, dashes and parentheses. A number written without `+` or
/// `00` is taken as national and given the clinic's default country calling code (a setting,
/// `1` by default); in the North American plan an 11-digit national number starting with `1`
/// already carries it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, input: &str, default_country_code: &str) -> Result<Self, ValidationError> {
        let bad = |why: &str| ValidationError::new(field, format!("must be a phone number: {why}"));
        let t = input.trim();
        if t.is_empty() {
            return Err(bad("it is empty"));
        }
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for (i, c) in t.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                _ => {
                    return Err(bad("only digits, spaces, dashes, dots, parentheses and a leading + are allowed"));
                }
            }
        }
        let international = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else if default_country_code == "1" && digits.len() == 11 && digits.starts_with('1') {
            digits
        } else {
            let national = digits.strip_prefix('0').unwrap_or(&digits);
            format!("{default_country_code}{national}")
        };
        if international.starts_with('0') {
            return Err(bad("a country code never starts with 0"));
        }
        if !(8..=15).contains(&international.len()) {
            return Err(bad("it needs 8 to 15 digits including the country code"));
        }
        Ok(Self(format!("+{international}")))
    }

    /// E.164 text, e.g. `+15551234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the digits, for search (`15551234567`).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

/// An identification microchip number: 9 to 15 digits (spaces and dashes ignored on input).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Microchip(String);

impl Microchip {
    pub fn parse(field: &str, input: &str) -> Result<Self, ValidationError> {
        let mut digits = String::with_capacity(15);
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return Err(ValidationError::new(field, "must contain only digits (9 to 15)")),
            }
        }
        if !(9..=15).contains(&digits.len()) {
            return Err(ValidationError::new(field, "must be 9 to 15 digits"));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_value {
    ($name:ident, $parse:expr, $example:literal) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        // Stored values were valid when written; reading them re-validates so a hand-edited
        // store cannot smuggle in a malformed value.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                #[allow(clippy::redundant_closure_call)]
                ($parse)(&s).map_err(|e: ValidationError| serde::de::Error::custom(e.message))
            }
        }
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .examples([$example])
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

string_value!(Email, |s: &str| Email::parse("email", s), "jane.doe@example.com");
string_value!(Phone, |s: &str| Phone::parse("phone", s, "1"), "+15551234567");
string_value!(Microchip, |s: &str| Microchip::parse("microchip", s), "985141000123456");

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(s: &str) -> Result<String, ValidationError> {
        Phone::parse("phone", s, "1").map(|p| p.as_str().to_owned())
    }

    #[test]
    fn phones_normalise_to_e164() {
        let cases = [
            ("(555) 123-4567", "+15551234567"),
            ("555.123.4567", "+15551234567"),
            ("1-555-123-4567", "+15551234567"),
            ("+44 20 7946 0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"),
        ];
        for (input, want) in cases {
            assert_eq!(phone(input).as_deref(), Ok(want), "{input}");
        }
        assert_eq!(Phone::parse("p", "020 7946 0958", "44").unwrap().as_str(), "+442079460958");
        assert_eq!(Phone::parse("p", "+15551234567", "1").unwrap().digits(), "15551234567");
    }

    #[test]
    fn bad_phones_name_the_field() {
        for bad in ["", "call me", "+1 555", "12345678901234567", "+0123456789", "555-CATS"] {
            let err = Phone::parse("phone_secondary", bad, "1").unwrap_err();
            assert_eq!(err.field, "phone_secondary", "{bad}");
        }
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(Email::parse("email", " Jane.Doe@Example.COM ").unwrap().as_str(), "jane.doe@example.com");
        for bad in
            ["", "jane", "jane@", "@example.com", "jane@example", "jane doe@example.com", "a@b@c.com", "x@-a.com"]
        {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn microchips_are_9_to_15_digits() {
        assert_eq!(Microchip::parse("m", "985 141 000 123 456").unwrap().as_str(), "985141000123456");
        assert!(Microchip::parse("m", "123456789").is_ok());
        for bad in ["12345678", "1234567890123456", "98514100012345A", ""] {
            assert!(Microchip::parse("m", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_lists_drop_blanks_and_duplicates() {
        let v = vec!["Bites".to_owned(), " ".to_owned(), "bites".to_owned(), "FeLV+".to_owned()];
        assert_eq!(text_list("alerts", &v, 200).unwrap(), vec!["Bites", "FeLV+"]);
        let too_long = vec!["x".repeat(201)];
        assert_eq!(text_list("alerts", &too_long, 200).unwrap_err().field, "alerts[0]");
    }

    #[test]
    fn required_text_refuses_blank_and_control_characters() {
        assert!(required_text("first_name", "   ", 100).is_err());
        assert!(required_text("first_name", "a\u{0}b", 100).is_err());
        assert_eq!(required_text("first_name", "  Zoë ", 100).unwrap(), "Zoë");
    }
}
