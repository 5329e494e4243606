//! The demo's lab work, so the lab screens show something on `serve --demo`: a walk-in visit
//! today for the first cat that can have one, with a Chem 10 whose results came back from the
//! laboratory (creatinine high, awaiting the vet's review) and a Total T4 still awaited, and
//! one HL7 result in the unmatched queue (a cat the clinic does not know).

use std::sync::Arc;

use anyhow::Context;
use clowder_actors::System;
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::PatientId;
use clowder_schemas::labs::{ImportResults, LabOrderDraft, ReportedValue};
use clowder_schemas::visits::{CreateVisit, VisitType};

/// Chem 10 as the laboratory reported it: mildly azotaemic, the rest within range.
const CHEM10: [(&str, f64, &str); 10] = [
    ("ALB", 3.2, "g/dL"),
    ("ALKP", 38.0, "U/L"),
    ("ALT", 72.0, "U/L"),
    ("BUN", 14.6, "mmol/L"),
    ("CA", 9.8, "mg/dL"),
    ("CREA", 221.0, "µmol/L"),
    ("GLOB", 4.1, "g/dL"),
    ("GLU", 128.0, "mg/dL"),
    ("PHOS", 5.9, "mg/dL"),
    ("TP", 7.3, "g/dL"),
];

/// An ORU^R01 for a cat the clinic does not know: it waits in the unmatched queue.
const UNKNOWN_CAT: &str = "MSH|^~\\&|VETLAB|REFLAB|CLOWDER|CLINIC|20261206083000||ORU^R01^ORU_R01|DEMO0001|P|2.5.1||||||UNICODE UTF-8\r\
PID|1||L-77812^^^REFLAB||Tigger^^^^||20180402|M\r\
OBR|1||L-77812|SDMA^SDMA\r\
OBX|1|NM|SDMA^SDMA||18|ug/dL|0-14|H|||F\r";

/// Seeds the lab work on the first of `cats` that can have a visit.
pub async fn seed(system: &Arc<System>, cats: &[PatientId]) -> anyhow::Result<()> {
    let caller = Caller::system();
    let Some((location, vet)) = super::first_location_and_vet(system) else { return Ok(()) };
    for cat in cats.iter().rev() {
        let visit = CreateVisit {
            patient_id: Some(*cat),
            vet_id: Some(vet),
            visit_type: Some(VisitType::Sick),
            chief_complaint: Some("Weight loss, drinking more".into()),
            location_id: Some(location),
            ..CreateVisit::default()
        };
        // A deceased cat cannot have a visit: try the next.
        let Ok(visit) = system.visits.open(visit.validate()?, &system.jobs, &caller).await else { continue };
        let order = |test: &str| LabOrderDraft { visit_id: visit.id, test: test.into(), notes: None };
        let chem = system.labs.orders.create(order("CHEM10"), &caller).await.context("the demo Chem 10")?;
        system.labs.orders.create(order("T4"), &caller).await.context("the demo T4")?;
        let group = ImportResults {
            order_id: Some(chem.id.to_string()),
            patient_id: Some(cat.to_string()),
            test: Some("CHEM10".into()),
            results: CHEM10
                .iter()
                .map(|(a, v, u)| ReportedValue {
                    analyte: (*a).into(),
                    value: Some(*v),
                    unit: Some((*u).into()),
                    text: None,
                })
                .collect(),
        };
        let raw = serde_json::to_string(&group).unwrap_or_default();
        system.labs.import(group, "json", &raw, &caller).await.context("the demo Chem 10 results")?;
        break;
    }
    let why = "no cat on file has the patient id L-77812 (PID-3)".to_owned();
    let read = clowder_schemas::hl7::read_oru(UNKNOWN_CAT.as_bytes()).ok().and_then(|m| m.groups.into_iter().next());
    system.labs.queue(read, "hl7", why, UNKNOWN_CAT, &caller).await.context("the demo unmatched result")?;
    Ok(())
}
