//! REST handlers, one module per resource. Handlers translate HTTP to calls on the actors'
//! services and back; they hold no business rules.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod health;
pub mod patients;
pub mod roles;
pub mod users;
