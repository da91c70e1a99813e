//! Bounds on the public query surfaces. gRPC and REST answer anyone, so each request
//! has a deadline, a size limit and a place among a bounded number in flight (shared by
//! both servers); past a bound the request is refused at once with an error that says
//! which (gRPC RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED, HTTP 503 / 504 / 413), instead of
//! queueing work behind block execution. The servers run on a runtime of their own at a
//! lower CPU priority (`openledgerd start`), so their reads never wait in the blocking
//! pool FinalizeBlock's reads use, and a busy query load yields the cores to consensus.
//! The block stream is long-lived by design and bounded by its own subscriber limit.
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Node-local limits of the gRPC and REST servers (`[rpc]` in app.toml).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// A request not answered in this time is cancelled (`request_timeout_ms`).
    pub request_timeout: Duration,
    /// Requests served at once, gRPC and REST together (`max_in_flight`); more are refused.
    pub max_in_flight: usize,
    /// Largest request body or gRPC message accepted (`max_request_bytes`).
    pub max_request_bytes: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits { request_timeout: Duration::from_secs(10), max_in_flight: 32, max_request_bytes: 1 << 20 }
    }
}

/// The shared gate: permits for requests in flight, and the limits.
#[derive(Clone)]
pub struct Gate {
    permits: Arc<Semaphore>,
    limits: RpcLimits,
}

/// Which server a refusal is written for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Grpc,
    Rest,
}

impl Gate {
    pub fn new(limits: RpcLimits) -> Gate {
        Gate { permits: Arc::new(Semaphore::new(limits.max_in_flight)), limits }
    }

    pub fn limits(&self) -> &RpcLimits {
        &self.limits
    }

    fn refuse(&self, surface: Surface, status: tonic::Status) -> Response {
        match surface {
            Surface::Grpc => status.into_http::<axum::body::Body>(),
            Surface::Rest => crate::rpc::rest::error_response(status),
        }
    }

    /// Serve `req` within the limits.
    async fn serve(&self, surface: Surface, req: Request, next: Next) -> Response {
        if req.uri().path().starts_with("/openledger.stream.v1.StreamService/") {
            return next.run(req).await;
        }
        let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
            let n = self.limits.max_in_flight;
            return self.refuse(
                surface,
                tonic::Status::resource_exhausted(format!(
                    "node busy: {n} requests in flight, the most this node serves at once; retry later"
                )),
            );
        };
        let started = std::time::Instant::now();
        match tokio::time::timeout(self.limits.request_timeout, next.run(req)).await {
            // An answer ready only after the deadline is not sent either.
            Ok(resp) if started.elapsed() <= self.limits.request_timeout => resp,
            _ => {
                let ms = self.limits.request_timeout.as_millis();
                self.refuse(surface, tonic::Status::deadline_exceeded(format!("request not answered within this node's {ms} ms limit")))
            }
        }
    }
}

/// The gRPC server's middleware.
pub async fn grpc(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    gate.serve(Surface::Grpc, req, next).await
}

/// The REST server's middleware.
pub async fn rest(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    gate.serve(Surface::Rest, req, next).await
}

/// A REST body over the size limit: 413, in the error shape of every REST error.
pub fn too_large(limit: usize) -> Response {
    let mut r = crate::rpc::rest::error_response(tonic::Status::out_of_range(format!("request body over this node's {limit}-byte limit")));
    *r.status_mut() = axum::http::StatusCode::PAYLOAD_TOO_LARGE;
    r.into_response()
}
