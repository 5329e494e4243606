//! The demo clinic's price list: a feline practice's service catalogue with realistic prices
//! (USD, 2026): an exam fee for each default appointment type, the vaccines of the protocol,
//! common drugs linked to the formulary by drug, form and strength, and a few lab tests,
//! procedures and retail products. Seeded before the schedule, so charge capture turns the
//! demo's visits into draft lines instead of uncharged entries. A fixed table, no randomness:
//! the same build always seeds the same prices.

use clowder_schemas::catalogue::{CreateCatalogueItem, DrugLink, ItemKind};
use clowder_schemas::formulary::FormKind;
use clowder_schemas::ids::AppointmentTypeId;
use clowder_schemas::money::Cents;

/// What an item charges for, as charge capture matches it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Charges {
    /// The exam fee of the default appointment type of this name.
    Appointment(&'static str),
    /// A dose of the protocol's vaccine of this code.
    Vaccine(&'static str),
    /// A dispensed fill of the formulary's drug, form and strength.
    Drug(&'static str, FormKind, f64),
    /// A lab order of the `lab_tests` catalogue's test of this code.
    Lab(&'static str),
    /// Nothing captured: charged by hand at checkout.
    Nothing,
}

/// One item of the price list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub code: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub kind: ItemKind,
    /// Cents.
    pub price: i64,
    /// Cents, what the clinic pays.
    pub cost: Option<i64>,
    pub taxable: bool,
    pub charges: Charges,
}

const fn service(
    code: &'static str,
    name: &'static str,
    category: &'static str,
    price: i64,
    charges: Charges,
) -> Price {
    Price { code, name, category, kind: ItemKind::Service, price, cost: None, taxable: false, charges }
}

const fn drug(
    code: &'static str,
    name: &'static str,
    price: i64,
    cost: i64,
    d: &'static str,
    f: FormKind,
    s: f64,
) -> Price {
    Price {
        code,
        name,
        category: "Medications",
        kind: ItemKind::Product,
        price,
        cost: Some(cost),
        taxable: false,
        charges: Charges::Drug(d, f, s),
    }
}

/// The price list. Exam names are the default appointment types'
/// (`schemas::appointment_types::default_appointment_types`); vaccine codes the protocol's;
/// drugs the formulary's (a drug's price is per tablet, capsule or mL).
pub const PRICES: &[Price] = &[
    service("EX-WELL", "Wellness exam", "Exams", 6800, Charges::Appointment("Wellness exam")),
    service("EX-KIT", "New kitten exam", "Exams", 7500, Charges::Appointment("New kitten visit")),
    service("EX-VAC", "Vaccination visit (technician)", "Exams", 3500, Charges::Appointment("Vaccination")),
    service("EX-SEN", "Senior wellness exam", "Exams", 8500, Charges::Appointment("Senior wellness exam")),
    service("EX-SICK", "Sick visit exam", "Exams", 7800, Charges::Appointment("Sick visit")),
    service("EX-RCK", "Recheck exam", "Exams", 4500, Charges::Appointment("Recheck")),
    service("GR-NAIL", "Nail trim", "Grooming", 2200, Charges::Appointment("Nail trim")),
    service(
        "DN-CLEAN",
        "Dental cleaning under anaesthesia",
        "Dentistry",
        45000,
        Charges::Appointment("Dental cleaning"),
    ),
    service("SX-SPAY", "Spay or neuter surgery", "Surgery", 32500, Charges::Appointment("Spay or neuter")),
    service(
        "EX-QOL",
        "Quality-of-life consultation",
        "Exams",
        9500,
        Charges::Appointment("Quality-of-life consultation"),
    ),
    service("VX-FVRCP", "FVRCP vaccine", "Vaccines", 3200, Charges::Vaccine("fvrcp")),
    service("VX-RAB", "Rabies vaccine (non-adjuvanted)", "Vaccines", 2800, Charges::Vaccine("rabies")),
    service("VX-FELV", "FeLV vaccine", "Vaccines", 3600, Charges::Vaccine("felv")),
    service("VX-CHL", "Chlamydia vaccine", "Vaccines", 3000, Charges::Vaccine("chlamydia")),
    service("VX-BORD", "Bordetella vaccine (intranasal)", "Vaccines", 3000, Charges::Vaccine("bordetella")),
    drug("RX-MELS", "Meloxicam oral suspension 0.5 mg/mL (per mL)", 180, 45, "meloxicam", FormKind::Suspension, 0.5),
    drug("RX-ROBT", "Robenacoxib 6 mg tablet", 350, 120, "robenacoxib", FormKind::Tablet, 6.0),
    drug("RX-BUPI", "Buprenorphine 0.3 mg/mL injection (per mL)", 950, 300, "buprenorphine", FormKind::Injectable, 0.3),
    drug("RX-GABC", "Gabapentin 100 mg capsule", 95, 20, "gabapentin", FormKind::Capsule, 100.0),
    drug("RX-GABS", "Gabapentin oral solution 50 mg/mL (per mL)", 140, 35, "gabapentin", FormKind::Solution, 50.0),
    drug("RX-METH25", "Methimazole 2.5 mg tablet", 45, 12, "methimazole", FormKind::Tablet, 2.5),
    drug("RX-METH5", "Methimazole 5 mg tablet", 60, 16, "methimazole", FormKind::Tablet, 5.0),
    drug(
        "RX-AMXC",
        "Amoxicillin-clavulanate 62.5 mg tablet",
        125,
        35,
        "amoxicillin-clavulanate",
        FormKind::Tablet,
        62.5,
    ),
    drug("RX-PRED", "Prednisolone 5 mg tablet", 40, 8, "prednisolone", FormKind::Tablet, 5.0),
    drug("RX-MARI", "Maropitant 10 mg/mL injection (per mL)", 800, 260, "maropitant", FormKind::Injectable, 10.0),
    drug("RX-MART", "Maropitant 16 mg tablet", 650, 210, "maropitant", FormKind::Tablet, 16.0),
    drug("RX-AMLO", "Amlodipine 1.25 mg tablet", 55, 12, "amlodipine", FormKind::Tablet, 1.25),
    drug("RX-BENA", "Benazepril 2.5 mg tablet", 70, 18, "benazepril", FormKind::Tablet, 2.5),
    service("LB-FELV", "FeLV/FIV combo test", "Laboratory", 4800, Charges::Lab("FELV_FIV")),
    service("LB-SENIOR", "Senior blood panel (CBC and chemistry)", "Laboratory", 16500, Charges::Lab("SENIOR")),
    service("LB-T4", "Total T4", "Laboratory", 5200, Charges::Lab("T4")),
    service("LB-UA", "Urinalysis", "Laboratory", 4500, Charges::Lab("UA")),
    service("LB-CHEM10", "Chemistry panel (Chem 10)", "Laboratory", 9800, Charges::Lab("CHEM10")),
    service("LB-CBC", "Complete blood count", "Laboratory", 6500, Charges::Lab("CBC")),
    service("LB-SDMA", "SDMA", "Laboratory", 4200, Charges::Lab("SDMA")),
    service("LB-FEC", "Fecal flotation", "Laboratory", 3200, Charges::Nothing),
    service("IM-RAD2", "Radiographs (two views)", "Imaging", 18500, Charges::Nothing),
    service("PR-CHIP", "Microchip implant and registration", "Procedures", 5500, Charges::Nothing),
    service("PR-SUBQ", "Subcutaneous fluids", "Procedures", 3800, Charges::Nothing),
    Price {
        code: "RT-RENAL",
        name: "Renal support diet, dry, 2 kg",
        category: "Diets",
        kind: ItemKind::Product,
        price: 3800,
        cost: Some(2400),
        taxable: true,
        charges: Charges::Nothing,
    },
    Price {
        code: "RT-FLEA",
        name: "Flea and tick topical, 3 doses",
        category: "Parasite control",
        kind: ItemKind::Product,
        price: 5400,
        cost: Some(3100),
        taxable: true,
        charges: Charges::Nothing,
    },
];

/// An item's create body; `None` for an exam fee whose appointment type the clinic no longer
/// has (`type_id` finds a default type by name).
pub fn body(p: &Price, type_id: impl Fn(&str) -> Option<AppointmentTypeId>) -> Option<CreateCatalogueItem> {
    let mut b = CreateCatalogueItem {
        name: p.name.into(),
        category: p.category.into(),
        kind: p.kind,
        code: Some(p.code.into()),
        price: Cents::new(p.price),
        cost: p.cost.map(Cents::new),
        taxable: p.taxable,
        product_id: None,
        drug: None,
        vaccine: None,
        appointment_type_id: None,
        lab_test: None,
    };
    match p.charges {
        Charges::Appointment(name) => b.appointment_type_id = Some(type_id(name)?),
        Charges::Vaccine(code) => b.vaccine = Some(code.into()),
        Charges::Drug(d, form, strength) => {
            b.drug = Some(DrugLink { drug_id: d.into(), form: Some(form), strength: Some(strength) });
        }
        Charges::Lab(code) => b.lab_test = Some(code.into()),
        Charges::Nothing => {}
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::appointment_types::default_appointment_types;
    use clowder_schemas::formulary::Formulary;
    use clowder_schemas::ids::CatalogueItemId;
    use clowder_schemas::vaccine_protocol::VaccineProtocol;

    #[test]
    fn every_item_is_valid_with_a_unique_code_and_links_what_the_clinic_has() {
        let types: Vec<String> = default_appointment_types().into_iter().map(|t| t.name).collect();
        let first = |name: &str| clowder_schemas::clinical_facts::fact_set(name).unwrap().first_version().unwrap().1;
        let formulary: Formulary = serde_json::from_value(first("formulary")).unwrap();
        let protocol: VaccineProtocol = serde_json::from_value(first("vaccine_protocol")).unwrap();
        let labs: clowder_schemas::labs::LabTests = serde_json::from_value(first("lab_tests")).unwrap();
        let mut codes = std::collections::HashSet::new();
        for p in PRICES {
            assert!(codes.insert(p.code), "{} twice", p.code);
            let b = body(p, |_| Some(AppointmentTypeId::from_u128(1))).unwrap();
            b.validate(CatalogueItemId::from_u128(1), jiff::Timestamp::UNIX_EPOCH, None).unwrap();
            match p.charges {
                Charges::Appointment(name) => assert!(types.iter().any(|t| t == name), "{name}"),
                Charges::Vaccine(code) => assert!(protocol.vaccines.iter().any(|v| v.code == code), "{code}"),
                Charges::Drug(d, form, strength) => {
                    let drug = formulary.find(d).unwrap_or_else(|| panic!("{d} is not in the formulary"));
                    let f = drug.forms.iter().find(|f| f.form == form).unwrap_or_else(|| panic!("{d} {form:?}"));
                    assert!(f.strengths.iter().any(|s| (*s - strength).abs() < 1e-9), "{d} {form:?} {strength}");
                }
                Charges::Lab(code) => assert!(labs.find(code).is_some_and(|t| t.code == code), "{code}"),
                Charges::Nothing => {}
            }
        }
        // Every default appointment type has its exam fee.
        for t in &types {
            assert!(PRICES.iter().any(|p| matches!(p.charges, Charges::Appointment(n) if n == t)), "{t} has no fee");
        }
        assert!(body(&PRICES[0], |_| None).is_none(), "a renamed type's fee is left out");
    }
}
