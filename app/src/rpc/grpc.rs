//! The gRPC server (default 127.0.0.1:9090): every route of the registry's query table,
//! served over raw protobuf from committed snapshots (so a route named once is served
//! on ABCI, gRPC and REST alike), the Cosmos services, the block stream and server
//! reflection. The request metadata `x-cosmos-block-height` selects a height, as in
//! the Cosmos SDK.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::http;
use futures::future::BoxFuture;
use openledger_framework::error::QueryCode;
use openledger_framework::{QueryError, QueryRoute};
use tonic::Status;

use crate::App;

pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

pub(crate) fn status(e: QueryError) -> Status {
    let code = match e.code {
        QueryCode::InvalidArgument => tonic::Code::InvalidArgument,
        QueryCode::NotFound => tonic::Code::NotFound,
        QueryCode::Internal => tonic::Code::Internal,
        QueryCode::Unimplemented => tonic::Code::Unimplemented,
        QueryCode::FailedPrecondition => tonic::Code::FailedPrecondition,
    };
    Status::new(code, e.message)
}

/// The height a request selects with `x-cosmos-block-height` (gRPC metadata or an HTTP
/// header; absent: 0, the latest).
pub(crate) fn height_from(value: Option<&[u8]>) -> Result<u64, QueryError> {
    match value {
        None => Ok(0),
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| QueryError::invalid_argument(format!("{HEIGHT_HEADER} must be a non-negative integer"))),
    }
}

/// Request and response bytes passed through as they are: each route's handler decodes
/// its own request and encodes its own response.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0; bytes::Buf::remaining(src)];
        bytes::Buf::copy_to_slice(src, &mut out);
        Ok(Some(out))
    }
}

/// One query route as a gRPC method: the handler runs on the snapshot the request
/// selects, and the answer carries the height it was read at.
#[derive(Clone)]
struct QueryMethod {
    app: App,
    route: &'static QueryRoute,
}

impl tonic::server::UnaryService<Vec<u8>> for QueryMethod {
    type Response = Vec<u8>;
    type Future = BoxFuture<'static, Result<tonic::Response<Vec<u8>>, Status>>;

    fn call(&mut self, request: tonic::Request<Vec<u8>>) -> Self::Future {
        let (app, route) = (self.app.clone(), self.route);
        Box::pin(async move {
            let height = height_from(request.metadata().get(HEIGHT_HEADER).map(|v| v.as_bytes())).map_err(status)?;
            let snap = app.snapshot_at(height).map_err(status)?;
            let version = snap.version();
            let out = (route.handler)(crate::registry::query_ctx(snap), request.into_inner()).await.map_err(status)?;
            let mut r = tonic::Response::new(out);
            if let Ok(v) = version.to_string().parse() {
                r.metadata_mut().insert(HEIGHT_HEADER, v);
            }
            Ok(r)
        })
    }
}

impl tower::Service<http::Request<axum::body::Body>> for QueryMethod {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<axum::body::Body>) -> Self::Future {
        let method = self.clone();
        let limit = self.app.rpc_gate().limits().max_request_bytes;
        Box::pin(async move { Ok(tonic::server::Grpc::new(RawCodec).max_decoding_message_size(limit).unary(method, req).await) })
    }
}

/// A method no service here has: gRPC's UNIMPLEMENTED, as tonic answers it.
async fn unimplemented(req: http::Request<axum::body::Body>) -> http::Response<tonic::body::Body> {
    Status::unimplemented(format!("no method {}", req.uri().path())).into_http()
}

/// Every route of the query table as a gRPC method.
fn query_methods(app: &App) -> axum::Router {
    let mut router = axum::Router::new();
    for route in crate::registry::query_routes() {
        router = router.route_service(route.method, QueryMethod { app: app.clone(), route });
    }
    router.fallback(unimplemented)
}

/// Serve until `shutdown` resolves, without a CometBFT RPC behind it (the Cosmos tx and
/// node services that need one answer UNAVAILABLE; Simulate and ABCI queries work).
pub async fn serve(app: App, addr: SocketAddr, shutdown: impl std::future::Future<Output = ()> + Send) -> anyhow::Result<()> {
    serve_with(app, addr, None, shutdown).await
}

/// Serve until `shutdown` resolves; `cometbft_rpc` is the node's CometBFT RPC URL, which
/// the Cosmos tx service (broadcast, tx lookup and search) and the node service use.
pub async fn serve_with(
    app: App,
    addr: SocketAddr,
    cometbft_rpc: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let cosmos = crate::rpc::cosmos::CosmosServices::new(app.clone(), cometbft_rpc);
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(openledger_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(openledger_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let gate = app.rpc_gate().clone();
    let max = gate.limits().max_request_bytes;
    use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1::service_server::ServiceServer as NodeServer;
    use cosmos_sdk_proto::cosmos::tx::v1beta1::service_server::ServiceServer as TxServer;
    let routes = tonic::service::Routes::from(query_methods(&app))
        .add_service(crate::stream::BlockStream::new(app.storage().clone(), closing_rx, app.settings().stream_max_subscribers).server())
        .add_service(TxServer::new(cosmos.clone()).max_decoding_message_size(max))
        .add_service(NodeServer::new(cosmos.clone()).max_decoding_message_size(max))
        .add_service(openledger_proto::cosmos::consensus::v1::query_server::QueryServer::new(cosmos).max_decoding_message_size(max))
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    // Every request but the block stream within the node's limits (rpc/limits.rs).
    let routes =
        tonic::service::Routes::from(routes.into_axum_router().layer(axum::middleware::from_fn_with_state(gate, crate::rpc::limits::grpc)));
    tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_shutdown(addr, async move {
            shutdown.await;
            // Block streams follow the tip forever; end them so the shutdown completes.
            let _ = closing_tx.send(true);
        })
        .await?;
    Ok(())
}
