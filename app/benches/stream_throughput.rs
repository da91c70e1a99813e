//! Block stream throughput and live lag.
//!
//! 1. A chain of BENCH_STREAM_BLOCKS blocks of BENCH_STREAM_TXS transfers each (driven in
//!    process by `TestNode`, real cnidarium/RocksDB).
//! 2. Ceiling: the same records read straight from the node's store by the reader the
//!    stream uses, without gRPC, and decoded (`stream::read_records`) as a client must;
//!    also the raw read rate (`stream::read_raw_records`, nothing decoded).
//! 3. Replay over gRPC (loopback, the node's real server; the client on its own runtime):
//!    `Blocks(1)` to the tip, blocks/s and events/s, and the ratio to the ceiling.
//! 4. Live lag: a subscriber at the tip while BENCH_STREAM_LIVE_BLOCKS blocks of
//!    BENCH_STREAM_LIVE_TXS transfers are produced back to back (the node as loaded as
//!    this process can make it): time from each Commit returning to the subscriber
//!    holding that block, p50/p99/max.
//!
//! `cargo bench -p openledger-app --bench stream_throughput`
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{env, percentile};
use futures::StreamExt;
use openledger_client::txbuilder::{self, SignerKey, TxSpec};
use openledger_proto::openledger::stream::v1 as pb;
use openledger_test_driver::{test_key, TestNode};

fn events(r: &pb::BlockRecord) -> usize {
    r.block_events.len() + r.txs.iter().map(|t| t.events.len()).sum::<usize>()
}

/// Signed transfers for `blocks` blocks of `per_block` txs, senders round-robin.
fn sign_blocks(keys: &[SignerKey], sequences: &mut [u64], blocks: usize, per_block: usize) -> Vec<Vec<Vec<u8>>> {
    let n = keys.len();
    let mut jobs = Vec::with_capacity(blocks * per_block);
    let first = sequences.iter().sum::<u64>() as usize; // continue the round-robin
    for k in first..first + blocks * per_block {
        let i = k % n;
        let spec = TxSpec::new(vec![txbuilder::msg_send(&keys[i].address(), &keys[(i + 1) % n].address(), 1)], 5_000, 200_000);
        jobs.push((spec, &keys[i], i as u64, sequences[i]));
        sequences[i] += 1;
    }
    let signed = common::sign_all(&jobs, common::threads());
    signed.into_iter().map(|(tx, _)| tx).collect::<Vec<_>>().chunks(per_block).map(|c| c.to_vec()).collect()
}

fn main() {
    common::init_process();
    let blocks = env("BENCH_STREAM_BLOCKS", 2_000);
    let per_block = env("BENCH_STREAM_TXS", 20);
    let live_blocks = env("BENCH_STREAM_LIVE_BLOCKS", 200);
    let live_txs = env("BENCH_STREAM_LIVE_TXS", 200);
    let accounts = per_block.max(live_txs).max(1);

    eprintln!("building a chain of {blocks} blocks x {per_block} transfers…");
    let keys: Vec<SignerKey> = (0..accounts as u64).map(test_key).collect();
    let mut builder = TestNode::builder();
    for k in &keys {
        builder = builder.fund(k.clone(), 1_000_000_000_000);
    }
    let mut node = builder.build();
    let mut sequences = vec![0u64; accounts];
    let t = Instant::now();
    for txs in sign_blocks(&keys, &mut sequences, blocks, per_block) {
        let r = node.execute_block_no_invariant(txs);
        assert!(r.tx_results.iter().all(|t| t.code == 0), "{:?}", r.tx_results.iter().find(|t| t.code != 0).map(|t| &t.log));
    }
    eprintln!("  {:.1} s", t.elapsed().as_secs_f64());
    let tip = node.height;

    // Ceiling: the store read back by the stream's own reader, no gRPC.
    let snap = node.app.storage().latest_snapshot();
    let (store_secs, store_events, store_bytes) = node.rt().block_on(async {
        let t = Instant::now();
        let (mut next, mut ev, mut bytes) = (1u64, 0usize, 0usize);
        while next <= tip {
            let recs = openledger_app::stream::read_records(&snap, next, next + 63).await.expect("read");
            for r in &recs {
                ev += events(r);
                bytes += prost::Message::encoded_len(r);
            }
            next += recs.len() as u64;
        }
        (t.elapsed().as_secs_f64(), ev, bytes)
    });
    // The store's raw read rate (bytes as stored, app hashes attached, nothing decoded).
    let raw_secs = node.rt().block_on(async {
        let t = Instant::now();
        let mut next = 1u64;
        while next <= tip {
            next += openledger_app::stream::read_raw_records(&snap, next, next + 63).await.expect("read").len() as u64;
        }
        t.elapsed().as_secs_f64()
    });
    drop(snap);

    // Replay over gRPC.
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    node.rt().spawn(openledger_app::rpc::grpc::serve(node.app.clone(), addr, async {
        let _ = stopped.await;
    }));
    while std::net::TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let crt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let connect = move || async move {
        pb::stream_service_client::StreamServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("connect")
            .max_decoding_message_size(256 << 20)
    };
    let (grpc_secs, grpc_events) = crt.block_on(async {
        let mut c = connect().await;
        let t = Instant::now();
        let mut s = c.blocks(pb::BlocksRequest { start_height: 1 }).await.expect("Blocks").into_inner();
        let mut ev = 0usize;
        for h in 1..=tip {
            let r = s.next().await.expect("record").expect("ok");
            assert_eq!(r.height, h);
            ev += events(&r);
        }
        (t.elapsed().as_secs_f64(), ev)
    });
    assert_eq!(grpc_events, store_events);

    // Live lag under load.
    eprintln!("live: {live_blocks} blocks x {live_txs} transfers back to back…");
    let live = sign_blocks(&keys, &mut sequences, live_blocks, live_txs);
    let (received_tx, mut received_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let first_live = tip + 1;
    let last_live = tip + live_blocks as u64;
    let subscriber = crt.spawn(async move {
        let mut c = connect().await;
        let mut s = c.blocks(pb::BlocksRequest { start_height: first_live }).await.expect("Blocks").into_inner();
        while let Some(r) = s.next().await {
            let r = r.expect("ok");
            let _ = received_tx.send((r.height, Instant::now()));
            if r.height == last_live {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(200)); // subscribed
    let mut committed = Vec::with_capacity(live_blocks);
    let t = Instant::now();
    for txs in live {
        node.execute_block_no_invariant(txs);
        committed.push((node.height, Instant::now()));
    }
    let produce_secs = t.elapsed().as_secs_f64();
    crt.block_on(subscriber).expect("subscriber");
    let mut lags = Vec::with_capacity(live_blocks);
    let mut expect = first_live;
    while let Ok((h, at)) = received_rx.try_recv() {
        assert_eq!(h, expect, "live heights in order, no gap");
        expect += 1;
        let (_, c) = committed[(h - first_live) as usize];
        lags.push(at.saturating_duration_since(c).as_secs_f64() * 1e3);
    }
    assert_eq!(lags.len(), live_blocks);
    lags.sort_by(f64::total_cmp);
    let _ = stop.send(());

    let mb = store_bytes as f64 / 1e6;
    println!("chain: {tip} blocks x {per_block} transfers, {store_events} events, {mb:.1} MB of records, {} threads", common::threads());
    println!();
    println!("| replay of {tip} blocks | blocks/s | events/s | MB/s |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| store read-back, raw bytes (`stream::read_raw_records`) | {:.0} | {:.0} | {:.1} |",
        tip as f64 / raw_secs,
        store_events as f64 / raw_secs,
        mb / raw_secs
    );
    println!(
        "| store read-back, decoded (ceiling: `stream::read_records`, no gRPC) | {:.0} | {:.0} | {:.1} |",
        tip as f64 / store_secs,
        store_events as f64 / store_secs,
        mb / store_secs
    );
    println!(
        "| gRPC `Blocks(1)` over loopback | {:.0} | {:.0} | {:.1} |",
        tip as f64 / grpc_secs,
        grpc_events as f64 / grpc_secs,
        mb / grpc_secs
    );
    println!("| ratio gRPC / decoded read-back | {:.2} | | |", store_secs / grpc_secs);
    println!();
    println!(
        "live subscriber, {live_blocks} blocks x {live_txs} transfers produced back to back ({:.1} ms/block): lag behind Commit p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        produce_secs * 1e3 / live_blocks as f64,
        percentile(&lags, 50.0),
        percentile(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN)
    );
}
