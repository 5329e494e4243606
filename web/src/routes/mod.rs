//! REST handlers, one module per resource. Handlers translate HTTP to calls on the actors'
//! services and back; they hold no business rules.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod calendar_feeds;
pub mod clients;
pub mod devices;
pub mod health;
pub mod locations;
pub mod pages;
pub mod patients;
pub mod roles;
pub mod scheduling;
pub mod search;
pub mod staff;
pub mod users;
pub mod waitlist;

use clowder_schemas::UserId;
use clowder_schemas::access::Scope;

use crate::error::ApiError;
use crate::extract::Staff;

/// With `permission` held only for one's own records, the user whose records those are.
pub(crate) fn own_only(staff: &Staff, permission: &str) -> Option<UserId> {
    match staff.principal.permissions.scope(permission) {
        Some(Scope::Own) => Some(staff.principal.user.id),
        _ => None,
    }
}

/// Refuses a record outside the caller's scope for `permission`.
pub(crate) fn check_scope(staff: &Staff, permission: &str, created_by: Option<UserId>) -> Result<(), ApiError> {
    match own_only(staff, permission) {
        Some(me) if created_by != Some(me) => Err(ApiError::forbidden(&format!("{permission} (scope all)"))),
        _ => Ok(()),
    }
}
