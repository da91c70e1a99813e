//! Message responses as JSON (`{"@type": …, fields…}`), for the `msg_responses` of a
//! tx result: the new datanet id, contribution id, version and root, and so on.
use openledger_proto::openledger::attribution::v1 as at;
use openledger_proto::openledger::datanet::v1 as dn;
use openledger_proto::openledger::model::v1 as md;
use prost::Message;
use serde_json::{json, Value};

fn decoded<M: Message + Default + serde::Serialize>(type_url: &str, bytes: &[u8]) -> Value {
    let fields = M::decode(bytes).ok().and_then(|m| serde_json::to_value(m).ok());
    let mut v = json!({ "@type": type_url });
    if let (Some(Value::Object(fields)), Some(obj)) = (fields, v.as_object_mut()) {
        obj.extend(fields);
    }
    v
}

pub fn to_json(type_url: &str, bytes: &[u8]) -> Value {
    let f = match type_url.strip_prefix('/').unwrap_or(type_url) {
        "openledger.datanet.v1.MsgCreateDatanetResponse" => decoded::<dn::MsgCreateDatanetResponse>,
        "openledger.datanet.v1.MsgUpdateDatanetResponse" => decoded::<dn::MsgUpdateDatanetResponse>,
        "openledger.datanet.v1.MsgSubmitContributionResponse" => decoded::<dn::MsgSubmitContributionResponse>,
        "openledger.datanet.v1.MsgReviewContributionResponse" => decoded::<dn::MsgReviewContributionResponse>,
        "openledger.datanet.v1.MsgWithdrawContributionResponse" => decoded::<dn::MsgWithdrawContributionResponse>,
        "openledger.datanet.v1.MsgPublishVersionResponse" => decoded::<dn::MsgPublishVersionResponse>,
        "openledger.datanet.v1.MsgChallengeContributionResponse" => decoded::<dn::MsgChallengeContributionResponse>,
        "openledger.datanet.v1.MsgResolveChallengeResponse" => decoded::<dn::MsgResolveChallengeResponse>,
        "openledger.datanet.v1.MsgBondCuratorResponse" => decoded::<dn::MsgBondCuratorResponse>,
        "openledger.datanet.v1.MsgUnbondCuratorResponse" => decoded::<dn::MsgUnbondCuratorResponse>,
        "openledger.datanet.v1.MsgClaimCuratorRewardsResponse" => decoded::<dn::MsgClaimCuratorRewardsResponse>,
        "openledger.datanet.v1.MsgAppealChallengeResponse" => decoded::<dn::MsgAppealChallengeResponse>,
        "openledger.model.v1.MsgRegisterModelResponse" => decoded::<md::MsgRegisterModelResponse>,
        "openledger.model.v1.MsgUpdateModelResponse" => decoded::<md::MsgUpdateModelResponse>,
        "openledger.attribution.v1.MsgPayInferenceResponse" => decoded::<at::MsgPayInferenceResponse>,
        "openledger.attribution.v1.MsgSubmitAttributionResponse" => decoded::<at::MsgSubmitAttributionResponse>,
        "openledger.attribution.v1.MsgSubmitReceiptResponse" => decoded::<at::MsgSubmitReceiptResponse>,
        "openledger.model.v1.MsgWithdrawBondResponse" => decoded::<md::MsgWithdrawBondResponse>,
        "openledger.datanet.v1.MsgCommitContributionResponse" => decoded::<dn::MsgCommitContributionResponse>,
        "openledger.attribution.v1.MsgClaimRewardsResponse" => decoded::<at::MsgClaimRewardsResponse>,
        _ => return json!({ "@type": type_url }),
    };
    f(type_url, bytes)
}

/// The message responses of a tx, decoded for the types this client knows.
pub fn msg_responses(data: &[u8]) -> Vec<Value> {
    let Ok(d) = cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(data) else { return vec![] };
    d.msg_responses.iter().map(|a| to_json(&a.type_url, &a.value)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_responses_decode_to_proto3_json() {
        let r = dn::MsgPublishVersionResponse { version: 2, merkle_root: vec![0xff; 4] };
        assert_eq!(
            to_json("/openledger.datanet.v1.MsgPublishVersionResponse", &r.encode_to_vec()),
            json!({"@type": "/openledger.datanet.v1.MsgPublishVersionResponse", "version": "2", "merkle_root": "/////w=="})
        );
        assert_eq!(to_json("/cosmos.bank.v1beta1.MsgSendResponse", &[]), json!({"@type": "/cosmos.bank.v1beta1.MsgSendResponse"}));
    }
}
