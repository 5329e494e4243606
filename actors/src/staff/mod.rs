//! The clinic's staff as users of Clowder: accounts and sign-in sessions, roles and their
//! permissions, registered exam-room tablets, and the second factor (staff *profiles*,
//! shifts and time off belong to scheduling).
//!
//! Domain dependencies: none.

pub mod accounts;
pub mod devices;
pub mod roles;
pub mod totp;
