//! Laboratory work as two record kinds and one service (docs/labs.md): the lab order
//! (`Records<LabOrderKind>`: one catalogue test of a cat's visit; results flagged against the
//! `lab_ranges` version in force when they arrive, which each result names; review and
//! sign-off by a veterinarian, after which only amendments that keep the original change it;
//! cancel with a reason) and the unmatched queue (`Records<UnmatchedKind>`: what an import
//! could not put on an order with certainty, kept whole until staff attach or discard it).
//!
//! [`LabImport`] matches imported results (JSON or HL7 ORU^R01, already parsed) to an order by
//! its id, then checks the cat: a result goes on an order only when the message names that
//! order's cat, or names no order and the cat has exactly one open order of that test.
//! Anything else is queued; nothing is dropped, nothing goes on another cat's record.
//! It never reads another kind's record inside a decision's `also`: it calls the services.

use std::collections::BTreeMap;

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{LabOrderId, LabUnmatchedId};
use clowder_schemas::labs::{
    AnalyteResult, ImportOutcome, ImportResults, LabAmendment, LabOrder, LabOrderDraft, LabOrderStatus, LabRanges,
    LabTests, LabTrend, LabUnmatched, ReportedValue, TrendPoint, UnmatchedStatus,
};
use clowder_schemas::patients::Patient;
use clowder_schemas::visits::{Visit, VisitStatus};
use clowder_schemas::{PatientId, ValidationError};

use super::facts;
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, RecordTable};

/// The lab orders service.
pub type LabOrders = Records<LabOrderKind>;

/// The lab order record kind.
pub struct LabOrderKind;

/// A change to a lab order.
#[derive(Debug)]
pub enum LabOrderCommand {
    /// Results typed in or imported (`source`: `manual`, `json`, `hl7`).
    AddResults {
        values: Vec<ReportedValue>,
        source: &'static str,
    },
    /// Sign-off by a veterinarian.
    Review {
        note: Option<String>,
    },
    Cancel {
        reason: String,
    },
    /// A correction of a reviewed result, keeping the original.
    Amend {
        value: ReportedValue,
        reason: String,
    },
}

/// Which orders a list shows.
#[derive(Debug, Clone, Default)]
pub struct LabOrderFilter {
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<clowder_schemas::ids::VisitId>,
    /// Only orders still awaiting results (ordered or partial).
    pub open_only: bool,
    /// Only orders not signed off (ordered, partial or resulted).
    pub unreviewed_only: bool,
}

impl RecordKind for LabOrderKind {
    type Record = LabOrder;
    type Id = LabOrderId;
    type Draft = LabOrderDraft;
    type Command = LabOrderCommand;
    type Filter = LabOrderFilter;

    const KIND: &'static str = "lab_order";
    const TABLE: RecordTable = RecordTable::LabOrders;
    const READ_ACTION: &'static str = "lab_order.read";
    const LIST_ACTION: &'static str = "lab_order.list";

    fn id(o: &LabOrder) -> LabOrderId {
        o.id
    }

    fn not_found(id: LabOrderId) -> Error {
        Error::LabOrderNotFound(id)
    }

    fn claims(_: &LabOrder) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(o: &LabOrder) -> impl Iterator<Item = Link> {
        [
            Link { index: IndexTable::LabOrdersByPatient, parent: o.patient_id.as_u128() },
            Link { index: IndexTable::LabOrdersByVisit, parent: o.visit_id.as_u128() },
        ]
        .into_iter()
    }

    fn matches(f: &LabOrderFilter, o: &LabOrder) -> bool {
        f.patient_id.is_none_or(|p| p == o.patient_id)
            && f.visit_id.is_none_or(|v| v == o.visit_id)
            && (!f.open_only || matches!(o.status, LabOrderStatus::Ordered | LabOrderStatus::Partial))
            && (!f.unreviewed_only
                || matches!(o.status, LabOrderStatus::Ordered | LabOrderStatus::Partial | LabOrderStatus::Resulted))
    }

    fn list_via(f: &LabOrderFilter) -> Option<Link> {
        match (f.visit_id, f.patient_id) {
            (Some(v), _) => Some(Link { index: IndexTable::LabOrdersByVisit, parent: v.as_u128() }),
            (None, Some(p)) => Some(Link { index: IndexTable::LabOrdersByPatient, parent: p.as_u128() }),
            _ => None,
        }
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: LabOrderId, draft: LabOrderDraft) -> Result<Decision<LabOrder>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &LabOrder, command: LabOrderCommand) -> Result<Option<Decision<LabOrder>>> {
        decide(ctx, current, command)
    }
}

/// A new order: of an open or completed visit, for a test of the catalogue in force.
pub fn decide_create(ctx: &DecideCtx<'_>, id: LabOrderId, draft: LabOrderDraft) -> Result<Decision<LabOrder>> {
    let visit = ctx
        .get::<Visit>(RecordTable::Visits, draft.visit_id.as_u128())?
        .ok_or_else(|| ValidationError::new("visit_id", "names no visit"))?;
    if visit.status == VisitStatus::Voided {
        return Err(ValidationError::new("visit_id", "the visit was voided").into());
    }
    if ctx.get::<Patient>(RecordTable::Patients, visit.patient_id.as_u128())?.is_none() {
        return Err(Error::PatientNotFound(visit.patient_id));
    }
    let (version, catalogue) = facts::current::<LabTests>(ctx)?;
    let test =
        catalogue.tests.iter().find(|t| t.code == draft.test).ok_or_else(|| {
            ValidationError::new("test", format!("{:?} is not a test of the lab catalogue", draft.test))
        })?;
    let order = LabOrder {
        id,
        patient_id: visit.patient_id,
        visit_id: visit.id,
        location_id: visit.location_id,
        vet_id: visit.vet_id,
        test: test.code.clone(),
        test_name: test.name.clone(),
        specimen: test.specimen.clone(),
        lab: test.lab.clone(),
        lab_code: test.lab_code.clone(),
        analytes: test.analytes.clone(),
        catalogue_version: version,
        status: LabOrderStatus::Ordered,
        notes: draft.notes,
        results: Vec::new(),
        reviewed_at: None,
        reviewed_by: None,
        review_note: None,
        amendments: Vec::new(),
        cancelled_at: None,
        cancel_reason: None,
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.caller.user_id(),
    };
    Ok(Decision {
        event: DomainEvent::LabOrderPlaced { lab_order_id: id, patient_id: order.patient_id, visit_id: order.visit_id },
        record: order,
        changed: Vec::new(),
        action: "lab_order.create",
    })
}

/// Reads reported values against the current ranges: each must be an analyte of the order's
/// test, in a unit the range knows.
fn results_of(
    ctx: &DecideCtx<'_>,
    order: &LabOrder,
    values: &[ReportedValue],
    source: &str,
    field: &str,
) -> Result<Vec<AnalyteResult>> {
    let (version, ranges) = facts::current::<LabRanges>(ctx)?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let at = if values.len() == 1 && field != "results" { field.to_owned() } else { format!("{field}[{i}]") };
        let r = ranges
            .result(version, v, ctx.now, source, ctx.caller.user_id())
            .map_err(|p| ValidationError::new(at.clone(), p.to_string()))?;
        if !order.analytes.contains(&r.analyte) {
            return Err(ValidationError::new(
                at,
                format!("{} is not an analyte of {} ({})", r.analyte, order.test, order.analytes.join(", ")),
            )
            .into());
        }
        out.push(r);
    }
    Ok(out)
}

fn closed(o: &LabOrder) -> Result<()> {
    match o.status {
        LabOrderStatus::Reviewed => Err(Error::LabOrderReviewed(o.id)),
        LabOrderStatus::Cancelled => {
            Err(Error::LabOrderCancelled(o.cancel_reason.clone().unwrap_or_else(|| "no reason given".into())))
        }
        _ => Ok(()),
    }
}

/// The decisions of a lab order.
pub fn decide(ctx: &DecideCtx<'_>, current: &LabOrder, command: LabOrderCommand) -> Result<Option<Decision<LabOrder>>> {
    let mut new = current.clone();
    new.updated_at = ctx.now;
    let updated = |new: &LabOrder, changed: Vec<&'static str>| DomainEvent::LabOrderUpdated {
        lab_order_id: new.id,
        patient_id: new.patient_id,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    match command {
        LabOrderCommand::AddResults { values, source } => {
            closed(current)?;
            let results = results_of(ctx, current, &values, source, "results")?;
            new.put_results(results);
            let (flagged, critical) = new.flagged();
            let changed = vec!["results", "status"];
            Ok(Some(Decision {
                event: DomainEvent::LabResultReady {
                    lab_order_id: new.id,
                    patient_id: new.patient_id,
                    vet_id: new.vet_id,
                    location_id: new.location_id,
                    flagged,
                    critical,
                },
                record: new,
                changed,
                action: "lab_order.result",
            }))
        }
        LabOrderCommand::Review { note } => {
            closed(current)?;
            if current.status != LabOrderStatus::Resulted {
                let waiting: Vec<&str> = current
                    .analytes
                    .iter()
                    .filter(|a| !current.results.iter().any(|r| &r.analyte == *a))
                    .map(String::as_str)
                    .collect();
                return Err(ValidationError::new(
                    "status",
                    format!("only a resulted order is reviewed; still awaited: {}", waiting.join(", ")),
                )
                .into());
            }
            let vet = super::notes::veterinarian(ctx)?;
            new.status = LabOrderStatus::Reviewed;
            new.reviewed_at = Some(ctx.now);
            new.reviewed_by = Some(vet);
            new.review_note = note;
            let changed = vec!["status", "reviewed_at", "reviewed_by", "review_note"];
            Ok(Some(Decision {
                event: updated(&new, changed.clone()),
                record: new,
                changed,
                action: "lab_order.review",
            }))
        }
        LabOrderCommand::Cancel { reason } => {
            match current.status {
                LabOrderStatus::Cancelled => return Ok(None),
                LabOrderStatus::Reviewed => return Err(Error::LabOrderReviewed(current.id)),
                LabOrderStatus::Resulted => {
                    return Err(ValidationError::new("status", "every result is in: review it instead").into());
                }
                LabOrderStatus::Ordered | LabOrderStatus::Partial => {}
            }
            new.status = LabOrderStatus::Cancelled;
            new.cancelled_at = Some(ctx.now);
            new.cancel_reason = Some(reason);
            let changed = vec!["status", "cancelled_at", "cancel_reason"];
            Ok(Some(Decision {
                event: updated(&new, changed.clone()),
                record: new,
                changed,
                action: "lab_order.cancel",
            }))
        }
        LabOrderCommand::Amend { value, reason } => {
            if current.status == LabOrderStatus::Cancelled {
                closed(current)?;
            }
            if current.status != LabOrderStatus::Reviewed {
                return Err(ValidationError::new(
                    "status",
                    "only a reviewed order is amended; before review, enter the result again",
                )
                .into());
            }
            let mut corrected = results_of(ctx, current, std::slice::from_ref(&value), "manual", "result")?;
            let corrected = corrected.remove(0);
            let Some(slot) = new.results.iter_mut().find(|r| r.analyte == corrected.analyte) else {
                return Err(
                    ValidationError::new("result", format!("{} has no result to correct", corrected.analyte)).into()
                );
            };
            let original = std::mem::replace(slot, corrected.clone());
            new.amendments.push(LabAmendment { original, corrected, reason, at: ctx.now, by: ctx.caller.user_id() });
            let changed = vec!["results", "amendments"];
            Ok(Some(Decision {
                event: updated(&new, changed.clone()),
                record: new,
                changed,
                action: "lab_order.amend",
            }))
        }
    }
}

/// The unmatched queue's service.
pub type LabUnmatchedQueue = Records<UnmatchedKind>;

/// The unmatched lab result record kind.
pub struct UnmatchedKind;

/// What an import could not match, as received.
#[derive(Debug, Clone)]
pub struct UnmatchedDraft {
    pub format: &'static str,
    pub reason: String,
    pub group: Option<ImportResults>,
    pub raw: String,
}

/// A change to a queue entry.
#[derive(Debug)]
pub enum UnmatchedCommand {
    Attach { order_id: LabOrderId },
    Discard { reason: String },
}

/// Which queue entries a list shows (`None`: every status).
#[derive(Debug, Clone, Default)]
pub struct UnmatchedFilter {
    pub status: Option<UnmatchedStatus>,
}

impl RecordKind for UnmatchedKind {
    type Record = LabUnmatched;
    type Id = LabUnmatchedId;
    type Draft = UnmatchedDraft;
    type Command = UnmatchedCommand;
    type Filter = UnmatchedFilter;

    const KIND: &'static str = "lab_unmatched";
    const TABLE: RecordTable = RecordTable::LabUnmatched;
    const READ_ACTION: &'static str = "lab_unmatched.read";
    const LIST_ACTION: &'static str = "lab_unmatched.list";

    fn id(u: &LabUnmatched) -> LabUnmatchedId {
        u.id
    }

    fn not_found(id: LabUnmatchedId) -> Error {
        Error::LabUnmatchedNotFound(id)
    }

    fn claims(_: &LabUnmatched) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(_: &LabUnmatched) -> impl Iterator<Item = Link> {
        std::iter::empty()
    }

    fn matches(f: &UnmatchedFilter, u: &LabUnmatched) -> bool {
        f.status.is_none_or(|s| s == u.status)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: LabUnmatchedId, d: UnmatchedDraft) -> Result<Decision<LabUnmatched>> {
        let record = LabUnmatched {
            id,
            received_at: ctx.now,
            format: d.format.to_owned(),
            reason: d.reason,
            group: d.group,
            raw: d.raw,
            status: UnmatchedStatus::Open,
            attached_to: None,
            discard_reason: None,
            resolved_at: None,
            resolved_by: None,
            updated_at: ctx.now,
        };
        Ok(Decision {
            event: DomainEvent::LabUnmatchedChanged { unmatched_id: id, status: "open".into() },
            record,
            changed: Vec::new(),
            action: "lab_unmatched.create",
        })
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &LabUnmatched,
        command: UnmatchedCommand,
    ) -> Result<Option<Decision<LabUnmatched>>> {
        match current.status {
            UnmatchedStatus::Attached => return Err(Error::LabUnmatchedResolved("attached")),
            UnmatchedStatus::Discarded => return Err(Error::LabUnmatchedResolved("discarded")),
            UnmatchedStatus::Open => {}
        }
        let mut new = current.clone();
        new.updated_at = ctx.now;
        new.resolved_at = Some(ctx.now);
        new.resolved_by = ctx.caller.user_id();
        let (changed, action) = match command {
            UnmatchedCommand::Attach { order_id } => {
                new.status = UnmatchedStatus::Attached;
                new.attached_to = Some(order_id);
                (vec!["status", "attached_to"], "lab_unmatched.attach")
            }
            UnmatchedCommand::Discard { reason } => {
                new.status = UnmatchedStatus::Discarded;
                new.discard_reason = Some(reason);
                (vec!["status", "discard_reason"], "lab_unmatched.discard")
            }
        };
        let status = if new.status == UnmatchedStatus::Attached { "attached" } else { "discarded" };
        Ok(Some(Decision {
            event: DomainEvent::LabUnmatchedChanged { unmatched_id: new.id, status: status.into() },
            record: new,
            changed,
            action,
        }))
    }
}

/// Matching imported results to orders, and the queue's attach.
#[derive(Clone)]
pub struct LabImport {
    pub orders: LabOrders,
    pub unmatched: LabUnmatchedQueue,
    ctx: std::sync::Arc<crate::ctx::Ctx>,
}

/// Whether a failure is passing (the store, overload, shutting down): the sender retries,
/// rather than the results going to the queue for a reason that is not theirs.
fn passing(e: &Error) -> bool {
    use clowder_schemas::errors::ErrorKind;
    matches!(
        e.code().kind(),
        ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::InsufficientStorage | ErrorKind::RateLimited
    )
}

/// Where a group goes: an order, or the queue with why.
enum Target {
    Order(LabOrderId),
    Queue(String),
}

impl LabImport {
    pub(crate) fn new(ctx: std::sync::Arc<crate::ctx::Ctx>) -> Self {
        Self { orders: LabOrders::new(ctx.clone()), unmatched: LabUnmatchedQueue::new(ctx.clone()), ctx }
    }

    /// Stops the kinds' actors (shutdown).
    pub(crate) fn stop_all(&self) {
        self.orders.stop_all();
        self.unmatched.stop_all();
    }

    /// Puts one group of results on its order, or in the queue (with `raw`, the message as
    /// received). Fails only when the store does (then nothing was kept: the sender retries).
    pub async fn import(
        &self,
        group: ImportResults,
        format: &'static str,
        raw: &str,
        caller: &Caller,
    ) -> Result<ImportOutcome> {
        let target = self.target(&group)?;
        let reason = match target {
            Target::Order(id) => {
                let command = LabOrderCommand::AddResults { values: group.results.clone(), source: format };
                match self.orders.command(id, command, caller).await {
                    Ok(_) => {
                        return Ok(ImportOutcome {
                            status: "matched".into(),
                            order_id: Some(id),
                            unmatched_id: None,
                            reason: None,
                        });
                    }
                    Err(e) if passing(&e) => return Err(e),
                    Err(e) => format!("order {id}: {e}"),
                }
            }
            Target::Queue(why) => why,
        };
        let queued = self.queue(Some(group), format, reason.clone(), raw, caller).await?;
        Ok(ImportOutcome {
            status: "queued".into(),
            order_id: None,
            unmatched_id: Some(queued.id),
            reason: Some(reason),
        })
    }

    /// Keeps what could not be matched (or read) in the queue.
    pub async fn queue(
        &self,
        group: Option<ImportResults>,
        format: &'static str,
        reason: String,
        raw: &str,
        caller: &Caller,
    ) -> Result<LabUnmatched> {
        self.unmatched.create(UnmatchedDraft { format, reason, group, raw: raw.to_owned() }, caller).await
    }

    /// The order a group belongs to: named by its id and of the cat the group names; or, with
    /// no order id, the cat's one open order of that test.
    fn target(&self, g: &ImportResults) -> Result<Target> {
        let patient = match g.patient_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => match p.parse::<PatientId>() {
                Ok(id) if self.orders_ctx_patient_exists(id)? => Some(id),
                _ => return Ok(Target::Queue(format!("unknown patient {p:?}"))),
            },
        };
        if g.results.is_empty() {
            return Ok(Target::Queue("the group holds no results".into()));
        }
        if let Some(o) = g.order_id.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            let Ok(id) = o.parse::<LabOrderId>() else { return Ok(Target::Queue(format!("unknown order {o:?}"))) };
            let order = match self.orders.peek(id) {
                Ok(order) => order,
                Err(Error::LabOrderNotFound(_)) => return Ok(Target::Queue(format!("unknown order {o:?}"))),
                Err(e) => return Err(e),
            };
            return Ok(match patient {
                Some(p) if p == order.patient_id => Target::Order(id),
                Some(p) => Target::Queue(format!("order {id} is of another cat than patient {p}")),
                None => Target::Queue(format!("the message names order {id} but no patient to check it against")),
            });
        }
        let Some(p) = patient else {
            return Ok(Target::Queue("the message names neither an order nor a patient".into()));
        };
        let Some(test) = g.test.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Target::Queue(format!("no order id, and no test to find patient {p}'s order by")));
        };
        let filter = LabOrderFilter { patient_id: Some(p), open_only: true, ..LabOrderFilter::default() };
        let (open, _) = self.orders.list_unaudited(&filter, None, 200)?;
        let same: Vec<&LabOrder> = open
            .iter()
            .filter(|o| {
                o.test.eq_ignore_ascii_case(test) || o.lab_code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(test))
            })
            .collect();
        Ok(match same.as_slice() {
            [one] => Target::Order(one.id),
            [] => Target::Queue(format!("patient {p} has no open order of test {test:?}")),
            _ => Target::Queue(format!("patient {p} has {} open orders of test {test:?}", same.len())),
        })
    }

    fn orders_ctx_patient_exists(&self, id: PatientId) -> Result<bool> {
        Ok(self.ctx.store.read()?.get::<Patient>(RecordTable::Patients, id.as_u128())?.is_some())
    }

    /// Attaches a queue entry to an order chosen by staff: its own results (or those typed
    /// from it when it could not be read) go on the order, then the entry is closed. Refused
    /// when the message names another cat than the order's.
    pub async fn attach(
        &self,
        id: LabUnmatchedId,
        order_id: LabOrderId,
        typed: Option<Vec<ReportedValue>>,
        caller: &Caller,
    ) -> Result<(LabUnmatched, LabOrder)> {
        let entry = self.unmatched.peek(id)?;
        match entry.status {
            UnmatchedStatus::Attached => return Err(Error::LabUnmatchedResolved("attached")),
            UnmatchedStatus::Discarded => return Err(Error::LabUnmatchedResolved("discarded")),
            UnmatchedStatus::Open => {}
        }
        let order = self.orders.peek(order_id)?;
        let named =
            entry.group.as_ref().and_then(|g| g.patient_id.as_deref()).and_then(|p| p.trim().parse::<PatientId>().ok());
        if let Some(p) = named.filter(|p| *p != order.patient_id) {
            return Err(ValidationError::new(
                "order_id",
                format!("the result names patient {p}, not this order's cat"),
            )
            .into());
        }
        let values = match typed {
            Some(v) if !v.is_empty() => v,
            _ => match entry.group.as_ref() {
                Some(g) if !g.results.is_empty() => g.results.clone(),
                _ => {
                    return Err(ValidationError::new(
                        "results",
                        "the message could not be read: type its results to attach it, or discard it",
                    )
                    .into());
                }
            },
        };
        let source = if entry.format == "hl7" { "hl7" } else { "json" };
        let order = self.orders.command(order_id, LabOrderCommand::AddResults { values, source }, caller).await?;
        // Two records, two commits: if the second fails the results are on the order and the
        // entry still open; attaching again replaces them with the same values.
        let entry = self.unmatched.command(id, UnmatchedCommand::Attach { order_id }, caller).await?;
        Ok((entry, order))
    }
}

impl LabOrders {
    /// An analyte's results of a cat over time, oldest first (cancelled orders left out);
    /// every order read is audited as a list.
    pub async fn trend(
        &self,
        patient: PatientId,
        analyte: &str,
        ranges: &LabRanges,
        caller: &Caller,
    ) -> Result<LabTrend> {
        let analyte = analyte.trim().to_ascii_uppercase();
        let range = ranges
            .analytes
            .get(&analyte)
            .ok_or_else(|| ValidationError::new("analyte", format!("{analyte:?} has no reference range")))?;
        let filter = LabOrderFilter { patient_id: Some(patient), ..LabOrderFilter::default() };
        let mut points: BTreeMap<(jiff::Timestamp, LabOrderId), TrendPoint> = BTreeMap::new();
        let mut after = None;
        loop {
            let (page, next) = self.list(&filter, after, 500, caller).await?;
            for o in page.iter().filter(|o| o.status != LabOrderStatus::Cancelled) {
                for r in o.results.iter().filter(|r| r.analyte == analyte) {
                    points.insert(
                        (r.resulted_at, o.id),
                        TrendPoint {
                            at: r.resulted_at,
                            order_id: o.id,
                            value: r.value,
                            text: r.text.clone(),
                            flag: r.flag,
                        },
                    );
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        Ok(LabTrend {
            patient_id: patient,
            analyte,
            name: range.name.clone(),
            unit: range.unit.clone(),
            low: range.low,
            high: range.high,
            points: points.into_values().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;
    use clowder_schemas::ids::VisitId;
    use clowder_schemas::labs::Flag;
    use jiff::Timestamp;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ctx::SystemConfig;
    use crate::metrics::StoreMetrics;
    use crate::store::{Store, StoreConfig};

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    /// An empty store: the decisions read the reference ranges from it, which are the
    /// compiled first version until a clinic edits them.
    fn empty_store(dir: &std::path::Path) -> std::sync::Arc<Store> {
        let config = StoreConfig {
            path: dir.join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let now = "2026-06-01T12:00:00Z".parse().unwrap();
        Store::open(&config, std::sync::Arc::new(ManualClock::new(now)), StoreMetrics::default()).unwrap()
    }

    fn order() -> LabOrder {
        LabOrder {
            id: LabOrderId::from_u128(1),
            patient_id: PatientId::from_u128(10),
            visit_id: VisitId::from_u128(20),
            location_id: None,
            vet_id: None,
            test: "T4".into(),
            test_name: "Total T4".into(),
            specimen: "serum".into(),
            lab: "in-house".into(),
            lab_code: Some("TT4".into()),
            analytes: vec!["TT4".into()],
            catalogue_version: 1,
            status: LabOrderStatus::Ordered,
            notes: None,
            results: Vec::new(),
            reviewed_at: None,
            reviewed_by: None,
            review_note: None,
            amendments: Vec::new(),
            cancelled_at: None,
            cancel_reason: None,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: None,
        }
    }

    fn tt4(v: f64, unit: &str) -> ReportedValue {
        ReportedValue { analyte: "tt4".into(), value: Some(v), unit: Some(unit.into()), text: None }
    }

    #[test]
    fn results_are_flagged_with_the_ranges_version_and_a_cancelled_order_takes_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = empty_store(dir.path());
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new("2026-06-01T12:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let add = |o: &LabOrder, v| decide(&ctx, o, LabOrderCommand::AddResults { values: vec![v], source: "manual" });
        let d = add(&order(), tt4(90.0, "nmol/L")).unwrap().unwrap();
        assert_eq!(d.record.status, LabOrderStatus::Resulted);
        assert_eq!((d.record.results[0].flag, d.record.results[0].ranges_version), (Some(Flag::H), 1));
        assert!(matches!(d.event, DomainEvent::LabResultReady { flagged: true, critical: false, .. }));
        let other = ReportedValue { analyte: "CREA".into(), ..tt4(1.0, "mg/dL") };
        let e = add(&order(), other).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.message.contains("not an analyte of T4")), "{e:?}");
        let cancelled =
            decide(&ctx, &order(), LabOrderCommand::Cancel { reason: "haemolysed".into() }).unwrap().unwrap();
        assert!(matches!(add(&cancelled.record, tt4(2.0, "µg/dL")), Err(Error::LabOrderCancelled(_))));
    }

    #[test]
    fn an_amendment_keeps_the_original_and_only_follows_review() {
        let dir = tempfile::tempdir().unwrap();
        let store = empty_store(dir.path());
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let ctx = DecideCtx::new("2026-06-01T12:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let resulted =
            decide(&ctx, &order(), LabOrderCommand::AddResults { values: vec![tt4(2.0, "µg/dL")], source: "manual" })
                .unwrap()
                .unwrap()
                .record;
        let amend = || LabOrderCommand::Amend { value: tt4(6.0, "µg/dL"), reason: "transcription".into() };
        assert!(matches!(decide(&ctx, &resulted, amend()), Err(Error::Validation(_))));
        let mut reviewed = resulted.clone();
        reviewed.status = LabOrderStatus::Reviewed;
        let d = decide(&ctx, &reviewed, amend()).unwrap().unwrap();
        assert_eq!(d.record.results[0].value, Some(6.0));
        assert_eq!(d.record.amendments[0].original.value, Some(2.0));
        assert!(matches!(
            decide(&ctx, &reviewed, LabOrderCommand::Review { note: None }),
            Err(Error::LabOrderReviewed(_))
        ));
        let more = LabOrderCommand::AddResults { values: vec![tt4(2.0, "µg/dL")], source: "hl7" };
        assert!(matches!(decide(&ctx, &reviewed, more), Err(Error::LabOrderReviewed(_))));
    }
}
