//! Search as staff see it: the query parameters of `GET /api/search` with their rules, the
//! answer (hits with highlighted fragments), and the two per-user records kept beside it:
//! recent searches and recently opened records.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::clients::Client;
use crate::errors::ValidationError;
use crate::ids::{ClientId, UserId};
use crate::patients::{Patient, PatientStatus};
use crate::records::Record;

/// Longest query accepted, in characters; longer input is refused with 422 (`q`) rather than
/// silently cut, so the front desk sees why nothing was found.
pub const MAX_QUERY_CHARS: usize = 256;

/// Hits one search returns by default, and at most.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 50;

/// Searches remembered per user.
pub const HISTORY_LEN: usize = 20;

/// Records remembered per user as recently viewed.
pub const RECENT_LEN: usize = 10;

/// A kind of record search finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    Client,
    Patient,
}

impl SearchKind {
    pub const ALL: [SearchKind; 2] = [SearchKind::Client, SearchKind::Patient];

    pub fn as_str(self) -> &'static str {
        match self {
            SearchKind::Client => "client",
            SearchKind::Patient => "patient",
        }
    }

    /// The kind named `s` (`client`, `patient`).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The permission that lets a user see records of this kind.
    pub fn view_permission(self) -> crate::access::Permission {
        match self {
            SearchKind::Client => crate::access::Permission::ClientsView,
            SearchKind::Patient => crate::access::Permission::PatientsView,
        }
    }
}

/// Whether a found record is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchStatus {
    Active,
    Inactive,
    /// A patient who has died.
    Deceased,
}

impl SearchStatus {
    pub const ALL: [SearchStatus; 3] = [SearchStatus::Active, SearchStatus::Inactive, SearchStatus::Deceased];

    pub fn as_str(self) -> &'static str {
        match self {
            SearchStatus::Active => "active",
            SearchStatus::Inactive => "inactive",
            SearchStatus::Deceased => "deceased",
        }
    }

    /// The status named `s`.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// A client's status.
    pub fn of_client(client: &Client) -> Self {
        if client.active { SearchStatus::Active } else { SearchStatus::Inactive }
    }

    /// A patient's status.
    pub fn of_patient(patient: &Patient) -> Self {
        match patient.status {
            PatientStatus::Active => SearchStatus::Active,
            PatientStatus::Inactive => SearchStatus::Inactive,
            PatientStatus::Deceased => SearchStatus::Deceased,
        }
    }
}

/// How a patient is named in hits and lists: "Mittens (Smith, Jane)", or the name alone when
/// the owner's name is unknown.
pub fn patient_label(name: &str, owner_name: &str) -> String {
    let owner_name = owner_name.trim();
    if owner_name.is_empty() { name.to_owned() } else { format!("{name} ({owner_name})") }
}

/// Query of `GET /api/search`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What was typed: names, a phone number (whole, national, last four), a microchip, an
    /// email. Plain text: quotes, colons or `AND` have no special meaning. Blank finds
    /// nothing; over 256 characters is refused.
    pub q: Option<String>,
    /// `client` or `patient`; both when absent.
    pub kind: Option<String>,
    /// `active` (default), `inactive`, `deceased` or `all`.
    pub status: Option<String>,
    /// Hits to return, 1–50 (default 10).
    pub limit: Option<u32>,
}

/// [`SearchParams`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub q: String,
    /// Empty: every kind the caller may see.
    pub kinds: Vec<SearchKind>,
    /// Empty: every status.
    pub statuses: Vec<SearchStatus>,
    pub limit: usize,
}

impl SearchParams {
    /// Checks the parameters: each error names its parameter.
    pub fn validate(self) -> Result<SearchRequest, ValidationError> {
        let q = self.q.unwrap_or_default();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ValidationError::new("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        let kinds = match self.kind.as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some("client") => vec![SearchKind::Client],
            Some("patient") => vec![SearchKind::Patient],
            Some(_) => return Err(ValidationError::new("kind", "must be client or patient")),
        };
        let statuses = match self.status.as_deref().map(str::trim) {
            None | Some("") | Some("active") => vec![SearchStatus::Active],
            Some("inactive") => vec![SearchStatus::Inactive],
            Some("deceased") => vec![SearchStatus::Deceased],
            Some("all") => Vec::new(),
            Some(_) => return Err(ValidationError::new("status", "must be active, inactive, deceased or all")),
        };
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as u32).contains(&n) => n as usize,
            Some(_) => return Err(ValidationError::new("limit", format!("must be between 1 and {MAX_LIMIT}"))),
        };
        Ok(SearchRequest { q, kinds, statuses, limit })
    }
}

/// Answer of `GET /api/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchAnswer {
    /// The query as received.
    pub query: String,
    /// Best first.
    pub hits: Vec<SearchHit>,
}

/// One record found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub kind: SearchKind,
    /// The record's id (a client or patient id, by `kind`).
    #[schema(value_type = String)]
    pub id: ulid::Ulid,
    /// "Smith, Jane" for a client, "Mittens (Smith, Jane)" for a patient.
    pub label: String,
    pub status: SearchStatus,
    /// A patient's owner.
    pub owner: Option<OwnerRef>,
    /// The fields that matched, cut into fragments with the matching words marked.
    pub highlights: Vec<SearchHighlight>,
}

/// A patient's owner, as a hit names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OwnerRef {
    pub id: ClientId,
    pub label: String,
}

/// One field of a hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchHighlight {
    /// `name`, `owner`, `breed`, `color`, `phone`, `microchip`, `email` or `number`.
    pub field: String,
    /// The whole value, in order.
    pub fragments: Vec<SearchFragment>,
}

/// A piece of a highlighted value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchFragment {
    pub text: String,
    pub matched: bool,
}

/// A user's recent searches, newest first (stored, one record per user).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHistory {
    pub items: Vec<SearchHistoryEntry>,
}

impl Record for SearchHistory {
    const KIND: &'static str = "search_history";
    const VERSION: u16 = 1;
}

/// One remembered search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchHistoryEntry {
    pub query: String,
    /// The kind searched for, if the search was limited to one.
    pub kind: Option<SearchKind>,
    #[schema(value_type = String)]
    pub searched_at: Timestamp,
}

/// How long after a search a longer or shorter version of it replaces it rather than adding
/// an entry: typing "m", "mi", "mit" leaves one entry, "mit".
pub const HISTORY_MERGE_SECS: i64 = 60;

impl SearchHistory {
    /// Remembers `query` (trimmed; blank is not remembered). The same query moves to the top;
    /// a query that extends or shortens the newest entry of the last minute replaces it, so
    /// typing leaves one entry per search, not one per key.
    pub fn remember(&mut self, query: &str, kind: Option<SearchKind>, at: Timestamp) {
        let query = query.trim();
        if query.is_empty() {
            return;
        }
        let folded = query.to_lowercase();
        if let Some(newest) = self.items.first() {
            let newest_folded = newest.query.to_lowercase();
            let recent = at.duration_since(newest.searched_at).as_secs() < HISTORY_MERGE_SECS;
            if recent && (folded.starts_with(&newest_folded) || newest_folded.starts_with(&folded)) {
                self.items.remove(0);
            }
        }
        self.items.retain(|e| e.query.to_lowercase() != folded);
        self.items.insert(0, SearchHistoryEntry { query: query.to_owned(), kind, searched_at: at });
        self.items.truncate(HISTORY_LEN);
    }
}

/// A user's recently opened clients and patients, newest first (stored, one record per
/// user).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecentViews {
    pub items: Vec<RecentView>,
}

impl Record for RecentViews {
    const KIND: &'static str = "recent_views";
    const VERSION: u16 = 1;
}

/// One opened record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentView {
    pub kind: SearchKind,
    pub id: ulid::Ulid,
    pub viewed_at: Timestamp,
}

impl RecentViews {
    /// Puts the record on top (once), keeping the newest [`RECENT_LEN`].
    pub fn viewed(&mut self, kind: SearchKind, id: ulid::Ulid, at: Timestamp) {
        self.items.retain(|v| v.id != id);
        self.items.insert(0, RecentView { kind, id, viewed_at: at });
        self.items.truncate(RECENT_LEN);
    }
}

/// Query of `GET /api/clients/{id}` and `GET /api/patients/{id}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordReadParams {
    /// `false` when the record is shown in passing (a cat's owner on the cat's page, the cat
    /// on an exam-room tablet): the read is not added to the caller's recently viewed list.
    /// Default `true`.
    pub recent: Option<bool>,
}

/// Answer of `GET /api/search/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHistoryAnswer {
    /// Newest first, at most 20.
    pub items: Vec<SearchHistoryEntry>,
}

/// Answer of `GET /api/recent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecentAnswer {
    /// Newest first, at most 10; records the caller may no longer see are left out.
    pub items: Vec<RecentItem>,
}

/// A recently opened record, as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecentItem {
    pub kind: SearchKind,
    #[schema(value_type = String)]
    pub id: ulid::Ulid,
    pub label: String,
    pub status: SearchStatus,
    pub owner: Option<OwnerRef>,
    #[schema(value_type = String)]
    pub viewed_at: Timestamp,
}

/// Who a search or a recent list is for, and what they may see: the kinds whose view
/// permission they hold, each with the user whose records alone they may see when that
/// permission has scope `own`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub kinds: Vec<(SearchKind, Option<UserId>)>,
}

impl Visibility {
    /// What user `me`, holding `held`, may find: each kind whose view permission they hold,
    /// narrowed to their own records where it is held with scope `own`.
    pub fn of(held: &crate::access::Permissions, me: UserId) -> Visibility {
        let kinds = SearchKind::ALL
            .into_iter()
            .filter_map(|kind| match held.scope(kind.view_permission())? {
                crate::access::Scope::Own => Some((kind, Some(me))),
                crate::access::Scope::All => Some((kind, None)),
            })
            .collect();
        Visibility { kinds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).expect("in range")
    }

    #[test]
    fn typing_leaves_one_entry_and_repeats_move_to_the_top() {
        let mut h = SearchHistory::default();
        for (i, q) in ["m", "mi", "mit", "mitt"].iter().enumerate() {
            h.remember(q, None, at(i as i64));
        }
        assert_eq!(h.items.len(), 1);
        assert_eq!(h.items[0].query, "mitt");
        h.remember("smith", None, at(10));
        h.remember("   ", None, at(11));
        h.remember("Mitt", Some(SearchKind::Patient), at(200));
        let queries: Vec<_> = h.items.iter().map(|e| e.query.as_str()).collect();
        assert_eq!(queries, ["Mitt", "smith"]);
        // A minute later, a longer query is a new search.
        h.remember("mittens", None, at(400));
        assert_eq!(h.items.len(), 3);
    }

    #[test]
    fn history_and_recent_views_are_bounded() {
        let mut h = SearchHistory::default();
        let mut r = RecentViews::default();
        for i in 0..50 {
            h.remember(&format!("query {i} x"), None, at(i * 1000));
            r.viewed(SearchKind::Client, ulid::Ulid(i as u128), at(i));
        }
        assert_eq!(h.items.len(), HISTORY_LEN);
        assert_eq!(h.items[0].query, "query 49 x");
        assert_eq!(r.items.len(), RECENT_LEN);
        r.viewed(SearchKind::Client, ulid::Ulid(45), at(99));
        assert_eq!(r.items[0].id, ulid::Ulid(45));
        assert_eq!(r.items.len(), RECENT_LEN);
    }

    #[test]
    fn parameters_are_checked_and_name_their_field() {
        let p = |q: &str, kind: Option<&str>, status: Option<&str>, limit: Option<u32>| SearchParams {
            q: Some(q.to_owned()),
            kind: kind.map(str::to_owned),
            status: status.map(str::to_owned),
            limit,
        };
        let ok = p("smith", None, None, None).validate().expect("valid");
        assert_eq!((ok.kinds.len(), ok.statuses.clone(), ok.limit), (0, vec![SearchStatus::Active], DEFAULT_LIMIT));
        assert!(p("x", None, Some("all"), Some(50)).validate().expect("valid").statuses.is_empty());
        let field = |e: ValidationError| e.field;
        assert_eq!(field(p(&"a".repeat(257), None, None, None).validate().unwrap_err()), "q");
        assert!(p(&"é".repeat(256), None, None, None).validate().is_ok(), "characters, not bytes");
        assert_eq!(field(p("x", Some("invoice"), None, None).validate().unwrap_err()), "kind");
        assert_eq!(field(p("x", None, Some("dead"), None).validate().unwrap_err()), "status");
        assert_eq!(field(p("x", None, None, Some(0)).validate().unwrap_err()), "limit");
        assert_eq!(field(p("x", None, None, Some(51)).validate().unwrap_err()), "limit");
    }
}
