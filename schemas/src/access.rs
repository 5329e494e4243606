//! Roles and permissions. A permission is a `resource:action` string from the catalogue
//! ([`Permission`]) with a scope: `own` (records the user created or is assigned to) or
//! `all`. Users hold roles; their effective permissions are the union of their roles'
//! grants, the wider scope winning. The built-in roles follow DOMAIN.md and are rewritten
//! from this file at every start, so an upgrade that changes them applies everywhere.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::RoleId;
use crate::patch::Patch;
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text, required_text};

/// How far a grant reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only records the user created (or, later, is assigned to).
    Own,
    /// Every record.
    #[default]
    All,
}

impl Scope {
    /// The wire name: `own` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::All => "all",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares the permission catalogue once: the enum, its wire names and descriptions. A
/// handler, a topic or the access table names a variant, so a mistyped permission does not
/// compile; the wire name (`resource:action`) never changes once shipped.
macro_rules! permissions {
    ($( $variant:ident = $name:literal => $description:literal, )*) => {
        /// A permission: what a role grants. On the wire and in the store it is its
        /// `resource:action` name (`clients:view`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission {
            $( #[doc = $description] $variant, )*
        }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The wire name, e.g. `clients:view`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// What it allows, for `GET /api/permissions` and the role editor.
            pub const fn description(self) -> &'static str {
                match self { $(Permission::$variant => $description,)* }
            }

            /// The permission with this wire name.
            pub fn parse(name: &str) -> Option<Permission> {
                match name { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    ClientsView = "clients:view" => "See clients (owners) and their contact details",
    ClientsCreate = "clients:create" => "Register clients",
    ClientsEdit = "clients:edit" => "Change clients",
    ClientsDelete = "clients:delete" => "Deactivate clients",
    PatientsView = "patients:view" => "See patients (cats)",
    PatientsCreate = "patients:create" => "Register patients",
    PatientsEdit = "patients:edit" => "Change patients, including marking one deceased",
    PatientsDelete = "patients:delete" => "Deactivate patients",
    AppointmentsView = "appointments:view" => "See the calendar",
    AppointmentsCreate = "appointments:create" => "Book appointments",
    AppointmentsEdit = "appointments:edit" => "Reschedule appointments and move them through their workflow",
    AppointmentsDelete = "appointments:delete" => "Cancel appointments",
    AppointmentsOverbook = "appointments:overbook" => "Book over a conflict",
    SchedulingManage = "scheduling:manage" => "Configure locations, rooms, appointment types, staff profiles and shifts; decide time off",
    VisitsView = "visits:view" => "See visits and clinical notes",
    VisitsCreate = "visits:create" => "Open visits",
    VisitsEdit = "visits:edit" => "Write clinical notes and change visits (signing is `visits:sign`)",
    VisitsDelete = "visits:delete" => "Void visits",
    PrescriptionsView = "prescriptions:view" => "See prescriptions",
    PrescriptionsCreate = "prescriptions:create" => "Prescribe",
    PrescriptionsEdit = "prescriptions:edit" => "Change prescriptions",
    PrescriptionsDelete = "prescriptions:delete" => "Cancel prescriptions",
    LabsView = "labs:view" => "See lab orders and results",
    LabsCreate = "labs:create" => "Order labs",
    LabsEdit = "labs:edit" => "Record and import lab results, correct reviewed ones, and work the unmatched-result queue (sign-off needs visits:sign)",
    LabsDelete = "labs:delete" => "Cancel lab orders",
    InvoicesView = "invoices:view" => "See invoices and estimates",
    InvoicesCreate = "invoices:create" => "Create invoices and estimates",
    InvoicesEdit = "invoices:edit" => "Change and issue invoices",
    InvoicesDelete = "invoices:delete" => "Void invoices",
    PaymentsView = "payments:view" => "See payments",
    PaymentsCreate = "payments:create" => "Take payments",
    PaymentsEdit = "payments:edit" => "Refund payments",
    PaymentsDelete = "payments:delete" => "Void payments",
    InventoryView = "inventory:view" => "See stock",
    InventoryCreate = "inventory:create" => "Add products and purchase orders",
    InventoryEdit = "inventory:edit" => "Adjust and receive stock",
    InventoryDelete = "inventory:delete" => "Retire products",
    ReportsView = "reports:view" => "See operational reports",
    ReportsFinancial = "reports:financial" => "See financial reports and exports",
    UsersView = "users:view" => "See staff accounts",
    UsersManage = "users:manage" => "Create, change, deactivate staff accounts and reset passwords",
    RolesView = "roles:view" => "See roles and their permissions",
    RolesManage = "roles:manage" => "Create and change custom roles",
    SessionsManage = "sessions:manage" => "See and revoke anyone's sessions; sign everyone out",
    DevicesManage = "devices:manage" => "Register and retire exam-room tablets",
    AuditView = "audit:view" => "Read the audit trail",
    BackupsManage = "backups:manage" => "See backups and their verification, start one, be told when one fails",
    JobsManage = "jobs:manage" => "See background jobs, retry or cancel them, be told when one fails",
    CommunicationsView = "communications:view" => "See the message log: what was sent to whom, and its status",
    CommunicationsTest = "communications:test" => "Send a test email or text through the configured provider",
    CommunicationsManage = "communications:manage" => "Create and change message templates",
    CommunicationsSend = "communications:send" => "Send a message to a client, and message batches to many",
    VisitsSign = "visits:sign" => "Sign clinical notes and their addenda (veterinarians)",
    VitalsCreate = "vitals:create" => "Record vital signs and weights",
    ConsentTemplatesManage = "consent_templates:manage" => "Write and change the consent form templates (a change is a new version)",
    ClinicalFactsManage = "clinical_facts:manage" => "Publish a new version of a clinical fact set (normal ranges, protocols, formulary)",
    ControlledView = "controlled:view" => "See the controlled-drug register and export it",
    ControlledRecord = "controlled:record" => "Record controlled-drug receipts, administrations, dispensing, counts and corrections (each witnessed)",
    VaccinationsCreate = "vaccinations:create" => "Record vaccinations (doses, refusals, reactions), override due dates and assess risk",
    CatalogueManage = "catalogue:manage" => "Add, reprice and retire the service catalogue's items",
    WardView = "ward:view" => "See the hospital wards, their boards and admitted cats' treatment sheets",
    WardTreat = "ward:treat" => "Admit and discharge cats, schedule treatments, mark them done or skipped",
    WardManage = "ward:manage" => "Create wards and their cages",
    AccountingExport = "accounting:export" => "Export invoices, payments and purchases to accounting (CSV, IIF), re-export with a reason, and set the chart-of-accounts mapping",
    LoyaltyManage = "loyalty:manage" => "Set the loyalty programme's rules and adjust a client's points",
    ProtocolsView = "protocols:view" => "See the clinic's protocols (treatment plan templates) and the built-in starters",
    ProtocolsManage = "protocols:manage" => "Create and change protocols (each change is a new version)",
}

impl Permission {
    /// The resource part of the name (`clients` of `clients:view`).
    pub fn resource(self) -> &'static str {
        self.as_str().split_once(':').map_or("", |(r, _)| r)
    }

    /// The action part of the name (`view` of `clients:view`).
    pub fn action(self) -> &'static str {
        self.as_str().split_once(':').map_or("", |(_, a)| a)
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Permission::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a known permission")))
    }
}

impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
            .description(Some("A permission's `resource:action` name (see GET /api/permissions)"))
            .into()
    }
}

impl ToSchema for Permission {}

/// One permission with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// `resource:action`, e.g. `clients:view`.
    pub permission: Permission,
    #[serde(default)]
    pub scope: Scope,
}

/// A user's effective permissions: permission → widest scope held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions(pub BTreeMap<Permission, Scope>);

impl Permissions {
    /// Union of grants, the wider scope winning.
    pub fn from_grants<'a>(grants: impl IntoIterator<Item = &'a Grant>) -> Self {
        let mut map = BTreeMap::new();
        for g in grants {
            let e = map.entry(g.permission).or_insert(g.scope);
            *e = (*e).max(g.scope);
        }
        Permissions(map)
    }

    /// The scope held for `permission`, if any.
    pub fn scope(&self, permission: Permission) -> Option<Scope> {
        self.0.get(&permission).copied()
    }

    /// Every permission with scope `all`: what Clowder itself may do (demo seeding, start-up).
    pub fn everything() -> Self {
        Permissions(Permission::ALL.iter().map(|p| (*p, Scope::All)).collect())
    }

    /// True if `permission` is held, with any scope.
    pub fn holds(&self, permission: Permission) -> bool {
        self.0.contains_key(&permission)
    }

    /// True if every grant is held with at least its scope (no one grants what they lack).
    pub fn covers(&self, grant: &Grant) -> bool {
        self.scope(grant.permission).is_some_and(|s| s >= grant.scope)
    }

    pub fn as_grants(&self) -> Vec<Grant> {
        self.0.iter().map(|(p, s)| Grant { permission: *p, scope: *s }).collect()
    }
}

/// A role as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Role {
    pub id: RoleId,
    /// Unique machine name, e.g. `receptionist`; what users hold.
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub grants: Vec<Grant>,
    /// Built-in roles are defined by Clowder and cannot be changed (but for
    /// `require_totp`).
    pub builtin: bool,
    /// Holders must sign in with a second factor (TOTP).
    #[serde(default)]
    pub require_totp: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Version history: v2 added `require_totp` (false for v1 records).
impl Record for Role {
    const KIND: &'static str = "role";
    const VERSION: u16 = 2;
}

/// Name of the built-in role that holds every permission.
pub const ADMINISTRATOR: &str = "administrator";

fn all_of(resource: &str) -> Vec<Permission> {
    Permission::ALL
        .iter()
        .copied()
        .filter(|p| p.resource() == resource && matches!(p.action(), "view" | "create" | "edit" | "delete"))
        .collect()
}

/// The built-in roles: `(name, display name, description, permissions)`, all with scope
/// `all`. Grants follow DOMAIN.md; where it is silent (clients:view for clinical and billing
/// staff, who must see whose cat or bill it is; the Practice Manager) the choice is noted.
pub fn builtin_roles() -> Vec<(&'static str, &'static str, &'static str, Vec<Permission>)> {
    use Permission::*;
    let mut vet = vec![ClientsView, AppointmentsView, AppointmentsEdit];
    for r in ["patients", "visits", "prescriptions", "labs"] {
        vet.extend(all_of(r));
    }
    vet.extend([VisitsSign, VitalsCreate]);
    vet.push(VaccinationsCreate);
    // Techs take the vitals at intake (DOMAIN.md is silent; every clinic works so).
    let mut tech = vec![ClientsView, PatientsView, PatientsEdit, VisitsView, AppointmentsView, AppointmentsEdit];
    tech.push(VitalsCreate);
    // Vets and techs draw up and give controlled drugs (with a witness); a manager audits them.
    vet.extend([ControlledView, ControlledRecord]);
    tech.extend([ControlledView, ControlledRecord]);
    // Techs give vaccines under a vet's order (AAFP), so they record them too.
    tech.push(VaccinationsCreate);
    tech.extend(all_of("labs"));
    let mut front = vec![PatientsView, CommunicationsView];
    front.push(CommunicationsSend);
    for r in ["clients", "appointments", "invoices", "payments"] {
        front.extend(all_of(r));
    }
    let mut billing = vec![ClientsView, ReportsFinancial];
    for r in ["invoices", "payments"] {
        billing.extend(all_of(r));
    }
    billing.push(CatalogueManage);
    billing.push(AccountingExport);
    let mut manager = vec![
        PatientsView,
        ReportsView,
        ReportsFinancial,
        UsersView,
        RolesView,
        AuditView,
        SchedulingManage,
        AppointmentsOverbook,
        CommunicationsView,
        CommunicationsManage,
        CommunicationsSend,
    ];
    for r in ["clients", "appointments", "invoices", "payments", "inventory"] {
        manager.extend(all_of(r));
    }
    manager.push(ControlledView);
    manager.push(CatalogueManage);
    manager.push(AccountingExport);
    manager.push(LoyaltyManage);
    // The ward: vets and techs treat the cats in it; the manager sets wards up and sees the
    // board (docs/ward.md).
    vet.extend([WardView, WardTreat]);
    tech.extend([WardView, WardTreat]);
    manager.extend([WardView, WardManage]);
    // Consent wording is the practice's policy (and its insurer's): the manager keeps it.
    manager.push(ConsentTemplatesManage);
    // Protocols: vets write them, the manager keeps the clinic's set (and its prices); techs
    // read them to work the plans. Plans themselves are the medical record (visits:*).
    vet.extend([ProtocolsView, ProtocolsManage]);
    tech.push(ProtocolsView);
    manager.extend([ProtocolsView, ProtocolsManage]);
    vec![
        (
            ADMINISTRATOR,
            "Administrator",
            "Everything, including staff accounts, roles and the audit trail",
            Permission::ALL.to_vec(),
        ),
        ("veterinarian", "Veterinarian", "Patients and the clinical record; views and edits appointments", vet),
        (
            "vet_tech",
            "Vet Tech",
            "Views and edits patients, views visits, runs labs, views and edits appointments",
            tech,
        ),
        ("receptionist", "Receptionist", "Clients, appointments, invoices and payments; views patients", front),
        ("billing", "Billing", "Invoices, payments and financial reports", billing),
        (
            "practice_manager",
            "Practice Manager",
            "Runs the front office and the books: clients, appointments, billing, inventory, reports; views staff, roles and the audit trail",
            manager,
        ),
    ]
}

/// A grant as typed into a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub permission: String,
    #[serde(default)]
    pub scope: Scope,
}

/// Validates grants: known permissions only, no duplicates.
pub fn parse_grants(field: &str, input: &[GrantInput]) -> Result<Vec<Grant>, ValidationError> {
    let mut out: Vec<Grant> = Vec::with_capacity(input.len());
    for (i, g) in input.iter().enumerate() {
        let name = g.permission.trim();
        let Some(p) = Permission::parse(name) else {
            return Err(ValidationError::new(
                format!("{field}[{i}].permission"),
                format!("{name:?} is not a known permission (see GET /api/permissions)"),
            ));
        };
        if out.iter().any(|o| o.permission == p) {
            return Err(ValidationError::new(format!("{field}[{i}].permission"), format!("{p} is listed twice")));
        }
        if g.scope == Scope::Own && !narrows_own(p) {
            return Err(ValidationError::new(
                format!("{field}[{i}].scope"),
                format!(
                    "{p} cannot be granted with scope own: its records are not narrowed to their creator; grant it with scope all or not at all"
                ),
            ));
        }
        out.push(Grant { permission: p, scope: g.scope });
    }
    Ok(out)
}

/// Whether an `own` grant of `p` may be given: money and stock (`invoices:*`, `payments:*`,
/// `catalogue:*`, `inventory:*`) are not narrowed to the records a user created, so an `own`
/// grant of them would silently act like `all`; it is refused instead.
pub fn narrows_own(p: Permission) -> bool {
    let name = p.as_str();
    !["invoices:", "payments:", "catalogue:", "inventory:", "accounting:"].iter().any(|prefix| name.starts_with(prefix))
}

/// Validates a role's machine name: 3–40 of `a-z`, `0-9`, `_`, starting with a letter.
pub fn parse_role_name(field: &str, input: &str) -> Result<String, ValidationError> {
    let n = input.trim().to_lowercase();
    let ok = (3..=40).contains(&n.len())
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(n)
    } else {
        Err(ValidationError::new(field, "must be 3 to 40 characters: a-z, 0-9 or _, starting with a letter"))
    }
}

/// Body of `POST /api/roles`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub grants: Vec<GrantInput>,
}

/// A validated new role.
#[derive(Debug, Clone)]
pub struct RoleDraft {
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub grants: Vec<Grant>,
}

impl CreateRole {
    pub fn validate(&self) -> Result<RoleDraft, ValidationError> {
        let name = parse_role_name("name", &self.name)?;
        let display_name = match &self.display_name {
            Some(d) => required_text("display_name", d, MAX_NAME_CHARS)?,
            None => name.clone(),
        };
        Ok(RoleDraft {
            name,
            display_name,
            description: optional_text("description", self.description.as_deref(), 500)?,
            grants: parse_grants("grants", &self.grants)?,
        })
    }
}

/// Body of `PATCH /api/roles/{id}` (custom roles only).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<GrantInput>>)]
    pub grants: Patch<Vec<GrantInput>>,
    /// Require second-factor sign-in of this role's holders (allowed on built-in roles too).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub require_totp: Patch<bool>,
}

impl UpdateRole {
    pub fn apply(&self, r: &Role) -> Result<Role, ValidationError> {
        let mut n = r.clone();
        match &self.display_name {
            Patch::Keep => {}
            Patch::Clear => return Err(ValidationError::new("display_name", "is required and cannot be cleared")),
            Patch::Set(d) => n.display_name = required_text("display_name", d, MAX_NAME_CHARS)?,
        }
        match &self.description {
            Patch::Keep => {}
            Patch::Clear => n.description = None,
            Patch::Set(d) => n.description = optional_text("description", Some(d), 500)?,
        }
        match &self.grants {
            Patch::Keep => {}
            Patch::Clear => n.grants.clear(),
            Patch::Set(g) => n.grants = parse_grants("grants", g)?,
        }
        match &self.require_totp {
            Patch::Keep => {}
            Patch::Clear => n.require_totp = false,
            Patch::Set(b) => n.require_totp = *b,
        }
        Ok(n)
    }

    /// True if the patch touches more than `require_totp` (refused on built-in roles).
    pub fn changes_definition(&self) -> bool {
        !(self.display_name.is_keep() && self.description.is_keep() && self.grants.is_keep())
    }
}

/// One entry of `GET /api/permissions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionInfo {
    pub permission: Permission,
    pub description: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_use_only_known_permissions_and_the_admin_has_all() {
        for (name, _, _, perms) in builtin_roles() {
            if name == ADMINISTRATOR {
                assert_eq!(perms.len(), Permission::ALL.len());
            }
        }
        let front = builtin_roles().into_iter().find(|r| r.0 == "receptionist").unwrap().3;
        assert!(
            front.contains(&Permission::ClientsDelete)
                && front.contains(&Permission::PatientsView)
                && !front.contains(&Permission::PatientsEdit)
        );
    }

    #[test]
    fn the_wider_scope_wins_and_covers_checks_scope() {
        let p = Permissions::from_grants(&[
            Grant { permission: Permission::ClientsView, scope: Scope::Own },
            Grant { permission: Permission::ClientsView, scope: Scope::All },
            Grant { permission: Permission::ClientsEdit, scope: Scope::Own },
        ]);
        assert_eq!(p.scope(Permission::ClientsView), Some(Scope::All));
        assert!(p.covers(&Grant { permission: Permission::ClientsEdit, scope: Scope::Own }));
        assert!(!p.covers(&Grant { permission: Permission::ClientsEdit, scope: Scope::All }));
        assert!(!p.covers(&Grant { permission: Permission::AuditView, scope: Scope::Own }));
    }

    #[test]
    fn wire_names_parse_back_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            assert!(seen.insert(p.as_str()), "{p} twice");
            assert!(!p.description().is_empty());
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{p}\""));
            assert_eq!(serde_json::from_str::<Permission>(&json).unwrap(), *p);
        }
        assert!(serde_json::from_str::<Permission>("\"clients:fly\"").is_err());
    }

    #[test]
    fn unknown_or_repeated_permissions_are_refused() {
        let g = |p: &str| GrantInput { permission: p.into(), scope: Scope::All };
        assert_eq!(parse_grants("grants", &[g("clients:fly")]).unwrap_err().field, "grants[0].permission");
        assert_eq!(
            parse_grants("grants", &[g("clients:view"), g("clients:view")]).unwrap_err().field,
            "grants[1].permission"
        );
    }

    #[test]
    fn an_own_grant_of_money_or_stock_is_refused_naming_the_permission() {
        let own = |p: &str| GrantInput { permission: p.into(), scope: Scope::Own };
        for p in ["invoices:view", "payments:create", "catalogue:manage", "inventory:edit"] {
            let e = parse_grants("grants", &[own("clients:view"), own(p)]).unwrap_err();
            assert_eq!(e.field, "grants[1].scope", "{p}");
            assert!(e.message.contains(p), "{e:?}");
        }
        let all = GrantInput { permission: "inventory:edit".into(), scope: Scope::All };
        assert!(parse_grants("grants", &[own("patients:view"), all]).is_ok());
    }
}
