//! The demo staff: the sign-in accounts ([`STAFF`]), the people who work at the clinic
//! ([`PEOPLE`]) with their usual week, and their staff profiles.
//!
//! # Demo passwords
//!
//! [`STAFF`] carries fixed passwords. They are for the demo only: they are public (they are
//! in this file) and the demo start-up prints them so whoever runs the demo can sign in.
//! Never seed demo data into a clinic that holds real data.

use clowder_schemas::ids::{LocationId, UserId};
use clowder_schemas::locations::Day;
use clowder_schemas::staff::{Capabilities, CreateStaff, EmploymentType, Licence, PatternSpan, Position};
use jiff::civil::{Date, Time, Weekday, date};

use super::clients::ascii_fold;
use super::schedule::{Week, hm};

/// A demo staff account; `password` is public and for the demo only (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoStaff {
    pub username: &'static str,
    pub display_name: &'static str,
    pub roles: &'static [&'static str],
    pub password: &'static str,
}

/// The demo staff accounts: two vets and one account for each other role.
pub const STAFF: &[DemoStaff] = &[
    staff("drmorgan", "Dr. Elena Morgan", &["veterinarian"], "demo-morgan-2026"),
    staff("drpatel", "Dr. Raj Patel", &["veterinarian"], "demo-patel-2026"),
    staff("tech.kim", "Sam Kim", &["vet_tech"], "demo-kim-vettech-2026"),
    staff("frontdesk", "Maria Lopez", &["receptionist"], "demo-lopez-2026"),
    staff("billing", "Dana Wright", &["billing"], "demo-wright-2026"),
    staff("manager", "Chris Taylor", &["practice_manager"], "demo-taylor-2026"),
    staff("admin", "Alex Rivera", &["administrator"], "demo-rivera-2026"),
];

const fn staff(
    username: &'static str,
    display_name: &'static str,
    roles: &'static [&'static str],
    password: &'static str,
) -> DemoStaff {
    DemoStaff { username, display_name, roles, password }
}

/// How someone works one weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Off,
    /// Opening to closing.
    Full,
    /// Opening to 13:00.
    Morning,
    /// 12:00 to closing.
    Afternoon,
    /// Opening to closing every other week: `Rota(0)` in even weeks, `Rota(1)` in odd ones
    /// (how the Saturday mornings are shared).
    Rota(u8),
}

/// A week written Monday first, one letter a day: `F` full day, `M` morning, `A` afternoon,
/// `-` off, `0`/`1` every other week ([`Part::Rota`]).
const fn week(s: &str) -> [Part; 7] {
    let b = s.as_bytes();
    assert!(b.len() == 7, "a week has seven days");
    let mut w = [Part::Off; 7];
    let mut i = 0;
    while i < 7 {
        w[i] = match b[i] {
            b'F' => Part::Full,
            b'M' => Part::Morning,
            b'A' => Part::Afternoon,
            b'0' => Part::Rota(0),
            b'1' => Part::Rota(1),
            b'-' => Part::Off,
            _ => panic!("a day is one of F, M, A, -, 0, 1"),
        };
        i += 1;
    }
    w
}

/// Someone who works at the demo clinic: a staff profile, linked to the demo account
/// `username` when they have one.
#[derive(Debug, Clone, Copy)]
pub struct DemoPerson {
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub position: Position,
    pub employment: EmploymentType,
    pub username: Option<&'static str>,
    pub surgeon: bool,
    /// Oregon licence number (veterinarians).
    pub licence: Option<&'static str>,
    pub hired: Date,
    /// The usual week, Monday first.
    pub week: [Part; 7],
}

impl DemoPerson {
    /// Veterinarians and technicians: they get shifts.
    pub fn clinical(&self) -> bool {
        matches!(self.position, Position::Veterinarian | Position::VetTech)
    }
}

const fn person(
    first_name: &'static str,
    last_name: &'static str,
    position: Position,
    username: Option<&'static str>,
    hired: Date,
    days: &str,
) -> DemoPerson {
    DemoPerson {
        first_name,
        last_name,
        position,
        employment: EmploymentType::FullTime,
        username,
        surgeon: false,
        licence: None,
        hired,
        week: week(days),
    }
}

const fn vet(
    first: &'static str,
    last: &'static str,
    user: Option<&'static str>,
    hired: Date,
    days: &str,
) -> DemoPerson {
    person(first, last, Position::Veterinarian, user, hired, days)
}

/// The demo clinic's people: four veterinarians (two of them surgeons), four technicians,
/// two receptionists, the practice manager and the billing clerk. Every weekday has at
/// least two vets in the morning and in the afternoon; two vets share each Saturday.
pub const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        surgeon: true,
        licence: Some("V-10482"),
        ..vet("Elena", "Morgan", Some("drmorgan"), date(2015, 3, 2), "FFFFM0-")
    },
    DemoPerson { licence: Some("V-11937"), ..vet("Raj", "Patel", Some("drpatel"), date(2018, 8, 13), "FFAFF1-") },
    DemoPerson {
        surgeon: true,
        licence: Some("V-12655"),
        ..vet("Grace", "Nakamura", None, date(2020, 1, 6), "AFFMF1-")
    },
    DemoPerson {
        employment: EmploymentType::PartTime,
        licence: Some("V-13804"),
        ..vet("Daniel", "Okafor", None, date(2023, 5, 15), "F-FA-0-")
    },
    person("Sam", "Kim", Position::VetTech, Some("tech.kim"), date(2017, 9, 5), "FFFFM0-"),
    person("Jordan", "Ellis", Position::VetTech, None, date(2019, 4, 22), "FFMFF1-"),
    DemoPerson {
        employment: EmploymentType::PartTime,
        ..person("Priya", "Shah", Position::VetTech, None, date(2022, 2, 14), "-AFFA--")
    },
    person("Marcus", "Hill", Position::VetTech, None, date(2021, 7, 12), "FFA-F0-"),
    person("Maria", "Lopez", Position::Receptionist, Some("frontdesk"), date(2016, 11, 1), "FFFFF--"),
    DemoPerson {
        employment: EmploymentType::PartTime,
        ..person("Tyler", "Brooks", Position::Receptionist, None, date(2024, 6, 3), "AA-AA1-")
    },
    person("Chris", "Taylor", Position::PracticeManager, Some("manager"), date(2014, 5, 19), "FFFFF--"),
    person("Dana", "Wright", Position::Billing, Some("billing"), date(2019, 10, 7), "MFMFM--"),
];

/// 0 in even weeks, 1 in odd ones, counted in whole weeks from a Monday (stable across years).
fn week_parity(d: Date) -> u8 {
    ((d - date(2001, 1, 1)).get_days().div_euclid(7).rem_euclid(2)) as u8
}

/// Where someone works on `d`, given the day's opening hours: `(start, end)` local times.
pub(super) fn working_span(part: Part, hours: Option<(Time, Time)>, d: Date) -> Option<(Time, Time)> {
    let (open, close) = hours?;
    let span = match part {
        Part::Off => return None,
        Part::Full => (open, close),
        Part::Morning => (open, close.min(hm(13, 0))),
        Part::Afternoon => (open.max(hm(12, 0)), close),
        Part::Rota(p) if p == week_parity(d) => (open, close),
        Part::Rota(_) => return None,
    };
    (span.0 < span.1).then_some(span)
}

/// The staff profile of `p`. Veterinarians can prescribe; surgeons can operate; the front
/// desk, the manager and billing take payments. Licences run to the end of next year.
pub fn staff_profile(
    p: &DemoPerson,
    user_id: Option<UserId>,
    location: LocationId,
    hours: &Week,
    today: Date,
) -> CreateStaff {
    let vet = p.position == Position::Veterinarian;
    let weekly_pattern = p
        .week
        .iter()
        .enumerate()
        .filter(|(_, part)| matches!(part, Part::Full | Part::Morning | Part::Afternoon))
        .filter_map(|(i, part)| {
            let day = Day::of(Weekday::from_monday_one_offset(i as i8 + 1).expect("0..7 is a weekday"));
            // Rota days alternate, so the usual week leaves them out; the date only matters for those.
            working_span(*part, hours[i], today).map(|(start, end)| PatternSpan { day, start, end })
        })
        .collect();
    CreateStaff {
        user_id,
        first_name: p.first_name.to_owned(),
        last_name: p.last_name.to_owned(),
        email: Some(format!("{}.{}@clinic.example.com", ascii_fold(p.first_name), ascii_fold(p.last_name))),
        phone: None,
        position: p.position,
        employment_type: p.employment,
        hire_date: Some(p.hired),
        licence: p.licence.map(|number| Licence {
            number: number.to_owned(),
            state: "OR".to_owned(),
            expires_on: Date::new(today.year().saturating_add(1), 12, 31).ok(),
        }),
        capabilities: Capabilities {
            can_prescribe: vet,
            can_perform_surgery: p.surgeon,
            can_access_billing: matches!(
                p.position,
                Position::Receptionist | Position::PracticeManager | Position::Billing
            ),
        },
        home_location_id: Some(location),
        weekly_pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::clients::generate;
    use crate::demo::schedule::{DENTAL_ROOM, EXAM_ROOMS, ROOMS, SURGERY_ROOM};
    use crate::demo::tests::{TODAY, default_week};
    use clowder_schemas::appointment_types::RoomKind;
    use jiff::Timestamp;
    use std::collections::HashSet;

    #[test]
    fn staff_accounts_are_usable() {
        let staff = generate(TODAY).staff;
        assert_eq!(staff.iter().map(|s| s.username).collect::<HashSet<_>>().len(), staff.len());
        for s in &staff {
            assert!(s.password.chars().count() >= 12, "{}", s.username);
            assert!(!s.password.contains(s.username), "{}", s.username);
            assert!(!s.roles.is_empty() && !s.display_name.is_empty());
        }
    }

    #[test]
    fn staff_profiles_are_valid_and_linked_to_the_demo_accounts() {
        let location = LocationId::from_u128(1);
        for (i, person) in PEOPLE.iter().enumerate() {
            let user = person.username.map(|_| UserId::from_u128(i as u128 + 1));
            let body = staff_profile(person, user, location, &default_week(), TODAY);
            let s = body.validate(clowder_schemas::StaffId::from_u128(1), Timestamp::UNIX_EPOCH).unwrap();
            assert_eq!(s.capabilities.can_prescribe, person.position == Position::Veterinarian);
            assert_eq!(s.licence.is_some(), person.position == Position::Veterinarian, "{}", person.last_name);
            assert!(!s.weekly_pattern.is_empty());
        }
        for account in STAFF.iter().filter(|s| s.username != "admin") {
            assert!(PEOPLE.iter().any(|p| p.username == Some(account.username)), "{}", account.username);
        }
        let vets = PEOPLE.iter().filter(|p| p.position == Position::Veterinarian).count();
        assert!(vets <= EXAM_ROOMS, "one exam room per vet");
        assert_eq!(PEOPLE.iter().filter(|p| p.surgeon).count(), 2);
        assert_eq!((ROOMS[SURGERY_ROOM].1, ROOMS[DENTAL_ROOM].1), (RoomKind::Surgery, RoomKind::Dental));
        assert!(ROOMS[..EXAM_ROOMS].iter().all(|r| r.1 == RoomKind::Exam));
    }
}
