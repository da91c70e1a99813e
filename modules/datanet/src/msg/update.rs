//! `MsgUpdateDatanet`: the owner changes a datanet's rules; contributions already made
//! keep the terms they were made under.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{MsgUpdateDatanet, MsgUpdateDatanetResponse};

use super::fields::{
    address, addresses, distinct_addresses, min_stake, model_terms, model_terms_shape, policy, policy_value, positive_id, tags, terms,
    text, uopen,
};
use crate::records::get_datanet;
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, state_key};

/// Without state: the owner, the datanet id, the curator and allow-list addresses, the
/// policy, the terms' basis points and the minimum stake's coin.
pub fn check(m: &MsgUpdateDatanet) -> Result<Address, ChainError> {
    let owner = address(&m.owner, "owner")?;
    positive_id(m.datanet_id, "datanet_id")?;
    if m.set_curators {
        distinct_addresses(&m.curators, "curators")?;
    }
    if m.set_allow_list {
        distinct_addresses(&m.allow_list, "allow_list")?;
    }
    if m.policy != 0 {
        policy_value(m.policy)?;
    }
    if m.terms.is_some() {
        terms(m.terms.as_ref())?;
    }
    if m.min_stake.is_some() {
        uopen(m.min_stake.as_ref(), "min_stake")?;
    }
    if let Some(t) = &m.model_terms {
        model_terms_shape(t)?;
    }
    if let Some(bps) = m.curators_bps {
        super::create::curators_bps(bps)?;
    }
    Ok(owner)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgUpdateDatanet,
    owner: &Address,
    ctx: MsgCtx,
) -> Result<MsgUpdateDatanetResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut d = get_datanet(state, m.datanet_id).await?;
    if d.owner != owner.to_string() {
        return Err(error::unauthorized(format!("only the owner {} may update datanet {}", d.owner, d.id)));
    }
    if let Some(desc) = &m.description {
        text(desc, "description", p.max_description_length, false)?;
        d.description = desc.clone();
    }
    if let Some(uri) = &m.metadata_uri {
        text(uri, "metadata_uri", p.max_uri_length, false)?;
        d.metadata_uri = uri.clone();
    }
    if m.set_tags {
        tags(&m.tags, &p)?;
        for t in &d.tags {
            state.index_remove(&state_key::ix_tag(t), &be(d.id)).await?;
        }
        for t in &m.tags {
            state.index_insert(&state_key::ix_tag(t), &be(d.id), be(d.id).to_vec()).await?;
        }
        d.tags = m.tags.clone();
    }
    if m.set_curators {
        let listed = addresses(&m.curators, "curators", p.max_curators)?;
        // A curator taken off the list stops earning and acting: its bond unbonds (and
        // stays slashable for the unbonding period, like any other).
        let removed: Vec<String> = d.curators.iter().filter(|c| !listed.contains(c) && **c != d.owner).cloned().collect();
        d.curators = listed;
        for who in removed {
            let who = address(&who, "curator")?;
            let mut b = crate::curators::bond(state, d.id, &who).await?;
            let bonded = crate::records::amount_of(&b.bonded)?;
            if bonded > 0 {
                crate::curators::unbond(state, &mut b, bonded, ctx.height, &p).await?;
            }
        }
    }
    if let Some(bps) = m.curators_bps {
        d.curators_bps = bps;
    }
    if m.set_allow_list {
        d.allow_list = addresses(&m.allow_list, "allow_list", p.max_allow_list)?;
    }
    if m.policy != 0 {
        d.policy = m.policy;
    }
    d.policy = policy(d.policy, &d.allow_list)? as i32;
    if m.min_stake.is_some() {
        d.min_stake = Some(min_stake(m.min_stake.as_ref(), &p)?);
    }
    if m.model_terms.is_some() {
        d.model_terms = Some(model_terms(m.model_terms.as_ref(), &p)?);
    }
    if m.terms.is_some() {
        d.terms = Some(terms(m.terms.as_ref())?);
    }
    state.put_datanet(&d);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventDatanetUpdated {
        datanet_id: d.id.to_string(),
        owner: d.owner.clone(),
    }));
    Ok(MsgUpdateDatanetResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> MsgUpdateDatanet {
        MsgUpdateDatanet { owner: Address([1; 20]).to_string(), datanet_id: 1, ..Default::default() }
    }

    #[test]
    fn check_refuses_each_malformed_field_with_its_code() {
        assert!(check(&valid()).is_ok());
        let coin = |denom: &str| Some(openledger_proto::cosmos::base::v1beta1::Coin { denom: denom.into(), amount: "1".into() });
        let cases: Vec<(MsgUpdateDatanet, u32)> = vec![
            (MsgUpdateDatanet { datanet_id: 0, ..valid() }, 2),
            (MsgUpdateDatanet { set_curators: true, curators: vec!["x".into()], ..valid() }, 13),
            (MsgUpdateDatanet { policy: 9, ..valid() }, 2),
            (MsgUpdateDatanet { min_stake: coin("uatom"), ..valid() }, 14),
        ];
        for (m, code) in cases {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{m:?}: {}", e.message);
        }
    }
}
