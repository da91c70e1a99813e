//! The hashing of a datanet's version tree, and the offline check of an inclusion
//! proof against a version's root: a binary Merkle tree of depth 32 over positions
//! 0..2^32.
//!
//! - leaf = SHA-256(0x00 ‖ contribution id (u64 BE) ‖ content hash ‖ weight (u128 BE));
//!   an empty position is 32 zero bytes;
//! - node = SHA-256(0x01 ‖ left ‖ right).
//!
//! Pure functions, no storage: the chain (`openledger_datanet::merkle`, which keeps the
//! tree incrementally in its store) and clients checking a proof share them.
use openledger_proto::openledger::datanet::v1::InclusionProof;
use sha2::{Digest, Sha256};

pub const DEPTH: usize = 32;
pub type Hash = [u8; 32];

pub fn leaf_hash(contribution_id: u64, content_hash: &[u8], weight: u128) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(contribution_id.to_be_bytes());
    h.update(content_hash);
    h.update(weight.to_be_bytes());
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `empty(l)` = root of an empty subtree of height `l`.
pub fn empty(level: usize) -> Hash {
    let mut z = [0u8; 32];
    for _ in 0..level {
        z = node_hash(&z, &z);
    }
    z
}

/// `empties()[l]` = `empty(l)` for every level, computed once.
pub fn empties() -> [Hash; DEPTH + 1] {
    let mut out = [[0u8; 32]; DEPTH + 1];
    for l in 1..=DEPTH {
        out[l] = node_hash(&out[l - 1], &out[l - 1]);
    }
    out
}

/// Fold a leaf and its siblings (leaf level first) into the root.
pub fn root_from_path(leaf: Hash, position: u64, siblings: &[Hash]) -> Hash {
    let mut acc = leaf;
    for (level, s) in siblings.iter().enumerate() {
        acc = if (position >> level) & 1 == 1 { node_hash(s, &acc) } else { node_hash(&acc, s) };
    }
    acc
}

/// Check a proof offline: the leaf, folded with the siblings, gives the root.
pub fn verify(proof: &InclusionProof) -> Result<(), String> {
    let weight: u128 = proof.weight.parse().map_err(|_| format!("weight {:?} is not an integer", proof.weight))?;
    if proof.siblings.len() != DEPTH {
        return Err(format!("{} siblings, expected {DEPTH}", proof.siblings.len()));
    }
    if proof.position >= 1 << DEPTH {
        return Err(format!("position {} is outside the tree", proof.position));
    }
    let siblings = proof
        .siblings
        .iter()
        .map(|s| <Hash>::try_from(s.as_slice()).map_err(|_| "a sibling is not 32 bytes".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = leaf_hash(proof.contribution_id, &proof.content_hash, weight);
    let root = root_from_path(leaf, proof.position, &siblings);
    if root.as_slice() == proof.root.as_slice() {
        Ok(())
    } else {
        Err(format!("proof gives root {}, the version's root is {}", hex::encode(root), hex::encode(&proof.root)))
    }
}

/// The root of the tree holding exactly `leaves` at positions 0, 1, …, computed level by
/// level from all of them (O(n)): what the incremental version tree must agree with,
/// and how a client holding a whole version's leaves recomputes its root.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let z = empties();
    let mut level: Vec<Hash> = leaves.to_vec();
    for l in 0..DEPTH {
        if level.is_empty() {
            return z[DEPTH];
        }
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            let right = pair.get(1).copied().unwrap_or(z[l]);
            next.push(node_hash(&pair[0], &right));
        }
        level = next;
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64, w: u128) -> Hash {
        leaf_hash(i, &[i as u8; 32], w)
    }

    #[test]
    fn verify_refuses_a_tampered_proof() {
        let leaves: Vec<Hash> = (0..5).map(|i| leaf(i, 3)).collect();
        let root = root_of(&leaves);
        // Build the siblings of position 3 naively.
        let z = empties();
        let mut level = leaves.clone();
        let mut siblings = Vec::new();
        let mut idx = 3usize;
        for zl in z.iter().take(DEPTH) {
            siblings.push(level.get(idx ^ 1).copied().unwrap_or(*zl));
            let mut next = Vec::new();
            for pair in level.chunks(2) {
                next.push(node_hash(&pair[0], &pair.get(1).copied().unwrap_or(*zl)));
            }
            level = next;
            idx >>= 1;
        }
        let proof = InclusionProof {
            datanet_id: 1,
            version: 1,
            contribution_id: 3,
            content_hash: vec![3; 32],
            weight: "3".into(),
            position: 3,
            siblings: siblings.iter().map(|s| s.to_vec()).collect(),
            root: root.to_vec(),
        };
        assert_eq!(verify(&proof), Ok(()));
        assert!(verify(&InclusionProof { weight: "4".into(), ..proof.clone() }).is_err());
        assert!(verify(&InclusionProof { position: 2, ..proof.clone() }).is_err());
        assert!(verify(&InclusionProof { siblings: proof.siblings[1..].to_vec(), ..proof.clone() }).is_err());
        assert!(verify(&InclusionProof { weight: "x".into(), ..proof }).is_err());
    }
}
