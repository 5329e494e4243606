//! The job that runs one service call on the record its payload names (an invoice falling
//! overdue, an estimate expiring, a plan's instalment falling due): the payload is read
//! into a typed struct, the call is made as the system, and a record that is gone fails the
//! job for good while anything else is retried.

use std::future::Future;
use std::marker::PhantomData;

use clowder_schemas::audit::Caller;
use clowder_schemas::errors::ValidationError;
use serde::de::DeserializeOwned;

use super::{Job, JobCtx, JobError, JobFuture, JobHandler, JobOutcome};
use crate::error::{Error, Result};

/// A [`JobHandler`] of payload `P` calling `call(payload, caller)`.
pub struct RecordJob<P, F> {
    /// The payload's shape, said in the 422 of a wrong one (`{"invoice_id": <invoice id>}`).
    shape: &'static str,
    /// Whether an error means the record is gone (the job fails for good, not retried).
    gone: fn(&Error) -> bool,
    call: F,
    payload: PhantomData<fn() -> P>,
}

impl<P, F, Fut> RecordJob<P, F>
where
    P: DeserializeOwned + Send + 'static,
    F: Fn(P, Caller) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    pub fn new(shape: &'static str, gone: fn(&Error) -> bool, call: F) -> Self {
        RecordJob { shape, gone, call, payload: PhantomData }
    }
}

impl<P, F, Fut> JobHandler for RecordJob<P, F>
where
    P: DeserializeOwned + Send + 'static,
    F: Fn(P, Caller) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        P::deserialize(payload)
            .map(|_| ())
            .map_err(|_| ValidationError::new("payload", format!("must be {}", self.shape)))
    }

    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let payload =
                P::deserialize(&job.payload).map_err(|e| JobError::Permanent(format!("a bad payload: {e}")))?;
            match (self.call)(payload, ctx.caller.clone()).await {
                Ok(()) => Ok(JobOutcome::done()),
                Err(e) if (self.gone)(&e) => Err(JobError::Permanent(e.to_string())),
                Err(e) => Err(JobError::Retry(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Payload {
        #[allow(dead_code)]
        invoice_id: clowder_schemas::ids::InvoiceId,
    }

    #[test]
    fn a_payload_is_checked_against_its_typed_shape() {
        let job = RecordJob::new(
            "{\"invoice_id\": <invoice id>}",
            |e| matches!(e, Error::InvoiceNotFound(_)),
            |_: Payload, _: Caller| async { Ok(()) },
        );
        let id = clowder_schemas::ids::InvoiceId::from_u128(7).to_string();
        assert!(job.validate(&serde_json::json!({ "invoice_id": id, "extra": 1 })).is_ok());
        let refused = job.validate(&serde_json::json!({ "invoice_id": "not an id" })).unwrap_err();
        assert_eq!(
            (refused.field.as_str(), refused.message.as_str()),
            ("payload", "must be {\"invoice_id\": <invoice id>}")
        );
        assert!(job.validate(&serde_json::json!({})).is_err());
    }
}
