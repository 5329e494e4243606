//! The server as its HTTP clients see it: one shared connection pool, sign-in, and the calls
//! the scenarios make.
//!
//! Two flavours of call: setup calls (`create_*`, `staff_sign_in`, `change_password`,
//! `appointment_types`, `probe_availability`, `probe_get`, `probe_post_client`,
//! `server_version`) retry while the server answers 503 or 429, then return what they made or
//! an error that says what the server answered; load calls (`get_patient`, `post_client`,
//! `post_login`, `post_appointment`, `get_availability`, `get`) never fail, they return an
//! [`Outcome`] to be counted. Every request has a timeout, no proxy is used and
//! redirects are not followed, so traffic only ever goes to the checked `--url`.

use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode, Url, redirect};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::users::LoginResponse;
use clowder_schemas::{AppointmentTypeId, ClientId, ErrorCode, ErrorResponse, LocationId, PatientId, RoomId, StaffId};
use jiff::Timestamp;

use crate::bodies::{
    Credentials, NewAppointment, NewClient, NewLocation, NewPatient, NewRoom, NewShift, NewUser, NewVet,
    PasswordChange, RoomMove,
};
use crate::cli::rate_limit_advice;
use crate::scheduling::{AnswerBytes, AvailabilityAnswer};
use crate::stats::{Outcome, TransportFailure};

/// How long opening a TCP connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Setup calls answered 503 or 429 are retried this many times in all, after the pause the
/// server asks for, so a server shedding load does not abort the seeding.
const SETUP_ATTEMPTS: u32 = 8;

/// Pause before a setup retry when the answer has no usable `Retry-After`.
const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(200);

/// Longest pause honoured, whatever `Retry-After` says; the setup budget bounds the total.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

/// How much of a non-JSON error body is quoted in a message.
const BODY_QUOTE_CHARS: usize = 200;

/// The pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Connections the scenarios will hold open at once; the pool keeps that many idle.
    pub connections: usize,
    pub request_timeout: Duration,
}

/// A signed-in API client, cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    urls: Urls,
    bearer: HeaderValue,
}

#[derive(Debug, Clone)]
struct Urls {
    /// The server's base URL, for routes without a field of their own.
    base: Url,
    login: Url,
    password: Url,
    users: Url,
    clients: Url,
    /// Without trailing slash; a patient's URL is this plus `/{id}`.
    patients: String,
    locations: Url,
    /// Without trailing slash; a person's shifts are at this plus `/{id}/shifts`.
    staff: String,
    appointment_types: Url,
    appointments: Url,
    availability: Url,
    rooms: Url,
    search: Url,
    /// The session route: the cheapest authenticated GET.
    me: Url,
    calendar: Url,
    health_detailed: Url,
    backups: Url,
    /// The live gateway, `ws://` (or `wss://` for an `https` base).
    ws: Url,
}

impl Urls {
    fn new(base: &Url) -> Result<Self> {
        let join = |path: &str| base.join(path).with_context(|| format!("building the URL of {path}"));
        Ok(Self {
            base: base.clone(),
            login: join("/api/auth/login")?,
            password: join("/api/auth/password")?,
            users: join("/api/users")?,
            clients: join("/api/clients")?,
            patients: join("/api/patients")?.to_string(),
            locations: join("/api/locations")?,
            staff: join("/api/staff")?.to_string(),
            appointment_types: join("/api/appointment-types")?,
            appointments: join("/api/appointments")?,
            availability: join("/api/availability")?,
            rooms: join("/api/rooms")?,
            search: join("/api/search")?,
            me: join("/api/auth/me")?,
            calendar: join("/api/calendar")?,
            health_detailed: join("/health/detailed")?,
            backups: join("/api/backups")?,
            ws: ws_url(base)?,
        })
    }
}

/// One answer read whole during setup: its status and its body's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub status: u16,
    pub bytes: u64,
    /// The error described, for a non-2xx answer.
    pub failure: Option<String>,
}

impl Probed {
    async fn read(response: Response) -> Result<Self> {
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        let failure = (!(200..300).contains(&status)).then(|| describe_failure(status, &body));
        Ok(Self { status, bytes: body.len() as u64, failure })
    }

    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// The `{"id": ...}` part of a 201 answer, typed by the caller.
#[derive(Debug, Deserialize)]
struct Created<Id> {
    id: Id,
}

impl Api {
    /// Builds the pool and signs in; the error says what to fix when the server refuses.
    pub async fn sign_in(base: &Url, pool: PoolOptions, username: &str, password: &str) -> Result<Self> {
        let http = build_http(pool)?;
        let urls = Urls::new(base)?;
        let response = http
            .post(urls.login.clone())
            .json(&Credentials { username, password })
            .send()
            .await
            .with_context(|| {
                format!("no answer from {base} to sign-in; is the Clowder server running (e.g. `cargo run --release -- serve --demo`)?")
            })?;
        let login: LoginResponse = read_json(response).await.map_err(|failure| sign_in_refused(username, failure))?;
        Ok(Self { http, urls, bearer: bearer_for(&login.token)? })
    }

    /// Creates a staff user during setup (`POST /api/users`, answered 201 with the user).
    pub async fn create_user(&self, body: &NewUser<'_>) -> Result<()> {
        let request = || self.http.post(self.urls.users.clone()).json(body);
        let _: IgnoredAny = self
            .setup_call(Some(&self.bearer), request)
            .await
            .with_context(|| format!("creating the user {:?}", body.username))?;
        Ok(())
    }

    /// Signs in as another user during setup, on this pool, and returns the bearer header of
    /// that user's new session.
    pub async fn staff_sign_in(&self, credentials: &Credentials<'_>) -> Result<HeaderValue> {
        let request = || self.http.post(self.urls.login.clone()).json(credentials);
        let login: LoginResponse = self
            .setup_call(None, request)
            .await
            .with_context(|| format!("signing in as the new user {:?}", credentials.username))?;
        bearer_for(&login.token)
    }

    /// Changes the password of the user whose session `bearer` holds (`POST
    /// /api/auth/password`, answered 204), during setup.
    pub async fn change_password(&self, bearer: &HeaderValue, body: &PasswordChange<'_>) -> Result<()> {
        let request = || self.http.post(self.urls.password.clone()).json(body);
        let response = self.setup_send(Some(bearer), request).await?;
        read_nothing(response).await.map_err(setup_failure).context("changing a new user's temporary password")
    }

    /// A setup call to any route: `method path` with an optional JSON body, retried while
    /// the server asks to come back later; the JSON answer read as `T` (`IgnoredAny` to skip it).
    pub async fn setup_json<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let url = self.urls.base.join(path).with_context(|| format!("building the URL of {path}"))?;
        let request = || {
            let r = self.http.request(method.clone(), url.clone());
            match body {
                Some(b) => r.json(b),
                None => r,
            }
        };
        self.setup_call(Some(&self.bearer), request).await.with_context(|| format!("{method} {path}"))
    }

    /// A measured POST of a raw body (an HL7 message): the status and the answer's text, or
    /// the transport's error.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<(u16, String)> {
        let url = self.urls.base.join(path).with_context(|| format!("building the URL of {path}"))?;
        let response = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.bearer.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.unwrap_or_default()))
    }

    /// Creates a client during setup and returns its id.
    pub async fn create_client(&self, body: &NewClient) -> Result<ClientId> {
        let request = || self.http.post(self.urls.clients.clone()).json(body);
        let created: Created<ClientId> =
            self.setup_call(Some(&self.bearer), request).await.context("creating a client")?;
        Ok(created.id)
    }

    /// Creates a patient during setup and returns its id.
    pub async fn create_patient(&self, body: &NewPatient) -> Result<PatientId> {
        let request = || self.http.post(self.urls.patients.as_str()).json(body);
        let created: Created<PatientId> =
            self.setup_call(Some(&self.bearer), request).await.context("creating a patient")?;
        Ok(created.id)
    }

    /// Creates a location during setup and returns its id.
    pub async fn create_location(&self, body: &NewLocation) -> Result<LocationId> {
        let request = || self.http.post(self.urls.locations.clone()).json(body);
        let created: Created<LocationId> = self
            .setup_call(Some(&self.bearer), request)
            .await
            .with_context(|| format!("creating the location {:?}", body.name))?;
        Ok(created.id)
    }

    /// Creates a vet's staff profile during setup and returns its id.
    pub async fn create_vet(&self, body: &NewVet) -> Result<StaffId> {
        let request = || self.http.post(self.urls.staff.as_str()).json(body);
        let created: Created<StaffId> =
            self.setup_call(Some(&self.bearer), request).await.context("creating a vet's staff profile")?;
        Ok(created.id)
    }

    /// Adds a shift to a person's rota during setup.
    pub async fn create_shift(&self, staff: StaffId, body: &NewShift) -> Result<()> {
        let url = format!("{}/{staff}/shifts", self.urls.staff);
        let request = || self.http.post(url.as_str()).json(body);
        let _: IgnoredAny = self
            .setup_call(Some(&self.bearer), request)
            .await
            .with_context(|| format!("adding a shift on {} for {staff}", body.date))?;
        Ok(())
    }

    /// The active appointment types, during setup.
    pub async fn appointment_types(&self) -> Result<Vec<AppointmentType>> {
        let request = || self.http.get(self.urls.appointment_types.clone());
        self.setup_call(Some(&self.bearer), request).await.context("listing the appointment types")
    }

    /// Books an appointment during setup.
    pub async fn create_appointment(&self, body: &NewAppointment) -> Result<()> {
        let request = || self.http.post(self.urls.appointments.clone()).json(body);
        let _: IgnoredAny = self
            .setup_call(Some(&self.bearer), request)
            .await
            .with_context(|| format!("booking {} at {} for the vet {}", body.patient_id, body.start, body.vet_id))?;
        Ok(())
    }

    /// The URL of one availability question: `type_id` at `location_id` between `from` and
    /// `to`, built once and sent again and again.
    pub fn availability_url(
        &self,
        type_id: AppointmentTypeId,
        location_id: LocationId,
        from: Timestamp,
        to: Timestamp,
    ) -> Url {
        availability_url(&self.urls.availability, type_id, location_id, from, to)
    }

    /// Asks the availability question once during setup and reads the answer, with its size
    /// in bytes.
    pub async fn probe_availability(&self, url: &Url) -> Result<(AvailabilityAnswer, usize)> {
        let response = self.setup_send(Some(&self.bearer), || self.http.get(url.clone())).await?;
        let status = response.status();
        let body = response.bytes().await.context("reading the availability answer")?;
        if !status.is_success() {
            anyhow::bail!("{}", describe_failure(status.as_u16(), &body));
        }
        let answer = serde_json::from_slice(&body)
            .with_context(|| format!("the availability answer does not follow the contract: {}", quote_body(&body)))?;
        Ok((answer, body.len()))
    }

    /// Asks `url` twice during setup, plain and accepting gzip, and returns the plain answer
    /// and the bytes of both as sent (this client does not decompress).
    pub async fn answer_bytes(&self, url: &Url) -> Result<(Vec<u8>, AnswerBytes)> {
        let mut sizes = Vec::with_capacity(2);
        let mut plain = Vec::new();
        for gzip in [false, true] {
            let response = self
                .setup_send(Some(&self.bearer), || {
                    let request = self.http.get(url.clone());
                    if gzip { request.header(ACCEPT_ENCODING, "gzip") } else { request }
                })
                .await?;
            let status = response.status();
            let body = response.bytes().await.with_context(|| format!("reading the answer of {url}"))?;
            if !status.is_success() {
                anyhow::bail!("{}", describe_failure(status.as_u16(), &body));
            }
            sizes.push(body.len());
            if !gzip {
                plain = body.to_vec();
            }
        }
        Ok((plain, AnswerBytes { plain: sizes[0], gzip: sizes[1] }))
    }

    /// `GET /api/calendar?…`, for the day-view scenario.
    pub async fn get_day(&self, url: &Url) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.get(url.clone())).await
    }

    /// The first location `GET /api/locations` lists, if any, during setup.
    pub async fn first_location(&self) -> Result<Option<LocationId>> {
        let request = || self.http.get(self.urls.locations.clone());
        let listed: Vec<Created<LocationId>> =
            self.setup_call(Some(&self.bearer), request).await.context("listing the locations")?;
        Ok(listed.first().map(|l| l.id))
    }

    /// Creates a room during setup and returns its id.
    pub async fn create_room(&self, body: &NewRoom) -> Result<RoomId> {
        let request = || self.http.post(self.urls.rooms.clone()).json(body);
        let created: Created<RoomId> = self
            .setup_call(Some(&self.bearer), request)
            .await
            .with_context(|| format!("creating the room {:?}", body.name))?;
        Ok(created.id)
    }

    /// `POST /api/rooms/{id}/state`, for the fanout scenario: one committed
    /// `room_state_changed` event per 200.
    pub async fn post_room_state(&self, room: RoomId, body: &RoomMove) -> Outcome {
        let url = format!("{}/{room}/state", self.urls.rooms);
        self.load_call(Some(&self.bearer), self.http.post(url).json(body)).await
    }

    /// The URL of the live gateway (`/ws` on the same host, `ws://` for `http://`).
    pub fn ws_url(&self) -> &Url {
        &self.urls.ws
    }

    /// The `Authorization` value of the run's session, for the WebSocket handshakes.
    pub fn bearer(&self) -> &HeaderValue {
        &self.bearer
    }

    /// `GET /api/patients/{id}`, for the read scenario.
    pub async fn get_patient(&self, id: PatientId) -> Outcome {
        let url = format!("{}/{id}", self.urls.patients);
        self.load_call(Some(&self.bearer), self.http.get(url)).await
    }

    /// `POST /api/clients`, for the write scenario.
    pub async fn post_client(&self, body: &NewClient) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.post(self.urls.clients.clone()).json(body)).await
    }

    /// `POST /api/appointments`, for the book scenario.
    pub async fn post_appointment(&self, body: &NewAppointment) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.post(self.urls.appointments.clone()).json(body)).await
    }

    /// The URL of one search: `q` (as typed), at most `limit` hits, default kinds and status.
    pub fn search_url(&self, q: &str, limit: u32) -> Url {
        let mut url = self.urls.search.clone();
        url.query_pairs_mut().append_pair("q", q).append_pair("limit", &limit.to_string());
        url
    }

    /// Asks one search during setup and reads the answer as plain JSON (this crate does not
    /// share the server's search types). A 404 means the server has no search endpoint.
    pub async fn probe_search(&self, url: &Url) -> Result<serde_json::Value> {
        let response = self.setup_send(Some(&self.bearer), || self.http.get(url.clone())).await?;
        let status = response.status();
        let body = response.bytes().await.context("reading a search answer")?;
        if status == StatusCode::NOT_FOUND {
            anyhow::bail!(
                "GET /api/search answered 404: this server has no search endpoint (build it from a commit that has it)"
            );
        }
        if !status.is_success() {
            anyhow::bail!("GET /api/search: {}", describe_failure(status.as_u16(), &body));
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("a search answer that is not JSON: {}", quote_body(&body)))
    }

    /// `GET /api/search?…`, for the search scenario.
    pub async fn get_search(&self, url: &Url) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.get(url.clone())).await
    }

    /// `GET /api/auth/me`: the session route, the ceiling the audited reads are held to.
    pub fn me_url(&self) -> Url {
        self.urls.me.clone()
    }

    /// `GET /api/patients/{id}`, as a URL to send again and again.
    pub fn patient_url(&self, id: PatientId) -> Result<Url> {
        Url::parse(&format!("{}/{id}", self.urls.patients)).context("building a patient's URL")
    }

    /// `GET /api/clients/{id}`.
    pub fn client_url(&self, id: ClientId) -> Result<Url> {
        self.urls.clients.join(&format!("/api/clients/{id}")).context("building a client's URL")
    }

    /// `GET /api/clients?limit=…`: the first page of the client list.
    pub fn clients_list_url(&self, limit: u32) -> Url {
        with_query(&self.urls.clients, &[("limit", &limit.to_string())])
    }

    /// `GET /api/calendar?date=…&location=…`: one location's day.
    pub fn day_view_url(&self, date: jiff::civil::Date, location: LocationId) -> Url {
        with_query(&self.urls.calendar, &[("date", &date.to_string()), ("location", &location.to_string())])
    }

    /// Sends one GET during setup and reads the whole answer: its status and size in bytes
    /// (as sent: this client asks for no compression).
    pub async fn probe_get(&self, url: &Url) -> Result<Probed> {
        let response = self.setup_send(Some(&self.bearer), || self.http.get(url.clone())).await?;
        Probed::read(response).await.with_context(|| format!("reading the answer to GET {}", url.path()))
    }

    /// Creates one client during setup like a load request would, and reads the answer.
    pub async fn probe_post_client(&self, body: &NewClient) -> Result<Probed> {
        let response =
            self.setup_send(Some(&self.bearer), || self.http.post(self.urls.clients.clone()).json(body)).await?;
        Probed::read(response).await.context("reading the answer to POST /api/clients")
    }

    /// The server's metrics (`GET /metrics`, Prometheus text), read between phases.
    pub async fn metrics_text(&self) -> Result<String> {
        let url = self.url("/metrics")?;
        let response = self.setup_send(None, || self.http.get(url.clone())).await?;
        let status = response.status();
        let body = response.text().await.context("reading the answer of GET /metrics")?;
        if !status.is_success() {
            anyhow::bail!("GET /metrics answered {status}");
        }
        Ok(body)
    }

    /// The server's version from `GET /health/detailed` (signed in), if it says.
    pub async fn server_version(&self) -> Result<Option<String>> {
        let request = || self.http.get(self.urls.health_detailed.clone());
        let detailed: serde_json::Value =
            self.setup_call(Some(&self.bearer), request).await.context("asking GET /health/detailed")?;
        Ok(detailed["version"].as_str().map(str::to_owned))
    }

    /// The same pool with another user's session (`bearer` from [`Api::staff_sign_in`]): the
    /// chart scenario seeds and reads as a veterinarian, as a chart is opened.
    pub fn as_user(&self, bearer: HeaderValue) -> Api {
        Api { http: self.http.clone(), urls: self.urls.clone(), bearer }
    }

    /// The URL of `path` (with its query) on the server.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.urls.base.join(path).with_context(|| format!("building the URL of {path}"))
    }

    /// A PUT of a JSON body with the run's session, counted like any load call (a note's
    /// autosave).
    pub async fn put_json<B: serde::Serialize + ?Sized>(&self, url: &Url, body: &B) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.put(url.clone()).json(body)).await
    }

    /// A checkout, timed as one request: `POST /api/invoices` with `draft`, then its issue,
    /// then a card payment of its total. The first failure is the outcome.
    pub async fn checkout(&self, draft: &serde_json::Value) -> Outcome {
        let Ok(url) = self.urls.base.join("/api/invoices") else { return Outcome::Status(0) };
        let created = match with_bearer(self.http.post(url), Some(&self.bearer)).json(draft).send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Transport(classify(&e)),
        };
        let status = created.status().as_u16();
        let body: serde_json::Value = match created.json().await {
            Ok(v) => v,
            Err(e) => return Outcome::Transport(classify(&e)),
        };
        if !(200..300).contains(&status) {
            return Outcome::from_status(status);
        }
        let Some(id) = body["id"].as_str() else { return Outcome::Status(status) };
        let Ok(issue) = self.urls.base.join(&format!("/api/invoices/{id}/issue")) else { return Outcome::Status(0) };
        let issued = self.load_call(Some(&self.bearer), self.http.post(issue).json(&serde_json::json!({}))).await;
        if issued != Outcome::Ok {
            return issued;
        }
        let Ok(pay) = self.urls.base.join(&format!("/api/invoices/{id}/payments")) else { return Outcome::Status(0) };
        let payment = serde_json::json!({"amount": body["totals"]["total"], "method": "card_present"});
        self.load_call(Some(&self.bearer), self.http.post(pay).json(&payment)).await
    }

    /// Any GET with the run's session, for the compare report's rows.
    pub async fn get(&self, url: &Url) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.get(url.clone())).await
    }

    /// `PATCH /api/patients/{id}`, for the clinic's history.
    pub async fn patch_patient<B: serde::Serialize + ?Sized>(&self, id: PatientId, body: &B) -> Outcome {
        let url = format!("{}/{id}", self.urls.patients);
        self.load_call(Some(&self.bearer), self.http.patch(url).json(body)).await
    }

    /// `POST /api/backups` once: `full` asks for a full backup, else the server's choice (an
    /// increment when the chain can go on). Waits as long as the backup takes (the client's
    /// request timeout does not apply). Never retries.
    pub async fn post_backup(&self, full: bool, wait: Duration) -> Result<BackupAnswer> {
        let body = if full { serde_json::json!({ "kind": "full" }) } else { serde_json::json!({}) };
        let response = self
            .http
            .post(self.urls.backups.clone())
            .header(AUTHORIZATION, &self.bearer)
            .json(&body)
            .timeout(wait)
            .send()
            .await
            .context("POST /api/backups")?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.context("reading the answer to POST /api/backups")?;
        backup_answer(status, &bytes)
    }

    /// `GET /api/clients/{id}` during the drill's check: the status, after the retries a 503 or
    /// 429 asks for.
    pub async fn client_status(&self, id: ClientId) -> Result<u16> {
        let url = self.client_url(id)?;
        let response = self.setup_send(Some(&self.bearer), || self.http.get(url.clone())).await?;
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        Ok(status)
    }

    /// `GET /api/availability?…`, for the availability scenario.
    pub async fn get_availability(&self, url: &Url) -> Outcome {
        self.load_call(Some(&self.bearer), self.http.get(url.clone())).await
    }

    /// `POST /api/auth/login` without any session, for the signin scenario. The session it
    /// opens is left to the server's per-user limit, which ends the oldest.
    pub async fn post_login(&self, credentials: &Credentials<'_>) -> Outcome {
        self.load_call(None, self.http.post(self.urls.login.clone()).json(credentials)).await
    }

    /// Sends the request built by `request` with `bearer` (none for sign-in), retrying while
    /// the server asks to come back later, and reads the JSON answer.
    async fn setup_call<T: DeserializeOwned>(
        &self,
        bearer: Option<&HeaderValue>,
        request: impl Fn() -> RequestBuilder,
    ) -> Result<T> {
        let response = self.setup_send(bearer, request).await?;
        read_json(response).await.map_err(setup_failure)
    }

    /// Sends the request built by `request` with `bearer`, again after the pause the server
    /// asks for while it answers 503 or 429, and returns the last answer, unread.
    async fn setup_send(&self, bearer: Option<&HeaderValue>, request: impl Fn() -> RequestBuilder) -> Result<Response> {
        let mut attempt = 1;
        loop {
            let response = with_bearer(request(), bearer).send().await?;
            if let Some(delay) = asked_to_retry(&response)
                && attempt < SETUP_ATTEMPTS
            {
                // Reading the body returns the connection to the pool; its content is moot.
                let _ = response.bytes().await;
                tokio::time::sleep(delay).await;
                attempt += 1;
                continue;
            }
            return Ok(response);
        }
    }

    /// Sends and reads the whole body, so the connection goes back to the pool for the next
    /// request of the loop.
    async fn load_call(&self, bearer: Option<&HeaderValue>, request: RequestBuilder) -> Outcome {
        let response = match with_bearer(request, bearer).send().await {
            Ok(response) => response,
            Err(e) => return Outcome::Transport(classify(&e)),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(_) => Outcome::from_status(status),
            Err(e) => Outcome::Transport(classify(&e)),
        }
    }
}

/// What `POST /api/backups` answered.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupAnswer {
    /// 201: a backup was taken, verified and stored.
    Taken(BackupFigures),
    /// 200 `null`: nothing changed since the last backup.
    Current,
    /// 409 `backup_running`: another backup (the schedule's) is running; ask again later.
    Running,
}

/// The part of a backup's manifest the figures need (the server's `Manifest` lives in a
/// crate this one may not use; unknown fields are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct BackupFigures {
    pub id: String,
    /// `full` or `incremental`.
    pub kind: String,
    pub created_at: Timestamp,
    pub duration_ms: u64,
    pub object_bytes: u64,
    pub payload_bytes: u64,
    pub to: BackupPosition,
}

/// Where a backup ends in the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct BackupPosition {
    pub events: u64,
    pub audit: u64,
}

/// Reads an answer of `POST /api/backups`; any other error is described by its code.
pub fn backup_answer(status: u16, body: &[u8]) -> Result<BackupAnswer> {
    match status {
        201 => Ok(BackupAnswer::Taken(
            serde_json::from_slice(body)
                .with_context(|| format!("a backup manifest that does not parse: {}", quote_body(body)))?,
        )),
        200 if body.trim_ascii() == b"null" => Ok(BackupAnswer::Current),
        409 if matches!(serde_json::from_slice::<ErrorResponse>(body), Ok(r) if r.error.code == ErrorCode::BackupRunning) => {
            Ok(BackupAnswer::Running)
        }
        409 if matches!(serde_json::from_slice::<ErrorResponse>(body), Ok(r) if r.error.code == ErrorCode::BackupsDisabled) =>
        {
            anyhow::bail!(
                "{}: start the server with CLOWDER_BACKUP_DIR and CLOWDER_BACKUP_RECIPIENT (see `clowder backup keygen`)",
                describe_failure(status, body)
            )
        }
        _ => anyhow::bail!("POST /api/backups: {}", describe_failure(status, body)),
    }
}

fn availability_url(
    base: &Url,
    type_id: AppointmentTypeId,
    location_id: LocationId,
    from: Timestamp,
    to: Timestamp,
) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut()
        .append_pair("type_id", &type_id.to_string())
        .append_pair("location_id", &location_id.to_string())
        .append_pair("from", &from.to_string())
        .append_pair("to", &to.to_string());
    url
}

/// `base` with the `pairs` as its query, encoded.
fn with_query(base: &Url, pairs: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

/// `/ws` on the host of `base`, with the scheme `ws` (or `wss` for `https`).
fn ws_url(base: &Url) -> Result<Url> {
    let mut url = base.join("/ws").context("building the URL of /ws")?;
    let scheme = if base.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme).map_err(|()| anyhow::anyhow!("cannot turn {base} into a WebSocket URL"))?;
    Ok(url)
}

fn with_bearer(request: RequestBuilder, bearer: Option<&HeaderValue>) -> RequestBuilder {
    match bearer {
        Some(bearer) => request.header(AUTHORIZATION, bearer),
        None => request,
    }
}

/// The `Authorization` header for a session token, marked sensitive so it is never logged.
fn bearer_for(token: &str) -> Result<HeaderValue> {
    let mut bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the server's session token is not a valid header value")?;
    bearer.set_sensitive(true);
    Ok(bearer)
}

fn build_http(pool: PoolOptions) -> Result<reqwest::Client> {
    // Only needed when a shared build unified reqwest's `rustls-no-provider` in (see
    // Cargo.toml); an error means a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(pool.connections)
        .timeout(pool.request_timeout)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(redirect::Policy::none())
        .user_agent(concat!("clowder-loadtests/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}

/// The pause asked for by a 503 or 429 answer; `None` for any other answer.
fn asked_to_retry(response: &Response) -> Option<Duration> {
    let status = response.status();
    if status != StatusCode::SERVICE_UNAVAILABLE && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok());
    Some(retry_delay(header))
}

/// Reads `Retry-After` in its delay-seconds form, capped at [`MAX_RETRY_DELAY`]; the
/// HTTP-date form or a missing header give [`DEFAULT_RETRY_DELAY`].
fn retry_delay(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_DELAY, |secs| Duration::from_secs(secs).min(MAX_RETRY_DELAY))
}

fn classify(e: &reqwest::Error) -> TransportFailure {
    if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_connect() {
        TransportFailure::Connect
    } else {
        TransportFailure::Other
    }
}

/// Why a call that expected a JSON answer did not get one.
#[derive(Debug)]
enum CallFailure {
    /// The server answered with a non-2xx status; the text describes the answer.
    Status { status: u16, described: String },
    /// No answer, or an answer that could not be read.
    Other(anyhow::Error),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Status { described, .. } => f.write_str(described),
            CallFailure::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for CallFailure {}

async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, CallFailure> {
    let status = response.status();
    let body =
        response.bytes().await.map_err(|e| CallFailure::Other(anyhow::Error::new(e).context("reading the answer")))?;
    if !status.is_success() {
        return Err(CallFailure::Status {
            status: status.as_u16(),
            described: describe_failure(status.as_u16(), &body),
        });
    }
    serde_json::from_slice(&body).map_err(|e| {
        CallFailure::Other(
            anyhow::Error::new(e)
                .context(format!("HTTP {status} answer is not the expected JSON: {}", quote_body(&body))),
        )
    })
}

/// Reads the answer of a call that expects no content (204).
async fn read_nothing(response: Response) -> Result<(), CallFailure> {
    let status = response.status();
    let body =
        response.bytes().await.map_err(|e| CallFailure::Other(anyhow::Error::new(e).context("reading the answer")))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(CallFailure::Status { status: status.as_u16(), described: describe_failure(status.as_u16(), &body) })
    }
}

/// A failed setup call as an error; a 429 left after the retries says which server limits to
/// lift.
fn setup_failure(failure: CallFailure) -> anyhow::Error {
    match failure {
        CallFailure::Status { status: 429, described } => anyhow::anyhow!("{described}; {}", rate_limit_advice()),
        other => anyhow::Error::from(other),
    }
}

/// Turns a failed sign-in into an error that says what to do.
fn sign_in_refused(username: &str, failure: CallFailure) -> anyhow::Error {
    match failure {
        CallFailure::Status { status: 401 | 403, described } => anyhow::anyhow!(
            "signing in as {username:?} was refused ({described}); set CLOWDER_ADMIN_PASSWORD \
             (or pass --password) to the password the server was started with"
        ),
        CallFailure::Status { status: 429, described } => {
            anyhow::anyhow!("signing in as {username:?} failed: {described}; {}", rate_limit_advice())
        }
        CallFailure::Status { described, .. } => anyhow::anyhow!("signing in as {username:?} failed: {described}"),
        CallFailure::Other(e) => e.context(format!("signing in as {username:?}")),
    }
}

/// One line about an error answer: the stable code and message when the body is Clowder's
/// error JSON, else the start of the body.
pub fn describe_failure(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(ErrorResponse { error }) => match error.field {
            Some(field) => format!("HTTP {status} {}: {field}: {}", error.code.as_str(), error.message),
            None => format!("HTTP {status} {}: {}", error.code.as_str(), error.message),
        },
        Err(_) if body.is_empty() => format!("HTTP {status} with an empty body"),
        Err(_) => format!("HTTP {status}: {}", quote_body(body)),
    }
}

fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut quoted: String = text.chars().take(BODY_QUOTE_CHARS).collect();
    if text.chars().count() > BODY_QUOTE_CHARS {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_is_on_the_same_host_with_a_websocket_scheme() {
        let plain = ws_url(&Url::parse("http://127.0.0.1:8080").unwrap()).unwrap();
        assert_eq!(plain.as_str(), "ws://127.0.0.1:8080/ws");
        let tls = ws_url(&Url::parse("https://localhost/app/").unwrap()).unwrap();
        assert_eq!(tls.as_str(), "wss://localhost/ws");
    }

    #[test]
    fn clowder_error_bodies_are_described_by_code() {
        let body = br#"{"error":{"code":"invalid_credentials","message":"Wrong username or password."}}"#;
        assert_eq!(describe_failure(401, body), "HTTP 401 invalid_credentials: Wrong username or password.");
        let with_field =
            br#"{"error":{"code":"validation_failed","message":"must be a phone number","field":"phone"}}"#;
        assert_eq!(describe_failure(422, with_field), "HTTP 422 validation_failed: phone: must be a phone number");
    }

    #[test]
    fn other_bodies_are_quoted_briefly() {
        assert_eq!(describe_failure(502, b""), "HTTP 502 with an empty body");
        assert_eq!(describe_failure(500, b"oops"), "HTTP 500: \"oops\"");
        let long = "x".repeat(1000);
        let described = describe_failure(500, long.as_bytes());
        assert!(described.len() < 220 && described.ends_with("…\""), "{described}");
    }

    #[test]
    fn a_refused_sign_in_says_which_variable_to_set() {
        let failure = CallFailure::Status { status: 401, described: "HTTP 401 invalid_credentials: no".into() };
        let message = sign_in_refused("admin", failure).to_string();
        assert!(message.contains("CLOWDER_ADMIN_PASSWORD"), "{message}");
        assert!(message.contains("\"admin\""), "{message}");
    }

    #[test]
    fn rate_limited_setup_calls_say_which_limits_to_lift() {
        let failure = CallFailure::Status { status: 429, described: "HTTP 429 rate_limited: slow down".into() };
        let message = setup_failure(failure).to_string();
        assert!(message.starts_with("HTTP 429 rate_limited: slow down; "), "{message}");
        assert!(message.contains("CLOWDER_LOGIN_ATTEMPTS=100000000"), "{message}");
        let failure = CallFailure::Status { status: 429, described: "HTTP 429 rate_limited: slow down".into() };
        assert!(sign_in_refused("admin", failure).to_string().contains("CLOWDER_RATE_PER_SEC=1000000"));
        let other = CallFailure::Status { status: 409, described: "HTTP 409 conflict: taken".into() };
        assert_eq!(setup_failure(other).to_string(), "HTTP 409 conflict: taken");
    }

    #[test]
    fn bearer_headers_are_sensitive() {
        let bearer = bearer_for("abc_DEF-123").unwrap();
        assert_eq!(bearer.to_str().unwrap(), "Bearer abc_DEF-123");
        assert!(bearer.is_sensitive());
        assert!(bearer_for("bad\ntoken").is_err());
    }

    #[test]
    fn endpoint_urls_are_built_from_the_root() {
        let urls = Urls::new(&Url::parse("http://127.0.0.1:8080").unwrap()).unwrap();
        assert_eq!(urls.login.as_str(), "http://127.0.0.1:8080/api/auth/login");
        assert_eq!(urls.password.as_str(), "http://127.0.0.1:8080/api/auth/password");
        assert_eq!(urls.users.as_str(), "http://127.0.0.1:8080/api/users");
        assert_eq!(urls.clients.as_str(), "http://127.0.0.1:8080/api/clients");
        assert_eq!(urls.patients, "http://127.0.0.1:8080/api/patients");
        assert_eq!(urls.locations.as_str(), "http://127.0.0.1:8080/api/locations");
        assert_eq!(urls.staff, "http://127.0.0.1:8080/api/staff");
        assert_eq!(urls.appointment_types.as_str(), "http://127.0.0.1:8080/api/appointment-types");
        assert_eq!(urls.appointments.as_str(), "http://127.0.0.1:8080/api/appointments");
        assert_eq!(urls.availability.as_str(), "http://127.0.0.1:8080/api/availability");
        assert_eq!(urls.me.as_str(), "http://127.0.0.1:8080/api/auth/me");
        assert_eq!(urls.calendar.as_str(), "http://127.0.0.1:8080/api/calendar");
        assert_eq!(urls.health_detailed.as_str(), "http://127.0.0.1:8080/health/detailed");
    }

    #[test]
    fn the_availability_query_carries_the_contracts_parameters() {
        let base = Url::parse("http://127.0.0.1:8080/api/availability").unwrap();
        let (type_id, location_id) =
            ("01JD7Y2Q4Z8W3N5K6M7P8R9S01".parse().unwrap(), "01JD7Y2Q4Z8W3N5K6M7P8R9S02".parse().unwrap());
        let from: Timestamp = "2026-12-01T14:30:15Z".parse().unwrap();
        let to: Timestamp = "2026-12-31T14:30:15Z".parse().unwrap();
        let url = availability_url(&base, type_id, location_id, from, to);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/api/availability?type_id=01JD7Y2Q4Z8W3N5K6M7P8R9S01\
             &location_id=01JD7Y2Q4Z8W3N5K6M7P8R9S02&from=2026-12-01T14%3A30%3A15Z&to=2026-12-31T14%3A30%3A15Z"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(pairs[2], ("from".into(), "2026-12-01T14:30:15Z".into()));
        assert_eq!(pairs[3].1.parse::<Timestamp>().unwrap(), to);
    }

    #[test]
    fn the_compare_urls_carry_their_queries() {
        let urls = Urls::new(&Url::parse("http://127.0.0.1:8080").unwrap()).unwrap();
        assert_eq!(
            with_query(&urls.clients, &[("limit", "50")]).as_str(),
            "http://127.0.0.1:8080/api/clients?limit=50"
        );
        let day = with_query(&urls.calendar, &[("date", "2026-12-06"), ("location", "01JD7Y2Q4Z8W3N5K6M7P8R9S01")]);
        assert_eq!(
            day.as_str(),
            "http://127.0.0.1:8080/api/calendar?date=2026-12-06&location=01JD7Y2Q4Z8W3N5K6M7P8R9S01"
        );
        let client: ClientId = "01JD7Y2Q4Z8W3N5K6M7P8R9S02".parse().unwrap();
        let joined = urls.clients.join(&format!("/api/clients/{client}")).unwrap();
        assert_eq!(joined.as_str(), "http://127.0.0.1:8080/api/clients/01JD7Y2Q4Z8W3N5K6M7P8R9S02");
    }

    #[test]
    fn backup_answers_are_read_by_status_and_code() {
        let manifest = br#"{"format":1,"id":"20261205T143000.123Z-full","kind":"full","base":"x","created_at":"2026-12-05T14:30:00.123Z",
            "duration_ms":1234,"object_bytes":1000,"payload_bytes":5000,"to":{"epoch":"e","change":9,"events":42,"audit":77},
            "counts":{"clients":3},"verification":null}"#;
        let BackupAnswer::Taken(figures) = backup_answer(201, manifest).unwrap() else { panic!("not taken") };
        assert_eq!((figures.kind.as_str(), figures.duration_ms, figures.object_bytes), ("full", 1234, 1000));
        assert_eq!((figures.payload_bytes, figures.to.events, figures.to.audit), (5000, 42, 77));
        assert_eq!(figures.created_at, "2026-12-05T14:30:00.123Z".parse::<Timestamp>().unwrap());
        assert_eq!(backup_answer(200, b"null").unwrap(), BackupAnswer::Current);
        let running = br#"{"error":{"code":"backup_running","message":"a backup is already running"}}"#;
        assert_eq!(backup_answer(409, running).unwrap(), BackupAnswer::Running);
        let disabled = br#"{"error":{"code":"backups_disabled","message":"not configured"}}"#;
        assert!(backup_answer(409, disabled).unwrap_err().to_string().contains("CLOWDER_BACKUP_DIR"));
        let failed = br#"{"error":{"code":"backup_failed","message":"disk full"}}"#;
        assert!(backup_answer(503, failed).unwrap_err().to_string().contains("backup_failed"));
        assert!(backup_answer(201, b"{}").is_err());
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        assert_eq!(retry_delay(Some("1")), Duration::from_secs(1));
        assert_eq!(retry_delay(Some(" 2 ")), Duration::from_secs(2));
        assert_eq!(retry_delay(Some("0")), Duration::ZERO);
        assert_eq!(retry_delay(Some("3600")), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(Some("Wed, 21 Oct 2015 07:28:00 GMT")), DEFAULT_RETRY_DELAY);
        assert_eq!(retry_delay(None), DEFAULT_RETRY_DELAY);
    }

    #[test]
    fn the_pool_builds_with_the_options() {
        let pool = PoolOptions { connections: 64, request_timeout: Duration::from_secs(10) };
        assert!(build_http(pool).is_ok());
    }
}
