//! `MsgCreateDatanet`: a new datanet, its rules fixed by its owner.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx, StoreWrite};
use openledger_proto::openledger::datanet::v1::{Datanet, FingerprintParams, MsgCreateDatanet, MsgCreateDatanetResponse};

use super::fields::{
    addresses, distinct_addresses, min_stake, model_terms, model_terms_shape, policy, policy_value, required, tags, terms, text, uopen,
};
use crate::records::index_datanet;
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, fingerprint, state_key, treasury};

/// Without state: the owner, a name, curator and allow-list addresses, the policy, the terms'
/// basis points, the minimum stake's coin and the fingerprint modulus.
pub fn check(m: &MsgCreateDatanet) -> Result<Address, ChainError> {
    let owner = super::fields::address(&m.owner, "owner")?;
    required(&m.name, "name")?;
    distinct_addresses(&m.curators, "curators")?;
    distinct_addresses(&m.allow_list, "allow_list")?;
    policy_value(m.policy)?;
    terms(m.terms.as_ref())?;
    if m.min_stake.is_some() {
        uopen(m.min_stake.as_ref(), "min_stake")?;
    }
    if let Some(fp) = &m.fingerprint {
        modulus(fp.modulus)?;
    }
    if let Some(t) = &m.model_terms {
        model_terms_shape(t)?;
    }
    curators_bps(m.curators_bps)?;
    Ok(owner)
}

/// The curators' share of the owner's income: 0..=10000 bps.
pub(crate) fn curators_bps(bps: u32) -> Result<(), ChainError> {
    if u128::from(bps) > openledger_framework::amount::BPS {
        return Err(error::invalid_field(format!("curators_bps {bps} must be at most 10000")));
    }
    Ok(())
}

fn modulus(m: u64) -> Result<(), ChainError> {
    if m == 0 || !m.is_power_of_two() {
        return Err(error::invalid_fingerprint(format!("fingerprint modulus {m} must be a power of two")));
    }
    Ok(())
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgCreateDatanet,
    owner: &Address,
    ctx: MsgCtx,
) -> Result<MsgCreateDatanetResponse, ChainError> {
    let p = state.datanet_params().await?;
    text(&m.name, "name", p.max_name_length, true)?;
    text(&m.description, "description", p.max_description_length, false)?;
    text(&m.metadata_uri, "metadata_uri", p.max_uri_length, false)?;
    tags(&m.tags, &p)?;
    let curators = addresses(&m.curators, "curators", p.max_curators)?;
    let allow_list = addresses(&m.allow_list, "allow_list", p.max_allow_list)?;
    let policy = policy(m.policy, &allow_list)?;
    let min_stake = min_stake(m.min_stake.as_ref(), &p)?;
    let terms = terms(m.terms.as_ref())?;
    let model_terms = model_terms(m.model_terms.as_ref(), &p)?;
    let mut fp = m.fingerprint.unwrap_or(FingerprintParams {
        modulus: fingerprint::DEFAULT_MODULUS,
        max_hashes: fingerprint::DEFAULT_MAX_HASHES.min(p.max_fingerprint_hashes),
        near_duplicate_bps: 0,
    });
    fp.near_duplicate_bps = crate::fp_index::near_duplicate_bps(&fp);
    modulus(fp.modulus)?;
    if fp.near_duplicate_bps > 10_000 {
        return Err(error::invalid_fingerprint(format!("near_duplicate_bps {} must be at most 10000", fp.near_duplicate_bps)));
    }
    if fp.max_hashes == 0 || fp.max_hashes > p.max_fingerprint_hashes {
        return Err(error::invalid_fingerprint(format!(
            "fingerprint max_hashes {} must be between 1 and {}",
            fp.max_hashes, p.max_fingerprint_hashes
        )));
    }
    let id = state.take_id(state_key::NEXT_DATANET_ID).await?;
    let d = Datanet {
        id,
        owner: owner.to_string(),
        name: m.name.clone(),
        description: m.description.clone(),
        tags: m.tags.clone(),
        metadata_uri: m.metadata_uri.clone(),
        curators,
        policy: policy as i32,
        allow_list,
        min_stake: Some(min_stake),
        terms: Some(terms),
        fingerprint: Some(fp),
        treasury: treasury(id).to_string(),
        created_height: ctx.height,
        latest_version: 0,
        contribution_count: 0,
        accepted_count: 0,
        accepted_weight: "0".into(),
        tree_size: 0,
        model_terms: Some(model_terms),
        curators_bps: m.curators_bps,
    };
    index_datanet(state, &d).await?;
    state.put_datanet(&d);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventDatanetCreated {
        datanet_id: id.to_string(),
        owner: d.owner.clone(),
        name: d.name.clone(),
        treasury: d.treasury.clone(),
    }));
    Ok(MsgCreateDatanetResponse { id, treasury: d.treasury })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openledger_proto::openledger::datanet::v1::ContributionTerms;

    fn valid() -> MsgCreateDatanet {
        MsgCreateDatanet { owner: Address([1; 20]).to_string(), name: "n".into(), policy: 1, ..Default::default() }
    }

    #[test]
    fn check_accepts_a_plain_datanet_and_returns_the_owner() {
        assert_eq!(check(&valid()).unwrap(), Address([1; 20]));
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        let cases: Vec<(MsgCreateDatanet, u32)> = vec![
            (MsgCreateDatanet { owner: "nope".into(), ..valid() }, 13),
            (MsgCreateDatanet { name: String::new(), ..valid() }, 2),
            (MsgCreateDatanet { curators: vec!["open1xyz".into()], ..valid() }, 13),
            (MsgCreateDatanet { allow_list: vec![Address([2; 20]).to_string(); 2], policy: 2, ..valid() }, 2),
            (MsgCreateDatanet { policy: 7, ..valid() }, 2),
            (MsgCreateDatanet { terms: Some(ContributionTerms { reject_slash_bps: 10_001, challenge_reward_bps: 0 }), ..valid() }, 2),
            (MsgCreateDatanet { fingerprint: Some(FingerprintParams { modulus: 3, max_hashes: 1, near_duplicate_bps: 0 }), ..valid() }, 8),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
