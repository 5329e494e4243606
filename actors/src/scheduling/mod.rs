//! Scheduling: appointment types, the calendar's configuration (locations, rooms, staff,
//! shifts, time off) and the calendar itself, with one actor per location.
//!
//! Everything the calendar decides on lives in one in-memory [`book::Book`], loaded from the
//! store at start and updated after each commit; see each module for its rules.

pub mod book;
pub mod calendar;
pub mod setup;
pub mod types;

use std::sync::{Arc, RwLock};

pub use calendar::{AppointmentFilter, Calendar};
pub use setup::Setup;
pub use types::AppointmentTypes;

use crate::error::Error;
use crate::system::Ctx;

/// The scheduling services, sharing one book.
#[derive(Clone)]
pub struct Scheduling {
    pub types: AppointmentTypes,
    pub setup: Setup,
    pub calendar: Calendar,
}

impl Scheduling {
    /// Loads the book from the store and starts the services.
    pub(crate) fn start(ctx: Arc<Ctx>) -> Result<Scheduling, Error> {
        let mut book = book::Book::default();
        setup::load(&ctx, &mut book)?;
        calendar::load(&ctx, &mut book)?;
        let book = Arc::new(RwLock::new(book));
        let types = AppointmentTypes::new(ctx.clone());
        Ok(Scheduling {
            setup: Setup::new(ctx.clone(), book.clone()),
            calendar: Calendar::new(ctx, book, types.clone()),
            types,
        })
    }
}
