//! The ABCI socket server (`abci/server.rs`) as CometBFT's socket client uses it: many
//! requests written at once are answered in order, CheckTx results are those of the
//! application (a batch's signatures verified ahead on all cores change no answer), a
//! malformed frame closes only its own connection; and only what CometBFT opens is
//! served — four connections at once, consensus requests on one of them — on a Unix
//! socket by default, readable by this user only; a failed `accept` (out of file
//! descriptors) is retried.
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
    std::thread::spawn(move || openledger_app::abci::server::serve(openledger_app::abci::server::Listener::Tcp(listener), app));
    addr
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Read `count` length-delimited responses.
fn read_responses(s: &mut impl Read, count: usize) -> Vec<Response> {
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

fn write_request(s: &mut impl Write, v: request::Value) {
    let mut bytes = Vec::new();
    Request { value: Some(v) }.encode_length_delimited(&mut bytes).unwrap();
    s.write_all(&bytes).unwrap();
}

fn echo(s: &mut (impl Read + Write), message: &str) -> bool {
    write_request(s, request::Value::Echo(pb::RequestEcho { message: message.into() }));
    matches!(&read_responses(s, 1)[0].value, Some(response::Value::Echo(e)) if e.message == message)
}

/// Whether the server closed `s` (it reads end-of-stream, or the connection resets).
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 16];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

/// Within 10 s, a new connection gets an answer (the server may still be freeing a slot).
fn a_new_connection_is_served(addr: &str, when: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = connect(addr);
        write_request(&mut again, request::Value::Echo(pb::RequestEcho { message: "again".into() }));
        let mut b = [0u8; 64];
        if matches!(again.read(&mut b), Ok(k) if k > 0) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no connection served {when}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_fifth_connection_is_refused_while_cometbfts_four_are_open() {
    let n = TestNode::builder().funded_accounts(1, 1_000_000).build();
    let addr = serve(&n);
    let mut four: Vec<TcpStream> = (0..4).map(|_| connect(&addr)).collect();
    for (i, c) in four.iter_mut().enumerate() {
        assert!(echo(c, &format!("conn {i}")), "connection {i} is served");
    }
    let mut fifth = connect(&addr);
    assert!(closed_by_server(&mut fifth), "a fifth connection is closed at once");
    // One of the four goes away: a new one is served again.
    drop(four.pop());
    a_new_connection_is_served(&addr, "after one of four closed");
    assert!(echo(&mut four[0], "still served"));
}

#[test]
fn consensus_requests_are_served_on_one_connection_only() {
    let n = TestNode::builder().funded_accounts(1, 1_000_000).build();
    let addr = serve(&n);
    let (mut consensus, mut other) = (connect(&addr), connect(&addr));
    let vote = || request::Value::ExtendVote(pb::RequestExtendVote { height: 1, ..Default::default() });
    write_request(&mut consensus, vote());
    assert!(matches!(&read_responses(&mut consensus, 1)[0].value, Some(response::Value::ExtendVote(_))), "the first claims the role");
    write_request(&mut other, vote());
    match &read_responses(&mut other, 1)[0].value {
        Some(response::Value::Exception(e)) => assert!(e.error.contains("served on ABCI connection"), "{}", e.error),
        v => panic!("a second connection's consensus request must be refused, got {v:?}"),
    }
    // A stray FinalizeBlock is refused the same way, and changes nothing.
    let before = n.rt().block_on(n.app.last_committed()).unwrap();
    write_request(&mut other, request::Value::FinalizeBlock(pb::RequestFinalizeBlock { height: 1, ..Default::default() }));
    assert!(matches!(&read_responses(&mut other, 1)[0].value, Some(response::Value::Exception(_))));
    write_request(&mut other, request::Value::Commit(pb::RequestCommit {}));
    assert!(matches!(&read_responses(&mut other, 1)[0].value, Some(response::Value::Exception(_))));
    assert_eq!(n.rt().block_on(n.app.last_committed()).unwrap(), before);
    assert!(echo(&mut other, "other requests are served"));
    // The consensus connection closes (CometBFT restarted): the next one takes the role.
    drop(consensus);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        write_request(&mut other, vote());
        if matches!(&read_responses(&mut other, 1)[0].value, Some(response::Value::ExtendVote(_))) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the role was not freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_default_unix_socket_is_private_replaces_a_stale_file_and_refuses_a_second_server() {
    use openledger_app::abci::server::{AbciAddr, Listener};
    use std::os::unix::fs::PermissionsExt;
    let n = TestNode::builder().funded_accounts(1, 1_000_000).build();
    let dir = tempfile::tempdir().unwrap();
    let addr = AbciAddr::parse("unix://data/abci.sock", dir.path());
    let path = dir.path().join("data/abci.sock");
    assert_eq!(addr, AbciAddr::Unix(path.clone()));
    assert_eq!(addr.proxy_app(), format!("unix://{}", path.display()));
    assert_eq!(AbciAddr::parse("127.0.0.1:26658", dir.path()), AbciAddr::Tcp("127.0.0.1:26658".into()));
    assert_eq!(AbciAddr::parse("tcp://127.0.0.1:26658", dir.path()).proxy_app(), "tcp://127.0.0.1:26658");
    // A socket file an earlier run left behind (nothing listens): replaced.
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let listener = Listener::bind(&addr).expect("binds over a stale socket file");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "only this user may connect");
    let app = n.app.clone();
    std::thread::spawn(move || openledger_app::abci::server::serve(listener, app));
    let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert!(echo(&mut c, "over a unix socket"));
    let err = Listener::bind(&addr).err().expect("a second server on the same socket is refused");
    assert!(err.to_string().contains("in use"), "{err}");
}

/// This process's soft limit on open files.
fn set_open_files_limit(soft: u64) {
    let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut l), 0);
        l.rlim_cur = soft.min(l.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &l), 0);
    }
}

const ACCEPT_CHILD: &str = "OPENLEDGER_TEST_ACCEPT_ERRORS_CHILD";

/// Out of file descriptors, `accept` fails (EMFILE): the server logs it and retries,
/// the connections it already serves carry on, and once descriptors are free again new
/// connections are served. (A connection arriving meanwhile is closed: the descriptor a
/// blocked `accept` holds is not enough to set it up; CometBFT reconnects.) Run in a
/// child process, since the limit is the process's.
#[test]
fn accept_errors_are_logged_and_retried_and_connections_are_served_again() {
    if std::env::var_os(ACCEPT_CHILD).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["accept_errors_are_logged_and_retried_and_connections_are_served_again", "--exact", "--nocapture"])
            .env(ACCEPT_CHILD, "1")
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "the child ran the test:\n{stdout}");
        let log = format!("{stdout}{stderr}");
        assert!(log.contains("ABCI accept failed") && log.contains("Too many open files"), "the failure is logged:\n{log}");
        return;
    }
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).try_init();
    let n = TestNode::builder().funded_accounts(1, 1_000_000).build();
    let addr = serve(&n);
    let mut first = connect(&addr);
    assert!(echo(&mut first, "before"));
    // Every descriptor below a limit taken but one: the client's socket takes that, so
    // the server's accept has none.
    let highest = std::fs::read_dir("/proc/self/fd").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok()).max();
    let limit = highest.unwrap() + 8;
    set_open_files_limit(limit);
    let mut filler: Vec<std::fs::File> = std::iter::from_fn(|| std::fs::File::open("/dev/null").ok()).take(limit as usize + 1).collect();
    assert!(filler.len() <= limit as usize, "the limit holds");
    drop(filler.pop());
    let waiting = TcpStream::connect(&addr).expect("the kernel completes the handshake into the backlog");
    // Several failed accepts (retried every 100 ms); a descriptor another thread frees
    // meanwhile is taken at once, so none is left for them.
    let until = std::time::Instant::now() + Duration::from_millis(350);
    while std::time::Instant::now() < until {
        filler.extend(std::iter::from_fn(|| std::fs::File::open("/dev/null").ok()));
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(filler);
    set_open_files_limit(u64::MAX);
    drop(waiting);
    assert!(echo(&mut first, "still"), "the connection already served was never disturbed");
    a_new_connection_is_served(&addr, "after descriptors were freed");
}
