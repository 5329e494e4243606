//! Scheduling: appointment types, the calendar's configuration (locations, rooms, staff,
//! shifts, time off) and the calendar itself, with one actor per location.
//!
//! Everything the calendar decides on lives in one in-memory [`book::Book`], loaded from the
//! store at start and updated after each commit; see each module for its rules.

pub mod availability;
pub mod book;
pub mod calendar;
pub mod feeds;
pub mod rooms;
pub mod setup;
pub mod types;
pub mod waitlist;

use std::sync::{Arc, RwLock};

pub use calendar::{AppointmentFilter, AvailabilityQuery, Calendar};
pub use feeds::Feeds;
pub use rooms::Rooms;
pub use setup::Setup;
pub use types::AppointmentTypes;
pub use waitlist::Waitlist;

use crate::ctx::Ctx;
use crate::error::Error;

/// The scheduling services, sharing one book.
#[derive(Clone)]
pub struct Scheduling {
    pub types: AppointmentTypes,
    pub setup: Setup,
    pub calendar: Calendar,
    pub waitlist: Waitlist,
    pub feeds: Feeds,
    /// The exam-room whiteboard (one actor per room).
    pub rooms: Rooms,
    /// Which live topics an event concerns (for the WebSocket gateway).
    pub topics: crate::live::Topics,
    background: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Scheduling {
    /// Loads the book from the store and starts the services.
    pub(crate) fn start(ctx: Arc<Ctx>) -> Result<Scheduling, Error> {
        let mut book = book::Book::default();
        setup::load(&ctx, &mut book)?;
        calendar::load(&ctx, &mut book)?;
        let book = Arc::new(RwLock::new(book));
        let types = AppointmentTypes::new(ctx.clone());
        let rooms = Rooms::new(ctx.clone(), book.clone());
        let calendar = Calendar::new(ctx.clone(), book.clone(), types.clone(), rooms.clone());
        let waitlist = Waitlist::new(ctx.clone(), book.clone(), types.clone(), calendar.clone());
        let background = Arc::new(std::sync::Mutex::new(waitlist.start_background()));
        Ok(Scheduling {
            feeds: Feeds::new(ctx.clone(), book.clone()),
            rooms,
            topics: crate::live::Topics::new(book.clone()),
            setup: Setup::new(ctx, book),
            calendar,
            waitlist,
            types,
            background,
        })
    }

    /// Stops the calendar actors and the waitlist's background tasks, and waits until the
    /// latter have ended (they hold the store).
    pub(crate) async fn stop(&self) {
        self.calendar.stop_all();
        self.rooms.stop_all();
        let tasks: Vec<_> = self.background.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }
}
