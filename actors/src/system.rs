//! The running core of one clinic: the store, the actor registries and the services built
//! on them, wired together once at start-up and shut down in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::ctx::{Ctx, SystemConfig};
use crate::metrics::StoreMetrics;
use crate::people::clients::Clients;
use crate::people::patients::Patients;
use crate::scheduling::Scheduling;
use crate::search::Search;
use crate::staff::accounts::Accounts;
use crate::staff::devices::Devices;
use crate::staff::roles::Roles;
use crate::store::{Store, StoreConfig, StoreError};

/// One component's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The clinic's core, running.
pub struct System {
    pub ctx: Arc<Ctx>,
    pub clients: Clients,
    pub patients: Patients,
    pub accounts: Accounts,
    pub audit: AuditLog,
    pub roles: Roles,
    pub devices: Devices,
    pub scheduling: Scheduling,
    /// Which live topics an event concerns (for the WebSocket gateway).
    pub topics: crate::live::Topics,
    pub search: Search,
    /// Safe retries (`Idempotency-Key`).
    pub idempotency: crate::idempotency::Idempotency,
    /// Durable jobs and their scheduler.
    pub jobs: crate::jobs::Jobs,
    pub store_metrics: StoreMetrics,
    /// The message provider of each channel (email, SMS), chosen by the settings.
    pub comms: crate::comms::Providers,
    /// The message log; queues messages with their `send_message` jobs.
    pub messages: crate::comms::messages::Messages,
    /// Message templates (a record kind).
    pub templates: crate::comms::templates::Templates,
    /// Signed links sent to clients (confirm, cancel, unsubscribe, …).
    pub links: crate::comms::links::Links,
    /// Email opens and clicks (the pixel and the tracked links).
    pub tracking: crate::comms::tracking::Tracking,
    /// Reminder analytics (`GET /api/communications/analytics`).
    pub analytics: crate::comms::analytics::Analytics,
    /// Automation rules (reminders, follow-ups, birthdays, …), their settings and dry run.
    pub automations: crate::comms::automations::Automations,
    /// Clients' communication preferences and consent ledger.
    pub consent: crate::comms::consent::Consent,
    /// Delivery reports and inbound texts from the providers.
    pub webhooks: crate::comms::webhooks::Webhooks,
    /// What staff send by hand: one message to a client, and batches.
    pub batches: crate::comms::batches::Batches,
    /// The message log's filtered pages and delivery statistics.
    pub comms_log: crate::comms::stats::Log,
    /// Marketing audiences.
    pub segments: crate::comms::segments::Segments,
    /// Marketing campaigns and the newsletter's double opt-in.
    pub campaigns: crate::comms::campaigns::Campaigns,
    /// Referral codes and the credits owed for them.
    pub referrals: crate::comms::referrals::Referrals,
    /// Clinical fact sets (normal ranges, later protocols and the formulary), versioned.
    pub clinical_facts: crate::clinical::facts::ClinicalFacts,
    /// Vital signs and weights (a record kind).
    pub vitals: crate::clinical::vitals::VitalsService,
    /// Hospital wards and their cages (a record kind).
    pub wards: crate::clinical::wards::Wards,
    /// Admissions to a ward with their treatment sheets (a record kind).
    pub admissions: crate::clinical::wards::Admissions,
    /// One actor per ward holding its board; the ward's commands go through it.
    pub ward_boards: crate::clinical::ward_board::WardBoards,
    /// The problem list (a record kind).
    pub problems: crate::clinical::problems::Problems,
    /// Protocols (a record kind, versioned) and the treatment plans made from them.
    pub protocols: crate::clinical::protocols::Protocols,
    pub treatment_plans: crate::clinical::treatment_plans::TreatmentPlans,
    /// Lab orders, the unmatched queue and the import's matching (`labs.orders`, `labs.unmatched`).
    pub labs: crate::clinical::labs::LabImport,
    /// Documents on the record (a record kind) and their contents on disk.
    pub documents: crate::clinical::documents::Documents,
    pub document_files: crate::clinical::document_files::DocumentFiles,
    /// Consent templates (a record kind, versioned) and consent forms signed on the tablet.
    pub consent_templates: crate::clinical::consent_forms::ConsentTemplates,
    pub consent_forms: crate::clinical::consent_forms::ConsentForms,
    /// Visits of the medical record.
    pub visits: crate::clinical::visits::Visits,
    /// Signed SOAP notes and their addenda.
    pub notes: crate::clinical::notes::Notes,
    /// Notes being written (autosaved drafts) and note templates.
    pub drafts: crate::clinical::drafts::Drafts,
    /// A cat's timeline of clinical entries.
    pub timeline: crate::clinical::timeline::Timeline,
    /// A cat's chart in one read.
    pub charts: crate::clinical::chart::Charts,
    /// Batch printing: labels and certificates for a selection, as one PDF.
    pub print_batches: crate::clinical::print_batches::PrintBatches,
    /// Prescriptions with their dose arithmetic and safety checks (a record kind).
    pub prescriptions: crate::clinical::prescriptions::Prescriptions,
    /// The controlled-drug register (append-only).
    pub controlled: crate::clinical::controlled::Controlled,
    /// Vaccinations (a record kind) and their computed due dates.
    pub vaccinations: crate::clinical::vaccinations::Vaccinations,
    /// Inventory: products, vendors, purchase orders, and the stock (lots and ledger).
    pub products: crate::inventory::products::Products,
    pub vendors: crate::inventory::vendors::Vendors,
    pub purchase_orders: crate::inventory::orders::PurchaseOrders,
    pub stock: crate::inventory::stock::Stock,
    /// The service catalogue.
    pub catalogue: crate::billing::catalogue::Catalogue,
    /// Invoices and their credit notes.
    pub invoices: crate::billing::invoices::Invoices,
    /// Estimates and their conversion into invoices.
    pub estimates: crate::billing::estimates::Estimates,
    /// Payment plans for issued invoices.
    pub plans: crate::billing::plans::Plans,
    /// Charge capture: the follower of the event log that fills visits' draft invoices.
    pub capture: crate::billing::capture::Capture,
    /// Loyalty points: settings, accounts, adjustments, redemptions (earning is capture's step).
    pub loyalty: crate::billing::loyalty::Loyalty,
    /// Batches issuing the invoices of completed visits.
    pub invoice_batches: crate::billing::generate::InvoiceBatches,
    /// AR ageing and revenue.
    pub reports: crate::billing::reports::Reports,
    /// The accounting export and its chart-of-accounts mapping.
    pub accounting: crate::billing::accounting::Accounting,
    /// Statements of account per client (JSON, PDF) and their bulk email runs.
    pub statements: crate::billing::statements::Statements,
    /// Finance charges on overdue balances (a monthly job when a rate is set).
    pub finance: crate::billing::finance::FinanceCharges,
    started: Instant,
    stopping: AtomicBool,
}

impl System {
    /// Opens the store and starts the actor registries. Must run inside a tokio runtime.
    pub fn start(config: SystemConfig, clock: Arc<dyn Clock>) -> Result<System, StoreError> {
        // Built first: a provider whose settings cannot work stops the start before the
        // store is opened.
        let comms = crate::comms::Providers::build(&config.comms, clock.clone())
            .map_err(|e| StoreError::Load(format!("the message providers: {e}")))?;
        let store_metrics = StoreMetrics::default();
        let store_config = StoreConfig {
            path: config.store_path(),
            clinic_id: config.clinic_id.clone(),
            cache_bytes: config.cache_bytes,
            journal: Some(config.backup_journal),
        };
        let store = Store::open(&store_config, clock.clone(), store_metrics.clone())?;
        store.disk().set_reserve(config.min_free_bytes);
        let ctx = Arc::new(Ctx::new(store, clock, config));
        let roles = Roles::load(ctx.clone())?;
        let search = Search::start(ctx.clone()).map_err(|e| StoreError::Load(format!("the search index: {e}")))?;
        let scheduling = Scheduling::start(ctx.clone()).map_err(|e| StoreError::Load(format!("the calendar: {e}")))?;
        let idempotency = crate::idempotency::Idempotency::new(ctx.clone());
        let accounts = Accounts::new(ctx.clone(), roles.clone());
        let accounts_for_register = accounts.clone();
        let jobs = crate::jobs::Jobs::new(ctx.clone(), ctx.config.jobs.clone());
        let document_files = crate::clinical::document_files::DocumentFiles::new(
            &ctx.config.data_dir,
            ctx.config.document_max_bytes,
            ctx.clock.clone(),
        );
        let content_sweep =
            crate::clinical::document_files::ContentSweep { store: ctx.store.clone(), files: document_files.clone() };
        let cleanup = crate::jobs::cleanup::Cleanup {
            accounts: accounts.clone(),
            idempotency: idempotency.clone(),
            tasks: vec![Arc::new(content_sweep)],
        };
        cleanup
            .install(&jobs, ctx.config.jobs.cleanup_at)
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let links = crate::comms::links::Links::new(ctx.store.link_key(), &ctx.config.comms.clinic.public_url);
        let attachments = crate::comms::attachments::Attachments::default();
        jobs.register(
            crate::comms::messages::KIND,
            Arc::new(crate::comms::messages::SendMessage {
                providers: comms.clone(),
                links: links.clone(),
                attachments: attachments.clone(),
            }),
        )
        .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let messages = crate::comms::messages::Messages::new(ctx.clone(), jobs.clone());
        let batches = crate::comms::batches::Batches::new(ctx.clone(), jobs.clone(), messages.clone());
        jobs.register(crate::comms::batches::KIND, batches.handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let ctx_for_templates = ctx.clone();
        let automations = crate::comms::automations::Automations::install(crate::comms::automations::Env {
            ctx: ctx.clone(),
            calendar: scheduling.calendar.clone(),
            waitlist: scheduling.waitlist.clone(),
            messages: messages.clone(),
            jobs: jobs.clone(),
            links: links.clone(),
        })
        .map_err(|e| StoreError::Load(format!("the automations: {e}")))?;
        scheduling.hooks.install(Arc::new(automations.clone()));
        let ctx_for_consent = ctx.clone();
        let ctx_for_tracking = ctx.clone();
        let ctx_for_analytics = ctx.clone();
        let calendar_for_analytics = scheduling.calendar.clone();
        let consent = crate::comms::consent::Consent::new(ctx.clone());
        let campaigns = crate::comms::campaigns::Campaigns::new(
            ctx.clone(),
            jobs.clone(),
            messages.clone(),
            links.clone(),
            consent.clone(),
        );
        jobs.register(crate::comms::campaigns::KIND, campaigns.handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let visits = crate::clinical::visits::Visits::new(ctx.clone());
        let notes = crate::clinical::notes::Notes::new(ctx.clone());
        jobs.register(
            crate::clinical::follow::KIND,
            Arc::new(crate::clinical::follow::FollowAppointment { visits: visits.clone() }),
        )
        .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        jobs.register(
            crate::clinical::unsigned::KIND,
            Arc::new(crate::clinical::unsigned::UnsignedAlert { visits: visits.clone() }),
        )
        .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let treatment_plans = crate::clinical::treatment_plans::TreatmentPlans::new(ctx.clone());
        jobs.register(
            crate::clinical::plan_steps::KIND,
            Arc::new(crate::clinical::plan_steps::StepVisitDone {
                visits: visits.clone(),
                plans: treatment_plans.clone(),
            }),
        )
        .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        scheduling
            .hooks
            .install(Arc::new(crate::clinical::follow::ClinicalHooks { ctx: ctx.clone(), jobs: jobs.clone() }));
        let wards = crate::clinical::wards::Wards::new(ctx.clone());
        let admissions = crate::clinical::wards::Admissions::new(ctx.clone());
        let ward_boards =
            crate::clinical::ward_board::WardBoards::new(ctx.clone(), wards.clone(), admissions.clone(), jobs.clone());
        jobs.register(crate::clinical::ward_board::OVERDUE_KIND, ward_boards.overdue_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let controlled = crate::clinical::controlled::Controlled::new(ctx.clone(), accounts_for_register);
        let stock = crate::inventory::stock::Stock::new(ctx.clone(), controlled.clone());
        crate::inventory::stock::ExpireLots { stock: stock.clone() }
            .install(&jobs, ctx.config.inventory.expire_at)
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let invoices = crate::billing::invoices::Invoices::new(ctx.clone(), jobs.clone());
        jobs.register(crate::billing::invoices::OVERDUE_KIND, invoices.overdue_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let estimates =
            crate::billing::estimates::Estimates::new(ctx.clone(), invoices.clone(), jobs.clone(), messages.clone());
        jobs.register(crate::billing::estimates::EXPIRE_KIND, estimates.expire_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let plans = crate::billing::plans::Plans::new(ctx.clone(), invoices.clone(), jobs.clone(), messages.clone());
        jobs.register(crate::billing::plans::INTEREST_KIND, plans.interest_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        jobs.register(crate::billing::plans::DUE_KIND, plans.due_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        jobs.register(crate::billing::plans::SETTLE_KIND, plans.settle_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let invoice_batches =
            crate::billing::generate::InvoiceBatches::new(ctx.clone(), jobs.clone(), invoices.clone());
        jobs.register(crate::billing::batch_ops::DISCOUNT_KIND, invoice_batches.selection_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        jobs.register(crate::billing::batch_ops::EXPORT_KIND, invoice_batches.selection_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        jobs.register(crate::billing::generate::KIND, invoice_batches.handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let print_batches = crate::clinical::print_batches::PrintBatches::new(ctx.clone(), jobs.clone());
        jobs.register(crate::clinical::print_batches::KIND, print_batches.handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let loyalty = crate::billing::loyalty::Loyalty::new(ctx.clone(), invoices.clone());
        crate::billing::loyalty::Birthdays { loyalty: loyalty.clone() }
            .install(&jobs)
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        crate::billing::loyalty::Expiry { loyalty: loyalty.clone() }
            .install(&jobs)
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let capture = crate::billing::capture::Capture::start(ctx.clone(), invoices.clone())
            .map_err(|e| StoreError::Load(format!("charge capture: {e}")))?;
        invoice_batches.follow(capture.clone());
        let statements = crate::billing::statements::Statements::new(ctx.clone(), jobs.clone(), messages.clone());
        jobs.register(crate::billing::statements::RUN_KIND, statements.run_handler())
            .map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        crate::billing::statements::install_attachments(&attachments, &invoices, &statements);
        crate::billing::estimates::install_attachments(&attachments, &estimates);
        let finance = crate::billing::finance::FinanceCharges::new(ctx.clone(), invoices.clone());
        finance.install(&jobs).map_err(|e| StoreError::Load(format!("the job handlers: {e}")))?;
        let documents = crate::clinical::documents::Documents::new(ctx.clone());
        // Started last: nothing after it can fail and leave it holding the store.
        jobs.start();
        Ok(System {
            idempotency,
            jobs,
            search,
            roles: roles.clone(),
            clients: Clients::new(ctx.clone()),
            patients: Patients::new(ctx.clone()),
            accounts,
            audit: AuditLog::new(ctx.clone()),
            devices: Devices::new(ctx.clone()),
            topics: crate::live::Topics::new(scheduling.book.clone()),
            scheduling,
            ctx,
            store_metrics,
            comms,
            messages,
            templates: crate::comms::templates::Templates::new(ctx_for_templates.clone()),
            tracking: crate::comms::tracking::Tracking::new(ctx_for_tracking, links.clone()),
            analytics: crate::comms::analytics::Analytics::new(ctx_for_analytics, calendar_for_analytics),
            links,
            automations,
            webhooks: crate::comms::webhooks::Webhooks::new(ctx_for_consent, consent.clone()),
            consent,
            batches,
            comms_log: crate::comms::stats::Log::new(ctx_for_templates.clone()),
            segments: crate::comms::segments::Segments::new(ctx_for_templates.clone()),
            campaigns,
            referrals: crate::comms::referrals::Referrals::new(ctx_for_templates.clone()),
            clinical_facts: crate::clinical::facts::ClinicalFacts::new(ctx_for_templates.clone()),
            vitals: crate::clinical::vitals::VitalsService::new(ctx_for_templates.clone()),
            wards,
            admissions,
            ward_boards,
            problems: crate::clinical::problems::Problems::new(ctx_for_templates.clone()),
            protocols: crate::clinical::protocols::Protocols::new(ctx_for_templates.clone()),
            treatment_plans,
            labs: crate::clinical::labs::LabImport::new(ctx_for_templates.clone()),
            consent_templates: crate::clinical::consent_forms::ConsentTemplates::new(ctx_for_templates.clone()),
            consent_forms: crate::clinical::consent_forms::ConsentForms::new(
                ctx_for_templates.clone(),
                documents.clone(),
                document_files.clone(),
            ),
            documents,
            document_files,
            drafts: crate::clinical::drafts::Drafts::new(ctx_for_templates.clone(), notes.clone()),
            timeline: crate::clinical::timeline::Timeline::new(ctx_for_templates.clone()),
            charts: crate::clinical::chart::Charts::new(ctx_for_templates.clone()),
            visits,
            notes,
            prescriptions: crate::clinical::prescriptions::Prescriptions::new(ctx_for_templates.clone()),
            controlled,
            vaccinations: crate::clinical::vaccinations::Vaccinations::new(ctx_for_templates.clone()),
            products: crate::inventory::products::Products::new(ctx_for_templates.clone()),
            vendors: crate::inventory::vendors::Vendors::new(ctx_for_templates.clone()),
            purchase_orders: crate::inventory::orders::PurchaseOrders::new(ctx_for_templates.clone()),
            stock,
            catalogue: crate::billing::catalogue::Catalogue::new(ctx_for_templates.clone()),
            invoices,
            estimates,
            plans,
            capture,
            loyalty,
            invoice_batches,
            print_batches,
            reports: crate::billing::reports::Reports::new(ctx_for_templates.clone()),
            accounting: crate::billing::accounting::Accounting::new(ctx_for_templates.clone()),
            statements,
            finance,
            started: Instant::now(),
            stopping: AtomicBool::new(false),
        })
    }

    /// Up to `limit` events of the log after sequence number `after`, in order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<clowder_schemas::events::Event>, StoreError> {
        self.ctx.store.read()?.events_after(after, limit)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.ctx.store
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Health of each component; the server is ready when all are ok.
    pub fn readiness(&self) -> Vec<ComponentHealth> {
        let store = &self.ctx.store;
        let store_ok = store.is_running() && store.read().is_ok();
        let stopping = self.stopping.load(Ordering::Acquire);
        vec![
            ComponentHealth {
                name: "store",
                ok: store_ok,
                detail: if store_ok { "open".into() } else { "closed or unreadable".into() },
            },
            ComponentHealth {
                name: "search",
                ok: !stopping && self.search.is_running(),
                detail: format!(
                    "{} documents, indexed through event {} of {}",
                    self.search.documents(),
                    self.search.indexed_seq(),
                    store.last_seq()
                ),
            },
            ComponentHealth {
                name: "actors",
                ok: !stopping,
                detail: if stopping {
                    "shutting down".into()
                } else {
                    format!("{} clients, {} patients live", self.clients.live(), self.patients.live())
                },
            },
        ]
    }

    /// Stops the actors and the background tasks, waits for the writes they started,
    /// commits what is queued and closes the store. When it returns the store file is closed
    /// and its lock released, so a restart or `clowder audit verify` can open it at once,
    /// whatever still holds an `Arc<System>`. A second call waits like the first.
    pub async fn shutdown(&self) {
        if !self.stopping.swap(true, Ordering::AcqRel) {
            // Mailboxes close: each actor finishes the message in hand and ends. Their
            // commits go through the store's queue, which `close` drains.
            self.clients.stop_all();
            self.accounts.stop_all();
            self.patients.stop_all();
            self.templates.stop_all();
            self.vitals.stop_all();
            self.wards.stop_all();
            self.admissions.stop_all();
            self.ward_boards.stop_all();
            self.problems.stop_all();
            self.protocols.stop_all();
            self.treatment_plans.stop_all();
            self.labs.stop_all();
            self.documents.stop_all();
            self.consent_templates.stop_all();
            self.consent_forms.records().stop_all();
            self.visits.stop_all();
            self.notes.stop_all();
            self.prescriptions.stop_all();
            self.vaccinations.stop_all();
            self.products.stop_all();
            self.vendors.stop_all();
            self.purchase_orders.stop_all();
            self.capture.stop().await;
            self.catalogue.stop_all();
            self.invoices.stop_all();
            self.estimates.stop_all();
            self.plans.stop_all();
            self.accounting.stop_all();
            self.scheduling.stop().await;
            self.search.stop().await;
            // Attempts in flight finish (or are dropped and run again at start).
            self.jobs.stop().await;
            // Writes started on their own (see `Ctx::tasks`) finish while the store is open.
            self.ctx.tasks.close();
            self.ctx.tasks.wait().await;
        }
        let store = self.ctx.store.clone();
        // A concurrent or later call waits in `close` until the first has closed the file.
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
}
