//! Every query decoder: ABCI `Query` on each route of the query table (and Simulate)
//! with arbitrary request bytes and heights, and REST with an arbitrary path, query
//! string and body. Every answer is a response — a refusal has a code — never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::{Mutex, OnceLock};
use tower::ServiceExt;

struct World {
    node: openledger_test_driver::TestNode,
    routes: Vec<&'static str>,
    rest: axum::Router,
}

fn world() -> &'static Mutex<World> {
    static W: OnceLock<Mutex<World>> = OnceLock::new();
    W.get_or_init(|| {
        let mut node = openledger_test_driver::TestNode::builder().funded_accounts(4, 1_000_000_000).build();
        node.execute_block(vec![]);
        let mut routes: Vec<&'static str> = openledger_app::registry::query_routes().iter().map(|r| r.method).collect();
        routes.push("/cosmos.tx.v1beta1.Service/Simulate");
        routes.push("/no.such/Method");
        let rest = openledger_app::rpc::rest::router(node.app.clone(), None);
        Mutex::new(World { node, routes, rest })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let w = world().lock().unwrap_or_else(|p| p.into_inner());
    if selector & 1 == 0 {
        let path = w.routes[(selector as usize >> 1) % w.routes.len()];
        let height = u64::from(rest.first().copied().unwrap_or(0) % 4);
        let _ = w.node.query(path, rest.get(1..).unwrap_or_default().to_vec(), height);
    } else {
        // REST: "<path and query>\n<body>", the path made to start with '/'.
        let text = String::from_utf8_lossy(rest);
        let (target, body) = text.split_once('\n').unwrap_or((&text, ""));
        let target: String = target.chars().filter(|c| c.is_ascii_graphic()).collect();
        let method = if body.is_empty() { "GET" } else { "POST" };
        let Ok(req) =
            axum::http::Request::builder().method(method).uri(format!("/{target}")).body(axum::body::Body::from(body.to_string()))
        else {
            return;
        };
        let router = w.rest.clone();
        let resp = w.node.rt().block_on(router.oneshot(req));
        let status = resp.map(|r| r.status().as_u16()).unwrap_or(500);
        assert!(status != 500, "REST answered 500 for {method} /{target}");
    }
});
