//! `MsgPublishVersion`: the owner or a curator, bonded, freezes the accepted set into the next
//! version, committed by its Merkle root.
use cnidarium::StateWrite;
use openledger_framework::events::typed;
use openledger_framework::index::{be, IndexWrite};
use openledger_framework::{Address, ChainError, MsgCtx};
use openledger_proto::openledger::datanet::v1::{MsgPublishVersion, MsgPublishVersionResponse, Version};

use super::fields::{address, positive_id};
use crate::records::get_datanet;
use crate::state_ext::{DatanetRead, DatanetWrite};
use crate::{error, merkle, state_key};

/// Without state: the publisher and the datanet id.
pub fn check(m: &MsgPublishVersion) -> Result<Address, ChainError> {
    let publisher = address(&m.publisher, "publisher")?;
    positive_id(m.datanet_id, "datanet_id")?;
    Ok(publisher)
}

pub async fn execute<S: StateWrite>(
    state: &mut S,
    m: &MsgPublishVersion,
    publisher: &Address,
    ctx: MsgCtx,
) -> Result<MsgPublishVersionResponse, ChainError> {
    let mut d = get_datanet(state, m.datanet_id).await?;
    let p = state.datanet_params().await?;
    crate::curators::require_bonded(state, &d, publisher, &p).await?;
    if d.tree_size == 0 {
        return Err(error::nothing_to_publish(format!("datanet {} has no accepted contribution yet", d.id)));
    }
    let number = d.latest_version + 1;
    let root = merkle::root(state, d.id, d.tree_size).await?;
    if let Some(prev) = state.datanet_version(d.id, d.latest_version).await? {
        if prev.merkle_root == root && prev.contribution_count == d.tree_size {
            return Err(error::nothing_to_publish(format!("nothing changed in datanet {} since version {}", d.id, prev.version)));
        }
    }
    let v = Version {
        datanet_id: d.id,
        version: number,
        contribution_count: d.tree_size,
        total_weight: d.accepted_weight.clone(),
        merkle_root: root.to_vec(),
        height: ctx.height,
        publisher: publisher.to_string(),
    };
    state.put_version(&v);
    state.index_insert(&state_key::ix_versions(d.id), &be(number), be(number).to_vec()).await?;
    d.latest_version = number;
    state.put_datanet(&d);
    state.record(typed(openledger_proto::openledger::datanet::v1::EventVersionPublished {
        datanet_id: d.id.to_string(),
        version: number.to_string(),
        merkle_root: hex::encode(root),
        contribution_count: v.contribution_count.to_string(),
        total_weight: v.total_weight.clone(),
    }));
    Ok(MsgPublishVersionResponse { version: number, merkle_root: root.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_a_publisher_and_a_datanet() {
        let ok = MsgPublishVersion { publisher: Address([1; 20]).to_string(), datanet_id: 2 };
        assert!(check(&ok).is_ok());
        assert_eq!(check(&MsgPublishVersion { datanet_id: 0, ..ok.clone() }).unwrap_err().code, 2);
        assert_eq!(check(&MsgPublishVersion { publisher: String::new(), ..ok }).unwrap_err().code, 13);
    }
}
