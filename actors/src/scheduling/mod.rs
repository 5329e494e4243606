//! Scheduling: appointment types, the calendar's configuration (locations, rooms, staff,
//! shifts, time off) and the calendar itself, with one actor per location.
//!
//! Everything the calendar decides on lives in one in-memory [`book::Book`], loaded from the
//! store at start and updated after each commit; see each module for its rules. Local
//! dates and times become instants only through [`zones`]; what a request leaves out (the
//! location, the day, the window) is decided by the services, not by the handlers.
//!
//! Domain dependencies: none.

pub mod appointment_types;
pub mod availability;
pub mod book;
pub mod calendar;
mod day;
pub mod feeds;
pub mod setup;
pub mod waitlist;
pub mod whiteboard;
pub mod zones;

use std::sync::{Arc, RwLock};

use clowder_schemas::appointments::Appointment;
use clowder_schemas::audit::Caller;
use clowder_schemas::waitlist::WaitlistOffer;

use crate::store::ChangeSet;

pub use appointment_types::AppointmentTypes;
pub use calendar::{AppointmentFilter, AvailabilityQuery, AvailabilityRequest, Calendar, DayRequest, WindowBound};
pub use feeds::Feeds;
pub use setup::Setup;
pub use waitlist::Waitlist;
pub use whiteboard::Whiteboard;

use crate::ctx::Ctx;
use crate::error::Error;

/// What other domains add to the calendar's and the waitlist's change sets (reminder jobs
/// with a booking, their cancellation with a cancel, the offer's message with an offer, the
/// clinical visit's job with a start). The calendar calls them; `System` installs the
/// implementations (the automations, in `comms`; the visits, in `clinical`), so scheduling
/// depends on no other domain. Each call adds to `set` only.
pub trait SchedulingHooks: Send + Sync + 'static {
    /// An appointment was booked (`before` is `None`), moved, changed or moved along its
    /// workflow; `set` is the change set that writes `after`.
    fn appointment_changed(
        &self,
        set: &mut ChangeSet,
        before: Option<&Appointment>,
        after: &Appointment,
        caller: &Caller,
    ) -> Result<(), Error>;
    /// A waitlist offer was made in `set`.
    fn offer_made(&self, set: &mut ChangeSet, offer: &WaitlistOffer, caller: &Caller) -> Result<(), Error>;
    /// A change set that went through a hook committed (the job scheduler can look again).
    fn committed(&self);
}

/// The installed hooks, called in the order installed (none in unit tests).
#[derive(Clone, Default)]
pub struct Hooks(Arc<RwLock<Vec<Arc<dyn SchedulingHooks>>>>);

impl Hooks {
    /// Adds a domain's hooks (at start, before any appointment changes).
    pub fn install(&self, hooks: Arc<dyn SchedulingHooks>) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(hooks);
    }

    fn each(&self, mut f: impl FnMut(&dyn SchedulingHooks) -> Result<(), Error>) -> Result<(), Error> {
        for h in self.0.read().unwrap_or_else(|p| p.into_inner()).iter() {
            f(h.as_ref())?;
        }
        Ok(())
    }

    pub(crate) fn appointment_changed(
        &self,
        set: &mut ChangeSet,
        before: Option<&Appointment>,
        after: &Appointment,
        caller: &Caller,
    ) -> Result<(), Error> {
        self.each(|h| h.appointment_changed(set, before, after, caller))
    }

    pub(crate) fn offer_made(&self, set: &mut ChangeSet, offer: &WaitlistOffer, caller: &Caller) -> Result<(), Error> {
        self.each(|h| h.offer_made(set, offer, caller))
    }

    pub(crate) fn committed(&self) {
        let _ = self.each(|h| {
            h.committed();
            Ok(())
        });
    }
}

/// The scheduling services, sharing one book.
#[derive(Clone)]
pub struct Scheduling {
    pub appointment_types: AppointmentTypes,
    pub setup: Setup,
    pub calendar: Calendar,
    pub waitlist: Waitlist,
    pub feeds: Feeds,
    /// The exam-room whiteboard (one actor per room).
    pub whiteboard: Whiteboard,
    /// What other domains add to the calendar's change sets (see [`SchedulingHooks`]).
    pub hooks: Hooks,
    /// The in-memory book every scheduling service shares (the live topics read locations'
    /// time zones from it).
    pub(crate) book: Arc<RwLock<book::Book>>,
    background: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Scheduling {
    /// Loads the book from the store and starts the services.
    pub(crate) fn start(ctx: Arc<Ctx>) -> Result<Scheduling, Error> {
        let mut book = book::Book::default();
        setup::load(&ctx, &mut book)?;
        calendar::load(&ctx, &mut book)?;
        let book = Arc::new(RwLock::new(book));
        let hooks = Hooks::default();
        let types = AppointmentTypes::new(ctx.clone());
        let whiteboard = Whiteboard::new(ctx.clone(), book.clone());
        let calendar = Calendar::new(ctx.clone(), book.clone(), types.clone(), whiteboard.clone(), hooks.clone());
        let waitlist = Waitlist::new(ctx.clone(), book.clone(), types.clone(), calendar.clone(), hooks.clone());
        let background = Arc::new(std::sync::Mutex::new(waitlist.start_background()));
        Ok(Scheduling {
            hooks,
            feeds: Feeds::new(ctx.clone(), book.clone()),
            whiteboard,
            setup: Setup::new(ctx, book.clone()),
            book,
            calendar,
            waitlist,
            appointment_types: types,
            background,
        })
    }

    /// Stops the calendar actors and the waitlist's background tasks, and waits until the
    /// latter have ended (they hold the store).
    pub(crate) async fn stop(&self) {
        self.calendar.stop_all();
        self.whiteboard.stop_all();
        let tasks: Vec<_> = self.background.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }
}
