//! A message for one client, as staff send it (one by one or in a batch): the values a
//! client's record gives every template (`client_name`, `client_first_name`, `pet_names`,
//! `clinic_name`, `clinic_phone`), the channel and address chosen for the client, the purpose
//! a template's category implies, and the rendering. Pure functions over records read from a
//! snapshot; queueing is `batches.rs`'s, through `messages.rs`.

use std::collections::BTreeMap;

use clowder_schemas::ValidationError;
use clowder_schemas::clients::{Client, PreferredContact};
use clowder_schemas::messages::{Channel, Purpose};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::templates::{RenderedTemplate, Template, TemplateCategory};

use super::ClinicProfile;
use super::messages::Recipient;
use super::templates::{render, variables, variables_used};
use crate::error::Result;
use crate::store::{IndexTable, Reader, RecordTable};

/// The variables a client's record (and the clinic profile) fill in.
pub const CLIENT_VARIABLES: [&str; 5] =
    ["client_name", "client_first_name", "pet_names", "clinic_name", "clinic_phone"];

/// "Mochi", "Mochi and Biscuit", "Mochi, Biscuit and Tofu".
pub fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The names of a client's cats a message may mention: active ones (never a deceased cat),
/// in the order they were registered.
pub fn pet_names(r: &Reader, client: &Client) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for id in r.children(IndexTable::PatientsByClient, client.id.as_u128(), None)? {
        if let Some(p) = r.get::<Patient>(RecordTable::Patients, id)?
            && p.status == PatientStatus::Active
        {
            names.push(p.name);
        }
    }
    Ok(names)
}

/// The values every template gets from the client and the clinic. `clinic_phone` is left
/// out when the clinic has none, so a template that needs it is refused rather than sent
/// with a blank.
pub fn client_values(client: &Client, pets: &[String], clinic: &ClinicProfile) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("client_name".into(), format!("{} {}", client.first_name, client.last_name));
    v.insert("client_first_name".into(), client.first_name.clone());
    v.insert("pet_names".into(), join_names(pets));
    v.insert("clinic_name".into(), clinic.name.clone());
    if let Some(p) = &clinic.phone {
        v.insert("clinic_phone".into(), p.clone());
    }
    v
}

/// Checks values given by staff: each must be a variable of the template's category.
pub fn check_given(category: TemplateCategory, given: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    let allowed = variables(category);
    match given.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ValidationError::new(format!("values.{k}"), "is not a variable of this template's category")),
        None => Ok(()),
    }
}

/// The first variable `template` uses that neither the client's record nor `given` fills
/// in (checked before anything is queued, so a batch fails whole rather than per client).
pub fn missing_variable(template: &Template, given: &BTreeMap<String, String>, has_phone: bool) -> Option<String> {
    variables_used(&template.content).into_iter().find(|v| {
        let from_record = CLIENT_VARIABLES.contains(&v.as_str()) && (v != "clinic_phone" || has_phone);
        !from_record && !given.contains_key(v)
    })
}

/// Refuses a template that cannot be sent: inactive, or with a variable nothing fills in.
pub fn check_template(
    template: &Template,
    given: &BTreeMap<String, String>,
    clinic: &ClinicProfile,
) -> Result<(), ValidationError> {
    if !template.active {
        return Err(ValidationError::new("template_id", "the template is inactive"));
    }
    check_given(template.category, given)?;
    if let Some(v) = missing_variable(template, given, clinic.phone.is_some()) {
        let why = if v == "clinic_phone" {
            "is used by the template but the clinic has no phone (CLOWDER_CLINIC_PHONE); give it here".to_owned()
        } else {
            "is used by the template; give its value".to_owned()
        };
        return Err(ValidationError::new(format!("values.{v}"), why));
    }
    Ok(())
}

/// The purpose a template's category implies: campaigns and newsletters are marketing, the
/// rest is about the client's own care.
pub fn purpose_of(category: TemplateCategory) -> Purpose {
    match category {
        TemplateCategory::Campaign | TemplateCategory::Newsletter => Purpose::Marketing,
        _ => Purpose::Transactional,
    }
}

/// The channel for a client when none was asked for: their preferred contact when they have
/// that address, else email when they have one, else SMS (every client has a phone).
pub fn default_channel(client: &Client) -> Channel {
    match client.preferred_contact {
        PreferredContact::Sms => Channel::Sms,
        PreferredContact::Email | PreferredContact::Phone if client.email.is_some() => Channel::Email,
        _ => Channel::Sms,
    }
}

/// The client's address on `channel`, if they have one.
pub fn address(client: &Client, channel: Channel) -> Option<Recipient> {
    match channel {
        Channel::Email => client.email.clone().map(Recipient::Email),
        Channel::Sms => Some(Recipient::Sms(client.phone.clone())),
    }
}

/// Renders `template` for a client: the client's values, then `given` over them.
pub fn render_for(
    template: &Template,
    client_values: BTreeMap<String, String>,
    given: &BTreeMap<String, String>,
) -> Result<RenderedTemplate, ValidationError> {
    let mut values = client_values;
    values.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    render(template.channel, &template.content, &values)
}

/// A transactional email to `client` at `to`, keyed `key` (its attachment is the caller's):
/// the active template of `category` rendered with `values`, or, when the clinic has none of
/// that category (a store written before it existed), the fixed `(subject, text)` of
/// `fallback`.
pub fn transactional_email(
    reader: &Reader,
    category: TemplateCategory,
    to: Recipient,
    client: &Client,
    values: &BTreeMap<String, String>,
    key: String,
    fallback: impl FnOnce() -> Result<(String, String)>,
) -> Result<super::messages::NewMessage> {
    let template = super::analytics::pick_variant(reader, category, Channel::Email, &key)?;
    let (subject, text, html, template) = match template {
        Some(t) => {
            let r = render(Channel::Email, &t.content, values)?;
            (r.subject, r.text, r.html, Some((t.id, t.category)))
        }
        None => {
            let (subject, text) = fallback()?;
            (Some(subject), text, None, None)
        }
    };
    Ok(super::messages::NewMessage {
        to,
        client_id: Some(client.id),
        subject,
        text,
        html,
        idempotency_key: key,
        due_at: None,
        purpose: Purpose::Transactional,
        template,
        automation: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pet_names_read_as_a_sentence() {
        let n = |v: &[&str]| join_names(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(n(&[]), "");
        assert_eq!(n(&["Mochi"]), "Mochi");
        assert_eq!(n(&["Mochi", "Biscuit"]), "Mochi and Biscuit");
        assert_eq!(n(&["Mochi", "Biscuit", "Tofu"]), "Mochi, Biscuit and Tofu");
    }

    fn template(category: TemplateCategory, text: &str, active: bool) -> Template {
        use clowder_schemas::templates::TemplateContent;
        Template {
            id: clowder_schemas::TemplateId::from_u128(1),
            category,
            channel: Channel::Sms,
            content: TemplateContent {
                name: "t".into(),
                subject: None,
                text_body: text.into(),
                html_body: None,
                max_sms_segments: 3,
            },
            active,
            version: 1,
            versions: vec![],
            sms_segments: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            created_by: None,
            updated_by: None,
        }
    }

    fn clinic(phone: Option<&str>) -> ClinicProfile {
        ClinicProfile { name: "Whisker".into(), phone: phone.map(str::to_owned), public_url: "http://x".into() }
    }

    #[test]
    fn a_template_is_refused_before_sending_when_a_value_would_be_missing() {
        let none = BTreeMap::new();
        let t = template(TemplateCategory::AppointmentReminder, "{{ client_name }} at {{ appointment_time }}", true);
        let e = check_template(&t, &none, &clinic(Some("555"))).unwrap_err();
        assert_eq!(e.field, "values.appointment_time");
        let given = BTreeMap::from([("appointment_time".to_owned(), "Mon 9:00".to_owned())]);
        assert!(check_template(&t, &given, &clinic(Some("555"))).is_ok());
        // The clinic's phone comes from the profile, or must be given.
        let t = template(TemplateCategory::Welcome, "Call {{ clinic_phone }}", true);
        assert!(check_template(&t, &none, &clinic(Some("555"))).is_ok());
        assert_eq!(check_template(&t, &none, &clinic(None)).unwrap_err().field, "values.clinic_phone");
        // A value outside the category, and an inactive template.
        let bad = BTreeMap::from([("vaccine_name".to_owned(), "x".to_owned())]);
        assert_eq!(check_template(&t, &bad, &clinic(Some("5"))).unwrap_err().field, "values.vaccine_name");
        let off = template(TemplateCategory::Welcome, "Hi", false);
        assert_eq!(check_template(&off, &none, &clinic(None)).unwrap_err().field, "template_id");
    }

    #[test]
    fn given_values_win_over_the_clients() {
        let t = template(TemplateCategory::Welcome, "Hi {{ client_first_name }} from {{ clinic_name }}", true);
        let mine = BTreeMap::from([
            ("client_first_name".to_owned(), "Jo".to_owned()),
            ("clinic_name".to_owned(), "W".to_owned()),
        ]);
        let given = BTreeMap::from([("client_first_name".to_owned(), "Dr Jo".to_owned())]);
        assert_eq!(render_for(&t, mine, &given).unwrap().text, "Hi Dr Jo from W");
    }

    #[test]
    fn campaigns_and_newsletters_are_marketing() {
        assert_eq!(purpose_of(TemplateCategory::Campaign), Purpose::Marketing);
        assert_eq!(purpose_of(TemplateCategory::Newsletter), Purpose::Marketing);
        assert_eq!(purpose_of(TemplateCategory::Birthday), Purpose::Transactional);
        assert_eq!(purpose_of(TemplateCategory::AppointmentReminder), Purpose::Transactional);
    }
}
