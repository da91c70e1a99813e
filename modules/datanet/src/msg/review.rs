//! `MsgReviewContribution`: a curator accepts a pending contribution with a quality
//! score (its reward weight is the quality times the fingerprint hashes it brings) or rejects it (part of its stake is slashed to the
//! datanet's treasury, by the terms it was submitted under).
use cnidarium::StateWrite;
use openledger_framework::amount::BPS;
use openledger_framework::events::typed;
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{ContributionStatus, MsgReviewContribution, MsgReviewContributionResponse};

use super::fields::{address, positive_id, required, text};
use crate::records::{amount_of, get_contribution, get_datanet, reject, set_status, status_name};
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{curators, error, merkle, reward_weight, state_key};

/// Without state: the curator, the contribution id, an acceptance's quality of 1 to
/// 10,000 bps, a rejection's reason.
pub fn check(m: &MsgReviewContribution) -> Result<Address, ChainError> {
    let curator = address(&m.curator, "curator")?;
    positive_id(m.contribution_id, "contribution_id")?;
    if m.accept {
        quality(m.quality_bps)?;
    } else {
        required(&m.reason, "reason")?;
    }
    Ok(curator)
}

fn quality(bps: u32) -> Result<(), ChainError> {
    if bps == 0 || u128::from(bps) > BPS {
        return Err(error::invalid_field(format!("quality_bps {bps} must be between 1 and 10000")));
    }
    Ok(())
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgReviewContribution,
    curator: &Address,
    ctx: MsgCtx,
) -> Result<MsgReviewContributionResponse, ChainError> {
    let p = state.datanet_params().await?;
    let mut c = get_contribution(state, m.contribution_id).await?;
    let mut d = get_datanet(state, c.datanet_id).await?;
    curators::require_bonded(state, &d, curator, &p).await?;
    if c.contributor == curator.to_string() {
        return Err(error::unauthorized("a curator cannot review their own contribution"));
    }
    if c.status != ContributionStatus::Pending as i32 {
        return Err(error::wrong_status(format!("contribution {} is {}, only pending ones are reviewed", c.id, status_name(c.status))));
    }
    c.reviewed_height = ctx.height;
    c.reviewer = curator.to_string();
    let resp = if m.accept {
        quality(m.quality_bps)?;
        if !m.reason.is_empty() {
            text(&m.reason, "reason", p.max_reason_length, false)?;
        }
        // Checked again: contributions accepted since this one was submitted may hold its
        // content now. Its weight counts the hashes it is first to bring.
        let (survey, new_hashes) =
            super::submit::admit(state, d.id, &d.fingerprint.unwrap_or_default(), p.max_fingerprint_sharing, &c.fingerprint).await?;
        let weight = reward_weight(m.quality_bps, new_hashes);
        c.quality_bps = m.quality_bps;
        c.weight = weight.to_string();
        c.position = d.tree_size;
        c.first_version = d.latest_version + 1;
        c.stake_release_height = ctx.height.saturating_add(p.challenge_window_blocks);
        d.tree_size += 1;
        d.accepted_count += 1;
        d.accepted_weight =
            amount_of(&d.accepted_weight)?.checked_add(weight).ok_or_else(|| error::invalid_field("datanet weight overflows"))?.to_string();
        let leaf = merkle::leaf_hash(c.id, &c.content_hash, weight);
        merkle::set_leaf(state, d.id, c.position, d.tree_size, leaf, d.latest_version + 1).await?;
        state.put_raw(state_key::release(c.stake_release_height, c.id), vec![]);
        survey.add(state, p.max_fingerprint_sharing, &c);
        set_status(state, &mut c, ContributionStatus::Accepted).await?;
        MsgReviewContributionResponse { weight: weight.to_string(), slashed: "0".into(), refunded: "0".into() }
    } else {
        text(&m.reason, "reason", p.max_reason_length, true)?;
        let (slashed, refunded) = reject(state, &mut c, m.reason.clone(), Some(ctx.msg_index)).await?;
        MsgReviewContributionResponse { weight: "0".into(), slashed: slashed.to_string(), refunded: refunded.to_string() }
    };
    state.put_contribution(&c);
    state.put_datanet(&d);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventContributionReviewed {
        contribution_id: c.id.to_string(),
        datanet_id: d.id.to_string(),
        curator: curator.to_string(),
        accepted: m.accept.to_string(),
        quality_bps: m.quality_bps.to_string(),
        weight: resp.weight.clone(),
        slashed: resp.slashed.clone(),
        refunded: resp.refunded.clone(),
    }));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(quality_bps: u32) -> MsgReviewContribution {
        MsgReviewContribution {
            curator: Address([1; 20]).to_string(),
            contribution_id: 1,
            accept: true,
            quality_bps,
            reason: String::new(),
        }
    }

    #[test]
    fn check_bounds_quality_and_requires_a_rejection_reason() {
        assert!(check(&accept(1)).is_ok() && check(&accept(10_000)).is_ok());
        for m in [
            accept(0),
            accept(10_001),
            MsgReviewContribution { contribution_id: 0, ..accept(5) },
            MsgReviewContribution { accept: false, quality_bps: 0, ..accept(5) },
        ] {
            let e = check(&m).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, 2), "{m:?}: {}", e.message);
        }
        let e = check(&MsgReviewContribution { curator: "x".into(), ..accept(5) }).unwrap_err();
        assert_eq!(e.code, 13);
    }
}
