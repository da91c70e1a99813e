//! The indexer block stream (`openledger.stream.v1.StreamService`) served by the real
//! gRPC server over loopback, on a chain driven in process by `TestNode`: every block
//! from any retained height, in order, without gaps, with the node's own app hashes and
//! tx results; exact resumption; a stalled reader never slows the node; retention and
//! its error; the filtered variant; the log across a restart and a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)] // tonic::Status is what the client returns
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cnidarium::StateRead;
use futures::StreamExt;
use openledger_app::rpc::grpc::RawCodec;
use openledger_app::stream::{app_hash_key, record_key, LOWEST_KEY};
use openledger_client::txbuilder;
use openledger_proto::openledger::stream::v1 as pb;
use openledger_test_driver::{test_key, TestNode};
use pb::stream_service_client::StreamServiceClient;
use sha2::{Digest, Sha256};
use tendermint_proto::v0_38::abci;
use tonic::transport::Channel;

const FUND: u128 = 1_000_000_000_000;
const FEE: u128 = 5_000;
const GAS: u64 = 200_000;
const WAIT: Duration = Duration::from_secs(30);

/// The node's gRPC server on a free loopback port, running on the node's runtime.
struct Served {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn serve(node: &TestNode) -> Served {
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    node.rt().spawn(openledger_app::rpc::grpc::serve(node.app.clone(), addr, async {
        let _ = rx.await;
    }));
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "gRPC server not listening on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Served { addr, shutdown: Some(tx) }
}

/// The client side runs on its own runtime, as a separate process would.
fn client_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

async fn client(addr: SocketAddr) -> StreamServiceClient<Channel> {
    StreamServiceClient::connect(format!("http://{addr}")).await.expect("connect").max_decoding_message_size(64 << 20)
}

async fn open(addr: SocketAddr, start: u64) -> Result<tonic::Streaming<pb::BlockRecord>, tonic::Status> {
    client(addr).await.blocks(pb::BlocksRequest { start_height: start }).await.map(|r| r.into_inner())
}

/// The next `n` records of a stream (each within WAIT).
async fn take(s: &mut tonic::Streaming<pb::BlockRecord>, n: usize) -> Vec<pb::BlockRecord> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let item = tokio::time::timeout(WAIT, s.next()).await.unwrap_or_else(|_| panic!("no record within {WAIT:?} after {}", out.len()));
        out.push(item.expect("stream ended").expect("stream error"));
    }
    out
}

fn heights(recs: &[pb::BlockRecord]) -> Vec<u64> {
    recs.iter().map(|r| r.height).collect()
}

fn node(retain: u64) -> TestNode {
    TestNode::builder().funded_accounts(8, FUND).stream_retain_blocks(retain).build()
}

/// Block `i` of a chain: a transfer from each of accounts 0..k, plus (every third block)
/// one that fails in its message (more than the sender has) and so keeps only its fee.
fn block_txs(n: &TestNode, i: u64, k: u64) -> Vec<Vec<u8>> {
    let mut txs: Vec<Vec<u8>> = (0..k).map(|a| n.send_tx(&test_key(a), &test_key(7).address(), 10 + i as u128, FEE, GAS)).collect();
    if i % 3 == 1 {
        let poor = test_key(6);
        txs.push(n.msg_tx(&poor, vec![txbuilder::msg_send(&poor.address(), &test_key(7).address(), FUND * 10)], FEE, GAS));
    }
    txs
}

fn produce(n: &mut TestNode, blocks: u64, k: u64) -> Vec<(Vec<Vec<u8>>, abci::ResponseFinalizeBlock)> {
    (0..blocks)
        .map(|_| {
            let txs = block_txs(n, n.height + 1, k);
            let resp = n.execute_block(txs.clone());
            (txs, resp)
        })
        .collect()
}

fn same_events(stream: &[pb::Event], abci: &[abci::Event]) -> bool {
    stream.len() == abci.len()
        && stream.iter().zip(abci).all(|(s, a)| {
            s.r#type == a.r#type
                && s.attributes.len() == a.attributes.len()
                && s.attributes.iter().zip(&a.attributes).all(|(x, y)| x.key == y.key && x.value == y.value && x.index == y.index)
        })
}

/// A record equals what the node returned for its block.
fn check_record(rec: &pb::BlockRecord, n: &TestNode, txs: &[Vec<u8>], resp: &abci::ResponseFinalizeBlock) {
    let h = rec.height;
    assert_eq!(rec.app_hash, n.app_hashes[(h - 1) as usize], "app hash of {h}");
    assert_eq!(rec.app_hash, resp.app_hash.to_vec(), "app hash of {h}");
    assert_eq!(rec.time.as_ref().map(|t| t.seconds), Some(1_700_000_000 + h as i64), "time of {h}");
    assert_eq!(rec.txs.len(), txs.len(), "txs of {h}");
    for (i, (t, (bytes, r))) in rec.txs.iter().zip(txs.iter().zip(&resp.tx_results)).enumerate() {
        assert_eq!(t.index, i as u32);
        assert_eq!(t.hash, Sha256::digest(bytes).to_vec(), "hash of tx {i} of {h}");
        assert_eq!(
            (t.code, t.codespace.as_str(), t.log.as_str()),
            (r.code, r.codespace.as_str(), r.log.as_str()),
            "result of tx {i} of {h}"
        );
        assert_eq!((t.gas_wanted as i64, t.gas_used as i64), (r.gas_wanted, r.gas_used), "gas of tx {i} of {h}");
        assert!(same_events(&t.events, &r.events), "events of tx {i} of {h}: {:?} vs {:?}", t.events, r.events);
        assert_eq!(t.msg_type_urls, vec!["/cosmos.bank.v1beta1.MsgSend".to_string()]);
    }
    assert!(same_events(&rec.block_events, &resp.events), "block events of {h}");
}

#[test]
fn start_at_1_on_a_chain_at_height_h_gets_all_h_blocks_in_order_then_follows_the_tip() {
    let mut n = node(0);
    let blocks = produce(&mut n, 20, 3);
    assert!(blocks.iter().any(|(_, r)| r.tx_results.iter().any(|t| t.code != 0)), "a failed tx is recorded too");
    let served = serve(&n);
    let crt = client_rt();
    let mut s = crt.block_on(open(served.addr, 1)).expect("Blocks(1)");
    let recs = crt.block_on(take(&mut s, 20));
    assert_eq!(heights(&recs), (1..=20).collect::<Vec<_>>());
    for (rec, (txs, resp)) in recs.iter().zip(&blocks) {
        check_record(rec, &n, txs, resp);
    }
    // Live: the same stream delivers the next blocks as they are committed.
    let more = produce(&mut n, 3, 2);
    let live = crt.block_on(take(&mut s, 3));
    assert_eq!(heights(&live), vec![21, 22, 23]);
    for (rec, (txs, resp)) in live.iter().zip(&more) {
        check_record(rec, &n, txs, resp);
    }
    // start_height 0: the latest block, then the tip.
    let mut tip = crt.block_on(open(served.addr, 0)).expect("Blocks(0)");
    assert_eq!(heights(&crt.block_on(take(&mut tip, 1))), vec![23]);
    // A start above the tip waits for it.
    let mut ahead = crt.block_on(open(served.addr, 25)).expect("Blocks(25)");
    produce(&mut n, 2, 1);
    assert_eq!(heights(&crt.block_on(take(&mut ahead, 1))), vec![25]);
}

#[test]
fn a_client_dropped_mid_stream_resumes_from_last_seen_plus_one_without_duplicate_or_gap() {
    let mut n = node(0);
    produce(&mut n, 30, 2);
    let served = serve(&n);
    let crt = client_rt();
    let mut seen = Vec::new();
    // Drop after 7 records of a replay…
    let mut s = crt.block_on(open(served.addr, 1)).unwrap();
    seen.extend(crt.block_on(take(&mut s, 7)));
    drop(s);
    produce(&mut n, 5, 2);
    // …resume, read past the tip, and drop again while following it…
    let last = seen.last().unwrap().height;
    let mut s = crt.block_on(open(served.addr, last + 1)).unwrap();
    seen.extend(crt.block_on(take(&mut s, (n.height - last) as usize)));
    let mut follow = crt.spawn(async move {
        let got = take(&mut s, 1).await;
        drop(s);
        got
    });
    produce(&mut n, 1, 1);
    seen.extend(crt.block_on(&mut follow).unwrap());
    produce(&mut n, 4, 1);
    // …and resume once more.
    let last = seen.last().unwrap().height;
    let mut s = crt.block_on(open(served.addr, last + 1)).unwrap();
    seen.extend(crt.block_on(take(&mut s, (n.height - last) as usize)));
    assert_eq!(heights(&seen), (1..=n.height).collect::<Vec<_>>(), "no duplicate, no gap");
    for r in &seen {
        assert_eq!(r.app_hash, n.app_hashes[(r.height - 1) as usize]);
    }
}

#[test]
fn a_reader_that_never_reads_does_not_slow_block_production_and_later_gets_every_block() {
    const BLOCKS: u64 = 60;
    const TXS: u64 = 6;
    // Paired: a twin node without any reader runs the same blocks, one after the other
    // with `n`'s, so load from outside the test (other tests, the VM) hits both alike.
    let mut n = node(0);
    let mut twin = node(0);
    produce(&mut n, 5, TXS); // warm up
    produce(&mut twin, 5, TXS);
    let served = serve(&n);
    let crt = client_rt();
    // Subscribed from block 1 and never polled: its task fills its channel and the
    // connection's window, then waits.
    let mut stalled = crt.block_on(open(served.addr, 1)).unwrap();
    let start_stalled = n.height;
    let time_block = |n: &mut TestNode| {
        let txs = block_txs(n, n.height + 1, TXS);
        let t = Instant::now();
        n.execute_block_no_invariant(txs);
        t.elapsed().as_secs_f64()
    };
    let (mut alone, mut with_stalled) = (Vec::new(), Vec::new());
    for _ in 0..BLOCKS {
        with_stalled.push(time_block(&mut n));
        alone.push(time_block(&mut twin));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (baseline, with_stalled) = (median(alone), median(with_stalled));
    eprintln!("median block time: {:.2} ms alone, {:.2} ms with a stalled reader", baseline * 1e3, with_stalled * 1e3);
    assert!(
        with_stalled <= baseline * 1.5 + 0.002,
        "a stalled reader slowed blocks: median {:.2} ms vs {:.2} ms",
        with_stalled * 1e3,
        baseline * 1e3
    );
    assert!(n.height >= start_stalled + BLOCKS);
    let all = crt.block_on(take(&mut stalled, n.height as usize));
    assert_eq!(heights(&all), (1..=n.height).collect::<Vec<_>>());
    for r in &all {
        assert_eq!(r.app_hash, n.app_hashes[(r.height - 1) as usize]);
    }
}

#[test]
fn retention_keeps_the_latest_n_blocks_and_a_request_below_gets_out_of_range_naming_the_lowest() {
    let mut n = node(10);
    produce(&mut n, 30, 1);
    let served = serve(&n);
    let crt = client_rt();
    let err = crt.block_on(open(served.addr, 1)).expect_err("height 1 is pruned");
    assert_eq!(err.code(), tonic::Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("lowest retained height is 21"), "{}", err.message());
    let err = crt.block_on(open(served.addr, 20)).expect_err("height 20 is pruned");
    assert!(err.message().contains("height 20") && err.message().contains("21"), "{}", err.message());
    let mut s = crt.block_on(open(served.addr, 21)).unwrap();
    let recs = crt.block_on(take(&mut s, 10));
    assert_eq!(heights(&recs), (21..=30).collect::<Vec<_>>());
    for r in &recs {
        assert_eq!(r.app_hash, n.app_hashes[(r.height - 1) as usize]);
    }
    // The store holds exactly the retained records.
    let snap = n.app.storage().latest_snapshot();
    n.rt().block_on(async {
        for h in 1..=30u64 {
            assert_eq!(snap.nonverifiable_get_raw(&record_key(h)).await.unwrap().is_some(), h >= 21, "record {h}");
            assert_eq!(snap.nonverifiable_get_raw(&app_hash_key(h)).await.unwrap().is_some(), (21..30).contains(&h), "app hash {h}");
        }
        let lowest = snap.nonverifiable_get_raw(LOWEST_KEY).await.unwrap().unwrap();
        assert_eq!(lowest, 21u64.to_be_bytes().to_vec());
    });
}

/// The subscriber task itself (no gRPC: a connection's flow-control window and socket
/// buffers would hold a few MB more and only delay the moment it falls behind).
#[test]
fn a_reader_that_lags_below_retention_gets_out_of_range_never_a_gap() {
    let mut n = node(10);
    produce(&mut n, 5, 1);
    let storage = n.app.storage().clone();
    let mut s = n.rt().block_on(openledger_app::stream::subscribe(storage, 1, None, None)).expect("subscribe at 1");
    let mut seen = vec![n.rt().block_on(s.next()).unwrap().unwrap()];
    // Stop reading while 200 blocks pass: far more than its channel and read batch hold.
    for _ in 0..200 {
        n.execute_block_no_invariant(vec![]);
    }
    let end = n.rt().block_on(async {
        loop {
            match tokio::time::timeout(WAIT, s.next()).await.unwrap_or_else(|_| panic!("stream stalled after {:?}", heights(&seen))) {
                Some(Ok(r)) => seen.push(r),
                Some(Err(status)) => return status,
                None => panic!("stream ended without an error"),
            }
        }
    });
    assert_eq!(end.code(), tonic::Code::OutOfRange, "{end:?}");
    assert!(end.message().contains("lowest retained height is"), "{}", end.message());
    assert_eq!(heights(&seen), (1..=seen.len() as u64).collect::<Vec<_>>(), "what it got has no gap");
    assert!((seen.len() as u64) < n.height - 10, "it did fall behind: {} records", seen.len());
    for r in &seen {
        assert_eq!(r.app_hash, n.app_hashes[(r.height - 1) as usize]);
    }
}

#[test]
fn filtered_blocks_send_one_record_per_height_with_only_matching_events() {
    let mut n = node(0);
    let blocks = produce(&mut n, 9, 3);
    let served = serve(&n);
    let crt = client_rt();
    let sender = test_key(1).address().to_string();
    let mut s = crt
        .block_on(async {
            client(served.addr)
                .await
                .filtered_blocks(pb::FilteredBlocksRequest {
                    start_height: 1,
                    event_type: "transfer".into(),
                    attributes: vec![pb::AttributeMatch { key: "sender".into(), value: sender.clone() }],
                })
                .await
        })
        .unwrap()
        .into_inner();
    let recs = crt.block_on(take(&mut s, 9));
    assert_eq!(heights(&recs), (1..=9).collect::<Vec<_>>(), "one record per height");
    for (rec, (_, resp)) in recs.iter().zip(&blocks) {
        assert_eq!(rec.app_hash, resp.app_hash.to_vec());
        // Account 1's transfers: the amount (and the fee, paid to the fee collector).
        let expected: usize = resp
            .tx_results
            .iter()
            .map(|t| {
                t.events
                    .iter()
                    .filter(|e| e.r#type == "transfer" && e.attributes.iter().any(|a| a.key == "sender" && a.value == sender))
                    .count()
            })
            .sum();
        let got: usize = rec.txs.iter().map(|t| t.events.len()).sum();
        assert!(expected >= 1 && got == expected, "height {}: {got} events, expected {expected}", rec.height);
        assert_eq!(rec.txs.len(), 1, "only account 1's tx");
        assert!(rec
            .txs
            .iter()
            .flat_map(|t| &t.events)
            .all(|e| e.r#type == "transfer" && e.attributes.iter().any(|a| a.key == "sender" && a.value == sender)));
        assert!(rec.block_events.is_empty());
    }
    // A filter that matches nothing still sends every height (empty records).
    let mut none = crt
        .block_on(async {
            client(served.addr)
                .await
                .filtered_blocks(pb::FilteredBlocksRequest { start_height: 4, event_type: "no-such-event".into(), attributes: vec![] })
                .await
        })
        .unwrap()
        .into_inner();
    let empty = crt.block_on(take(&mut none, 6));
    assert_eq!(heights(&empty), (4..=9).collect::<Vec<_>>());
    assert!(empty.iter().all(|r| r.txs.is_empty() && r.block_events.is_empty() && !r.app_hash.is_empty()));
}

#[test]
fn bad_requests_get_clear_errors() {
    let mut n = node(0);
    produce(&mut n, 2, 1);
    let served = serve(&n);
    let crt = client_rt();
    let filtered =
        |req: pb::FilteredBlocksRequest| crt.block_on(async { client(served.addr).await.filtered_blocks(req).await.map(|_| ()) });
    let e = filtered(pb::FilteredBlocksRequest { start_height: 1, event_type: String::new(), attributes: vec![] }).unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("event_type is required"), "{}", e.message());
    let e = filtered(pb::FilteredBlocksRequest {
        start_height: 1,
        event_type: "transfer".into(),
        attributes: vec![pb::AttributeMatch { key: String::new(), value: "x".into() }],
    })
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("attributes[0].key is empty"), "{}", e.message());
    let e = filtered(pb::FilteredBlocksRequest {
        start_height: 1,
        event_type: "transfer".into(),
        attributes: (0..33).map(|i| pb::AttributeMatch { key: format!("k{i}"), value: String::new() }).collect(),
    })
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    // Garbage bytes as the request: a decode error, and the server keeps serving.
    let e = crt
        .block_on(async {
            let mut grpc =
                tonic::client::Grpc::new(Channel::from_shared(format!("http://{}", served.addr)).unwrap().connect().await.unwrap());
            grpc.ready().await.unwrap();
            let path = tonic::codegen::http::uri::PathAndQuery::from_static("/openledger.stream.v1.StreamService/Blocks");
            grpc.server_streaming(tonic::Request::new(vec![0xffu8, 0xff, 0xff]), path, RawCodec).await.map(|_| ())
        })
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Internal, "{e:?}");
    let e = crt
        .block_on(async {
            let mut grpc =
                tonic::client::Grpc::new(Channel::from_shared(format!("http://{}", served.addr)).unwrap().connect().await.unwrap());
            grpc.ready().await.unwrap();
            let path = tonic::codegen::http::uri::PathAndQuery::from_static("/openledger.stream.v1.StreamService/NoSuchMethod");
            grpc.server_streaming(tonic::Request::new(vec![]), path, RawCodec).await.map(|_| ())
        })
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented, "{e:?}");
    let mut s = crt.block_on(open(served.addr, u64::MAX)).expect("a far future start waits");
    let waited = crt.block_on(async { tokio::time::timeout(Duration::from_millis(300), s.next()).await });
    assert!(waited.is_err(), "nothing to send yet");
    let mut ok = crt.block_on(open(served.addr, 1)).unwrap();
    assert_eq!(heights(&crt.block_on(take(&mut ok, 2))), vec![1, 2]);
}

#[test]
fn the_log_survives_a_restart_and_a_crash_before_commit_leaves_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = TestNode::builder().funded_accounts(8, FUND).dir(dir.path()).build();
    produce(&mut n, 10, 2);
    // Crash after FinalizeBlock(11), before its Commit.
    let staged = block_txs(&n, 11, 2);
    n.finalize_only(staged.clone());
    let mut n = n.restart();
    assert_eq!(n.height, 10);
    {
        let served = serve(&n);
        let crt = client_rt();
        let mut s = crt.block_on(open(served.addr, 1)).unwrap();
        assert_eq!(heights(&crt.block_on(take(&mut s, 10))), (1..=10).collect::<Vec<_>>());
        let snap = n.app.storage().latest_snapshot();
        let rec11 = n.rt().block_on(async { snap.nonverifiable_get_raw(&record_key(11)).await }).unwrap();
        assert!(rec11.is_none(), "no record without its block");
    }
    // CometBFT replays block 11; two more follow.
    n.execute_block(staged);
    produce(&mut n, 2, 2);
    let served = serve(&n);
    let crt = client_rt();
    let mut s = crt.block_on(open(served.addr, 1)).unwrap();
    let recs = crt.block_on(take(&mut s, 13));
    assert_eq!(heights(&recs), (1..=13).collect::<Vec<_>>());
    for r in &recs {
        assert_eq!(r.app_hash, n.app_hashes[(r.height - 1) as usize], "app hash of {}", r.height);
    }
}

#[test]
fn shutting_the_server_down_ends_streams_that_follow_the_tip() {
    let mut n = node(0);
    produce(&mut n, 3, 1);
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = n.rt().spawn(openledger_app::rpc::grpc::serve(n.app.clone(), addr, async {
        let _ = stopped.await;
    }));
    while std::net::TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let crt = client_rt();
    let mut s = crt.block_on(open(addr, 1)).unwrap();
    assert_eq!(heights(&crt.block_on(take(&mut s, 3))), vec![1, 2, 3]);
    let _ = stop.send(());
    let end = crt.block_on(async { tokio::time::timeout(Duration::from_secs(10), s.next()).await }).expect("the stream ends");
    match end {
        Some(Err(status)) => assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}"),
        None => {}
        Some(Ok(r)) => panic!("unexpected record {}", r.height),
    }
    let done = n.rt().block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await });
    assert!(matches!(done, Ok(Ok(Ok(())))), "the server stopped: {done:?}");
}

#[test]
fn streams_beyond_max_subscribers_get_resource_exhausted_until_one_closes() {
    let mut n = TestNode::builder().funded_accounts(8, FUND).stream_max_subscribers(2).build();
    produce(&mut n, 2, 1);
    let served = serve(&n);
    let crt = client_rt();
    let a = crt.block_on(open(served.addr, 1)).unwrap();
    let mut b = crt.block_on(open(served.addr, 1)).unwrap();
    let e = crt.block_on(open(served.addr, 1)).expect_err("a third stream");
    assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e:?}");
    assert!(e.message().contains("2 block streams") && e.message().contains("max_subscribers"), "{}", e.message());
    drop(a);
    // The slot is freed when the server notices the client left (at its next send or commit).
    produce(&mut n, 1, 1);
    assert_eq!(heights(&crt.block_on(take(&mut b, 3))), vec![1, 2, 3]);
    let deadline = Instant::now() + WAIT;
    let mut c = loop {
        match crt.block_on(open(served.addr, 1)) {
            Ok(s) => break s,
            Err(e) if e.code() == tonic::Code::ResourceExhausted && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(heights(&crt.block_on(take(&mut c, 3))), vec![1, 2, 3]);
}
