//! Referral codes and their rewards. Each client has a code (`XXXX-XXXX`) derived from their
//! id under the store's link key (HMAC-SHA-256, 40 bits in Crockford base32): nothing is
//! stored until it is used, and the same client always gets the same code, also on a restored
//! server. When a new client gives a code, a [`Referral`] (table `referrals`) records who
//! referred whom and the credit owed to the referrer; the front desk redeems it (no billing
//! yet). A client is referred at most once (unique value `referred_client`).
//!
//! Finding the referrer of a code recomputes the code of every client (one HMAC each: a
//! clinic's tens of thousands of clients take a few milliseconds), which spares an index
//! that every client creation would have to write. Referrals are few, so a client's are found
//! by scanning the table.

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ClientId;
use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::campaigns::{ClientReferrals, Referral, ReferralStatus, normalise_code};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::ReferralId;
use ring::hmac;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud is not misheard.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The code of `client` under `key`, without its dash (8 characters).
pub fn code_of(key: &hmac::Key, client: ClientId) -> String {
    let mut msg = b"referral:".to_vec();
    msg.extend_from_slice(&client.as_u128().to_be_bytes());
    let tag = hmac::sign(key, &msg);
    let mut bits = u64::from_be_bytes(tag.as_ref()[..8].try_into().unwrap_or([0; 8])) >> 24;
    let mut out = [0u8; 8];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `XXXXXXXX` as `XXXX-XXXX`.
pub fn display(code: &str) -> String {
    format!("{}-{}", &code[..4.min(code.len())], &code[4.min(code.len())..])
}

/// The referrals service.
#[derive(Clone)]
pub struct Referrals {
    ctx: Arc<Ctx>,
    key: hmac::Key,
    /// Serialises redemptions (read, check `owed`, write).
    write: Arc<tokio::sync::Mutex<()>>,
}

impl Referrals {
    pub fn new(ctx: Arc<Ctx>) -> Referrals {
        let key = hmac::Key::new(hmac::HMAC_SHA256, ctx.store.link_key());
        Referrals { ctx, key, write: Arc::new(tokio::sync::Mutex::new(())) }
    }

    /// A client's code and the referrals it brought, oldest first (audited: it names clients).
    pub async fn of_client(&self, client: ClientId, caller: &Caller) -> Result<ClientReferrals> {
        let r = self.ctx.store.read()?;
        r.get::<Client>(RecordTable::Clients, client.as_u128())?.ok_or(Error::ClientNotFound(client))?;
        let mut referrals = Vec::new();
        r.scan::<Referral>(RecordTable::Referrals, None, |x| {
            if x.referrer_id == client {
                referrals.push(x);
            }
            ControlFlow::Continue(())
        })?;
        drop(r);
        self.ctx.store.enqueue_audit(AuditDraft::new(caller, "referral.read").record("client", client)).await?;
        let owed = referrals.iter().filter(|x| x.status == ReferralStatus::Owed).count();
        Ok(ClientReferrals {
            client_id: client,
            code: display(&code_of(&self.key, client)),
            owed: u32::try_from(owed).unwrap_or(u32::MAX),
            referrals,
        })
    }

    /// Records that `referred` came through `code` (422 naming `code` for a code of no
    /// client or the client's own, `client_id` for an unknown or deactivated client; 409
    /// `duplicate_value` if the client was already referred).
    pub async fn record(&self, code: &str, referred: ClientId, credit: String, caller: &Caller) -> Result<Referral> {
        let r = self.ctx.store.read()?;
        let new_client = r
            .get::<Client>(RecordTable::Clients, referred.as_u128())?
            .ok_or_else(|| ValidationError::new("client_id", "no client has this id"))?;
        if !new_client.active {
            return Err(ValidationError::new("client_id", "the client is deactivated").into());
        }
        drop(r);
        let (set, x) = self.referral(code, "code", referred, credit, caller)?;
        self.ctx.store.commit(set).await?;
        Ok(x)
    }

    /// The referral of a client about to be created under `referred` with the code they gave
    /// (`referral_code` of `POST /api/clients`): its writes, for the client's own change set
    /// (422 naming `referral_code` for a malformed, unknown or ambiguous code).
    pub fn for_new_client(&self, code: &str, referred: ClientId, caller: &Caller) -> Result<ChangeSet> {
        Ok(self.referral(code, "referral_code", referred, "Referral credit".to_owned(), caller)?.0)
    }

    /// The client whose code is `code` (422 naming `field` otherwise).
    fn referrer(&self, code: &str, field: &str) -> Result<(ClientId, String)> {
        let wanted =
            normalise_code(code).ok_or_else(|| ValidationError::new(field, "must be a code like K7QF-93MX"))?;
        let r = self.ctx.store.read()?;
        let mut found = Vec::new();
        r.scan::<Client>(RecordTable::Clients, None, |c| {
            if code_of(&self.key, c.id) == wanted {
                found.push(c.id);
            }
            ControlFlow::Continue(())
        })?;
        match found.as_slice() {
            [one] => Ok((*one, wanted)),
            [] => Err(ValidationError::new(field, "no client has this code").into()),
            _ => Err(ValidationError::new(field, "this code is ambiguous; ask for the referrer's name").into()),
        }
    }

    /// The change set recording that `referred` came through `code`, and the referral.
    fn referral(
        &self,
        code: &str,
        field: &str,
        referred: ClientId,
        credit: String,
        caller: &Caller,
    ) -> Result<(ChangeSet, Referral)> {
        let (referrer, wanted) = self.referrer(code, field)?;
        if referrer == referred {
            return Err(ValidationError::new(field, "is the client's own code").into());
        }
        let id = ReferralId::from_ulid(self.ctx.new_ulid());
        let x = Referral {
            id,
            code: display(&wanted),
            referrer_id: referrer,
            referred_id: referred,
            credit,
            status: ReferralStatus::Owed,
            created_at: self.ctx.clock.now(),
            created_by: caller.user_id(),
            redeemed_at: None,
            redeemed_by: None,
        };
        let mut set = ChangeSet::new();
        set.claim(unique::REFERRED_CLIENT, &referred.to_string(), id.as_u128(), "client_id");
        set.put(RecordTable::Referrals, id.as_u128(), &x)?;
        set.audit(AuditDraft::new(caller, "referral.create").record("referral", id).detail(serde_json::json!({
            "referrer_id": referrer, "referred_id": referred,
        })));
        set.event(
            caller.author(),
            DomainEvent::ReferralUpdated { referral_id: id, referrer_id: referrer, status: ReferralStatus::Owed },
        );
        Ok((set, x))
    }

    /// The front desk gave the credit: `owed → redeemed` (409 if it already was).
    pub async fn redeem(&self, id: ReferralId, caller: &Caller) -> Result<Referral> {
        let _one = self.write.lock().await;
        let old = self
            .ctx
            .store
            .read()?
            .get::<Referral>(RecordTable::Referrals, id.as_u128())?
            .ok_or(Error::ReferralNotFound(id))?;
        if old.status == ReferralStatus::Redeemed {
            return Err(Error::ReferralRedeemed(id));
        }
        let x = Referral {
            status: ReferralStatus::Redeemed,
            redeemed_at: Some(self.ctx.clock.now()),
            redeemed_by: caller.user_id(),
            ..old
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Referrals, id.as_u128(), &x)?;
        set.audit(AuditDraft::new(caller, "referral.redeem").record("referral", id));
        set.event(
            caller.author(),
            DomainEvent::ReferralUpdated { referral_id: id, referrer_id: x.referrer_id, status: x.status },
        );
        self.ctx.store.commit(set).await?;
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_per_client_and_key_and_read_aloud_safely() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32]);
        let a = code_of(&key, ClientId::from_u128(1));
        assert_eq!(a, code_of(&key, ClientId::from_u128(1)));
        assert_ne!(a, code_of(&key, ClientId::from_u128(2)));
        assert_ne!(a, code_of(&hmac::Key::new(hmac::HMAC_SHA256, &[8u8; 32]), ClientId::from_u128(1)));
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|b| ALPHABET.contains(&b)), "{a}");
        assert_eq!(normalise_code(&display(&a)).as_deref(), Some(a.as_str()));
    }
}
