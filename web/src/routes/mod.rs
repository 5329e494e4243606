//! REST handlers, one module per resource. Handlers translate HTTP to calls on the actors'
//! services and back; they hold no business rules.

pub mod auth;
pub mod clients;
pub mod health;
pub mod patients;

use clowder_schemas::events::Actor;

use crate::extract::Staff;

/// The actor recorded in events for a staff member's change.
pub(crate) fn by(staff: &Staff) -> Actor {
    Actor::User(staff.0.user.id)
}
