//! The attribution module in the registry: params, genesis import/export, its
//! queries, end-of-block default settlement, and the books check.
use cnidarium::{StateRead, StateWrite};
use futures::StreamExt;
use openledger_datanet::state_ext::DatanetRead;
use openledger_framework::events::typed;
use openledger_framework::index::{be, IndexRead, IndexWrite};
use openledger_framework::{sdk, Amount, BlockCtx, ChainError, Module, ModuleAccount, QueryRoute, StoreRead, StoreWrite};
use openledger_model::state_ext::ModelRead;
use openledger_proto::openledger::attribution::v1::*;
use openledger_token::state_ext::TokenRead;
use prost::Message;

use crate::msg::fields::address;
use crate::msg::AttributionMsg;
use crate::settle;
use crate::state_ext::{amount, AttributionRead, AttributionWrite, Books};
use crate::{error, escrow, rewards, state_key, ESCROW, REWARDS, SCALE};

/// Proof of attribution: paid inferences, reports, settlement, pools, claims.
pub struct AttributionModule;

impl Module for AttributionModule {
    const NAME: &'static str = "attribution";
    const MODULE_ACCOUNTS: &'static [ModuleAccount] = &[ESCROW, REWARDS];
    type Msg = AttributionMsg;
    type Genesis = GenesisState;

    fn query_routes() -> Vec<QueryRoute> {
        crate::query::routes()
    }

    async fn init_genesis<S: StateWrite>(state: &mut S, g: &GenesisState) -> Result<(), ChainError> {
        let p = g.params.unwrap_or_else(default_params);
        validate_params(&p).map_err(invalid)?;
        state.put_attribution_params(&p);
        let mut max_id = 0;
        for i in &g.inferences {
            if i.id == 0 || state.inference(i.id).await?.is_some() {
                return Err(invalid(format!("inference id {} is zero or repeated", i.id)));
            }
            if state.model(i.model_id).await?.is_none() {
                return Err(invalid(format!("inference {} names unknown model {}", i.id, i.model_id)));
            }
            let consumer = address(&i.consumer, "consumer").map_err(|e| invalid(format!("inference {}: {}", i.id, e.message)))?;
            match InferenceStatus::try_from(i.status) {
                Ok(InferenceStatus::Pending) => crate::state_ext::enqueue_due(state, i.report_deadline, i.id).await?,
                Ok(InferenceStatus::SettledReported | InferenceStatus::SettledDefault) => {}
                _ => return Err(invalid(format!("inference {}: status {} is not a real status", i.id, i.status))),
            }
            state.index_insert(&state_key::ix_model(i.model_id), &be(i.id), be(i.id).to_vec()).await?;
            state.index_insert(&state_key::ix_consumer(&consumer), &be(i.id), be(i.id).to_vec()).await?;
            state.put_inference(i);
            max_id = max_id.max(i.id);
        }
        state.put_u64(state_key::NEXT_INFERENCE_ID.to_string(), g.next_inference_id.max(max_id.saturating_add(1)));
        for pool in &g.pools {
            let v = state
                .datanet_version(pool.datanet_id, pool.version)
                .await?
                .ok_or_else(|| invalid(format!("pool names unknown version {}/{}", pool.datanet_id, pool.version)))?;
            let num = |s: &str, what: &str| amount(s, what).map_err(|e| invalid(e.message));
            let (w, version_w) = (num(&pool.total_weight, "total_weight")?, num(&v.total_weight, "version weight")?);
            let (paid_in, distributed, rem) =
                (num(&pool.paid_in, "paid_in")?, num(&pool.distributed, "distributed")?, num(&pool.remainder, "remainder")?);
            if w == 0 || w > version_w || paid_in.checked_mul(SCALE) != distributed.checked_add(rem) {
                return Err(invalid(format!(
                    "pool {}/{}: live weight {w} (version {version_w}) or paid_in × SCALE = distributed + remainder fails",
                    pool.datanet_id, pool.version
                )));
            }
            state.put_version_pool(pool);
        }
        let mut closed = std::collections::BTreeSet::new();
        for r in &g.rewards {
            if state.contribution(r.contribution_id).await?.is_none() {
                return Err(invalid(format!("rewards of unknown contribution {}", r.contribution_id)));
            }
            if r.pools_closed {
                closed.insert(r.contribution_id);
            }
            state.put_contribution_rewards(r);
        }
        // The pool trees follow from the pools and the invalidated contributions, whose
        // pools every committed state has closed.
        let contributions: Vec<openledger_proto::openledger::datanet::v1::Contribution> =
            state.all_protos(openledger_datanet::state_key::contribution_prefix()).await?;
        let invalidated: Vec<_> = contributions
            .into_iter()
            .filter(|c| c.status == openledger_proto::openledger::datanet::v1::ContributionStatus::Invalidated as i32)
            .collect();
        crate::pools::rebuild_trees(state, &g.pools, &invalidated).await?;
        // An invalidated contribution whose pools are not closed (a datanet imported
        // without its attribution state) had nothing to close: close them now, so no
        // later payment into its old versions accrues to it.
        for c in invalidated.iter().filter(|c| !closed.contains(&c.id)) {
            if crate::pools::earned(state, c).await? != 0 {
                return Err(invalid(format!("contribution {} is invalidated and earned from pools, but its pools are not closed", c.id)));
            }
            let mut r = state.contribution_rewards(c.id).await?;
            r.pools_closed = true;
            state.put_contribution_rewards(&r);
        }
        for h in &g.histories {
            // The history's length lives in the contribution's rewards record.
            let r = state.contribution_rewards(h.contribution_id).await?;
            if r.history_count != h.records.len() as u64 || state.index_count(&state_key::ix_history(h.contribution_id)).await? != 0 {
                return Err(invalid(format!(
                    "history of contribution {}: {} records, but its rewards record counts {} (or the history is listed twice)",
                    h.contribution_id,
                    h.records.len(),
                    r.history_count
                )));
            }
            for (seq, rec) in h.records.iter().enumerate() {
                state.index_append(&state_key::ix_history(h.contribution_id), seq as u64, rec.encode_to_vec());
            }
        }
        let with_history: std::collections::BTreeSet<u64> = g.histories.iter().map(|h| h.contribution_id).collect();
        for r in &g.rewards {
            if r.history_count > 0 && !with_history.contains(&r.contribution_id) {
                return Err(invalid(format!(
                    "rewards of contribution {} count {} history records, but it has no history",
                    r.contribution_id, r.history_count
                )));
            }
        }
        for s in &g.model_stats {
            state.put_model_stats(s);
        }
        for s in &g.datanet_stats {
            state.put_datanet_stats(s);
        }
        for pc in &g.paid_contributors {
            let a = address(&pc.contributor, "contributor").map_err(|e| invalid(e.message))?;
            state.put_raw(state_key::paid(pc.datanet_id, &a), vec![1]);
        }
        let books = Books::from_proto(&g.accounting.clone().unwrap_or_default()).map_err(|e| invalid(e.message))?;
        if !books.balanced() {
            return Err(invalid(format!("accounting does not balance: {books:?}")));
        }
        state.put_books(books);
        Ok(())
    }

    async fn export_genesis<S: StateRead>(state: &S) -> Result<GenesisState, ChainError> {
        let rewards: Vec<ContributionRewards> = state.all_protos(state_key::REWARDS).await?;
        let mut histories = Vec::new();
        {
            let stream = state.nonverifiable_prefix_raw(state_key::IX_HISTORY);
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let (key, v) = item?;
                let rest = &key[state_key::IX_HISTORY.len()..];
                let id = rest
                    .get(..8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| sdk::internal("corrupt history key"))?;
                let rec = EarningRecord::decode(v.as_slice()).map_err(|e| sdk::internal(format!("corrupt history record: {e}")))?;
                match histories.last_mut() {
                    Some(ContributionHistory { contribution_id, records }) if *contribution_id == id => records.push(rec),
                    _ => histories.push(ContributionHistory { contribution_id: id, records: vec![rec] }),
                }
            }
        }
        let mut paid_contributors = Vec::new();
        for key in raw_keys(state, state_key::PAID).await? {
            let mut parts = key.trim_start_matches(state_key::PAID).split('/');
            let datanet_id =
                parts.next().and_then(|h| u64::from_str_radix(h, 16).ok()).ok_or_else(|| sdk::internal(format!("corrupt key {key}")))?;
            paid_contributors.push(PaidContributor { datanet_id, contributor: parts.next().unwrap_or_default().to_string() });
        }
        Ok(GenesisState {
            params: Some(state.attribution_params().await?),
            inferences: state.all_protos(state_key::INFERENCES).await?,
            next_inference_id: state.next_inference_id().await?,
            pools: state.all_protos(state_key::POOLS).await?,
            rewards,
            histories,
            model_stats: state.all_protos(state_key::MODEL_STATS).await?,
            datanet_stats: state.all_protos(state_key::DATANET_STATS).await?,
            paid_contributors,
            accounting: Some(state.books().await?.to_proto()),
        })
    }

    /// Settle, by training weights alone, the inferences whose report window ended before
    /// `height` — at most `max_default_settlements_per_block`, oldest deadline first. The
    /// queue is walked deadline by deadline from a stored cursor, so a block never steps
    /// over the deletions of the queue's settled past.
    async fn end_block<S: StateWrite>(state: &mut S, ctx: &BlockCtx<'_>) -> Result<(), ChainError> {
        let height = ctx.height;
        // Whatever this block invalidated leaves the pools now: between blocks the
        // datanet's queue is empty.
        crate::pools::take_invalidations(state, height).await?;
        if state.get_u64(state_key::DUE_COUNT).await?.unwrap_or(0) == 0 {
            return Ok(());
        }
        let p = state.attribution_params().await?;
        let max = p.max_default_settlements_per_block as usize;
        let mut h = state.get_u64(state_key::DUE_CURSOR).await?.unwrap_or(0);
        let stop = height.min(h.saturating_add(MAX_DUE_HEIGHTS_PER_BLOCK));
        let mut settled = 0usize;
        while h < stop && settled < max {
            let mut ids: Vec<u64> = Vec::new();
            let mut exhausted = true;
            {
                let prefix = state_key::due_at(h);
                let stream = state.prefix_raw(&prefix);
                let mut stream = std::pin::pin!(stream);
                while let Some(item) = stream.next().await {
                    let (key, _) = item?;
                    if settled + ids.len() == max {
                        exhausted = false;
                        break;
                    }
                    let id = key
                        .strip_prefix(prefix.as_str())
                        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                        .ok_or_else(|| sdk::internal(format!("corrupt settlement queue key {key}")))?;
                    ids.push(id);
                }
            }
            for id in ids {
                settle_default(state, id, h, height).await?;
                settled += 1;
            }
            if !exhausted {
                break;
            }
            h += 1;
        }
        state.put_u64(state_key::DUE_CURSOR.to_string(), h);
        Ok(())
    }

    async fn check_invariants<S: StateRead>(state: &S) -> Result<(), String> {
        check_books(state).await.map(|_| ())
    }
}

pub fn default_params() -> Params {
    Params {
        report_window_blocks: 100,
        max_entries: 16,
        max_output_fingerprint: 1024,
        max_default_settlements_per_block: 100,
        max_claim_contributions: 100,
    }
}

pub fn validate_params(p: &Params) -> Result<(), String> {
    for (name, v) in [
        ("max_entries", p.max_entries),
        ("max_default_settlements_per_block", p.max_default_settlements_per_block),
        ("max_claim_contributions", p.max_claim_contributions),
    ] {
        if v == 0 {
            return Err(format!("params.{name} must be positive"));
        }
    }
    if p.report_window_blocks == 0 {
        return Err("params.report_window_blocks must be positive".into());
    }
    if p.max_output_fingerprint == 0 {
        return Err("params.max_output_fingerprint must be positive".into());
    }
    Ok(())
}

/// Heights of the settlement queue one end-block walks at most (empty ones included);
/// the cursor keeps the place, so every block's work is bounded.
const MAX_DUE_HEIGHTS_PER_BLOCK: u64 = 1000;

async fn settle_default<S: StateWrite>(state: &mut S, id: u64, deadline: u64, height: u64) -> Result<(), ChainError> {
    let mut inf = state.inference(id).await?.ok_or_else(|| sdk::internal(format!("queued inference {id} missing")))?;
    let (settlement, _) = settle::settle(state, &inf, settle::Credits::default(), height, None).await?;
    inf.status = InferenceStatus::SettledDefault as i32;
    inf.settled_height = height;
    inf.settlement = Some(settlement);
    state.put_inference(&inf);
    crate::state_ext::dequeue_due(state, deadline, id).await?;
    let mut stats = state.model_stats(inf.model_id).await?;
    stats.settled_default += 1;
    state.put_model_stats(&stats);
    state.record(typed(openledger_proto::openledger::attribution::v1::EventInferenceSettled {
        inference_id: id.to_string(),
        mode: "default".to_string(),
    }));
    Ok(())
}

/// Conservation, checked against the token balances and every record: the books
/// balance; the module accounts hold exactly what the books say; escrow is the fees of
/// pending inferences; credits are the contributions' credits; each pool's identity
/// `paid_in × SCALE = distributed + remainder` holds; what the pools took in less what
/// they paid out is what the books say they hold; and what contributions can claim
/// from the pools never exceeds what the pools hold (the difference is rounding dust,
/// less than one uopen per contribution and pool). Iterates everything: for tests and
/// audits, never for block execution. Returns the books and the dust.
pub async fn check_books<S: StateRead>(state: &S) -> Result<(Books, Amount), String> {
    let e = |e: ChainError| e.message;
    let books = state.books().await.map_err(e)?;
    if !books.balanced() {
        return Err(format!("books do not balance: {books:?}"));
    }
    let escrow_balance = state.balance(&escrow()).await.map_err(e)?;
    if escrow_balance != books.escrowed {
        return Err(format!("inference_escrow holds {escrow_balance}, the books say {}", books.escrowed));
    }
    let rewards_balance = state.balance(&rewards()).await.map_err(e)?;
    if Some(rewards_balance) != books.credits.checked_add(books.pools) {
        return Err(format!("attribution_rewards holds {rewards_balance}, the books say {} + {}", books.credits, books.pools));
    }
    let inferences: Vec<Inference> = state.all_protos(state_key::INFERENCES).await.map_err(e)?;
    let mut pending: Amount = 0;
    for i in &inferences {
        if i.status == InferenceStatus::Pending as i32 {
            pending += amount(i.fee.as_ref().map_or("", |c| c.amount.as_str()), "fee").map_err(e)?;
        }
    }
    if pending != books.escrowed {
        return Err(format!("pending fees sum to {pending}, escrowed is {}", books.escrowed));
    }
    let accounts: Vec<ContributionRewards> = state.all_protos(state_key::REWARDS).await.map_err(e)?;
    let credits: Amount = accounts.iter().map(|r| amount(&r.credit, "credit")).sum::<Result<Amount, _>>().map_err(e)?;
    if credits != books.credits {
        return Err(format!("credits sum to {credits}, the books say {}", books.credits));
    }
    let pools: Vec<VersionPool> = state.all_protos(state_key::POOLS).await.map_err(e)?;
    let mut pools_paid_in: Amount = 0;
    for p in &pools {
        let (paid_in, distributed, rem) = (
            amount(&p.paid_in, "paid_in").map_err(e)?,
            amount(&p.distributed, "distributed").map_err(e)?,
            amount(&p.remainder, "remainder").map_err(e)?,
        );
        if paid_in.checked_mul(SCALE) != distributed.checked_add(rem) {
            return Err(format!("pool {}/{} breaks paid_in × SCALE = distributed + remainder", p.datanet_id, p.version));
        }
        pools_paid_in += paid_in;
    }
    let pools_paid: Amount = accounts.iter().map(|r| amount(&r.pools_paid, "pools_paid")).sum::<Result<Amount, _>>().map_err(e)?;
    if pools_paid_in.checked_sub(pools_paid) != Some(books.pools) {
        return Err(format!("pools took in {pools_paid_in} and paid {pools_paid}, the books say {} remain", books.pools));
    }
    let contributions: Vec<openledger_proto::openledger::datanet::v1::Contribution> =
        state.all_protos(openledger_datanet::state_key::contribution_prefix()).await.map_err(e)?;
    let mut claimable: Amount = 0;
    for c in &contributions {
        claimable += settle::claimable(state, c).await.map_err(e)?.pools;
    }
    if claimable > books.pools {
        return Err(format!("contributions can claim {claimable} from pools holding {}", books.pools));
    }
    Ok((books, books.pools - claimable))
}

// ---------------------------------------------------------------- genesis

fn invalid(what: String) -> ChainError {
    error::invalid_genesis(what)
}

async fn raw_keys<S: StateRead>(state: &S, prefix: &str) -> Result<Vec<String>, ChainError> {
    let stream = state.prefix_raw(prefix);
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        out.push(item?.0);
    }
    Ok(out)
}
