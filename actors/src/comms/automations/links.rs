//! What the signed links in automated messages do (`/l/confirm|cancel|reschedule|offer/<token>`):
//! [`Automations::link_page`] says what the link would do (a GET changes nothing: mail
//! scanners follow links), [`Automations::link_act`] does it (the page's one button POSTs).
//! Every change goes through the service staff use (the calendar's transition, the waitlist's
//! accept), audited with the system as actor and the client named (`client <id>`) with how.

use clowder_schemas::access::Permissions;
use clowder_schemas::appointments::{Appointment, Status, TransitionRequest};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::events::{Author, DomainEvent};
use clowder_schemas::waitlist::{OfferStatus, WaitlistOffer};
use clowder_schemas::{AppointmentId, OfferId};

use super::reminders::{self, Reminders};
use super::{Automations, pet_names};
use crate::comms::links::{LinkError, LinkPurpose};
use crate::error::{Error, Result};
use crate::store::{ChangeSet, RecordTable};

/// How a link page answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// The link works (the page shows its button, or what was done).
    Ok,
    /// Expired, used, or its subject has moved on: nothing changed (410).
    Gone,
    /// Not one of ours, tampered with, or names nothing (404).
    NotFound,
}

/// A small page: a title, a sentence, and (on GET of a working link) the button's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPage {
    pub status: LinkStatus,
    pub title: String,
    pub message: String,
    pub button: Option<String>,
    pub clinic_name: String,
    pub clinic_phone: Option<String>,
}

/// Who acts through a link: the system, naming the client and how (the trail reads
/// "client … through a signed link"), with the visitor's address, browser and the link's
/// idempotency claim (so the first change set claims it).
pub fn link_caller(client: clowder_schemas::ClientId, visitor: &Caller) -> Caller {
    Caller {
        actor: Some(Author::System),
        username: Some(format!("client {client}")),
        ip: visitor.ip.clone(),
        user_agent: visitor.user_agent.clone(),
        request_id: visitor.request_id.clone(),
        reason: Some("through a signed link in a message".into()),
        idempotency: visitor.idempotency.clone(),
    }
}

/// The idempotency principal of a link: `link:` and the hex SHA-256 of its token (the token
/// is the authority, and a credential, so only its hash is kept). Every POST of one link is
/// one request under one key: a repeat replays the first answer and never acts twice.
pub fn link_principal(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    format!("link:{}", crate::store::commit::hex(&digest))
}

/// The one idempotency key of every POST of a link (see [`link_principal`]).
pub const LINK_KEY: &str = "link";

impl Automations {
    fn page(&self, status: LinkStatus, title: &str, message: String, button: Option<&str>) -> LinkPage {
        let c = &self.env.ctx.config.comms.clinic;
        LinkPage {
            status,
            title: title.to_owned(),
            message,
            button: button.map(str::to_owned),
            clinic_name: c.name.clone(),
            clinic_phone: c.phone.clone(),
        }
    }

    /// The page of a link whose first POST is still being handled (a double press).
    pub fn busy_page(&self) -> LinkPage {
        self.page(
            LinkStatus::Ok,
            "One moment",
            "We are still handling your first press; reload this page.".into(),
            None,
        )
    }

    /// The page of a link that acted, but whose answer was lost when the server stopped.
    pub fn used_page(&self) -> LinkPage {
        self.page(
            LinkStatus::Gone,
            "This link was already used",
            format!("Your first press was received. If you need help, {}.", self.call_us()),
            None,
        )
    }

    fn call_us(&self) -> String {
        match &self.env.ctx.config.comms.clinic.phone {
            Some(p) => format!("please call us at {p}"),
            None => "please call the clinic".to_owned(),
        }
    }

    fn refused(&self, e: LinkError) -> LinkPage {
        match e {
            LinkError::Expired(_) => self.page(
                LinkStatus::Gone,
                "This link has expired",
                format!("Nothing was changed. If you need help, {}.", self.call_us()),
                None,
            ),
            _ => self.page(
                LinkStatus::NotFound,
                "Link not found",
                "This link is not valid. Nothing was changed.".into(),
                None,
            ),
        }
    }

    fn appointment(&self, purpose: LinkPurpose, token: &str) -> std::result::Result<Appointment, Box<LinkPage>> {
        let link = self.env.links.verify(purpose, token, self.env.now()).map_err(|e| Box::new(self.refused(e)))?;
        let r = self.env.read().map_err(|_| Box::new(self.refused(LinkError::Malformed)))?;
        match r.get::<Appointment>(RecordTable::Appointments, link.subject) {
            Ok(Some(a)) => Ok(a),
            _ => Err(Box::new(self.refused(LinkError::Malformed))),
        }
    }

    /// The visit of a link's appointment (the owner's appointments seen together), still open.
    fn open_visit(&self, a: &Appointment) -> Result<Vec<Appointment>> {
        let s = self.env.settings(&Reminders)?;
        Ok(reminders::visit_of(&self.env, &s, a)?.map(|v| v.appointments).unwrap_or_default())
    }

    /// What a link would do; changes nothing.
    pub fn link_page(&self, purpose: LinkPurpose, token: &str) -> Result<LinkPage> {
        self.link(purpose, token, None).map(|(p, _)| p)
    }

    fn link(&self, purpose: LinkPurpose, token: &str, act: Option<&Caller>) -> Result<(LinkPage, Option<Plan>)> {
        if purpose == LinkPurpose::AcceptOffer {
            return self.offer_link(token);
        }
        let a = match self.appointment(purpose, token) {
            Ok(a) => a,
            Err(page) => return Ok((*page, None)),
        };
        let _ = act;
        let visit = self.open_visit(&a)?;
        let gone = |title: &str| {
            Ok((
                self.page(
                    LinkStatus::Gone,
                    title,
                    format!("Nothing was changed. If you need help, {}.", self.call_us()),
                    None,
                ),
                None,
            ))
        };
        if visit.is_empty() {
            return gone("This appointment is no longer open");
        }
        let cats = {
            let r = self.env.read()?;
            let mut ps = Vec::new();
            for v in &visit {
                if let Some(p) = r.get(RecordTable::Patients, v.patient_id.as_u128())? {
                    ps.push(p);
                }
            }
            pet_names(&super::alive(ps))
        };
        let when = crate::comms::templates::format_time(visit[0].start, &self.env.ctx.config.time_zone);
        let ids: Vec<AppointmentId> = visit.iter().map(|v| v.id).collect();
        match purpose {
            LinkPurpose::ConfirmAppointment => {
                if visit.iter().all(|v| v.status == Status::Confirmed) {
                    return Ok((
                        self.page(
                            LinkStatus::Gone,
                            "Already confirmed",
                            format!("{cats}'s visit on {when} is confirmed. See you then!"),
                            None,
                        ),
                        None,
                    ));
                }
                Ok((
                    self.page(LinkStatus::Ok, "Confirm the visit", format!("{cats} on {when}."), Some("Confirm")),
                    Some(Plan::Confirm(ids)),
                ))
            }
            LinkPurpose::CancelAppointment => {
                if !reminders::may_cancel(&self.env, visit[0].start)? {
                    return Ok((
                        self.page(
                            LinkStatus::Ok,
                            "Please call us to cancel",
                            format!("{cats}'s visit on {when} is too close to cancel online: {}.", self.call_us()),
                            None,
                        ),
                        None,
                    ));
                }
                Ok((
                    self.page(
                        LinkStatus::Ok,
                        "Cancel the visit",
                        format!("{cats} on {when}."),
                        Some("Cancel the visit"),
                    ),
                    Some(Plan::Cancel(ids)),
                ))
            }
            LinkPurpose::RescheduleAppointment => Ok((
                self.page(
                    LinkStatus::Ok,
                    "Ask for another time",
                    format!(
                        "{cats} on {when}. We will call you to find a better time; you can also {}.",
                        self.call_us()
                    ),
                    Some("Ask us to call me"),
                ),
                Some(Plan::Reschedule(Box::new(a))),
            )),
            _ => Ok((self.refused(LinkError::WrongPurpose), None)),
        }
    }

    fn offer_link(&self, token: &str) -> Result<(LinkPage, Option<Plan>)> {
        let link = match self.env.links.verify(LinkPurpose::AcceptOffer, token, self.env.now()) {
            Ok(l) => l,
            Err(e) => return Ok((self.refused(e), None)),
        };
        let Some(offer) = self.env.read()?.get::<WaitlistOffer>(RecordTable::Offers, link.subject)? else {
            return Ok((self.refused(LinkError::Malformed), None));
        };
        let when = crate::comms::templates::format_time(offer.slot.start, &self.env.ctx.config.time_zone);
        match offer.status_at(self.env.now()) {
            OfferStatus::Pending => Ok((
                self.page(LinkStatus::Ok, "Take this spot", format!("The visit on {when}."), Some("Book it")),
                Some(Plan::Accept(OfferId::from_u128(link.subject))),
            )),
            OfferStatus::Accepted => Ok((self.page(LinkStatus::Gone, "Already booked", format!("This spot on {when} is booked. See you then!"), None), None)),
            _ => Ok((
                self.page(LinkStatus::Gone, "This spot is no longer available", format!("The offer has expired or the spot went to someone else. We will let you know of the next one; or {}.", self.call_us()), None),
                None,
            )),
        }
    }

    /// Does what a link says (the page's button).
    /// `visitor` is the request's caller: address, browser and the link's idempotency claim.
    pub async fn link_act(&self, purpose: LinkPurpose, token: &str, visitor: &Caller) -> Result<LinkPage> {
        let (page, plan) = self.link(purpose, token, None)?;
        let Some(plan) = plan else { return Ok(page) };
        match plan {
            Plan::Confirm(ids) | Plan::Cancel(ids) => {
                let cancel = matches!(purpose, LinkPurpose::CancelAppointment);
                let held = Permissions::everything();
                let mut client = None;
                for id in ids {
                    let a = self.env.calendar.get(id)?;
                    client = Some(a.client_id);
                    let caller = link_caller(a.client_id, visitor);
                    let (to, reason) = if cancel {
                        (Status::Cancelled, Some("cancelled by the client through the reminder's link".to_owned()))
                    } else if a.status == Status::Scheduled {
                        (Status::Confirmed, None)
                    } else {
                        continue;
                    };
                    self.env
                        .calendar
                        .transition(id, TransitionRequest { to, reason, room_id: None }, &held, &caller)
                        .await?;
                }
                let _ = client;
                Ok(if cancel {
                    self.page(
                        LinkStatus::Ok,
                        "Cancelled",
                        "The visit is cancelled. We hope to see you soon.".into(),
                        None,
                    )
                } else {
                    self.page(LinkStatus::Ok, "Confirmed", "Thank you! We look forward to seeing you.".into(), None)
                })
            }
            Plan::Reschedule(a) => {
                let caller = link_caller(a.client_id, visitor);
                let mut set = ChangeSet::new();
                set.event(
                    Author::System,
                    DomainEvent::RescheduleRequested {
                        appointment_id: a.id,
                        client_id: a.client_id,
                        location_id: a.location_id,
                    },
                );
                set.audit(AuditDraft::new(&caller, "appointment.reschedule_request").record("appointment", a.id));
                self.env.ctx.store.commit(set).await?;
                Ok(self.page(
                    LinkStatus::Ok,
                    "We will call you",
                    format!("The front desk has your request; or {}.", self.call_us()),
                    None,
                ))
            }
            Plan::Accept(id) => {
                let offer = self
                    .env
                    .read()?
                    .get::<WaitlistOffer>(RecordTable::Offers, id.as_u128())?
                    .ok_or(Error::OfferNotFound(id))?;
                let caller = link_caller(offer.client_id, visitor);
                match self.env.waitlist.accept(id, &caller).await {
                    Ok(_) => Ok(self.page(LinkStatus::Ok, "Booked", "The spot is yours. See you then!".into(), None)),
                    Err(Error::OfferClosed(why)) => Ok(self.page(
                        LinkStatus::Gone,
                        "This spot is no longer available",
                        format!("Nothing was booked ({why}); or {}.", self.call_us()),
                        None,
                    )),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// What a working link's button does.
enum Plan {
    Confirm(Vec<AppointmentId>),
    Cancel(Vec<AppointmentId>),
    Reschedule(Box<Appointment>),
    Accept(OfferId),
}
