//! Waitlist offers (transactional): the message is queued in the change set that makes the
//! offer, with a signed accept link expiring with the offer (`/l/offer/<token>` accepts through
//! the waitlist's own accept path). Key `waitlist_offer:<offer id>`.

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::audit::Caller;
use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::waitlist::WaitlistOffer;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::comms::links::LinkPurpose;
use crate::error::Result;
use crate::store::{ChangeSet, RecordTable};

pub const KIND: &str = "waitlist_offer";

/// The waitlist-offer rule.
pub struct WaitlistOffers;

impl Rule for WaitlistOffers {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "A freed slot offered to a waiting client, with a link that books it"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::WaitlistOffer
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Transactional
    }
    fn trigger(&self) -> Trigger {
        Trigger::Event
    }
    fn params(&self) -> &'static [Param] {
        &[]
    }
}

/// Queues the offer's message into the offer's change set (when the rule is on).
pub(crate) fn queue_offer(env: &Env, set: &mut ChangeSet, offer: &WaitlistOffer, caller: &Caller) -> Result<()> {
    let rule = WaitlistOffers;
    let s = env.settings(&rule)?;
    if !s.enabled {
        return Ok(());
    }
    let r = env.read()?;
    let Some(client) = r.get::<Client>(RecordTable::Clients, offer.client_id.as_u128())? else { return Ok(()) };
    let patients = alive(r.get::<Patient>(RecordTable::Patients, offer.patient_id.as_u128())?);
    let tz = &env.ctx.config.time_zone;
    let mut values = std::collections::BTreeMap::new();
    values.insert("appointment_time".into(), crate::comms::templates::format_time(offer.slot.start, tz));
    let type_name = r
        .get::<AppointmentType>(RecordTable::AppointmentTypes, offer.slot.type_id.as_u128())?
        .map(|t| t.name)
        .unwrap_or_else(|| "visit".into());
    values.insert("appointment_type".into(), type_name);
    values.insert(
        "offer_expires".into(),
        format!("until {}", crate::comms::templates::format_time(offer.expires_at, tz)),
    );
    values.insert("offer_link".into(), env.links.url(LinkPurpose::AcceptOffer, offer.id.as_u128(), offer.expires_at));
    let due = Due { client, patients, key: format!("{KIND}:{}", offer.id), due_at: env.now(), values };
    env.queue(set, &rule, &s, &due, caller)?;
    Ok(())
}
