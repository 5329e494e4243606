//! Roles and permissions. A permission is a `resource:action` string from the catalogue
//! ([`PERMISSIONS`]) with a scope: `own` (records the user created or is assigned to) or
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

/// Every permission Clowder knows, with what it allows. Names never change once shipped.
pub const PERMISSIONS: &[(&str, &str)] = &[
    ("clients:view", "See clients (owners) and their contact details"),
    ("clients:create", "Register clients"),
    ("clients:edit", "Change clients"),
    ("clients:delete", "Deactivate clients"),
    ("patients:view", "See patients (cats)"),
    ("patients:create", "Register patients"),
    ("patients:edit", "Change patients, including marking one deceased"),
    ("patients:delete", "Deactivate patients"),
    ("appointments:view", "See the calendar"),
    ("appointments:create", "Book appointments"),
    ("appointments:edit", "Reschedule appointments and move them through their workflow"),
    ("appointments:delete", "Cancel appointments"),
    ("appointments:overbook", "Book over a conflict"),
    ("scheduling:manage", "Configure locations, rooms, appointment types, staff profiles and shifts; decide time off"),
    ("visits:view", "See visits and clinical notes"),
    ("visits:create", "Open visits"),
    ("visits:edit", "Write and sign clinical notes"),
    ("visits:delete", "Void visits"),
    ("prescriptions:view", "See prescriptions"),
    ("prescriptions:create", "Prescribe"),
    ("prescriptions:edit", "Change prescriptions"),
    ("prescriptions:delete", "Cancel prescriptions"),
    ("labs:view", "See lab orders and results"),
    ("labs:create", "Order labs"),
    ("labs:edit", "Record and review results"),
    ("labs:delete", "Cancel lab orders"),
    ("invoices:view", "See invoices and estimates"),
    ("invoices:create", "Create invoices and estimates"),
    ("invoices:edit", "Change and issue invoices"),
    ("invoices:delete", "Void invoices"),
    ("payments:view", "See payments"),
    ("payments:create", "Take payments"),
    ("payments:edit", "Refund payments"),
    ("payments:delete", "Void payments"),
    ("inventory:view", "See stock"),
    ("inventory:create", "Add products and purchase orders"),
    ("inventory:edit", "Adjust and receive stock"),
    ("inventory:delete", "Retire products"),
    ("reports:view", "See operational reports"),
    ("reports:financial", "See financial reports and exports"),
    ("users:view", "See staff accounts"),
    ("users:manage", "Create, change, deactivate staff accounts and reset passwords"),
    ("roles:view", "See roles and their permissions"),
    ("roles:manage", "Create and change custom roles"),
    ("sessions:manage", "See and revoke anyone's sessions; sign everyone out"),
    ("devices:manage", "Register and retire exam-room tablets"),
    ("audit:view", "Read the audit trail"),
];

/// True if `name` is in the catalogue.
pub fn is_known(name: &str) -> bool {
    PERMISSIONS.iter().any(|(p, _)| *p == name)
}

/// One permission with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// `resource:action`, e.g. `clients:view`.
    pub permission: String,
    #[serde(default)]
    pub scope: Scope,
}

/// A user's effective permissions: permission → widest scope held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions(pub BTreeMap<String, Scope>);

impl Permissions {
    /// Union of grants, the wider scope winning.
    pub fn from_grants<'a>(grants: impl IntoIterator<Item = &'a Grant>) -> Self {
        let mut map = BTreeMap::new();
        for g in grants {
            let e = map.entry(g.permission.clone()).or_insert(g.scope);
            *e = (*e).max(g.scope);
        }
        Permissions(map)
    }

    /// The scope held for `permission`, if any.
    pub fn scope(&self, permission: &str) -> Option<Scope> {
        self.0.get(permission).copied()
    }

    /// True if every grant is held with at least its scope (no one grants what they lack).
    pub fn covers(&self, grant: &Grant) -> bool {
        self.scope(&grant.permission).is_some_and(|s| s >= grant.scope)
    }

    pub fn as_grants(&self) -> Vec<Grant> {
        self.0.iter().map(|(p, s)| Grant { permission: p.clone(), scope: *s }).collect()
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

fn all_of(resource: &str) -> Vec<&'static str> {
    PERMISSIONS
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| {
            p.split_once(':').is_some_and(|(r, a)| r == resource && matches!(a, "view" | "create" | "edit" | "delete"))
        })
        .collect()
}

/// The built-in roles: `(name, display name, description, permissions)`, all with scope
/// `all`. Grants follow DOMAIN.md; where it is silent (clients:view for clinical and billing
/// staff, who must see whose cat or bill it is; the Practice Manager) the choice is noted.
pub fn builtin_roles() -> Vec<(&'static str, &'static str, &'static str, Vec<&'static str>)> {
    let mut vet = vec!["clients:view", "appointments:view", "appointments:edit"];
    for r in ["patients", "visits", "prescriptions", "labs"] {
        vet.extend(all_of(r));
    }
    let mut tech =
        vec!["clients:view", "patients:view", "patients:edit", "visits:view", "appointments:view", "appointments:edit"];
    tech.extend(all_of("labs"));
    let mut front = vec!["patients:view"];
    for r in ["clients", "appointments", "invoices", "payments"] {
        front.extend(all_of(r));
    }
    let mut billing = vec!["clients:view", "reports:financial"];
    for r in ["invoices", "payments"] {
        billing.extend(all_of(r));
    }
    let mut manager = vec![
        "patients:view",
        "reports:view",
        "reports:financial",
        "users:view",
        "roles:view",
        "audit:view",
        "scheduling:manage",
        "appointments:overbook",
    ];
    for r in ["clients", "appointments", "invoices", "payments", "inventory"] {
        manager.extend(all_of(r));
    }
    vec![
        (
            ADMINISTRATOR,
            "Administrator",
            "Everything, including staff accounts, roles and the audit trail",
            PERMISSIONS.iter().map(|(p, _)| *p).collect(),
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
        let p = g.permission.trim();
        if !is_known(p) {
            return Err(ValidationError::new(
                format!("{field}[{i}].permission"),
                format!("{p:?} is not a known permission (see GET /api/permissions)"),
            ));
        }
        if out.iter().any(|o| o.permission == p) {
            return Err(ValidationError::new(format!("{field}[{i}].permission"), format!("{p} is listed twice")));
        }
        out.push(Grant { permission: p.to_owned(), scope: g.scope });
    }
    Ok(out)
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
    pub permission: &'static str,
    pub description: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_use_only_known_permissions_and_the_admin_has_all() {
        for (name, _, _, perms) in builtin_roles() {
            for p in &perms {
                assert!(is_known(p), "{name}: {p}");
            }
            if name == ADMINISTRATOR {
                assert_eq!(perms.len(), PERMISSIONS.len());
            }
        }
        let front = builtin_roles().into_iter().find(|r| r.0 == "receptionist").unwrap().3;
        assert!(
            front.contains(&"clients:delete") && front.contains(&"patients:view") && !front.contains(&"patients:edit")
        );
    }

    #[test]
    fn the_wider_scope_wins_and_covers_checks_scope() {
        let p = Permissions::from_grants(&[
            Grant { permission: "clients:view".into(), scope: Scope::Own },
            Grant { permission: "clients:view".into(), scope: Scope::All },
            Grant { permission: "clients:edit".into(), scope: Scope::Own },
        ]);
        assert_eq!(p.scope("clients:view"), Some(Scope::All));
        assert!(p.covers(&Grant { permission: "clients:edit".into(), scope: Scope::Own }));
        assert!(!p.covers(&Grant { permission: "clients:edit".into(), scope: Scope::All }));
        assert!(!p.covers(&Grant { permission: "audit:view".into(), scope: Scope::Own }));
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
}
