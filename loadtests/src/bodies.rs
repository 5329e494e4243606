//! What the harness sends: request bodies built from a number, so every request of a run
//! carries distinct, valid data, and a run tag keeps runs against the same data directory
//! from colliding on unique emails and user names.
//!
//! The server's own request types in `clowder-schemas` only deserialize, so the bodies are
//! mirrored here; the tests check each one against the server's validation.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::Serialize;

use clowder_schemas::appointment_types::RoomKind;
use clowder_schemas::locations::{Day, DayHours};
use clowder_schemas::staff::Position;
use clowder_schemas::whiteboard::RoomState;
use clowder_schemas::{AppointmentTypeId, ClientId, LocationId, PatientId, RoomId, StaffId};

use crate::rng::SplitMix64;
use crate::scheduling::TIME_ZONE;

/// Body of `POST /api/auth/login`.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

/// Body of `POST /api/clients`, with only the fields the scenarios vary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewClient {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl NewClient {
    /// A client for the read set: no email, so seeding never hits the uniqueness check.
    pub fn seed(n: u64) -> Self {
        Self { first_name: "Seed".into(), last_name: format!("Reader{n}"), phone: phone_for(n), email: None }
    }

    /// A client for the write scenario, with an email unique to this run and number, so the
    /// server's unique-email index is exercised on every request.
    pub fn unique(run_tag: &str, n: u64) -> Self {
        Self {
            first_name: "Load".into(),
            last_name: format!("Test{n}"),
            phone: phone_for(n),
            email: Some(format!("load-{run_tag}-{n}@example.com")),
        }
    }
}

/// Body of `POST /api/patients`, with only the fields the scenarios set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewPatient {
    pub client_id: ClientId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Unique across the clinic: the server refuses a microchip another patient has (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microchip: Option<String>,
}

const CAT_NAMES: [&str; 8] = ["Mittens", "Tom", "Luna", "Oliver", "Cleo", "Simba", "Nala", "Pixel"];

impl NewPatient {
    pub fn for_client(client_id: ClientId, n: u64) -> Self {
        let name = CAT_NAMES[(n % CAT_NAMES.len() as u64) as usize];
        Self { client_id, name: name.into(), breed: None, color: None, microchip: None }
    }
}

/// Body of `POST /api/locations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLocation {
    pub name: String,
    pub time_zone: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<DayHours>>,
}

impl NewLocation {
    /// Location `n` of the book scenario, with the default opening hours; the run tag keeps
    /// the name unique, as the server requires.
    pub fn numbered(run_tag: &str, n: u16) -> Self {
        Self { name: format!("Load {run_tag} {n}"), time_zone: TIME_ZONE, hours: None }
    }

    /// The day-view scenario's location, with the default opening hours.
    pub fn day_view(run_tag: &str) -> Self {
        Self { name: format!("Load {run_tag} day view"), time_zone: TIME_ZONE, hours: None }
    }

    /// The availability scenario's location, open 08:00–18:00 every day, so every day of the
    /// window has slots to search.
    pub fn open_every_day(run_tag: &str) -> Self {
        let days = [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday, Day::Saturday, Day::Sunday];
        let (open, close) = (Time::constant(8, 0, 0, 0), Time::constant(18, 0, 0, 0));
        Self {
            name: format!("Load {run_tag} availability"),
            time_zone: TIME_ZONE,
            hours: Some(days.into_iter().map(|day| DayHours { day, open, close }).collect()),
        }
    }
}

/// Body of `POST /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRoom {
    pub location_id: LocationId,
    pub name: String,
    pub kind: RoomKind,
}

impl NewRoom {
    /// Exam room `n` of the day-view scenario's location.
    pub fn day_view(n: usize, location_id: LocationId) -> Self {
        Self { location_id, name: format!("Exam {}", n + 1), kind: RoomKind::Exam }
    }

    /// The fanout scenario's exam room; the run tag keeps the name unique in its location.
    pub fn fanout(run_tag: &str, location_id: LocationId) -> Self {
        Self { location_id, name: format!("Load {run_tag} fanout"), kind: RoomKind::Exam }
    }
}

/// Body of `POST /api/rooms/{id}/state` for a move without a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoomMove {
    pub to: RoomState,
}

/// Body of `POST /api/staff` for a vet without a sign-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewVet {
    pub first_name: &'static str,
    pub last_name: String,
    pub position: Position,
    pub home_location_id: LocationId,
}

impl NewVet {
    pub fn numbered(n: usize, home: LocationId) -> Self {
        Self {
            first_name: "Load",
            last_name: format!("Vet{n}"),
            position: Position::Veterinarian,
            home_location_id: home,
        }
    }
}

/// Body of `POST /api/staff/{id}/shifts`: a regular shift, so the person is bookable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewShift {
    pub location_id: LocationId,
    pub date: Date,
    pub start: Time,
    pub end: Time,
}

/// Body of `POST /api/appointments`: the end from the type's length; a room and a reason when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAppointment {
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub type_id: AppointmentTypeId,
    pub vet_id: StaffId,
    pub location_id: LocationId,
    pub start: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Characters of generated passwords.
const PASSWORD_ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated passwords: well above the server's minimum of 12.
pub const PASSWORD_CHARS: usize = 24;

/// The role the signin scenario's users get: sign-in needs no permission at all, so the
/// smallest ordinary staff role will do.
pub const STAFF_ROLE: &str = "receptionist";

/// One staff account of the signin scenario: created with `temporary_password`, which the
/// server makes it change to `password` before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub username: String,
    pub display_name: String,
    pub temporary_password: String,
    pub password: String,
}

impl StaffAccount {
    /// Body of the `POST /api/users` that creates this account.
    pub fn new_user(&self) -> NewUser<'_> {
        NewUser {
            username: &self.username,
            display_name: &self.display_name,
            password: &self.temporary_password,
            roles: [STAFF_ROLE],
        }
    }

    /// Body of the `POST /api/auth/password` that replaces the temporary password.
    pub fn password_change(&self) -> PasswordChange<'_> {
        PasswordChange { current_password: &self.temporary_password, new_password: &self.password }
    }

    /// Body of the first sign-in, with the temporary password.
    pub fn new_user_credentials(&self) -> Credentials<'_> {
        Credentials { username: &self.username, password: &self.temporary_password }
    }

    /// Body of the sign-ins once the password is changed.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials { username: &self.username, password: &self.password }
    }
}

/// `count` accounts named `load<run_tag><i>` for `i` in `0..count`, with passwords drawn from
/// `seed` (pass one the OS randomised: these are real accounts on the server).
pub fn staff_accounts(run_tag: &str, count: u16, seed: u64) -> Vec<StaffAccount> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|i| StaffAccount {
            username: format!("load{run_tag}{i}"),
            display_name: format!("Load {i}"),
            temporary_password: random_password(&mut rng),
            password: random_password(&mut rng),
        })
        .collect()
}

/// [`PASSWORD_CHARS`] letters and digits.
pub fn random_password(rng: &mut SplitMix64) -> String {
    (0..PASSWORD_CHARS).map(|_| char::from(PASSWORD_ALPHABET[rng.below(PASSWORD_ALPHABET.len())])).collect()
}

/// Body of `POST /api/users`.
#[derive(Debug, Clone, Serialize)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub roles: [&'a str; 1],
}

/// Body of `POST /api/auth/password`.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordChange<'a> {
    pub current_password: &'a str,
    pub new_password: &'a str,
}

/// A 10-digit North American number in the fictional 555 range, varied by `n`.
pub fn phone_for(n: u64) -> String {
    format!("555-{:03}-{:04}", (n / 10_000) % 1000, n % 10_000)
}

/// A short tag, distinct per run, from the start time and the process id, in base 36.
pub fn run_tag(unix_millis: u64, pid: u32) -> String {
    format!("{}{}", base36(unix_millis), base36(u64::from(pid)))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.iter().rev().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::appointments::CreateAppointment;
    use clowder_schemas::clients::CreateClient;
    use clowder_schemas::locations::CreateLocation;
    use clowder_schemas::passwords::check_new_password;
    use clowder_schemas::patients::CreatePatient;
    use clowder_schemas::staff::{CreateShift, CreateStaff, ShiftKind};
    use clowder_schemas::users::{ChangePassword, CreateUser, LoginRequest, parse_username};

    /// Round-trips a body through JSON into the server's request type and validates it.
    fn server_accepts_client(body: &NewClient) {
        let json = serde_json::to_value(body).unwrap();
        let create: CreateClient = serde_json::from_value(json).unwrap();
        create.validate("1").unwrap();
    }

    #[test]
    fn client_bodies_pass_the_servers_validation() {
        for n in [0, 1, 9_999, 10_000, 1_234_567, 9_999_999, u64::MAX] {
            server_accepts_client(&NewClient::seed(n));
            server_accepts_client(&NewClient::unique("lz3k9a1b2", n));
        }
    }

    #[test]
    fn patient_bodies_pass_the_servers_validation() {
        let owner: ClientId = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T".parse().unwrap();
        for n in 0..10 {
            let json = serde_json::to_value(NewPatient::for_client(owner, n)).unwrap();
            let create: CreatePatient = serde_json::from_value(json).unwrap();
            create.validate(jiff::civil::date(2026, 1, 1)).unwrap();
        }
    }

    #[test]
    fn write_emails_are_unique_per_number_and_run() {
        let a = NewClient::unique("run1", 7).email;
        assert_ne!(a, NewClient::unique("run1", 8).email);
        assert_ne!(a, NewClient::unique("run2", 7).email);
    }

    #[test]
    fn phones_have_ten_digits_and_vary() {
        let check = |n: u64, expected: &str| assert_eq!(phone_for(n), expected);
        check(0, "555-000-0000");
        check(1_234_567, "555-123-4567");
        check(10_000_000, "555-000-0000");
        assert_ne!(phone_for(1), phone_for(2));
    }

    #[test]
    fn run_tags_are_short_base36() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        let tag = run_tag(1_800_000_000_000, 4_194_304);
        assert!(tag.len() <= 14 && tag.chars().all(|c| c.is_ascii_alphanumeric()), "{tag}");
    }

    #[test]
    fn staff_accounts_pass_the_servers_validation() {
        for seed in 0..50 {
            for account in staff_accounts("lz3k9a1b2zzzzzz", 12, seed) {
                assert_eq!(parse_username("username", &account.username).unwrap(), account.username);
                for password in [&account.temporary_password, &account.password] {
                    assert_eq!(password.chars().count(), PASSWORD_CHARS);
                    check_new_password("password", password, &account.username).unwrap();
                }
                assert_ne!(account.temporary_password, account.password);
            }
        }
    }

    #[test]
    fn the_longest_staff_user_name_fits() {
        // The longest run tag (millisecond clock and pid both at their widest) and number.
        let tag = run_tag(u64::MAX, u32::MAX);
        let account = &staff_accounts(&tag, 1000, 1)[999];
        assert!(parse_username("username", &account.username).is_ok(), "{}", account.username);
    }

    #[test]
    fn staff_accounts_are_named_after_the_run_and_number() {
        let accounts = staff_accounts("abc", 3, 9);
        let names: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(names, ["loadabc0", "loadabc1", "loadabc2"]);
        assert_eq!(accounts[2].display_name, "Load 2");
        let passwords: std::collections::HashSet<&str> =
            accounts.iter().flat_map(|a| [a.temporary_password.as_str(), a.password.as_str()]).collect();
        assert_eq!(passwords.len(), 6);
        assert_ne!(staff_accounts("abc", 3, 10)[0].password, accounts[0].password);
    }

    #[test]
    fn user_bodies_match_the_servers_request_types() {
        let account = &staff_accounts("abc", 1, 3)[0];
        let create: CreateUser = serde_json::from_value(serde_json::to_value(account.new_user()).unwrap()).unwrap();
        assert_eq!(create.username, account.username);
        assert_eq!(create.display_name, "Load 0");
        assert_eq!(create.password, account.temporary_password);
        assert_eq!(create.roles, ["receptionist"]);
        assert_eq!(create.email, None);
        let change: ChangePassword =
            serde_json::from_value(serde_json::to_value(account.password_change()).unwrap()).unwrap();
        assert_eq!(
            (change.current_password, change.new_password),
            (account.temporary_password.clone(), account.password.clone())
        );
        let login: LoginRequest = serde_json::from_value(serde_json::to_value(account.credentials()).unwrap()).unwrap();
        assert_eq!((login.username, login.password), (account.username.clone(), account.password.clone()));
    }

    /// Round-trips a body through JSON into the server's request type.
    fn as_server_reads<T: serde::de::DeserializeOwned>(body: &impl Serialize) -> T {
        serde_json::from_value(serde_json::to_value(body).unwrap()).unwrap()
    }

    fn id<T: std::str::FromStr>(n: u8) -> T
    where
        T::Err: std::fmt::Debug,
    {
        format!("01JD7Y2Q4Z8W3N5K6M7P8R9S{n:02}").parse().unwrap()
    }

    #[test]
    fn location_bodies_pass_the_servers_validation() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let numbered: CreateLocation = as_server_reads(&NewLocation::numbered(&run_tag(u64::MAX, u32::MAX), 255));
        let location = numbered.validate(id(1), now).unwrap();
        assert_eq!(location.time_zone, "America/New_York");
        assert_eq!(location.hours, clowder_schemas::locations::default_hours());
        let every_day: CreateLocation = as_server_reads(&NewLocation::open_every_day("abc"));
        let location = every_day.validate(id(1), now).unwrap();
        assert_eq!(location.name, "Load abc availability");
        assert_eq!(location.hours.len(), 7);
        assert!(location.week().iter().all(|d| d.is_some()));
        assert_ne!(NewLocation::numbered("abc", 0).name, NewLocation::numbered("abc", 1).name);
    }

    #[test]
    fn vet_bodies_pass_the_servers_validation() {
        let create: CreateStaff = as_server_reads(&NewVet::numbered(63, id(1)));
        let vet = create.validate(id(2), jiff::Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(vet.position, Position::Veterinarian);
        assert_eq!(vet.home_location_id, Some(id(1)));
        assert_eq!(vet.display_name(), "Dr. Load Vet63");
    }

    #[test]
    fn shift_bodies_are_regular_shifts() {
        let body = NewShift {
            location_id: id(1),
            date: Date::constant(2026, 12, 1),
            start: Time::constant(8, 0, 0, 0),
            end: Time::constant(17, 0, 0, 0),
        };
        let draft = as_server_reads::<CreateShift>(&body).validate().unwrap();
        assert_eq!((draft.date, draft.start, draft.end), (body.date, body.start, body.end));
        assert_eq!(draft.kind, ShiftKind::Regular);
        assert!(draft.kind.bookable());
    }

    #[test]
    fn appointment_bodies_match_the_servers_request_type() {
        let body = NewAppointment {
            client_id: id(1),
            patient_id: id(2),
            type_id: id(3),
            vet_id: id(4),
            location_id: id(5),
            start: "2027-01-05T09:00:00Z".parse().unwrap(),
            room_id: None,
            reason: None,
        };
        let json = serde_json::to_value(&body).unwrap();
        assert!(json.get("room_id").is_none() && json.get("reason").is_none(), "left out when absent");
        let in_a_room = NewAppointment { room_id: Some(id(6)), reason: Some("annual check-up"), ..body.clone() };
        let create: CreateAppointment = as_server_reads(&in_a_room);
        assert_eq!((create.room_id, create.reason.as_deref()), (Some(id(6)), Some("annual check-up")));
        assert_eq!(json["start"], "2027-01-05T09:00:00Z");
        let create: CreateAppointment = as_server_reads(&body);
        assert_eq!(
            (create.client_id, create.patient_id, create.type_id),
            (body.client_id, body.patient_id, body.type_id)
        );
        assert_eq!(
            (create.vet_id, create.location_id, create.room_id),
            (Some(body.vet_id), Some(body.location_id), None)
        );
        assert_eq!((create.start, create.end, create.overbook), (body.start, None, false));
        create.text().unwrap();
    }
}
