//! The ABCI socket server (`abci/server.rs`) as CometBFT's socket client uses it: many
//! requests written at once are answered in order, CheckTx results are those of the
//! application (a batch's signatures verified ahead on all cores change no answer), and
//! a malformed frame closes only its own connection.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use openledger_client::txbuilder::{self, TxSpec};
use openledger_test_driver::{test_key, TestNode, TEST_CHAIN_ID};
use prost::Message;
use tendermint_proto::v0_38::abci::{self as pb, request, response, Request, Response};

fn send(from: u64, seq: u64) -> Vec<u8> {
    let a = test_key(from);
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &test_key(9).address(), 1)], 5_000, 200_000);
    txbuilder::sign_tx(&spec, &a, TEST_CHAIN_ID, from, seq)
}

fn bad_signature(tx: &[u8]) -> Vec<u8> {
    let mut raw = cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw::decode(tx).unwrap();
    raw.signatures[0][10] ^= 1;
    raw.encode_to_vec()
}

fn check(tx: Vec<u8>) -> Request {
    Request { value: Some(request::Value::CheckTx(pb::RequestCheckTx { tx: tx.into(), r#type: pb::CheckTxType::New as i32 })) }
}

fn serve(n: &TestNode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = n.app.clone();
    std::thread::spawn(move || openledger_app::abci::server::serve(listener, app));
    addr
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Read `count` length-delimited responses.
fn read_responses(s: &mut TcpStream, count: usize) -> Vec<Response> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    while out.len() < count {
        let mut slice = buf.as_slice();
        if let Ok(r) = Response::decode_length_delimited(&mut slice) {
            let used = buf.len() - slice.len();
            buf.drain(..used);
            out.push(r);
            continue;
        }
        let got = s.read(&mut chunk).expect("reading responses");
        assert!(got > 0, "connection closed after {} of {count} responses", out.len());
        buf.extend_from_slice(&chunk[..got]);
    }
    out
}

#[test]
fn requests_written_at_once_are_answered_in_order_with_the_application_results() {
    let n = TestNode::builder().funded_accounts(10, 1_000_000).build();
    let addr = serve(&n);
    let mut s = connect(&addr);

    // One write, as CometBFT's socket client sends a backlog: echo, info, a CheckTx
    // batch (valid txs of several senders, a queued N+1, a bad signature, undecodable
    // bytes, a replay), and the flush that ends it.
    let mut reqs = vec![
        Request { value: Some(request::Value::Echo(pb::RequestEcho { message: "hello".into() })) },
        Request { value: Some(request::Value::Info(pb::RequestInfo::default())) },
    ];
    let mut expected_codes = Vec::new();
    for from in 0..5 {
        reqs.push(check(send(from, 0)));
        expected_codes.push(0);
    }
    reqs.push(check(send(0, 1)));
    expected_codes.push(0); // N+1 behind the pending N
    reqs.push(check(bad_signature(&send(6, 0))));
    expected_codes.push(4); // unauthorized: the batch's verification did not admit it
    reqs.push(check(vec![0xff, 0x01, 0x02]));
    expected_codes.push(2); // tx decode
    reqs.push(check(send(1, 0)));
    expected_codes.push(32); // sequence already pending
    reqs.push(Request { value: Some(request::Value::Flush(pb::RequestFlush {})) });
    let mut bytes = Vec::new();
    for r in &reqs {
        r.encode_length_delimited(&mut bytes).unwrap();
    }
    s.write_all(&bytes).unwrap();

    let resps = read_responses(&mut s, reqs.len());
    assert!(matches!(&resps[0].value, Some(response::Value::Echo(e)) if e.message == "hello"));
    assert!(matches!(&resps[1].value, Some(response::Value::Info(i)) if i.last_block_height == 0 || i.last_block_height == 1));
    let codes: Vec<(u32, String)> = resps[2..resps.len() - 1]
        .iter()
        .map(|r| match &r.value {
            Some(response::Value::CheckTx(c)) => (c.code, c.log.clone()),
            other => panic!("expected a CheckTx response, got {other:?}"),
        })
        .collect();
    assert_eq!(codes.iter().map(|c| c.0).collect::<Vec<_>>(), expected_codes, "{codes:?}");
    assert!(matches!(resps.last().unwrap().value, Some(response::Value::Flush(_))));
    // The six accepted txs are in the CheckTx cache (verified once, by the batch or inline).
    assert_eq!(n.app.checked_txs(), 6);

    // The same answers as CheckTx on a node that never saw the socket: the batch's
    // verification ahead of the answers changed none of them.
    let fresh = TestNode::builder().funded_accounts(10, 1_000_000).build();
    let direct: Vec<u32> = reqs[2..reqs.len() - 1]
        .iter()
        .map(|r| match &r.value {
            Some(request::Value::CheckTx(c)) => fresh.check_tx(&c.tx).code,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(direct, expected_codes);
}

#[test]
fn a_malformed_frame_closes_its_connection_and_no_other() {
    let n = TestNode::builder().funded_accounts(1, 1_000_000).build();
    let addr = serve(&n);

    // A length prefix of 2^40 bytes: refused before any allocation, connection closed.
    let mut bad = connect(&addr);
    bad.write_all(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20]).unwrap();
    let mut b = [0u8; 16];
    assert_eq!(bad.read(&mut b).unwrap_or(0), 0, "the server closes the connection");

    // Bytes that are not a Request: closed too.
    let mut garbage = connect(&addr);
    garbage.write_all(&[3, 0xff, 0xff, 0xff]).unwrap();
    assert_eq!(garbage.read(&mut b).unwrap_or(0), 0);

    // A request split across writes is still answered, and other connections still work.
    let mut good = connect(&addr);
    let mut bytes = Vec::new();
    Request { value: Some(request::Value::Echo(pb::RequestEcho { message: "still here".into() })) }
        .encode_length_delimited(&mut bytes)
        .unwrap();
    good.write_all(&bytes[..3]).unwrap();
    good.flush().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    good.write_all(&bytes[3..]).unwrap();
    let resps = read_responses(&mut good, 1);
    assert!(matches!(&resps[0].value, Some(response::Value::Echo(e)) if e.message == "still here"));

    // An empty request is answered with an exception, not a panic.
    let mut bytes = Vec::new();
    Request { value: None }.encode_length_delimited(&mut bytes).unwrap();
    good.write_all(&bytes).unwrap();
    let resps = read_responses(&mut good, 1);
    assert!(matches!(&resps[0].value, Some(response::Value::Exception(_))));
}
