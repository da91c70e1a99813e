//! REST (`[api] address`, default 127.0.0.1:1317): the Cosmos endpoints wallets call,
//! in the Cosmos JSON shapes (as the Cosmos SDK's gRPC gateway prints them: proto field
//! names, 64-bit integers as strings, `Any` as `{"@type": …, fields…}`), and a GET route
//! for every `openledger.*` query:
//! `GET /openledger/{module}/v1/{method in snake_case}?field=value&pagination.limit=10`,
//! its request built from the query string and its answer printed through the
//! protobuf descriptors the gRPC reflection serves. Errors are `{"code", "message",
//! "details"}` with the gRPC code and the HTTP status the gateway would give.
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::{Path, RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1 as abciv;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as tmv;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txv;
use openledger_framework::QueryError;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, ReflectMessage, SerializeOptions};
use serde_json::{json, Map, Value};
use tonic::Request;

use crate::rpc::cosmos::CosmosServices;
use crate::App;

struct Rest {
    app: App,
    cosmos: CosmosServices,
}

type Shared = State<Arc<Rest>>;

/// An error answer: HTTP status from the gRPC code, body as the gateway prints it.
struct ApiError(Box<tonic::Status>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use tonic::Code::*;
        let http = match self.0.code() {
            InvalidArgument | FailedPrecondition | OutOfRange => StatusCode::BAD_REQUEST,
            NotFound => StatusCode::NOT_FOUND,
            Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Unavailable | ResourceExhausted => StatusCode::SERVICE_UNAVAILABLE,
            DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            PermissionDenied => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (http, axum::Json(json!({ "code": self.0.code() as i32, "message": self.0.message(), "details": [] }))).into_response()
    }
}

/// A REST error response for `status`, in the shape of every REST error.
pub(crate) fn error_response(status: tonic::Status) -> Response {
    ApiError::from(status).into_response()
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> Self {
        ApiError(Box::new(s))
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::from(crate::rpc::grpc::status(e))
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::from(tonic::Status::invalid_argument(msg))
}

type ApiResult = Result<axum::Json<Value>, ApiError>;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The descriptors of every message and service the node serves (gRPC reflection's).
fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(openledger_proto::FILE_DESCRIPTOR_SET).unwrap_or_default())
}

/// Proto3 JSON as the gateway prints it: field names as in the .proto, defaults
/// included, 64-bit integers as strings, `Any` as `{"@type": "/…", fields…}`.
fn dynamic_json(m: &DynamicMessage) -> Value {
    let opts = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false).stringify_64_bit_integers(true);
    let mut m = m.clone();
    to_google_any_urls(&mut m);
    let mut v = m.serialize_with_options(serde_json::value::Serializer, &opts).unwrap_or(Value::Null);
    to_cosmos_any_urls(&mut v);
    v
}

/// The JSON mapping prints an `Any` by its fields only under a `type.googleapis.com/`
/// type URL; Cosmos writes `/…`. Rewrite every `Any` in `m` (and inside their payloads)
/// that names a type the descriptors know; `to_cosmos_any_urls` undoes it in the JSON.
fn to_google_any_urls(m: &mut DynamicMessage) {
    for (_, value) in m.fields_mut() {
        for inner in messages_in(value) {
            if inner.descriptor().full_name() == "google.protobuf.Any" {
                google_any(inner);
            } else {
                to_google_any_urls(inner);
            }
        }
    }
}

fn google_any(any: &mut DynamicMessage) {
    let Ok(raw) = any.transcode_to::<prost_types::Any>() else { return };
    let Some(name) = raw.type_url.strip_prefix('/') else { return };
    let Some(desc) = pool().get_message_by_name(name) else { return };
    let Ok(mut payload) = DynamicMessage::decode(desc, raw.value.as_slice()) else { return };
    to_google_any_urls(&mut payload);
    let rewritten = prost_types::Any { type_url: format!("type.googleapis.com/{name}"), value: payload.encode_to_vec() };
    let _ = any.transcode_from(&rewritten);
}

fn messages_in(value: &mut prost_reflect::Value) -> Vec<&mut DynamicMessage> {
    match value {
        prost_reflect::Value::Message(m) => vec![m],
        prost_reflect::Value::List(items) => items.iter_mut().flat_map(messages_in).collect(),
        prost_reflect::Value::Map(entries) => entries.values_mut().flat_map(messages_in).collect(),
        _ => vec![],
    }
}

fn to_cosmos_any_urls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(url)) = o.get_mut("@type") {
                if let Some(name) = url.strip_prefix("type.googleapis.com/") {
                    *url = format!("/{name}");
                }
            }
            o.values_mut().for_each(to_cosmos_any_urls);
        }
        Value::Array(a) => a.iter_mut().for_each(to_cosmos_any_urls),
        _ => {}
    }
}

fn coin_json(denom: &str, amount: &str) -> Value {
    json!({ "denom": denom, "amount": amount })
}

/// An `Any` as `{"@type": url, fields…}`: the chain's own messages through their
/// descriptors, keys and bank sends by hand; anything else as its bytes.
pub fn any_json(type_url: &str, value: &[u8]) -> Value {
    let name = type_url.strip_prefix('/').unwrap_or(type_url);
    let fields = match name {
        "cosmos.bank.v1beta1.MsgSend" => cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend::decode(value).ok().map(|m| {
            json!({
                "from_address": m.from_address,
                "to_address": m.to_address,
                "amount": m.amount.iter().map(|c| coin_json(&c.denom, &c.amount)).collect::<Vec<_>>(),
            })
        }),
        "cosmos.crypto.secp256k1.PubKey" | "cosmos.crypto.ed25519.PubKey" => {
            cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey::decode(value).ok().map(|k| json!({ "key": b64(&k.key) }))
        }
        "cosmos.auth.v1beta1.BaseAccount" => auth::BaseAccount::decode(value).ok().map(|a| base_account_fields(&a)),
        _ => pool().get_message_by_name(name).and_then(|d| DynamicMessage::decode(d, value).ok()).map(|m| dynamic_json(&m)),
    };
    let mut out = Map::new();
    out.insert("@type".into(), Value::String(type_url.to_string()));
    match fields {
        Some(Value::Object(f)) => out.extend(f),
        _ => {
            out.insert("value".into(), Value::String(b64(value)));
        }
    }
    Value::Object(out)
}

fn base_account_fields(a: &auth::BaseAccount) -> Value {
    json!({
        "address": a.address,
        "pub_key": a.pub_key.as_ref().map(|k| any_json(&k.type_url, &k.value)),
        "account_number": a.account_number.to_string(),
        "sequence": a.sequence.to_string(),
    })
}

fn events_json(events: &[cosmos_sdk_proto::tendermint::abci::Event]) -> Value {
    events
        .iter()
        .map(|e| json!({ "type": e.r#type, "attributes": e.attributes.iter().map(|a| json!({ "key": a.key, "value": a.value, "index": a.index })).collect::<Vec<_>>() }))
        .collect()
}

fn tx_json(tx: &txv::Tx) -> Value {
    let body = tx.body.clone().unwrap_or_default();
    let auth_info = tx.auth_info.clone().unwrap_or_default();
    let fee = auth_info.fee.unwrap_or_default();
    json!({
        "body": {
            "messages": body.messages.iter().map(|m| any_json(&m.type_url, &m.value)).collect::<Vec<_>>(),
            "memo": body.memo,
            "timeout_height": body.timeout_height.to_string(),
            "extension_options": [],
            "non_critical_extension_options": [],
        },
        "auth_info": {
            "signer_infos": auth_info.signer_infos.iter().map(|s| json!({
                "public_key": s.public_key.as_ref().map(|k| any_json(&k.type_url, &k.value)),
                "mode_info": match s.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
                    Some(txv::mode_info::Sum::Single(single)) => json!({ "single": { "mode": cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode::try_from(single.mode).map(|m| m.as_str_name()).unwrap_or("SIGN_MODE_UNSPECIFIED") } }),
                    _ => Value::Null,
                },
                "sequence": s.sequence.to_string(),
            })).collect::<Vec<_>>(),
            "fee": {
                "amount": fee.amount.iter().map(|c| coin_json(&c.denom, &c.amount)).collect::<Vec<_>>(),
                "gas_limit": fee.gas_limit.to_string(),
                "payer": fee.payer,
                "granter": fee.granter,
            },
            "tip": null,
        },
        "signatures": tx.signatures.iter().map(|s| b64(s)).collect::<Vec<_>>(),
    })
}

fn tx_response_json(r: &abciv::TxResponse) -> Value {
    json!({
        "height": r.height.to_string(),
        "txhash": r.txhash,
        "codespace": r.codespace,
        "code": r.code,
        "data": r.data,
        "raw_log": r.raw_log,
        "logs": [],
        "info": r.info,
        "gas_wanted": r.gas_wanted.to_string(),
        "gas_used": r.gas_used.to_string(),
        "tx": r.tx.as_ref().map(|t| match txv::Tx::decode(t.value.as_slice()) {
            Ok(tx) => { let mut v = tx_json(&tx); if let Some(o) = v.as_object_mut() { o.insert("@type".into(), Value::String(t.type_url.clone())); } v }
            Err(_) => any_json(&t.type_url, &t.value),
        }),
        "timestamp": r.timestamp,
        "events": events_json(&r.events),
    })
}

/// The height a request reads at (`x-cosmos-block-height`, as over gRPC; 0 = latest).
fn height(headers: &HeaderMap) -> Result<u64, ApiError> {
    Ok(crate::rpc::grpc::height_from(headers.get(crate::rpc::grpc::HEIGHT_HEADER).map(|v| v.as_bytes()))?)
}

/// Run the query at gRPC method `path` with a protobuf request.
async fn query(app: &App, path: &str, req: Vec<u8>, height: u64) -> Result<Vec<u8>, ApiError> {
    let route =
        crate::registry::query_route(path).ok_or_else(|| ApiError::from(tonic::Status::unimplemented(format!("no query {path}"))))?;
    let snap = app.snapshot_at(height)?;
    Ok((route.handler)(crate::registry::query_ctx(snap), req).await?)
}

/// `a=1&b.c=x` as a JSON request of `desc`: dotted keys nest, repeated keys (or
/// repeated fields) make arrays, booleans and enum numbers take their JSON types.
fn params_json(desc: &MessageDescriptor, raw: Option<&str>) -> Result<Value, ApiError> {
    let mut root = Map::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let parts: Vec<&str> = k.split('.').collect();
        let mut d = desc.clone();
        let mut obj = &mut root;
        for (i, part) in parts.iter().enumerate() {
            let field = d
                .get_field_by_name(part)
                .or_else(|| d.get_field_by_json_name(part))
                .ok_or_else(|| bad(format!("{} has no field {part:?}", d.full_name())))?;
            if i + 1 < parts.len() {
                let Kind::Message(inner) = field.kind() else { return Err(bad(format!("{part} is not a message: {k}"))) };
                d = inner;
                obj = obj
                    .entry(field.name().to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .ok_or_else(|| bad(format!("{k} conflicts with another parameter")))?;
                continue;
            }
            let value = match field.kind() {
                Kind::Bool => Value::Bool(match v.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => return Err(bad(format!("{k}: {other:?} is not a boolean"))),
                }),
                Kind::Enum(_) => v.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(v.to_string())),
                _ => Value::String(v.to_string()),
            };
            if field.is_list() {
                let list = obj.entry(field.name().to_string()).or_insert_with(|| Value::Array(vec![]));
                list.as_array_mut().ok_or_else(|| bad(format!("{k} conflicts with another parameter")))?.push(value);
            } else {
                obj.insert(field.name().to_string(), value);
            }
        }
    }
    Ok(Value::Object(root))
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every `openledger.*` query as (REST path, gRPC method path), computed once.
pub fn openledger_routes() -> &'static [(String, String)] {
    static ROUTES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        crate::registry::query_routes()
            .iter()
            .filter_map(|r| {
                let (service, method) = r.method.strip_prefix('/')?.split_once('/')?;
                let pkg = service.strip_suffix(".Query")?;
                let rest = pkg.strip_prefix("openledger.")?.replace('.', "/");
                Some((format!("/openledger/{rest}/{}", snake(method)), r.method.to_string()))
            })
            .collect()
    })
}

async fn openledger_query(
    State(s): Shared,
    Path((module, version, method)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let rest_path = format!("/openledger/{module}/{version}/{method}");
    let (_, grpc_path) = openledger_routes()
        .iter()
        .find(|(r, _)| *r == rest_path)
        .ok_or_else(|| ApiError::from(tonic::Status::not_found(format!("no route {rest_path}"))))?;
    route_query(&s.app, grpc_path, &rest_path, vec![], &headers, raw.as_deref()).await
}

/// A query of the table at its Cosmos REST path (`rest` of its route): path parameters
/// and the query string build its request.
async fn cosmos_query(
    s: Arc<Rest>,
    grpc_path: &'static str,
    params: Vec<(String, String)>,
    headers: HeaderMap,
    raw: Option<String>,
) -> ApiResult {
    route_query(&s.app, grpc_path, grpc_path, params, &headers, raw.as_deref()).await
}

/// Run the query at gRPC method `grpc_path` with the request the path parameters and
/// the query string give, and print its answer as the gateway does.
async fn route_query(
    app: &App,
    grpc_path: &str,
    what: &str,
    path_params: Vec<(String, String)>,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> ApiResult {
    let (service, name) =
        grpc_path.trim_start_matches('/').split_once('/').ok_or_else(|| ApiError::from(tonic::Status::internal("bad route")))?;
    let m = pool()
        .get_service_by_name(service)
        .and_then(|svc| svc.methods().find(|m| m.name() == name))
        .ok_or_else(|| ApiError::from(tonic::Status::internal(format!("no descriptor for {grpc_path}"))))?;
    let mut params = params_json(&m.input(), raw)?;
    if let Some(o) = params.as_object_mut() {
        for (k, v) in path_params {
            o.insert(k, Value::String(v));
        }
    }
    let req = DynamicMessage::deserialize(m.input(), params).map_err(|e| bad(format!("bad request for {what}: {e}")))?;
    let out = query(app, grpc_path, req.encode_to_vec(), height(headers)?).await?;
    let resp = DynamicMessage::decode(m.output(), out.as_slice())
        .map_err(|e| ApiError::from(tonic::Status::internal(format!("response: {e}"))))?;
    let mut json = dynamic_json(&resp);
    // The gateway prints a last page's empty `next_key` as null.
    if let Some(page) = json.get_mut("pagination").and_then(Value::as_object_mut) {
        if page.get("next_key").and_then(Value::as_str) == Some("") {
            page.insert("next_key".into(), Value::Null);
        }
    }
    Ok(axum::Json(json))
}

/// A JSON body with base64 `tx_bytes`.
fn tx_bytes_of(body: &Bytes) -> Result<(Vec<u8>, Value), ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    let s = v.get("tx_bytes").and_then(Value::as_str).ok_or_else(|| bad("body needs \"tx_bytes\" (base64)"))?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| bad(format!("tx_bytes is not base64: {e}")))?;
    Ok((bytes, v))
}

async fn broadcast(State(s): Shared, body: Bytes) -> ApiResult {
    let (tx_bytes, v) = tx_bytes_of(&body)?;
    let mode = match &v["mode"] {
        Value::String(m) => txv::BroadcastMode::from_str_name(m).ok_or_else(|| bad(format!("unknown broadcast mode {m:?}")))? as i32,
        Value::Number(n) => n.as_i64().unwrap_or(0) as i32,
        Value::Null => txv::BroadcastMode::Sync as i32,
        other => return Err(bad(format!("mode must be a string, got {other}"))),
    };
    let r =
        txv::service_server::Service::broadcast_tx(&s.cosmos, Request::new(txv::BroadcastTxRequest { tx_bytes, mode })).await?.into_inner();
    Ok(axum::Json(json!({ "tx_response": r.tx_response.as_ref().map(tx_response_json) })))
}

async fn simulate(State(s): Shared, body: Bytes) -> ApiResult {
    let (tx_bytes, _) = tx_bytes_of(&body)?;
    let r = s.app.simulate_request(txv::SimulateRequest { tx_bytes, ..Default::default() }).await?;
    let gas = r.gas_info.unwrap_or_default();
    let result = r.result.unwrap_or_default();
    Ok(axum::Json(json!({
        "gas_info": { "gas_wanted": gas.gas_wanted.to_string(), "gas_used": gas.gas_used.to_string() },
        "result": {
            "log": result.log,
            "events": events_json(&result.events),
            "msg_responses": result.msg_responses.iter().map(|m| any_json(&m.type_url, &m.value)).collect::<Vec<_>>(),
        },
    })))
}

async fn get_tx(State(s): Shared, Path(hash): Path<String>) -> ApiResult {
    let r = txv::service_server::Service::get_tx(&s.cosmos, Request::new(txv::GetTxRequest { hash })).await?.into_inner();
    Ok(axum::Json(json!({ "tx": r.tx.as_ref().map(tx_json), "tx_response": r.tx_response.as_ref().map(tx_response_json) })))
}

async fn node_info(State(s): Shared) -> ApiResult {
    let r = tmv::service_server::Service::get_node_info(&s.cosmos, Request::new(tmv::GetNodeInfoRequest {})).await?.into_inner();
    let n = r.default_node_info.unwrap_or_default();
    let pv = n.protocol_version.unwrap_or_default();
    let other = n.other.unwrap_or_default();
    let v = r.application_version.unwrap_or_default();
    Ok(axum::Json(json!({
        "default_node_info": {
            "protocol_version": { "p2p": pv.p2p.to_string(), "block": pv.block.to_string(), "app": pv.app.to_string() },
            "default_node_id": n.default_node_id,
            "listen_addr": n.listen_addr,
            "network": n.network,
            "version": n.version,
            "channels": b64(&n.channels),
            "moniker": n.moniker,
            "other": { "tx_index": other.tx_index, "rpc_address": other.rpc_address },
        },
        "application_version": {
            "name": v.name, "app_name": v.app_name, "version": v.version, "git_commit": v.git_commit,
            "build_tags": v.build_tags, "go_version": v.go_version, "build_deps": [], "cosmos_sdk_version": v.cosmos_sdk_version,
        },
    })))
}

async fn not_found() -> ApiError {
    ApiError::from(tonic::Status::not_found("no such route: see the README's REST section for the paths served"))
}

pub fn router(app: App, cometbft_rpc: Option<String>) -> Router {
    let state = Arc::new(Rest { cosmos: CosmosServices::new(app.clone(), cometbft_rpc), app });
    let mut router = Router::new()
        .route("/cosmos/tx/v1beta1/txs", post(broadcast))
        .route("/cosmos/tx/v1beta1/txs/{hash}", get(get_tx))
        .route("/cosmos/tx/v1beta1/simulate", post(simulate))
        .route("/cosmos/base/tendermint/v1beta1/node_info", get(node_info))
        .route("/openledger/{module}/{version}/{method}", get(openledger_query));
    // The Cosmos queries of the table, each at the path the Cosmos gateway serves it at.
    for route in crate::registry::query_routes() {
        let Some(path) = route.rest else { continue };
        let method = route.method;
        router = router.route(
            path,
            get(move |State(s): Shared, params: RawPathParams, headers: HeaderMap, RawQuery(raw): RawQuery| {
                let params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                cosmos_query(s, method, params, headers, raw)
            }),
        );
    }
    let gate = state.app.rpc_gate().clone();
    let max = gate.limits().max_request_bytes;
    router
        .fallback(not_found)
        .with_state(state)
        // Within the node's limits (rpc/limits.rs); a body over the size limit is refused
        // by its length header, and by the body reader for a body sent without one.
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let declared = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            if declared.is_some_and(|n| n > max) {
                return crate::rpc::limits::too_large(max);
            }
            next.run(req).await
        }))
        .layer(axum::extract::DefaultBodyLimit::max(max))
        .layer(axum::middleware::from_fn_with_state(gate, crate::rpc::limits::rest))
}

/// Serve REST on `addr` until `shutdown` resolves.
pub async fn serve(
    app: App,
    addr: SocketAddr,
    cometbft_rpc: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(app, cometbft_rpc)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
