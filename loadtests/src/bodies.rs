//! What the harness sends: request bodies built from a number, so every request of a run
//! carries distinct, valid data, and a run tag keeps runs against the same data directory
//! from colliding on unique emails.
//!
//! The server's own request types in `clowder-schemas` only deserialize, so the bodies are
//! mirrored here; the tests check each one against the server's validation.

use serde::Serialize;

use clowder_schemas::ClientId;

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

/// Body of `POST /api/patients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewPatient {
    pub client_id: ClientId,
    pub name: String,
}

const CAT_NAMES: [&str; 8] = ["Mittens", "Tom", "Luna", "Oliver", "Cleo", "Simba", "Nala", "Pixel"];

impl NewPatient {
    pub fn for_client(client_id: ClientId, n: u64) -> Self {
        let name = CAT_NAMES[(n % CAT_NAMES.len() as u64) as usize];
        Self { client_id, name: name.into() }
    }
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
    use clowder_schemas::clients::CreateClient;
    use clowder_schemas::patients::CreatePatient;

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
}
