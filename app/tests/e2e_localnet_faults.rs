//! Faults on a 4-validator `testnet/localnet.sh` network (real processes, loopback), one
//! after another on the same network, each followed by the check that every node has
//! the same block hash and app hash at every height:
//! 1. `kill -9` of one node: the other three (> 2/3 of the power) keep committing; the
//!    node restarts on its home and catches up.
//! 2. Two of four stopped: no 2/3 majority, the chain halts; both back, it resumes.
//! 3. `kill -9` of one node's openledgerd only: its CometBFT stops with it; restarted,
//!    the ABCI handshake replays what the app had not committed and the node rejoins.
//! 4. SIGSTOP of one node (both processes) for a while, then SIGCONT: it catches up.
mod common;

use std::time::{Duration, Instant};

use common::*;

fn node_height(net: &Localnet, i: usize) -> Option<u64> {
    net.chains[i].height().ok()
}

#[test]
fn four_validators_survive_kills_a_halt_and_a_pause_with_identical_history() {
    let t0 = Instant::now();
    let net = Localnet::up(4, t0);
    let all = net.all();
    net.wait_all(&all, 2);

    // 1. kill -9 node3; three of four keep the chain going.
    net.ok(&["stop", "node3", "--kill"]);
    let h = net.wait_all(&[0, 1, 2], 0);
    step(t0, &format!("node3 killed at height ~{h}"));
    let h = net.wait_all(&[0, 1, 2], h + 3);
    assert!(node_height(&net, 3).is_none(), "node3 still answers after kill -9");
    net.ok(&["start", "node3"]);
    let caught = net.wait_all(&all, h + 2);
    step(t0, &format!("node3 restarted and caught up: all at ≥ {caught}"));
    net.assert_agree(&all, caught);

    // 2. Two of four down: 20 of 40 power is not > 2/3, no block can commit.
    net.ok(&["stop", "node2"]);
    net.ok(&["stop", "node3"]);
    std::thread::sleep(Duration::from_secs(2)); // a block in flight may still commit
    let halted = net.wait_all(&[0, 1], 0);
    std::thread::sleep(Duration::from_secs(4));
    let still = [node_height(&net, 0), node_height(&net, 1)];
    assert!(still.iter().all(|s| *s == Some(halted) || *s == Some(halted + 1)), "the chain advanced without 2/3: {halted} → {still:?}");
    step(t0, &format!("halted at {halted} with two of four down"));
    net.ok(&["start", "node2"]);
    net.ok(&["start", "node3"]);
    let resumed = net.wait_all(&all, halted + 3);
    step(t0, &format!("resumed: all at ≥ {resumed}"));
    net.assert_agree(&all, resumed);

    // 3. kill -9 of openledgerd alone: CometBFT stops when its app goes away.
    let h = net.wait_all(&all, 0);
    net.ok(&["stop", "node1", "--app-only", "--kill"]);
    let deadline = Instant::now() + WAIT;
    while node_height(&net, 1).is_some() {
        assert!(Instant::now() < deadline, "node1's CometBFT kept running without its app");
        std::thread::sleep(Duration::from_millis(250));
    }
    step(t0, &format!("node1's openledgerd killed near height {h}; its CometBFT exited"));
    net.wait_all(&[0, 2, 3], h + 2);
    net.ok(&["start", "node1"]);
    let rejoined = net.wait_all(&all, h + 4);
    step(t0, &format!("node1 replayed and rejoined: all at ≥ {rejoined}"));
    net.assert_agree(&all, rejoined);

    // 4. SIGSTOP node2 for 8 s, then SIGCONT.
    let h = net.wait_all(&all, 0);
    net.ok(&["pause", "node2"]);
    std::thread::sleep(Duration::from_secs(8));
    let others = net.wait_all(&[0, 1, 3], h + 3);
    net.ok(&["resume", "node2"]);
    let after = net.wait_all(&all, others + 2);
    step(t0, &format!("node2 paused 8 s at ~{h}, others reached {others}; after SIGCONT all at ≥ {after}"));
    net.assert_agree(&all, after);
    let check = net.ok(&["check"]);
    assert!(check.starts_with("ok: 4 nodes agree"), "{check}");
}
