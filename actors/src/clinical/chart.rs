//! A cat's chart in one read: the banner (the cat, its owner when the caller may read them,
//! the current problems), the latest vitals, the weight and BCS trends thinned to what the
//! chart draws, the vaccines due, the active medications, the timeline's first page and the
//! lab trends per analyte (bounded like the vitals trends), all from **one store snapshot** and audited as **one entry** (`patient.chart`, naming every
//! record shown). The chart screens (the tablet's and the cat's page) and
//! `GET /api/patients/{id}/chart` use it instead of seven reads.
//!
//! It decides no access itself: the caller's rights arrive as [`ChartAccess`], computed by
//! the web layer exactly as each separate endpoint decides them, and each part is read only
//! when allowed (an absent part is never read, so never audited).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::chart::{
    BcsPoint, LAB_ORDERS_READ, LAB_TREND_POINTS, LATEST_VITALS, PatientChart, TREND_DAYS, TREND_POINTS, thin,
};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::LabOrderId;
use clowder_schemas::labs::{AnalyteResult, LabOrder, LabOrderStatus, LabTrend, TrendPoint};
use clowder_schemas::pagination::Page;
use clowder_schemas::patients::Patient;
use clowder_schemas::prescriptions::{Prescription, PrescriptionStatus};
use clowder_schemas::problems::{Problem, ProblemStatus};
use clowder_schemas::vaccinations::{DueStatus, due_list};
use clowder_schemas::vitals::Vitals;
use clowder_schemas::{PatientId, UserId};
use jiff::SignedDuration;
use jiff::civil::Date;

use super::{timeline, vaccinations, vitals};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::{IndexTable, Reader, RecordTable};

/// Vitals read at most for the trends (a window crowded with readings still ends).
const MAX_TREND_READS: usize = 400;

/// Whether the owner is shown: as `GET /api/clients/{id}` decides for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerAccess {
    /// No `clients:view`: the owner is not read.
    No,
    /// `clients:view` at scope `all`.
    Any,
    /// `clients:view` at scope `own`: only a client this user created.
    CreatedBy(UserId),
}

/// What the caller may see of the chart, decided by the web layer as each separate endpoint
/// decides it.
#[derive(Debug, Clone, Copy)]
pub struct ChartAccess {
    pub owner: OwnerAccess,
    /// The timeline (`visits:view` at scope `all`; scope `own` reads visits one by one).
    pub timeline: bool,
    /// Prescriptions in the timeline (`prescriptions:view` at scope `all`).
    pub timeline_prescriptions: bool,
    /// The active medications (`prescriptions:view`).
    pub medications: bool,
    /// The vaccines due (every reader of the record; a screen that draws none leaves it out).
    pub vaccines: bool,
    /// The lab trends (`labs:view`; a screen that draws none leaves them out).
    pub labs: bool,
}

/// The chart service.
#[derive(Clone)]
pub struct Charts {
    ctx: Arc<Ctx>,
}

impl Charts {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx }
    }

    pub(crate) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The cat's chart on local date `today` (the due list's), its timeline page starting
    /// below `timeline_before` (a cursor's key; `None`: the first page). Audited as
    /// `patient.chart` before it is returned.
    pub async fn chart(
        &self,
        patient: PatientId,
        access: ChartAccess,
        today: Date,
        timeline_before: Option<u128>,
        caller: &Caller,
    ) -> Result<PatientChart> {
        let (chart, shown) = {
            let r = self.ctx.store.read()?;
            read(&r, patient, access, today, timeline_before)?
        };
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "patient.chart").record("patient", patient).detail(shown),
        )
        .await?;
        Ok(chart)
    }
}

/// The chart from one snapshot, and the audit entry's detail (the ids of what it shows).
fn read(
    r: &Reader,
    patient: PatientId,
    access: ChartAccess,
    today: Date,
    timeline_before: Option<u128>,
) -> Result<(PatientChart, serde_json::Value)> {
    let cat = r.get::<Patient>(RecordTable::Patients, patient.as_u128())?.ok_or(Error::PatientNotFound(patient))?;
    let owner = match access.owner {
        OwnerAccess::No => None,
        OwnerAccess::Any => r.get::<Client>(RecordTable::Clients, cat.client_id.as_u128())?,
        OwnerAccess::CreatedBy(me) => {
            r.get::<Client>(RecordTable::Clients, cat.client_id.as_u128())?.filter(|c| c.created_by == Some(me))
        }
    };

    let mut problems: Vec<Problem> = children(r, IndexTable::ProblemsByPatient, RecordTable::Problems, patient)?;
    problems.retain(|p| matches!(p.status, ProblemStatus::Active | ProblemStatus::Chronic));
    problems.reverse();

    let trends = trends(r, patient)?;

    let entries = if access.vaccines { vaccinations::entries_of(r, patient)? } else { Vec::new() };
    let (protocol_version, protocol) = vaccinations::protocol(r)?;
    let mut vaccines = match cat.status {
        clowder_schemas::patients::PatientStatus::Deceased => Vec::new(),
        _ if !access.vaccines => Vec::new(),
        _ => due_list(&protocol, protocol_version, cat.date_of_birth, &entries, today),
    };
    vaccines.retain(|v| v.status != DueStatus::NotDue);

    let medications = if access.medications {
        let mut active: Vec<Prescription> =
            children(r, IndexTable::ActivePrescriptionsByPatient, RecordTable::Prescriptions, patient)?;
        // The index holds only active ones; the filter keeps the answer right even if a row lags.
        active.retain(|p| p.status == PrescriptionStatus::Active);
        active.reverse();
        Some(active)
    } else {
        None
    };

    let timeline = if access.timeline {
        let sources = timeline::sources(access.timeline_prescriptions);
        Some(timeline::merge(r, sources, patient, timeline_before, clowder_schemas::chart::TIMELINE_PAGE)?)
    } else {
        None
    };

    let labs = if access.labs { Some(lab_trends(r, patient)?) } else { None };

    let ids = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>();
    let mut vitals_shown: Vec<String> = trends.latest.iter().map(|v| v.id.to_string()).collect();
    vitals_shown.extend(trends.weights.iter().map(|w| w.vitals_id.to_string()));
    vitals_shown.extend(trends.bcs.iter().map(|b| b.vitals_id.to_string()));
    vitals_shown.sort_unstable();
    vitals_shown.dedup();
    let shown = serde_json::json!({
        "owner": owner.as_ref().map(|c| c.id.to_string()),
        "problems": ids(&mut problems.iter().map(|p| p.id.to_string())),
        "vitals": vitals_shown,
        "vaccinations": access.vaccines.then(|| ids(&mut entries.iter().map(|v| v.id.to_string()))),
        "prescriptions": medications.as_ref().map(|m| ids(&mut m.iter().map(|p| p.id.to_string()))),
        "timeline": timeline.as_ref().map(|(t, _)| ids(&mut t.iter().map(|(k, _)| ulid::Ulid(*k).to_string()))),
        "lab_orders": labs.as_ref().map(|(_, orders)| orders.clone()),
    });
    let chart = PatientChart {
        patient: cat,
        owner,
        problems,
        latest_vitals: trends.latest,
        weights: trends.weights,
        bcs: trends.bcs,
        vaccines,
        protocol: protocol.name,
        protocol_version,
        medications,
        timeline: timeline.map(|(items, next)| Page::new(items.into_iter().map(|(_, e)| e).collect(), next)),
        lab_trends: labs.map(|(trends, _)| trends),
    };
    Ok((chart, shown))
}

/// Every record under the cat in `index`, oldest first.
pub(crate) fn children<R: clowder_schemas::records::Record>(
    r: &Reader,
    index: IndexTable,
    table: RecordTable,
    patient: PatientId,
) -> Result<Vec<R>> {
    let mut out = Vec::new();
    for key in r.children(index, patient.as_u128(), None)? {
        out.extend(r.get::<R>(table, key)?);
    }
    Ok(out)
}

struct Trends {
    latest: Vec<Vitals>,
    weights: Vec<clowder_schemas::vitals::WeightPoint>,
    bcs: Vec<BcsPoint>,
}

/// The latest vitals and the trends: the cat's vitals newest taken first (their ids carry
/// the time taken), read until the window's start, so a ten-year history reads its last two
/// years only.
fn trends(r: &Reader, patient: PatientId) -> Result<Trends> {
    let mut keys = Vec::new();
    let mut window_start = None;
    r.children_rev(IndexTable::VitalsByPatient, patient.as_u128(), None, |key| {
        let at = ulid::Ulid(key).timestamp_ms() as i64;
        let start = *window_start.get_or_insert(at - SignedDuration::from_hours(24 * TREND_DAYS).as_millis() as i64);
        if at < start || keys.len() >= MAX_TREND_READS {
            return Ok(ControlFlow::Break(()));
        }
        keys.push(key);
        Ok(ControlFlow::Continue(()))
    })?;
    let mut read = Vec::with_capacity(keys.len());
    for key in keys {
        read.extend(r.get::<Vitals>(RecordTable::Vitals, key)?);
    }
    let (Some(newest), Some(oldest)) = (read.first(), read.last()) else {
        return Ok(Trends { latest: Vec::new(), weights: Vec::new(), bcs: Vec::new() });
    };
    let to = newest.taken_at;
    let from = (to - SignedDuration::from_hours(24 * TREND_DAYS)).max(oldest.taken_at.min(to));
    let weights = thin(
        read.iter().filter_map(|v| Some((v.taken_at, vitals::weight_point(v)?))).collect(),
        from,
        to,
        TREND_POINTS,
    );
    let bcs = thin(
        read.iter()
            .filter_map(|v| {
                Some((v.taken_at, BcsPoint { vitals_id: v.id, taken_at: v.taken_at, score: v.measurements.bcs?.score }))
            })
            .collect(),
        from,
        to,
        TREND_POINTS,
    );
    read.truncate(LATEST_VITALS);
    Ok(Trends { latest: read, weights, bcs })
}

/// The cat's lab trends from its newest [`LAB_ORDERS_READ`] orders, and the ids of the orders
/// they show (sorted), for the audit entry.
fn lab_trends(r: &Reader, patient: PatientId) -> Result<(Vec<LabTrend>, Vec<String>)> {
    let mut keys = Vec::new();
    r.children_rev(IndexTable::LabOrdersByPatient, patient.as_u128(), None, |k| {
        keys.push(k);
        Ok(if keys.len() >= LAB_ORDERS_READ { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    let mut per: BTreeMap<String, Vec<(&AnalyteResult, LabOrderId)>> = BTreeMap::new();
    let mut orders = Vec::new();
    for k in keys {
        orders.extend(r.get::<LabOrder>(RecordTable::LabOrders, k)?);
    }
    for o in orders.iter().filter(|o| o.status != LabOrderStatus::Cancelled) {
        for res in &o.results {
            per.entry(res.analyte.clone()).or_default().push((res, o.id));
        }
    }
    let mut shown = std::collections::BTreeSet::new();
    let trends = per
        .into_iter()
        .filter_map(|(analyte, mut rs)| {
            rs.sort_by_key(|(res, id)| (res.resulted_at, *id));
            let keep = rs.len().saturating_sub(LAB_TREND_POINTS);
            let rs = &rs[keep..];
            let (newest, _) = rs.last()?;
            shown.extend(rs.iter().map(|(_, id)| id.to_string()));
            Some(LabTrend {
                patient_id: patient,
                analyte,
                name: newest.name.clone(),
                unit: newest.unit.clone(),
                low: newest.low,
                high: newest.high,
                points: rs
                    .iter()
                    .map(|(res, id)| TrendPoint {
                        at: res.resulted_at,
                        order_id: *id,
                        value: res.value,
                        text: res.text.clone(),
                        flag: res.flag,
                    })
                    .collect(),
            })
        })
        .collect();
    Ok((trends, shown.into_iter().collect()))
}
