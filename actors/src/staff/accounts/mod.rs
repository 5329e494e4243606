//! Staff accounts and sign-in sessions (being split by concern; the code is in `user.rs`).

mod user;

pub(crate) use user::end_session;
pub use user::{Accounts, NewUser, Principal, SecondFactor, check_password};
