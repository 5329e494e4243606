//! The message's state mapping: provider errors to job errors, and the message after a send
//! or a failure.

use std::time::Duration;

use clowder_schemas::comms::{ProviderName, Sent};
use clowder_schemas::messages::{Channel, Message, MessageStatus};
use clowder_schemas::{MessageId, ValidationError};
use jiff::Timestamp;

use super::*;

fn queued() -> Message {
    Message {
        id: MessageId::from_u128(7),
        channel: Channel::Email,
        recipient: "a@example.com".into(),
        client_id: None,
        subject: Some("Hi".into()),
        text: "Hello".into(),
        html: None,
        idempotency_key: "k".into(),
        purpose: Purpose::Transactional,
        template_id: None,
        category: None,
        automation: None,
        status: MessageStatus::Queued,
        provider: None,
        provider_id: None,
        attempts: 0,
        last_error: None,
        created_at: Timestamp::UNIX_EPOCH,
        sent_at: None,
        updated_at: Timestamp::UNIX_EPOCH,
        created_by: None,
        tracked_links: Vec::new(),
        link_clicks: Vec::new(),
        opened_at: None,
        opens: 0,
        clicked_at: None,
        clicks: 0,
        attachments: Vec::new(),
    }
}

#[test]
fn send_errors_map_to_job_errors() {
    assert_eq!(job_error(SendError::retry("down")), JobError::Retry("down".into()));
    assert_eq!(
        job_error(SendError::Retry { reason: "429".into(), after: Some(Duration::from_secs(30)) }),
        JobError::RetryAfter("429".into(), Duration::from_secs(30))
    );
    assert_eq!(job_error(SendError::permanent("no such mailbox")), JobError::Permanent("no such mailbox".into()));
}

#[test]
fn a_sent_message_records_the_provider_and_its_id() {
    let at = Timestamp::from_second(1_800_000_000).expect("valid");
    let sent = Sent { provider: ProviderName::Smtp, provider_id: "<abc@x>".into(), accepted_at: at };
    let failed = after_failure(&queued(), &JobError::Retry("down".into()), false, 1, at);
    let m = after_sent(&failed, &sent, 2, at);
    assert_eq!(m.status, MessageStatus::Sent);
    assert_eq!(m.provider.as_deref(), Some("smtp"));
    assert_eq!(m.provider_id.as_deref(), Some("<abc@x>"));
    assert_eq!((m.attempts, m.sent_at, m.last_error), (2, Some(at), None));
}

#[test]
fn failures_are_failed_until_the_job_gives_up() {
    let now = Timestamp::UNIX_EPOCH;
    let f = after_failure(&queued(), &JobError::Retry("timeout".into()), false, 1, now);
    assert_eq!((f.status, f.attempts, f.last_error.as_deref()), (MessageStatus::Failed, 1, Some("timeout")));
    let d = after_failure(&f, &JobError::Permanent("550 no such user".into()), true, 2, now);
    assert_eq!((d.status, d.last_error.as_deref()), (MessageStatus::Dead, Some("550 no such user")));
}

#[test]
fn a_failure_after_acceptance_does_not_unsend() {
    let now = Timestamp::UNIX_EPOCH;
    let sent = Sent { provider: ProviderName::Log, provider_id: "log-1".into(), accepted_at: now };
    let s = after_sent(&queued(), &sent, 1, now);
    assert_eq!(after_failure(&s, &JobError::Retry("refused".into()), false, 2, now), s);
}

#[test]
fn the_payload_names_a_message() {
    let id = MessageId::from_u128(9);
    assert_eq!(payload_message(&serde_json::json!({ "message_id": id })), Ok(id));
    let e: ValidationError = payload_message(&serde_json::json!({})).expect_err("no id");
    assert_eq!(e.field, "payload");
}
