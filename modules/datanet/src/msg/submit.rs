//! `MsgSubmitContribution`: staked data offered to a datanet, revealing an earlier
//! commitment or not. The same content cannot be held twice in one datanet: the
//! earliest claim wins it (`claim_content`).
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, Amount, ChainError, MsgCtx, StoreRead, StoreWrite};
use openledger_proto::openledger::datanet::v1::{
    Contribution, ContributionPolicy, ContributionStatus, FingerprintParams, MsgSubmitContribution, MsgSubmitContributionResponse,
};
use openledger_token::state_ext::TokenWrite;
use openledger_token::{uopen_coin, DENOM};

use super::fields::{address, positive_id, required, text, uopen};
use crate::records::{get_contribution, get_datanet, index_contribution, reject};
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, fingerprint, fp_index, state_key, ESCROW};

/// Without state: the contributor, the datanet id, a 32-byte content hash, a positive
/// size, a URI, a fingerprint of sorted unique hashes, and the stake's coin.
pub fn check(m: &MsgSubmitContribution) -> Result<Address, ChainError> {
    let contributor = address(&m.contributor, "contributor")?;
    positive_id(m.datanet_id, "datanet_id")?;
    if m.content_hash.len() != 32 {
        return Err(error::invalid_field(format!("content_hash must be a 32-byte SHA-256, got {} bytes", m.content_hash.len())));
    }
    if m.size == 0 {
        return Err(error::invalid_field("size must be positive"));
    }
    required(&m.uri, "uri")?;
    if let Some(w) = m.fingerprint.windows(2).find(|w| w[0] >= w[1]) {
        return Err(error::invalid_fingerprint(format!("fingerprint hashes must be sorted and unique ({} before {})", w[0], w[1])));
    }
    uopen(m.stake.as_ref(), "stake")?;
    if !m.salt.is_empty() && !(16..=64).contains(&m.salt.len()) {
        return Err(error::invalid_field(format!("salt must be 16 to 64 bytes, got {}", m.salt.len())));
    }
    Ok(contributor)
}

/// The height this submission claims its content at: its commitment's (made in an
/// earlier block, and consumed), or this block's without a salt.
async fn claim_height<S: StateWrite>(
    state: &mut S,
    m: &MsgSubmitContribution,
    contributor: &Address,
    height: u64,
) -> Result<u64, ChainError> {
    if m.salt.is_empty() {
        return Ok(height);
    }
    let c = super::commit::commitment(m.datanet_id, contributor, &m.content_hash, &m.salt);
    let key = state_key::commitment(m.datanet_id, &c);
    let at = state
        .get_u64(&key)
        .await?
        .ok_or_else(|| error::not_found(format!("no commitment by {contributor} to this content and salt in datanet {}", m.datanet_id)))?;
    if at >= height {
        return Err(error::window_closed(format!("the commitment was made at height {at}: reveal it in a later block")));
    }
    state.delete(key);
    Ok(at)
}

/// Take the content key for a new contribution claimed at `claim`. Held by an accepted
/// (or invalidated, or pending with an earlier or equal claim) contribution: refused as
/// a duplicate. Held by a pending contribution with a later claim — a copy of a file
/// whose author committed first — that one is rejected in favour of the earlier claim,
/// its stake slashed by its terms. Returns the displaced contribution, if any.
async fn claim_content<S: StateWrite>(
    state: &mut S,
    datanet_id: u64,
    content_hash: &[u8],
    claim: u64,
    msg_index: u32,
) -> Result<Option<(Contribution, Amount, Amount)>, ChainError> {
    let Some(existing) = state.get_u64(&state_key::content(datanet_id, content_hash)).await? else { return Ok(None) };
    let mut e = get_contribution(state, existing).await?;
    let e_claim = if e.claim_height == 0 { e.submitted_height } else { e.claim_height };
    if e.status != ContributionStatus::Pending as i32 || e_claim <= claim {
        return Err(error::duplicate_content(format!(
            "content {} is already in datanet {datanet_id} as contribution {existing}",
            hex::encode(content_hash)
        )));
    }
    let (slashed, refunded) =
        reject(state, &mut e, format!("an earlier claim (height {claim}) to the same content was revealed"), Some(msg_index)).await?;
    state.put_contribution(&e);
    Ok(Some((e, slashed, refunded)))
}

/// Admit a fingerprint to the datanet, or refuse it: a near-duplicate of an accepted
/// contribution (`Survey::near_duplicate`: a case, whitespace or one-word edit of a file
/// already there, or a piece cut out of one), or content that brings no hash the datanet
/// does not already hold (its weight would be zero: copied, split-off or boilerplate
/// content earns nothing, so it is not taken). Returns the survey and its new hashes.
pub(crate) async fn admit<S: StoreRead>(
    state: &S,
    datanet_id: u64,
    fp: &FingerprintParams,
    max_sharing: u32,
    fingerprint: &[u64],
) -> Result<(fp_index::Survey, u64), ChainError> {
    if fingerprint.is_empty() {
        return Err(error::invalid_fingerprint(
            "the fingerprint is empty: a contribution's weight counts the fingerprint hashes it brings, so one \
             without any (under 8 words, or none sampled) cannot be weighed",
        ));
    }
    let survey = fp_index::Survey::read(state, datanet_id, fingerprint).await?;
    let threshold = fp_index::near_duplicate_bps(fp);
    if let Some((existing, shared)) = survey.near_duplicate(threshold) {
        return Err(error::near_duplicate(format!(
            "the fingerprint shares {shared} of its {} hashes with contribution {existing} of datanet {datanet_id} \
             (the datanet refuses {threshold} bps or more): a near-duplicate of contribution {existing}",
            fingerprint.len()
        )));
    }
    let new = survey.new_hashes(max_sharing);
    if new == 0 {
        return Err(error::nothing_new(format!(
            "none of the fingerprint's {} hashes is new to datanet {datanet_id}: each is held by an accepted \
             contribution or shared by more than {max_sharing} (boilerplate), so it would weigh nothing",
            fingerprint.len()
        )));
    }
    Ok((survey, new))
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgSubmitContribution,
    contributor: &Address,
    ctx: MsgCtx,
) -> Result<MsgSubmitContributionResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut d = get_datanet(state, m.datanet_id).await?;
    if d.policy == ContributionPolicy::AllowList as i32 && !d.allow_list.contains(&contributor.to_string()) {
        return Err(error::not_allowed(format!("{contributor} is not on the allow-list of datanet {}", d.id)));
    }
    text(&m.uri, "uri", p.max_uri_length, true)?;
    let fp = d.fingerprint.unwrap_or_default();
    fingerprint::check(&m.fingerprint, fp.modulus, fp.max_hashes).map_err(error::invalid_fingerprint)?;
    let stake = uopen(m.stake.as_ref(), "stake")?;
    let min = uopen(d.min_stake.as_ref(), "min_stake")?;
    if stake < min {
        return Err(error::insufficient_stake(format!("stake {stake}{DENOM} is below datanet {}'s minimum of {min}{DENOM}", d.id)));
    }
    let content_key = state_key::content(d.id, &m.content_hash);
    let claim = claim_height(state, m, contributor, ctx.height).await?;
    let displaced = claim_content(state, d.id, &m.content_hash, claim, ctx.msg_index).await?;
    admit(state, d.id, &fp, p.max_fingerprint_sharing, &m.fingerprint).await?;
    state.send_to_module(contributor, &ESCROW, stake, Some(ctx.msg_index)).await?;
    let id = state.take_id(state_key::NEXT_CONTRIBUTION_ID).await?;
    let c = Contribution {
        id,
        datanet_id: d.id,
        contributor: contributor.to_string(),
        content_hash: m.content_hash.clone(),
        size: m.size,
        uri: m.uri.clone(),
        fingerprint: m.fingerprint.clone(),
        stake: Some(uopen_coin(stake)),
        status: ContributionStatus::Pending as i32,
        weight: "0".into(),
        submitted_height: ctx.height,
        claim_height: claim,
        terms: d.terms,
        ..Default::default()
    };
    state.put_u64(content_key, id);
    index_contribution(state, &c, contributor).await?;
    state.put_contribution(&c);
    d.contribution_count += 1;
    state.put_datanet(&d);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventContributionSubmitted {
        contribution_id: id.to_string(),
        datanet_id: d.id.to_string(),
        contributor: c.contributor.clone(),
        content_hash: hex::encode(&c.content_hash),
        stake: stake.to_string(),
    }));
    if let Some((e, slashed, refunded)) = displaced {
        state.record(typed(openledger_proto::openledger::datanet::v1::EventContributionDisplaced {
            contribution_id: e.id.to_string(),
            datanet_id: d.id.to_string(),
            by_contribution_id: id.to_string(),
            slashed: slashed.to_string(),
            refunded: refunded.to_string(),
        }));
    }
    Ok(MsgSubmitContributionResponse { contribution_id: id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::cosmos::base::v1beta1::Coin;

    fn valid() -> MsgSubmitContribution {
        MsgSubmitContribution {
            contributor: Address([1; 20]).to_string(),
            datanet_id: 1,
            content_hash: vec![7; 32],
            size: 10,
            uri: "ipfs://x".into(),
            fingerprint: vec![64, 128],
            stake: Some(Coin { denom: "uopen".into(), amount: "1000".into() }),
            salt: vec![],
        }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let cases: Vec<(MsgSubmitContribution, u32)> = vec![
            (MsgSubmitContribution { contributor: String::new(), ..valid() }, 13),
            (MsgSubmitContribution { datanet_id: 0, ..valid() }, 2),
            (MsgSubmitContribution { salt: vec![1; 15], ..valid() }, 2),
            (MsgSubmitContribution { salt: vec![1; 65], ..valid() }, 2),
            (MsgSubmitContribution { content_hash: vec![7; 31], ..valid() }, 2),
            (MsgSubmitContribution { size: 0, ..valid() }, 2),
            (MsgSubmitContribution { uri: " ".into(), ..valid() }, 2),
            (MsgSubmitContribution { fingerprint: vec![128, 64], ..valid() }, 8),
            (MsgSubmitContribution { fingerprint: vec![64, 64], ..valid() }, 8),
            (MsgSubmitContribution { stake: None, ..valid() }, 14),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
