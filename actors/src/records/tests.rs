//! The generic actor and service in process, on a store in a temporary directory: what every
//! kind gets without writing it (claims and links diffed and committed, no write for a
//! decision of "nothing changes", one not-found error).

use std::sync::Arc;

use clowder_schemas::audit::Caller;
use clowder_schemas::clients::{CreateClient, UpdateClient};
use clowder_schemas::patients::{CreatePatient, UpdatePatient};
use clowder_schemas::{ClientId, PatientId};
use jiff::Timestamp;

use crate::clock::ManualClock;
use crate::ctx::{Ctx, SystemConfig};
use crate::error::Error;
use crate::metrics::StoreMetrics;
use crate::people::clients::{ClientFilter, Clients};
use crate::people::patients::{PatientFilter, Patients};
use crate::store::tables::unique;
use crate::store::{Store, StoreConfig};

fn ctx(dir: &std::path::Path) -> Arc<Ctx> {
    let config = SystemConfig::new(dir);
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_790_000_000).unwrap()));
    let store_config =
        StoreConfig { path: config.store_path(), clinic_id: "test".into(), cache_bytes: 8 << 20, journal: None };
    let store = Store::open(&store_config, clock.clone(), StoreMetrics::default()).unwrap();
    Arc::new(Ctx::new(store, clock, config))
}

async fn close(ctx: Arc<Ctx>) {
    let store = ctx.store.clone();
    tokio::task::spawn_blocking(move || store.close()).await.unwrap();
}

fn client(last_name: &str, email: &str) -> clowder_schemas::clients::ClientDraft {
    let body: CreateClient = serde_json::from_value(
        serde_json::json!({ "first_name": "Ada", "last_name": last_name, "phone": "5550142", "email": email }),
    )
    .unwrap();
    body.validate("1").unwrap()
}

#[tokio::test]
async fn a_patch_that_changes_nothing_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let clients = Clients::new(ctx.clone());
    let ada = clients.create(client("Byron", "ada@example.com"), &Caller::system()).await.unwrap();
    let seq = ctx.store.last_seq();
    let same = serde_json::from_value::<UpdateClient>(serde_json::json!({ "last_name": "Byron" })).unwrap();
    assert_eq!(clients.update(ada.id, same, &Caller::system()).await.unwrap(), ada);
    assert_eq!(ctx.store.last_seq(), seq, "no event, so no change set");
    let renamed = serde_json::from_value::<UpdateClient>(serde_json::json!({ "last_name": "Lovelace" })).unwrap();
    assert_eq!(clients.update(ada.id, renamed, &Caller::system()).await.unwrap().last_name, "Lovelace");
    assert_eq!(ctx.store.last_seq(), seq + 1);
    close(ctx).await;
}

#[tokio::test]
async fn a_changed_email_is_released_for_others_and_the_new_one_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let clients = Clients::new(ctx.clone());
    let ada = clients.create(client("Byron", "ada@example.com"), &Caller::system()).await.unwrap();
    let e = clients.create(client("King", "ada@example.com"), &Caller::system()).await.unwrap_err();
    assert!(matches!(e, Error::Duplicate { field: "email" }), "{e:?}");

    let patch = serde_json::from_value::<UpdateClient>(serde_json::json!({ "email": "ada@lovelace.org" })).unwrap();
    clients.update(ada.id, patch, &Caller::system()).await.unwrap();
    let king = clients.create(client("King", "ada@example.com"), &Caller::system()).await.unwrap();
    let reader = ctx.store.read().unwrap();
    assert_eq!(reader.unique_owner(unique::CLIENT_EMAIL, "ada@example.com").unwrap(), Some(king.id.as_u128()));
    assert_eq!(reader.unique_owner(unique::CLIENT_EMAIL, "ada@lovelace.org").unwrap(), Some(ada.id.as_u128()));
    drop(reader);
    close(ctx).await;
}

#[tokio::test]
async fn moving_a_cat_moves_its_index_entry_and_lists_follow_it() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let (clients, patients) = (Clients::new(ctx.clone()), Patients::new(ctx.clone()));
    let ada = clients.create(client("Byron", "ada@example.com"), &Caller::system()).await.unwrap();
    let king = clients.create(client("King", "king@example.com"), &Caller::system()).await.unwrap();
    let body: CreatePatient =
        serde_json::from_value(serde_json::json!({ "client_id": ada.id, "name": "Miso" })).unwrap();
    let miso = patients.create(body.validate(ctx.today()).unwrap(), &Caller::system()).await.unwrap();

    let cats_of = |owner: ClientId| {
        let filter = PatientFilter { client_id: Some(owner), ..PatientFilter::default() };
        patients.list_unaudited(&filter, None, 10).unwrap().0.into_iter().map(|p| p.id).collect::<Vec<PatientId>>()
    };
    assert_eq!((cats_of(ada.id), cats_of(king.id)), (vec![miso.id], vec![]));
    let patch = serde_json::from_value::<UpdatePatient>(serde_json::json!({ "client_id": king.id })).unwrap();
    patients.update(miso.id, patch, &Caller::system()).await.unwrap();
    assert_eq!((cats_of(ada.id), cats_of(king.id)), (vec![], vec![miso.id]));
    close(ctx).await;
}

#[tokio::test]
async fn an_unknown_id_is_the_kinds_not_found_and_pages_continue_after_their_last_item() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let clients = Clients::new(ctx.clone());
    let nobody = ClientId::from_u128(42);
    assert!(matches!(clients.get(nobody, &Caller::system()).await, Err(Error::ClientNotFound(id)) if id == nobody));
    assert!(matches!(clients.deactivate(nobody, &Caller::system()).await, Err(Error::ClientNotFound(_))));
    assert!(matches!(clients.peek(nobody), Err(Error::ClientNotFound(_))));

    let mut ids = Vec::new();
    for (i, name) in ["A", "B", "C"].iter().enumerate() {
        let id = ClientId::from_u128(100 + i as u128);
        ids.push(
            clients
                .create_with_id(id, client(name, &format!("{name}@example.com")), &Caller::system())
                .await
                .unwrap()
                .id,
        );
    }
    let all = ClientFilter::default();
    let (first, next) = clients.list_unaudited(&all, None, 2).unwrap();
    assert_eq!((first.iter().map(|c| c.id).collect::<Vec<_>>(), next), (ids[..2].to_vec(), Some(ids[1].as_u128())));
    let (rest, next) = clients.list_unaudited(&all, next, 2).unwrap();
    assert_eq!((rest.iter().map(|c| c.id).collect::<Vec<_>>(), next), (ids[2..].to_vec(), None));
    close(ctx).await;
}

#[tokio::test]
async fn newest_first_pages_walk_an_index_backwards_and_continue_below_their_last_item() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let (clients, patients) = (Clients::new(ctx.clone()), Patients::new(ctx.clone()));
    let ada = clients.create(client("Byron", "ada@example.com"), &Caller::system()).await.unwrap();
    let other = clients.create(client("King", "king@example.com"), &Caller::system()).await.unwrap();
    let mut ids = Vec::new();
    for (i, owner) in [ada.id, other.id, ada.id, ada.id].into_iter().enumerate() {
        let body: CreatePatient =
            serde_json::from_value(serde_json::json!({ "client_id": owner, "name": format!("Cat {i}") })).unwrap();
        let id = PatientId::from_u128(1_000 + i as u128);
        let cat = patients.create_with_id(id, body.validate(ctx.today()).unwrap(), &Caller::system()).await.unwrap();
        if owner == ada.id {
            ids.push(cat.id);
        }
    }
    ids.reverse();
    let filter = PatientFilter { client_id: Some(ada.id), ..PatientFilter::default() };
    let (first, next) = patients.list_newest_first_unaudited(&filter, None, 2).unwrap();
    assert_eq!((first.iter().map(|p| p.id).collect::<Vec<_>>(), next), (ids[..2].to_vec(), Some(ids[1].as_u128())));
    let (rest, next) = patients.list_newest_first_unaudited(&filter, next, 2).unwrap();
    assert_eq!((rest.iter().map(|p| p.id).collect::<Vec<_>>(), next), (ids[2..].to_vec(), None));
    // Without an index, the table is scanned backwards the same way.
    let (all, _) = patients.list_newest_first_unaudited(&PatientFilter::default(), None, 10).unwrap();
    assert_eq!(all.first().map(|p| p.id), Some(PatientId::from_u128(1_003)));
    close(ctx).await;
}
