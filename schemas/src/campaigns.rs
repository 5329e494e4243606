//! Marketing (issue 14 item 8): saved audiences ([`Segment`]: recency and frequency of
//! visits, services had, the cats' life stage and breed, location), campaigns sent to them
//! ([`Campaign`]: `draft → scheduled → sending → sent`, or `cancelled`) with their results
//! counted from their messages, and the newsletter's double opt-in body. Evaluating and
//! sending is `clowder_actors::comms::{segments, campaigns}`.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::batches::{BatchEntry, BatchSkip};
use crate::errors::ValidationError;
use crate::ids::{AppointmentTypeId, CampaignId, ClientId, LocationId, ReferralId, SegmentId, TemplateId, UserId};
use crate::messages::Channel;
use crate::records::Record;

/// Most clients one campaign may reach (the same bound as a staff batch).
pub const MAX_AUDIENCE: usize = 5_000;

/// Most clients a segment preview names.
pub const MAX_PREVIEW: usize = 100;

/// A cat's life stage, after the AAFP/AAHA Feline Life Stage Guidelines (2021): kitten under
/// 1 year, young adult 1–6, mature adult 7–10, senior 11–14 and end of life (here
/// "geriatric") 15 and over, by completed years of age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifeStage {
    Kitten,
    YoungAdult,
    Mature,
    Senior,
    Geriatric,
}

impl LifeStage {
    /// The stage of a cat born on `born` as of `today` (`None`: born after today).
    pub fn of(born: Date, today: Date) -> Option<LifeStage> {
        if born > today {
            return None;
        }
        let mut years = i32::from(today.year()) - i32::from(born.year());
        if (today.month(), today.day()) < (born.month(), born.day()) {
            years -= 1;
        }
        Some(match years {
            ..1 => LifeStage::Kitten,
            1..=6 => LifeStage::YoungAdult,
            7..=10 => LifeStage::Mature,
            11..=14 => LifeStage::Senior,
            _ => LifeStage::Geriatric,
        })
    }
}

/// Who a segment holds. Every filter given must match (AND); a list filter matches when any
/// of its values does (OR). Visits are completed appointments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilter {
    /// Recency: the last completed visit started more than this many days ago (clients who
    /// never visited do not match).
    #[serde(default)]
    pub last_visit_older_than_days: Option<u32>,
    /// Recency: the last completed visit started at most this many days ago.
    #[serde(default)]
    pub last_visit_within_days: Option<u32>,
    /// Frequency: at least this many completed visits in the last 365 days.
    #[serde(default)]
    pub min_visits_12m: Option<u32>,
    /// Frequency: at most this many completed visits in the last 365 days (0 matches clients
    /// without a visit in that time).
    #[serde(default)]
    pub max_visits_12m: Option<u32>,
    /// Services: had a completed visit of one of these appointment types (ever).
    #[serde(default)]
    pub appointment_type_ids: Vec<AppointmentTypeId>,
    /// Location: had a completed visit at one of these locations (ever).
    #[serde(default)]
    pub location_ids: Vec<LocationId>,
    /// Has an active cat in one of these life stages (and of one of `breeds`, if given: both
    /// must hold for the same cat).
    #[serde(default)]
    pub life_stages: Vec<LifeStage>,
    /// Has an active cat of one of these breeds (compared without case).
    #[serde(default)]
    pub breeds: Vec<String>,
    /// Only active clients (default true).
    #[serde(default = "yes")]
    pub active_only: bool,
}

fn yes() -> bool {
    true
}

/// No filter: every active client (as a body without `filter` reads).
impl Default for SegmentFilter {
    fn default() -> Self {
        SegmentFilter {
            last_visit_older_than_days: None,
            last_visit_within_days: None,
            min_visits_12m: None,
            max_visits_12m: None,
            appointment_type_ids: Vec::new(),
            location_ids: Vec::new(),
            life_stages: Vec::new(),
            breeds: Vec::new(),
            active_only: true,
        }
    }
}

impl SegmentFilter {
    /// Checks the numbers and lists, trims breeds.
    pub fn validate(mut self) -> Result<SegmentFilter, ValidationError> {
        const MAX_DAYS: u32 = 36_500;
        for (field, v) in [
            ("filter.last_visit_older_than_days", self.last_visit_older_than_days),
            ("filter.last_visit_within_days", self.last_visit_within_days),
        ] {
            if v.is_some_and(|d| d > MAX_DAYS) {
                return Err(ValidationError::new(field, format!("must be at most {MAX_DAYS}")));
            }
        }
        if let (Some(min), Some(max)) = (self.min_visits_12m, self.max_visits_12m)
            && max < min
        {
            return Err(ValidationError::new("filter.max_visits_12m", "must not be less than min_visits_12m"));
        }
        if let (Some(old), Some(within)) = (self.last_visit_older_than_days, self.last_visit_within_days)
            && within <= old
        {
            return Err(ValidationError::new(
                "filter.last_visit_within_days",
                "must be more than last_visit_older_than_days (no visit could match)",
            ));
        }
        let mut breeds = Vec::with_capacity(self.breeds.len());
        for (i, b) in self.breeds.iter().enumerate() {
            let b = b.trim();
            if b.is_empty() || b.chars().count() > 100 {
                return Err(ValidationError::new(format!("filter.breeds[{i}]"), "must be 1 to 100 characters"));
            }
            breeds.push(b.to_owned());
        }
        self.breeds = breeds;
        for (field, n) in [
            ("filter.appointment_type_ids", self.appointment_type_ids.len()),
            ("filter.location_ids", self.location_ids.len()),
            ("filter.breeds", self.breeds.len()),
        ] {
            if n > 50 {
                return Err(ValidationError::new(field, "at most 50 values"));
            }
        }
        Ok(self)
    }
}

/// A saved audience definition, evaluated over the store when previewed or sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Segment {
    pub id: SegmentId,
    pub name: String,
    pub filter: SegmentFilter,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// Version history: v1.
impl Record for Segment {
    const KIND: &'static str = "segment";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/segments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSegment {
    pub name: String,
    #[serde(default)]
    pub filter: SegmentFilter,
}

impl CreateSegment {
    /// The trimmed name (1–120 characters) and the checked filter.
    pub fn validate(self) -> Result<(String, SegmentFilter), ValidationError> {
        Ok((name(&self.name)?, self.filter.validate()?))
    }
}

fn name(v: &str) -> Result<String, ValidationError> {
    let n = v.trim();
    if n.is_empty() || n.chars().count() > 120 {
        return Err(ValidationError::new("name", "must be 1 to 120 characters"));
    }
    Ok(n.to_owned())
}

/// A client in a preview: the name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SegmentClient {
    pub id: ClientId,
    /// "Last, First".
    pub name: String,
}

/// `GET /api/segments/{id}/preview`: how many clients the segment holds now, and the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SegmentPreview {
    pub count: u32,
    pub clients: Vec<SegmentClient>,
}

/// Where a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CampaignState {
    /// Created; nothing is scheduled.
    Draft,
    /// Its job is due at `scheduled_at`.
    Scheduled,
    /// The segment was resolved; messages are being queued in chunks.
    Sending,
    /// Every client of the audience has a message queued or a skip reason.
    Sent,
    /// Stopped by staff before every message was queued.
    Cancelled,
}

impl CampaignState {
    /// The wire name, e.g. `draft`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether `POST .../schedule` may (re)schedule it: a draft, or a scheduled campaign whose
    /// job has not run yet (its job moves).
    pub fn can_schedule(self) -> bool {
        matches!(self, CampaignState::Draft | CampaignState::Scheduled)
    }

    /// Whether `POST .../send-now` may send it now.
    pub fn can_send_now(self) -> bool {
        matches!(self, CampaignState::Draft | CampaignState::Scheduled)
    }

    /// Whether `POST .../cancel` may stop it.
    pub fn can_cancel(self) -> bool {
        matches!(self, CampaignState::Draft | CampaignState::Scheduled | CampaignState::Sending)
    }

    /// Whether sending has begun (the segment was resolved): its schedule can no longer move.
    pub fn started(self) -> bool {
        matches!(self, CampaignState::Sending | CampaignState::Sent)
    }
}

/// A campaign: a campaign or newsletter template sent to a segment, now or at a set time.
/// Its messages carry `automation: "campaign:<id>"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub template_id: TemplateId,
    pub segment_id: SegmentId,
    pub channel: Channel,
    pub state: CampaignState,
    pub scheduled_at: Option<Timestamp>,
    /// Clients the segment held when sending began (0 before).
    pub audience: u32,
    /// Clients still to be queued, in order.
    pub pending: Vec<ClientId>,
    pub queued: Vec<BatchEntry>,
    pub skipped: Vec<BatchSkip>,
    /// Bumped by every write; a write requires the revision it read (optimistic concurrency
    /// between staff and the sending job).
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// Version history: v1.
impl Record for Campaign {
    const KIND: &'static str = "campaign";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/campaigns`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    pub name: String,
    /// A template of category `campaign` or `newsletter`.
    pub template_id: String,
    pub segment_id: String,
    /// `email` or `sms`; default: the template's (must be the template's).
    #[serde(default)]
    pub channel: Option<String>,
    /// When to send (RFC 3339); `POST /api/campaigns/{id}/schedule` uses it.
    #[serde(default)]
    pub scheduled_at: Option<String>,
}

impl CreateCampaign {
    /// The trimmed name.
    pub fn name(&self) -> Result<String, ValidationError> {
        name(&self.name)
    }
}

/// Body of `POST /api/campaigns/{id}/schedule` (optional: default the campaign's
/// `scheduled_at`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCampaign {
    #[serde(default)]
    pub scheduled_at: Option<String>,
}

/// A campaign's results, counted from its messages now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CampaignResults {
    /// Clients the segment held when sending began.
    pub audience: u32,
    /// Clients given no message (no address, inactive, …).
    pub skipped: u32,
    /// Messages not yet sent (queued, or failed with a retry to come).
    pub queued: u32,
    /// Accepted by the provider, not yet reported delivered.
    pub sent: u32,
    pub delivered: u32,
    /// Stopped by consent or preferences (no marketing opt-in, frequency cap, …).
    pub suppressed: u32,
    pub bounced: u32,
    /// Given up (`dead`).
    pub failed: u32,
}

/// `GET /api/campaigns/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: CampaignId,
    pub name: String,
    pub template_id: TemplateId,
    pub segment_id: SegmentId,
    pub channel: Channel,
    pub state: CampaignState,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<Timestamp>,
    pub results: CampaignResults,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// Body of `POST /api/communications/newsletter/subscribe` (public).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewsletterSubscribe {
    pub email: String,
}

/// Whether a referral's reward is still owed to the referrer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReferralStatus {
    /// The front desk owes the referrer the credit.
    Owed,
    /// The credit was given (redeemed at the desk).
    Redeemed,
}

/// A new client referred by an existing one, and the credit owed to the referrer for it
/// (a ledger line: there is no billing yet, the front desk redeems it by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Referral {
    pub id: ReferralId,
    /// The referrer's code as given.
    pub code: String,
    pub referrer_id: ClientId,
    /// The new client; each client is referred at most once.
    pub referred_id: ClientId,
    /// What is owed, as the front desk wrote it (default "Referral credit").
    pub credit: String,
    pub status: ReferralStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub redeemed_at: Option<Timestamp>,
    pub redeemed_by: Option<UserId>,
}

/// Version history: v1.
impl Record for Referral {
    const KIND: &'static str = "referral";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/referrals`: the code a new client gave.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordReferral {
    /// The referrer's code (`XXXX-XXXX`; case, spaces and the dash do not matter).
    pub code: String,
    /// The referred (new) client.
    pub client_id: String,
    /// What the referrer is owed (1–100 characters; default "Referral credit").
    #[serde(default)]
    pub credit: Option<String>,
}

impl RecordReferral {
    /// The credit's text, trimmed, or the default.
    pub fn credit(&self) -> Result<String, ValidationError> {
        match self.credit.as_deref().map(str::trim) {
            None => Ok("Referral credit".to_owned()),
            Some(c) if c.is_empty() || c.chars().count() > 100 => {
                Err(ValidationError::new("credit", "must be 1 to 100 characters"))
            }
            Some(c) => Ok(c.to_owned()),
        }
    }
}

/// Normalises a referral code as typed: upper case, without spaces or dashes, O read as 0 and
/// I or L as 1 (Crockford base32 has no I, L, O or U); `None` if it cannot be one: not 8
/// letters and digits.
pub fn normalise_code(code: &str) -> Option<String> {
    let c: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (c.len() == 8 && c.chars().all(|c| c.is_ascii_alphanumeric())).then_some(c)
}

/// `GET /api/clients/{id}/referral`: the client's code and the referrals it brought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClientReferrals {
    pub client_id: ClientId,
    /// `XXXX-XXXX`, the same every time (derived from the client's id under the server's key).
    pub code: String,
    /// Referrals whose credit is still owed.
    pub owed: u32,
    /// Every referral this client made, oldest first.
    pub referrals: Vec<Referral>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_stages_follow_the_aafp_ages_by_completed_years() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let today = d("2026-06-15");
        assert_eq!(LifeStage::of(d("2025-06-16"), today), Some(LifeStage::Kitten));
        assert_eq!(LifeStage::of(d("2025-06-15"), today), Some(LifeStage::YoungAdult));
        assert_eq!(LifeStage::of(d("2019-06-16"), today), Some(LifeStage::YoungAdult));
        assert_eq!(LifeStage::of(d("2019-06-15"), today), Some(LifeStage::Mature));
        assert_eq!(LifeStage::of(d("2015-06-15"), today), Some(LifeStage::Senior));
        assert_eq!(LifeStage::of(d("2011-06-15"), today), Some(LifeStage::Geriatric));
        assert_eq!(LifeStage::of(d("2026-07-01"), today), None);
    }

    #[test]
    fn a_filter_that_cannot_match_is_refused() {
        let f = SegmentFilter { min_visits_12m: Some(3), max_visits_12m: Some(1), ..Default::default() };
        assert_eq!(f.validate().unwrap_err().field, "filter.max_visits_12m");
        let f = SegmentFilter {
            last_visit_older_than_days: Some(365),
            last_visit_within_days: Some(30),
            ..Default::default()
        };
        assert_eq!(f.validate().unwrap_err().field, "filter.last_visit_within_days");
        let f = SegmentFilter { breeds: vec!["  ".into()], ..Default::default() };
        assert_eq!(f.validate().unwrap_err().field, "filter.breeds[0]");
    }

    #[test]
    fn referral_codes_are_read_without_case_spaces_or_dashes() {
        assert_eq!(normalise_code(" k7qf-93mx ").as_deref(), Some("K7QF93MX"));
        assert_eq!(normalise_code("K7QF 93MX").as_deref(), Some("K7QF93MX"));
        assert_eq!(normalise_code("ko1l-9oMX").as_deref(), Some("K01190MX"));
        assert_eq!(normalise_code("K7QF-93M"), None);
        assert_eq!(normalise_code("K7QF-93M!"), None);
    }
}
