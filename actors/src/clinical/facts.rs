//! Clinical fact sets in the store (`clowder_schemas::clinical_facts`): every version kept
//! with its source, who and when; the first version written at first start from the file
//! compiled in; a new version only through [`ClinicalFacts::publish`], checked by the fact
//! set's type and audited. A store service, not actors: versions are written a few times a
//! year, under one lock.
//!
//! Layout: table `clinical_facts`, key `(fact set number << 64) | version`. Version 0 holds a
//! copy of the current version, written in the same change set as each new version, so a
//! decision reads the current facts with one `get` on its snapshot ([`current`]).

use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clinical_facts::{
    FACT_SETS, FactSet, FactSetInfo, FactSetSummary, FactVersion, FactsDraft, fact_set,
};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::records::DecideCtx;
use crate::store::{ChangeSet, RecordTable};

/// The store key of `version` of the fact set numbered `set` (0: the current copy).
pub fn key(set: u64, version: u32) -> u128 {
    (u128::from(set) << 64) | u128::from(version)
}

/// The clinical facts service.
#[derive(Clone)]
pub struct ClinicalFacts {
    ctx: Arc<Ctx>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

fn info(name: &str) -> Result<&'static FactSetInfo> {
    fact_set(name).ok_or_else(|| Error::FactSetNotFound(name.to_owned()))
}

impl ClinicalFacts {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx, writer: Arc::default() }
    }

    /// Writes the compiled-in first version of every fact set the store does not hold yet
    /// (at every start: a fact set added by an upgrade is seeded then; an edited one is never
    /// touched). Returns how many were written.
    pub async fn ensure_defaults(&self) -> Result<usize> {
        let _w = self.writer.lock().await;
        let mut written = 0;
        for f in FACT_SETS {
            if self.ctx.store.read()?.get::<FactVersion>(RecordTable::ClinicalFacts, key(f.key, 0))?.is_some() {
                continue;
            }
            let (source, body) = f.first_version().map_err(Error::Validation)?;
            let v = FactVersion {
                name: f.name.to_owned(),
                version: 1,
                body,
                source,
                note: Some("The compiled-in defaults".into()),
                changed_at: self.ctx.clock.now(),
                changed_by: None,
            };
            self.write(&v, &Caller::system(), "clinical_facts.seed").await?;
            written += 1;
        }
        Ok(written)
    }

    /// Every fact set with its current version.
    pub fn list(&self) -> Result<Vec<FactSetSummary>> {
        let reader = self.ctx.store.read()?;
        let mut out = Vec::with_capacity(FACT_SETS.len());
        for f in FACT_SETS {
            let v = match reader.get::<FactVersion>(RecordTable::ClinicalFacts, key(f.key, 0))? {
                Some(v) => v,
                None => compiled(f, self.ctx.store.created_at())?,
            };
            out.push(FactSetSummary {
                name: f.name.to_owned(),
                description: f.description.to_owned(),
                version: v.version,
                source: v.source,
                changed_at: v.changed_at,
                changed_by: v.changed_by,
            });
        }
        Ok(out)
    }

    /// The current version of fact set `name`, or version `version`.
    pub fn get(&self, name: &str, version: Option<u32>) -> Result<FactVersion> {
        let f = info(name)?;
        let k = key(f.key, version.unwrap_or(0));
        match self.ctx.store.read()?.get::<FactVersion>(RecordTable::ClinicalFacts, k)? {
            Some(v) if version != Some(0) => Ok(v),
            _ => Err(Error::FactSetNotFound(match version {
                Some(n) => format!("{name} version {n}"),
                None => name.to_owned(),
            })),
        }
    }

    /// Publishes a new version (the body already checked by the fact set's type).
    pub async fn publish(&self, name: &str, draft: FactsDraft, caller: &Caller) -> Result<FactVersion> {
        let f = info(name)?;
        let _w = self.writer.lock().await;
        let current = self.ctx.store.read()?.get::<FactVersion>(RecordTable::ClinicalFacts, key(f.key, 0))?;
        let v = FactVersion {
            name: f.name.to_owned(),
            version: current.map_or(1, |c| c.version + 1),
            body: draft.body,
            source: draft.source,
            note: draft.note,
            changed_at: self.ctx.clock.now(),
            changed_by: caller.user_id(),
        };
        self.write(&v, caller, "clinical_facts.update").await?;
        Ok(v)
    }

    /// The version and its current copy, with the audit entry, in one change set.
    async fn write(&self, v: &FactVersion, caller: &Caller, action: &'static str) -> Result<()> {
        let f = info(&v.name)?;
        let mut set = ChangeSet::new();
        set.put(RecordTable::ClinicalFacts, key(f.key, v.version), v)?;
        set.put(RecordTable::ClinicalFacts, key(f.key, 0), v)?;
        set.audit(
            AuditDraft::new(caller, action)
                .record("clinical_facts", format!("{}/{}", v.name, v.version))
                .detail(serde_json::json!({ "name": v.name, "version": v.version, "source": v.source })),
        );
        self.ctx.store.commit(set).await?;
        Ok(())
    }
}

/// The compiled-in first version, as version 1 (what the store holds once seeded).
fn compiled(f: &FactSetInfo, at: jiff::Timestamp) -> Result<FactVersion> {
    let (source, body) = f.first_version().map_err(Error::Validation)?;
    Ok(FactVersion { name: f.name.to_owned(), version: 1, body, source, note: None, changed_at: at, changed_by: None })
}

/// The current version of fact set `F` as a decision sees it (its snapshot), with its
/// version number. Before the first start's seeding it is the compiled-in version 1, which is
/// what seeding writes.
pub fn current<F: FactSet>(ctx: &DecideCtx<'_>) -> Result<(u32, F)> {
    let stored = ctx.get::<FactVersion>(RecordTable::ClinicalFacts, key(F::KEY, 0))?;
    let v = match stored {
        Some(v) => v,
        None => compiled(info(F::NAME)?, jiff::Timestamp::UNIX_EPOCH)?,
    };
    Ok((v.version, v.typed::<F>().map_err(Error::Validation)?))
}
