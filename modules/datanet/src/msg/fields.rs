//! Field checks the datanet messages share. The stateless ones run at decode; those
//! that compare against the module's params run in execution.
use openledger_framework::amount::BPS;
use openledger_framework::{Address, Amount, ChainError};
use openledger_proto::cosmos::base::v1beta1::Coin;
use openledger_proto::openledger::datanet::v1::{ContributionPolicy, ContributionTerms, ModelTerms, Params};
use openledger_token::{uopen_coin, DENOM};

use crate::error;

openledger_framework::field_checks!(invalid_field: error::invalid_field, invalid_address: error::invalid_address, invalid_coins: error::invalid_coins);

pub(crate) fn tags(tags: &[String], p: &Params) -> Result<(), ChainError> {
    if tags.len() > p.max_tags as usize {
        return Err(error::invalid_field(format!("{} tags, the maximum is {}", tags.len(), p.max_tags)));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.is_empty()
            || t.len() > p.max_tag_length as usize
            || !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(error::invalid_field(format!("tag {t:?} must be 1 to {} characters of a-z, 0-9 and -", p.max_tag_length)));
        }
        if tags[..i].contains(t) {
            return Err(error::invalid_field(format!("tag {t:?} is listed twice")));
        }
    }
    Ok(())
}

/// A list of distinct valid addresses (stateless; the count is checked against the
/// params in execution).
pub(crate) fn distinct_addresses(list: &[String], what: &str) -> Result<Vec<Address>, ChainError> {
    let mut out: Vec<Address> = Vec::with_capacity(list.len());
    for s in list {
        let a = address(s, what)?;
        if out.contains(&a) {
            return Err(error::invalid_field(format!("{what}: {s} is listed twice")));
        }
        out.push(a);
    }
    Ok(out)
}

/// A list of distinct addresses, at most `max`, in canonical (lower-case bech32) form:
/// what is stored is what membership checks compare against.
pub(crate) fn addresses(list: &[String], what: &str, max: u32) -> Result<Vec<String>, ChainError> {
    if list.len() > max as usize {
        return Err(error::invalid_field(format!("{} {what}, the maximum is {max}", list.len())));
    }
    Ok(distinct_addresses(list, what)?.iter().map(Address::to_string).collect())
}

/// Contribution terms, defaulted; basis points at most 10,000.
pub(crate) fn terms(t: Option<&ContributionTerms>) -> Result<ContributionTerms, ChainError> {
    let t = t.copied().unwrap_or(ContributionTerms { reject_slash_bps: 0, challenge_reward_bps: 5000 });
    if u128::from(t.reject_slash_bps) > BPS || u128::from(t.challenge_reward_bps) > BPS {
        return Err(error::invalid_field("terms: basis points must be at most 10000"));
    }
    Ok(t)
}

/// Model terms without state: a contributors' minimum of at most 10,000 bps and distinct
/// valid owner addresses.
pub(crate) fn model_terms_shape(t: &ModelTerms) -> Result<(), ChainError> {
    if u128::from(t.min_contributors_bps) > BPS {
        return Err(error::invalid_field(format!("model_terms: min_contributors_bps {} is more than 10000", t.min_contributors_bps)));
    }
    distinct_addresses(&t.allowed_model_owners, "model_terms.allowed_model_owners")?;
    Ok(())
}

/// Model terms as stored: given ones checked (at most `max` owners, in canonical form),
/// or the chain's default minimum share for any owner.
pub(crate) fn model_terms(t: Option<&ModelTerms>, p: &Params) -> Result<ModelTerms, ChainError> {
    let Some(t) = t else { return Ok(ModelTerms { min_contributors_bps: p.default_min_contributors_bps, allowed_model_owners: vec![] }) };
    model_terms_shape(t)?;
    Ok(ModelTerms {
        min_contributors_bps: t.min_contributors_bps,
        allowed_model_owners: addresses(&t.allowed_model_owners, "model_terms.allowed_model_owners", p.max_allow_list)?,
    })
}

/// A policy value that names a policy (0 is "not given" where the field is optional).
pub(crate) fn policy_value(p: i32) -> Result<(), ChainError> {
    match ContributionPolicy::try_from(p) {
        Ok(ContributionPolicy::Open | ContributionPolicy::AllowList) => Ok(()),
        _ => Err(error::invalid_field(format!("policy {p} is neither OPEN (1) nor ALLOW_LIST (2)"))),
    }
}

pub(crate) fn policy(p: i32, allow_list: &[String]) -> Result<ContributionPolicy, ChainError> {
    match ContributionPolicy::try_from(p) {
        Ok(ContributionPolicy::Open) if allow_list.is_empty() => Ok(ContributionPolicy::Open),
        Ok(ContributionPolicy::Open) => Err(error::invalid_field("an allow-list needs policy CONTRIBUTION_POLICY_ALLOW_LIST")),
        Ok(ContributionPolicy::AllowList) => Ok(ContributionPolicy::AllowList),
        _ => Err(error::invalid_field(format!("policy {p} is neither OPEN (1) nor ALLOW_LIST (2)"))),
    }
}

/// A datanet's minimum stake: the coin given (or the chain's floor), at least the floor.
pub(crate) fn min_stake(c: Option<&Coin>, p: &Params) -> Result<Coin, ChainError> {
    let floor: Amount = p.min_stake_floor.parse().unwrap_or(0);
    let amount = match c {
        None => floor,
        Some(_) => uopen(c, "min_stake")?,
    };
    if amount < floor {
        return Err(error::insufficient_stake(format!("min_stake {amount}{DENOM} is below the chain's floor of {floor}{DENOM}")));
    }
    Ok(uopen_coin(amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_addresses_refuses_a_repeat_and_a_bad_address() {
        let a = Address([1; 20]).to_string();
        assert_eq!(distinct_addresses(std::slice::from_ref(&a), "curators").unwrap(), vec![Address([1; 20])]);
        let e = distinct_addresses(&[a.clone(), a.clone()], "curators").unwrap_err();
        assert_eq!((e.codespace, e.code), (error::CODESPACE, 2), "{}", e.message);
        let e = distinct_addresses(&["open1xyz".into()], "curators").unwrap_err();
        assert_eq!((e.codespace, e.code), (error::CODESPACE, 13), "{}", e.message);
    }

    #[test]
    fn terms_and_policy_values_are_bounded() {
        assert!(terms(Some(&ContributionTerms { reject_slash_bps: 10_000, challenge_reward_bps: 0 })).is_ok());
        assert!(terms(Some(&ContributionTerms { reject_slash_bps: 10_001, challenge_reward_bps: 0 })).is_err());
        assert!(policy_value(1).is_ok() && policy_value(2).is_ok());
        assert!(policy_value(0).is_err() && policy_value(3).is_err());
        assert!(positive_id(0, "id").is_err() && positive_id(1, "id").is_ok());
        assert!(required(" ", "reason").is_err() && required("x", "reason").is_ok());
    }

    #[test]
    fn model_terms_default_to_the_chain_minimum_and_refuse_bad_values() {
        let p = crate::component::default_params();
        let d = model_terms(None, &p).unwrap();
        assert_eq!((d.min_contributors_bps, d.allowed_model_owners.len()), (p.default_min_contributors_bps, 0));
        assert!(p.default_min_contributors_bps > 0, "a datanet created without terms is not free to train on");
        let a = Address([3; 20]).to_string();
        let ok = ModelTerms { min_contributors_bps: 10_000, allowed_model_owners: vec![a.clone()] };
        assert_eq!(model_terms(Some(&ok), &p).unwrap(), ok);
        for (bad, code) in [
            (ModelTerms { min_contributors_bps: 10_001, allowed_model_owners: vec![] }, 2),
            (ModelTerms { min_contributors_bps: 0, allowed_model_owners: vec![a.clone(), a.clone()] }, 2),
            (ModelTerms { min_contributors_bps: 0, allowed_model_owners: vec!["open1nope".into()] }, 13),
        ] {
            let e = model_terms(Some(&bad), &p).unwrap_err();
            assert_eq!((e.codespace, e.code), (error::CODESPACE, code), "{bad:?}: {}", e.message);
        }
    }
}
