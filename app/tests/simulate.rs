//! `cosmos.tx.v1beta1.Service/Simulate` as standard clients call it: CosmJS simulates
//! before signing (sign mode unspecified, empty signature, no fee, gas limit 0); cosmpy
//! sends the deprecated `tx` field instead of `tx_bytes`. The gas it reports must cover
//! the real, signed tx with its fee, and such a tx must still be refused outside
//! simulation.
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, Fee, ModeInfo, SignerInfo, SimulateRequest, SimulateResponse, TxBody, TxRaw,
};
use openledger_client::txbuilder;
use openledger_test_driver::{test_key, TestNode};
use prost::Message;

const SIMULATE: &str = "/cosmos.tx.v1beta1.Service/Simulate";

/// The tx CosmJS builds for `fee: "auto"`: mode unspecified, empty fee, gas 0, one
/// empty signature.
fn cosmjs_simulation_tx(n: &TestNode, amount: u128) -> Vec<u8> {
    let key = test_key(0);
    let acct = n.account(&key.address()).expect("account");
    let body = TxBody { messages: vec![txbuilder::msg_send(&key.address(), &test_key(1).address(), amount)], ..Default::default() };
    let auth = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(key.pubkey_any()),
            mode_info: Some(ModeInfo { sum: Some(mode_info::Sum::Single(mode_info::Single { mode: SignMode::Unspecified as i32 })) }),
            sequence: acct.sequence,
        }],
        fee: Some(Fee::default()),
        ..Default::default()
    };
    TxRaw { body_bytes: body.encode_to_vec(), auth_info_bytes: auth.encode_to_vec(), signatures: vec![vec![]] }.encode_to_vec()
}

fn simulate(n: &TestNode, req: SimulateRequest) -> Result<SimulateResponse, String> {
    let r = n.query(SIMULATE, req.encode_to_vec(), 0);
    if r.code != 0 {
        return Err(format!("{} {}: {}", r.codespace, r.code, r.log));
    }
    // CosmJS refuses an answer without the height it was computed at.
    assert_eq!(r.height as u64, n.height, "simulation reports the height of the state it ran on");
    Ok(SimulateResponse::decode(r.value.as_ref()).expect("simulate response"))
}

#[test]
fn unsigned_feeless_simulation_covers_the_signed_tx_with_its_fee() {
    let mut n = TestNode::builder().funded_accounts(2, 10_000_000_000).min_gas_price_atto(25_000_000_000_000_000).build();
    n.execute_block(vec![]);
    let before = n.state_digest();
    let sim = simulate(&n, SimulateRequest { tx_bytes: cosmjs_simulation_tx(&n, 12_345), ..Default::default() })
        .expect("CosmJS-style simulation");
    let simulated = sim.gas_info.expect("gas info").gas_used;
    assert_eq!(n.state_digest(), before, "simulation writes nothing");

    // cosmpy: the same tx in the deprecated `tx` field, `tx_bytes` empty.
    let raw = TxRaw::decode(cosmjs_simulation_tx(&n, 12_345).as_slice()).unwrap();
    #[allow(deprecated)]
    let via_tx_field = SimulateRequest {
        tx: Some(cosmos_sdk_proto::cosmos::tx::v1beta1::Tx {
            body: Some(TxBody::decode(raw.body_bytes.as_slice()).unwrap()),
            auth_info: Some(AuthInfo::decode(raw.auth_info_bytes.as_slice()).unwrap()),
            signatures: raw.signatures.clone(),
        }),
        tx_bytes: vec![],
    };
    assert_eq!(simulate(&n, via_tx_field).expect("cosmpy-style simulation").gas_info.unwrap().gas_used, simulated);

    // The real tx, signed, with the fee a client computes from the simulation (× 1.3,
    // at 0.025 uopen per gas), and that gas limit: it succeeds, within 3% of the estimate.
    let gas_limit = simulated * 13 / 10;
    let fee = (u128::from(gas_limit) * 25).div_ceil(1000);
    let tx = n.send_tx(&test_key(0), &test_key(1).address(), 12_345, fee, gas_limit);
    let resp = n.execute_block(vec![tx]);
    let r = &resp.tx_results[0];
    assert_eq!(r.code, 0, "{}", r.log);
    let used = r.gas_used as u64;
    assert!(used <= simulated * 103 / 100 && used * 103 / 100 >= simulated, "simulated {simulated}, used {used}");
}

#[test]
fn simulation_only_relaxations_are_refused_in_real_txs() {
    let mut n = TestNode::builder().funded_accounts(2, 10_000_000_000).build();
    // The simulation tx itself, sent for real: empty signature and mode unspecified.
    let tx = cosmjs_simulation_tx(&n, 5);
    let check = n.check_tx(&tx);
    assert!(check.code != 0 && check.log.contains("SIGN_MODE_DIRECT"), "{}", check.log);
    let before = n.state_digest();
    // Refused by ProcessProposal too; in a block decided anyway, it fails and changes nothing.
    let resp = n.execute_block_unchecked(vec![tx]);
    assert_ne!(resp.tx_results[0].code, 0);
    assert_eq!(n.state_digest(), before);
    // A signed tx with gas limit 0.
    let key = test_key(0);
    let acct = n.account(&key.address()).unwrap();
    let spec = txbuilder::TxSpec::new(vec![txbuilder::msg_send(&key.address(), &test_key(1).address(), 5)], 5_000, 0);
    let zero_gas = txbuilder::sign_tx(&spec, &key, openledger_test_driver::TEST_CHAIN_ID, acct.account_number, acct.sequence);
    let check = n.check_tx(&zero_gas);
    assert!(check.code != 0 && check.log.contains("invalid gas limit"), "{}", check.log);
}

#[test]
fn simulation_refuses_bad_requests_with_a_message() {
    let n = TestNode::builder().funded_accounts(2, 10_000_000_000).build();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0xff, 0x01], "cannot decode request"),
        (SimulateRequest::default().encode_to_vec(), "empty tx"),
        (SimulateRequest { tx_bytes: vec![1, 2, 3], ..Default::default() }.encode_to_vec(), "parse error"),
    ];
    for (data, needle) in cases {
        let r = n.query(SIMULATE, data, 0);
        assert!(r.code != 0 && r.log.contains(needle), "{}: {}", needle, r.log);
    }
    // A tx that would fail (more than the balance): simulation says why.
    let tx = txbuilder::unsigned_tx(
        &txbuilder::TxSpec::new(vec![txbuilder::msg_send(&test_key(0).address(), &test_key(1).address(), 10_000_000_001)], 0, 0),
        &test_key(0),
        0,
    );
    let r = n.query(SIMULATE, SimulateRequest { tx_bytes: tx, ..Default::default() }.encode_to_vec(), 0);
    assert!(r.code != 0 && r.log.contains("insufficient funds"), "{}", r.log);
}
