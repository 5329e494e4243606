//! The default templates a clinic starts with: for every [`TemplateCategory`] an email
//! (subject, plain text, mobile-friendly HTML) and a text message, in a warm, Fear Free tone.
//! [`ensure_defaults`] writes them once, through the template kind (so they are versioned
//! records checked like any saved template), when the store has no template at all: a
//! restart writes nothing, and a clinic's edits are never overwritten.
//!
//! The HTML is one layout ([`html`]): a single 600-pixel column, inline styles only (mail
//! clients drop `<style>`), links as large buttons, no images. Every text message names the
//! clinic and stays within its segment limit with realistic link lengths.

use clowder_schemas::audit::Caller;
use clowder_schemas::messages::Channel;
use clowder_schemas::templates::{TemplateCategory, TemplateContent, TemplateDraft};

use super::templates::Templates;
use crate::error::Result;
use crate::store::RecordTable;

use TemplateCategory::*;

/// Largest segment count of a default text (the providers refuse more than 4 by default).
const SMS_SEGMENTS: u8 = 4;

/// One category's default wording.
pub struct Default {
    pub category: TemplateCategory,
    pub name: &'static str,
    pub subject: &'static str,
    /// Paragraphs of the email, each a template source; joined by blank lines for the text part.
    pub paragraphs: &'static [&'static str],
    /// Buttons of the email: label and the variable holding the link.
    pub buttons: &'static [(&'static str, &'static str)],
    pub sms: &'static str,
}

const SIGN_OFF: &str = "Purrs and whisker rubs,\nThe team at {{ clinic_name }} - {{ clinic_phone }}";

/// Every category's default, in the order of [`TemplateCategory`].
pub const DEFAULTS: &[Default] = &[
    Default {
        category: AppointmentReminder,
        name: "Appointment reminder",
        subject: "See you soon, {{ pet_names }}: {{ appointment_time }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "This is a friendly reminder that {{ pet_names }} {{ 'is' if ' and ' not in pet_names else 'are' }} booked for {{ appointment_type }} on {{ appointment_time }}.",
            "A few tips for a calm visit: bring your cat in a secure carrier with a familiar blanket, and cover it with a towel in the waiting room. A little hunger helps treats work wonders, unless we asked you to keep feeding as usual.",
            "Please let us know if you can make it:",
        ],
        buttons: &[
            ("Confirm the appointment", "confirm_link"),
            ("I need another time", "reschedule_link"),
            ("Cancel the appointment", "cancel_link"),
        ],
        sms: "{{ clinic_name }}: {{ pet_names }} - {{ appointment_type }}, {{ appointment_time }}. Confirm: {{ confirm_link }} Cancel: {{ cancel_link }} Questions? {{ clinic_phone }}",
    },
    Default {
        category: AppointmentConfirmation,
        name: "Appointment confirmation",
        subject: "Booked: {{ pet_names }} on {{ appointment_time }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "{{ pet_names }} {{ 'is' if ' and ' not in pet_names else 'are' }} booked for {{ appointment_type }} on {{ appointment_time }}. We look forward to seeing you.",
            "Leaving the carrier out at home for a few days before the visit helps it feel like a safe den rather than a sign of a car trip.",
        ],
        buttons: &[("I need another time", "reschedule_link"), ("Cancel the appointment", "cancel_link")],
        sms: "{{ clinic_name }}: {{ pet_names }} booked for {{ appointment_time }}. Need another time? {{ reschedule_link }}",
    },
    Default {
        category: FollowUp,
        name: "After the visit",
        subject: "How is {{ pet_names }} doing?",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "We hope {{ pet_names }} settled back in nicely after the visit on {{ visit_date }}. Cats often hide for a while after a trip to see us; a quiet room, fresh water and their favourite spot help.",
            "If anything worries you (not eating, hiding for more than a day, anything that seems off), please call us. We are glad to help.",
        ],
        buttons: &[("Call or book a recheck", "booking_link")],
        sms: "{{ clinic_name }}: how is {{ pet_names }} doing after the visit on {{ visit_date }}? Any worries, call us at {{ clinic_phone }}.",
    },
    Default {
        category: VaccineDue,
        name: "Vaccine due",
        subject: "{{ pet_names }}: {{ vaccine_name }} due {{ due_date }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "{{ pet_names }} {{ 'is' if ' and ' not in pet_names else 'are' }} due for {{ vaccine_name }} on {{ due_date }}. Staying up to date keeps them protected, indoors and out.",
            "Book a short, calm visit whenever suits you.",
        ],
        buttons: &[("Book the visit", "booking_link")],
        sms: "{{ clinic_name }}: {{ pet_names }} due for {{ vaccine_name }} on {{ due_date }}. Book: {{ booking_link }}",
    },
    Default {
        category: PlanStepReminder,
        name: "Treatment plan step",
        subject: "{{ pet_names }}: {{ step_title }} on {{ step_date }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "As part of {{ pet_names }}'s {{ plan_name }} plan, the next step is {{ step_title }} on {{ step_date }}.",
            "If it is not booked yet, or the day no longer suits you, book a time or call us at {{ clinic_phone }}.",
        ],
        buttons: &[("Book the visit", "booking_link")],
        sms: "{{ clinic_name }}: {{ pet_names }}'s {{ step_title }} is due on {{ step_date }}. Book: {{ booking_link }}",
    },
    Default {
        category: Birthday,
        name: "Happy birthday",
        subject: "Happy birthday, {{ pet_names }}!",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "Happy birthday to {{ pet_names }}! Everyone at {{ clinic_name }} sends head bonks and slow blinks.",
            "{% if discount_code %}As a birthday treat, use the code {{ discount_code }} at your next visit.{% else %}A yearly check-up is the best birthday present we know.{% endif %}",
        ],
        buttons: &[("Book a check-up", "booking_link")],
        sms: "{{ clinic_name }}: happy birthday, {{ pet_names }}!{% if discount_code %} Treat code: {{ discount_code }}.{% endif %}",
    },
    Default {
        category: Welcome,
        name: "Welcome",
        subject: "{% if welcome_day == '0' %}Welcome to {{ clinic_name }}{% elif welcome_day == '3' %}Making vet visits easier for {{ pet_names }}{% else %}Anything we can help with?{% endif %}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "{% if welcome_day == '0' %}Welcome to {{ clinic_name }}! We are a cats-only practice, so {{ pet_names }} will never share a waiting room with a barking dog.{% elif welcome_day == '3' %}A tip for stress-free visits: leave the carrier out at home with a soft blanket and a few treats inside, so {{ pet_names }} learns it is a safe place.{% else %}It has been a week since you joined us. If you have questions about food, litter, or behaviour, our team is happy to talk.{% endif %}",
        ],
        buttons: &[("Your pet portal", "portal_link")],
        sms: "{% if welcome_day == '0' %}Welcome to {{ clinic_name }}! Save this number: {{ clinic_phone }}{% elif welcome_day == '3' %}{{ clinic_name }} tip: leave the carrier out with a blanket so {{ pet_names }} sees it as a safe den.{% else %}{{ clinic_name }}: any questions about {{ pet_names }}? Call {{ clinic_phone }}.{% endif %}",
    },
    Default {
        category: ReEngagement,
        name: "We miss you",
        subject: "We miss {{ pet_names }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "We have not seen {{ pet_names }} since {{ last_visit_date }}. Cats are experts at hiding discomfort, so a yearly visit helps us catch things early.",
            "We would love to see you again.",
        ],
        buttons: &[("Book a visit", "booking_link")],
        sms: "{{ clinic_name }}: we miss {{ pet_names }}! It has been a while since {{ last_visit_date }}. Book: {{ booking_link }}",
    },
    Default {
        category: WaitlistOffer,
        name: "Waitlist offer",
        subject: "A spot opened for {{ pet_names }}: {{ appointment_time }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "Good news: a {{ appointment_type }} spot opened up on {{ appointment_time }} for {{ pet_names }}.",
            "The offer is open {{ offer_expires }}; the first to accept gets it.",
        ],
        buttons: &[("Take this spot", "offer_link")],
        sms: "{{ clinic_name }}: a spot opened for {{ pet_names }} on {{ appointment_time }}. Take it ({{ offer_expires }}): {{ offer_link }}",
    },
    Default {
        category: Campaign,
        name: "Campaign",
        subject: "News from {{ clinic_name }}",
        paragraphs: &["Hi {{ client_first_name }},", "We have news for {{ pet_names }} and you."],
        buttons: &[("Book a visit", "booking_link"), ("Unsubscribe", "unsubscribe_link")],
        sms: "{{ clinic_name }}: news for {{ pet_names }}. Book: {{ booking_link }}",
    },
    Default {
        category: Newsletter,
        name: "Newsletter",
        subject: "The {{ clinic_name }} newsletter",
        paragraphs: &["Hi {{ client_first_name }},", "Here is what is new for cats and their people this month."],
        buttons: &[("Book a visit", "booking_link"), ("Unsubscribe", "unsubscribe_link")],
        sms: "{{ clinic_name }} newsletter: {{ booking_link }}",
    },
    Default {
        category: Receipt,
        name: "Receipt",
        subject: "Your receipt {{ invoice_number }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "Thank you for trusting us with {{ pet_names }}. Your receipt {{ invoice_number }} comes to {{ amount }}.",
        ],
        buttons: &[("View the receipt", "receipt_link")],
        sms: "{{ clinic_name }}: receipt {{ invoice_number }}, {{ amount }}: {{ receipt_link }}",
    },
    Default {
        category: WellnessReminder,
        name: "Yearly wellness exam",
        subject: "Time for {{ pet_names }}'s yearly check-up",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "It is almost a year since {{ pet_names }}'s last wellness exam. Cats age faster than we do, and a yearly check catches quiet problems (teeth, kidneys, weight) early.",
            "Book a calm visit whenever suits you.",
        ],
        buttons: &[("Book the check-up", "booking_link")],
        sms: "{{ clinic_name }}: {{ pet_names }} is due for a yearly check-up. Book: {{ booking_link }}",
    },
    Default {
        category: Anniversary,
        name: "Anniversary",
        subject: "{{ years }} years with {{ clinic_name }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "Today marks {{ years }} year{{ '' if years == '1' else 's' }} since you and {{ pet_names }} joined {{ clinic_name }}. Thank you for letting us care for your family.",
        ],
        buttons: &[("Book a visit", "booking_link")],
        sms: "{{ clinic_name }}: {{ years }} year{{ '' if years == '1' else 's' }} together today! Thank you for trusting us with {{ pet_names }}.",
    },
    Default {
        category: PaymentPlanLate,
        name: "Payment plan instalment missed",
        subject: "Your instalment of {{ instalment_amount }} was due on {{ instalment_due_date }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "The instalment of {{ instalment_amount }} on your payment plan for invoice {{ plan_invoice_number }} was due on {{ instalment_due_date }} and we have not received it yet.",
            "If you have already paid, thank you and please ignore this message. If something has changed, call us and we will find a way together.",
        ],
        buttons: &[],
        sms: "{{ clinic_name }}: your instalment of {{ instalment_amount }} (invoice {{ plan_invoice_number }}) was due {{ instalment_due_date }}. Questions? Call us.",
    },
    Default {
        category: Statement,
        name: "Statement of account",
        subject: "Your statement from {{ clinic_name }}: {{ statement_balance }} due",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "Your statement of account for {{ statement_from }} to {{ statement_to }} is attached. The balance on {{ statement_to }} is {{ statement_balance }}, of which {{ statement_overdue }} is past due.",
            "If you have already paid, thank you and please ignore this message. If you would like a payment plan or have a question about a charge, call us and we will sort it out together.",
        ],
        buttons: &[],
        sms: "{{ clinic_name }}: your statement to {{ statement_to }} shows {{ statement_balance }} due. We emailed it; questions? Call us.",
    },
    Default {
        category: Estimate,
        name: "Estimate",
        subject: "Your estimate {{ estimate_number }} from {{ clinic_name }}",
        paragraphs: &[
            "Hi {{ client_first_name }},",
            "Your estimate {{ estimate_number }} for {{ estimate_cat }} is attached as a PDF. It comes to {{ estimate_range }}, depending on the option you choose and what we find on the day, and it is valid until {{ estimate_valid_until }}.",
            "Each option lists its lines with a low and a high amount. If a line is unclear or you would like to talk the options through, call us and we will go through them together.",
        ],
        buttons: &[],
        // No range here: it is written with an en dash, which would make the SMS UCS-2.
        sms: "{{ clinic_name }}: your estimate {{ estimate_number }} for {{ estimate_cat }} is in your email. Questions? Call us.",
    },
];

/// The email's HTML: one column at most 600 pixels wide, inline styles, each link a button
/// with a 44-pixel tap target, no images. The paragraphs are template sources.
pub fn html(d: &Default) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
<body style=\"margin:0;padding:0;background:#f6f3ee;\">\
<div style=\"max-width:600px;margin:0 auto;padding:24px 16px;font-family:Helvetica,Arial,sans-serif;font-size:17px;line-height:1.5;color:#2d2a26;\">\
<div style=\"font-size:20px;font-weight:bold;color:#7a4e2d;padding-bottom:12px;\">{{ clinic_name }}</div>",
    );
    for p in d.paragraphs {
        out.push_str("<p style=\"margin:0 0 16px;\">");
        out.push_str(p);
        out.push_str("</p>");
    }
    for (label, var) in d.buttons {
        out.push_str(&format!(
            "<p style=\"margin:0 0 12px;\"><a href=\"{{{{ {var} }}}}\" style=\"display:block;min-height:44px;padding:12px 16px;box-sizing:border-box;border-radius:8px;background:#7a4e2d;color:#ffffff;text-align:center;text-decoration:none;font-weight:bold;\">{label}</a></p>"
        ));
    }
    out.push_str("<p style=\"margin:24px 0 0;font-size:15px;color:#6b645c;\">Purrs and whisker rubs,<br>The team at {{ clinic_name }}<br>{{ clinic_phone }}</p></div></body></html>");
    out
}

/// The email's plain text: the paragraphs, each button as `label: link`, the sign-off.
pub fn text(d: &Default) -> String {
    let mut parts: Vec<String> = d.paragraphs.iter().map(|p| (*p).to_owned()).collect();
    parts.extend(d.buttons.iter().map(|(label, var)| format!("{label}: {{{{ {var} }}}}")));
    parts.push(SIGN_OFF.to_owned());
    parts.join("\n\n")
}

/// The two drafts (email and SMS) of a default.
pub fn drafts(d: &Default) -> [TemplateDraft; 2] {
    [
        TemplateDraft {
            category: d.category,
            channel: Channel::Email,
            content: TemplateContent {
                name: d.name.to_owned(),
                subject: Some(d.subject.to_owned()),
                text_body: text(d),
                html_body: Some(html(d)),
                max_sms_segments: clowder_schemas::templates::DEFAULT_SMS_SEGMENTS,
            },
            active: true,
        },
        TemplateDraft {
            category: d.category,
            channel: Channel::Sms,
            content: TemplateContent {
                name: d.name.to_owned(),
                subject: None,
                text_body: d.sms.to_owned(),
                html_body: None,
                max_sms_segments: SMS_SEGMENTS,
            },
            active: true,
        },
    ]
}

/// Writes every default template if the store has none (the first start); returns how many
/// it wrote. A clinic that deleted or renamed them is left alone: only an empty table is filled.
pub async fn ensure_defaults(templates: &Templates, store: &crate::store::Store) -> Result<usize> {
    if store.read()?.count(RecordTable::Templates)? > 0 {
        return Ok(0);
    }
    let mut n = 0;
    for d in DEFAULTS {
        for draft in drafts(d) {
            templates.create(draft, &Caller::system()).await?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use jiff::tz::TimeZone;

    use super::*;
    use crate::comms::templates::{check_content, render, sample_values};

    const ALL: [TemplateCategory; 17] = [
        AppointmentReminder,
        AppointmentConfirmation,
        FollowUp,
        VaccineDue,
        Birthday,
        Welcome,
        ReEngagement,
        WaitlistOffer,
        Campaign,
        Newsletter,
        Receipt,
        WellnessReminder,
        Anniversary,
        PaymentPlanLate,
        Statement,
        Estimate,
        PlanStepReminder,
    ];

    fn long_values(category: TemplateCategory) -> BTreeMap<String, String> {
        // Long but real-looking values: a clinic name of 30 characters, two cats with long names.
        let mut v = sample_values(category, &TimeZone::get("America/New_York").unwrap());
        v.insert("clinic_name".into(), "Whiskers & Purrs Cat Hospital".into());
        v.insert("pet_names".into(), "Mochi, Biscuit and Sir Pounce".into());
        v
    }

    #[test]
    fn every_category_has_a_default_and_each_passes_the_save_checks() {
        let have: BTreeSet<&str> = DEFAULTS.iter().map(|d| d.category.into()).collect();
        let want: BTreeSet<&str> = ALL.iter().map(|c| (*c).into()).collect();
        assert_eq!(have, want);
        let tz = TimeZone::get("America/New_York").unwrap();
        for d in DEFAULTS {
            for draft in drafts(d) {
                check_content(draft.category, draft.channel, &draft.content, &tz)
                    .unwrap_or_else(|e| panic!("{} {:?}: {e:?}", d.name, draft.channel));
            }
        }
    }

    #[test]
    fn every_default_renders_and_every_sms_names_the_clinic_within_its_segments() {
        for d in DEFAULTS {
            for welcome_day in ["0", "3", "7"] {
                let mut values = long_values(d.category);
                if d.category == Welcome {
                    values.insert("welcome_day".into(), welcome_day.into());
                }
                let [email, sms] = drafts(d);
                let e = render(Channel::Email, &email.content, &values).unwrap();
                let html = e.html.unwrap();
                assert!(html.contains("max-width:600px") && !html.contains("<img"), "{}", d.name);
                assert!(!e.subject.unwrap().trim().is_empty());
                let s = render(Channel::Sms, &sms.content, &values).unwrap();
                assert!(s.text.contains("Whiskers & Purrs Cat Hospital"), "{}: {}", d.name, s.text);
                let seg = s.segments.unwrap();
                assert!(seg.count <= u32::from(SMS_SEGMENTS), "{}: {} segments: {}", d.name, seg.count, s.text);
                assert_eq!(seg.encoding, clowder_schemas::templates::SmsEncoding::Gsm7, "{}: {}", d.name, s.text);
            }
        }
    }

    #[test]
    fn values_are_escaped_in_the_html_and_one_cat_reads_is() {
        let d = &DEFAULTS[0];
        let mut values = long_values(d.category);
        values.insert("pet_names".into(), "<Mochi>".into());
        let [email, _] = drafts(d);
        let r = render(Channel::Email, &email.content, &values).unwrap();
        assert!(r.html.unwrap().contains("&lt;Mochi&gt; is booked"));
        assert!(r.text.contains("<Mochi> is booked"));
    }
}
