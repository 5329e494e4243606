//! Email attachments by reference: a queued message keeps only references (`receipt:<payment>`,
//! `statement:<client>:<from>:<to>`), and `send_message` asks the source installed for the
//! reference's kind to render the file when it sends. The outbox row stays a few bytes per
//! attachment, nothing is written beside the store, and comms does not depend on the domains
//! whose documents it carries (they install their source at start: billing for receipts and
//! statements). docs/statements.md "Attachments".

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use clowder_schemas::comms::EmailAttachment;

use crate::jobs::JobError;

/// What rendering an attachment returns: the file, or a job error (`Retry` for a passing
/// failure, `Permanent` for a reference that names nothing).
pub type RenderFuture<'a> = Pin<Box<dyn Future<Output = Result<EmailAttachment, JobError>> + Send + 'a>>;

/// Renders the attachments of one kind of reference.
pub trait AttachmentSource: Send + Sync {
    /// The file named by `reference` (the whole reference, kind included).
    fn render<'a>(&'a self, reference: &'a str) -> RenderFuture<'a>;
}

/// The sources by kind, shared by the sending job and the domains that install them.
#[derive(Clone, Default)]
pub struct Attachments(Arc<RwLock<HashMap<&'static str, Arc<dyn AttachmentSource>>>>);

impl Attachments {
    /// Installs the source of references `kind:…` (replacing any before it).
    pub fn install(&self, kind: &'static str, source: Arc<dyn AttachmentSource>) {
        if let Ok(mut map) = self.0.write() {
            map.insert(kind, source);
        }
    }

    /// Renders one reference; a kind nobody installed is a permanent failure.
    pub async fn render(&self, reference: &str) -> Result<EmailAttachment, JobError> {
        let kind = reference.split_once(':').map_or(reference, |(k, _)| k);
        let source = self
            .0
            .read()
            .map_err(|_| JobError::Retry("the attachment sources are unavailable".into()))?
            .get(kind)
            .cloned()
            .ok_or_else(|| JobError::Permanent(format!("no attachment source for {reference:?}")))?;
        source.render(reference).await
    }
}

/// A domain error while rendering, as a job error: what names nothing or is refused will
/// never render (`Permanent`); anything else (the store, a timeout) may pass (`Retry`).
pub fn job_error(reference: &str, e: crate::error::Error) -> JobError {
    let text = format!("attachment {reference}: {e}");
    use clowder_schemas::ErrorKind;
    match e.code().kind() {
        ErrorKind::NotFound | ErrorKind::Invalid | ErrorKind::Forbidden | ErrorKind::Malformed => {
            JobError::Permanent(text)
        }
        _ => JobError::Retry(text),
    }
}
