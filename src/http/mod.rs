//! The HTTP endpoint of `vtrack run`: `/metrics` (Prometheus text), `/healthz` (alive),
//! `/readyz` (joined, restored, caught up) and the read-only queries of [`query`].
//!
//! It runs on its own thread with a small async runtime; the processor's blocking poll loop
//! never runs on it, and queries that read the processor's state run on blocking threads.

pub mod health;
pub mod query;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use health::Health;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use metrics_exporter_prometheus::PrometheusHandle;
use query::{check_ids, Answer, Lookup, FORWARDED_HEADER, INSTANCE_HEADER};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long a forwarded query may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the HTTP runtime: {0}")]
    Runtime(std::io::Error),
}

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    health: Arc<Health>,
    metrics: PrometheusHandle,
    lookup: Arc<dyn Lookup>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Empty<axum::body::Bytes>>,
}

/// A running endpoint; dropping it (or [`HttpServer::shutdown`]) stops it.
pub struct HttpServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `bind` (done first at start-up, so that a wrong address or a port in use is
    /// said before anything else happens).
    pub fn bind(bind: &str) -> Result<std::net::TcpListener, HttpError> {
        let bind_err = |source| HttpError::Bind {
            addr: bind.to_string(),
            source,
        };
        let listener = std::net::TcpListener::bind(bind).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        Ok(listener)
    }

    /// Serves on `listener` (from [`HttpServer::bind`]) on a thread of its own.
    pub fn start(
        listener: std::net::TcpListener,
        health: Arc<Health>,
        metrics: PrometheusHandle,
        lookup: Arc<dyn Lookup>,
    ) -> Result<HttpServer, HttpError> {
        let addr = listener.local_addr().map_err(|source| HttpError::Bind {
            addr: "the bound address".to_string(),
            source,
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HttpError::Runtime)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState {
            health,
            metrics,
            lookup,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let thread = std::thread::Builder::new()
            .name("vtrack-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => return tracing::error!(error = %e, "HTTP endpoint failed"),
                    };
                    let serve =
                        axum::serve(listener, router(state)).with_graceful_shutdown(async {
                            let _ = stopped.await;
                        });
                    if let Err(e) = serve.await {
                        tracing::error!(error = %e, "HTTP endpoint failed");
                    }
                })
            })
            .map_err(HttpError::Runtime)?;
        Ok(HttpServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops serving and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/sellers/{seller_id}/vtr", get(seller_vtr))
        .route(
            "/v1/packages/{seller_id}/{order_id}/{package_id}",
            get(package),
        )
        .route(
            "/v1/packages/{seller_id}/{order_id}/",
            get(package_without_id),
        )
        .route("/v1/instances", get(instances))
        .fallback(not_found)
        .with_state(state)
}

/// A JSON error body with a status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no such endpoint: {}; try /v1/sellers/{{seller_id}}/vtr or /v1/packages/{{seller_id}}/{{order_id}}/{{package_id}}",
            uri.path()
        ),
    )
}

async fn metrics(State(s): State<AppState>) -> Response {
    s.metrics.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

async fn healthz(State(s): State<AppState>) -> Response {
    match s.health.alive() {
        Ok(()) => Json(json!({ "status": "alive" })).into_response(),
        Err(idle) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "stuck",
                "reason": format!("the poll loop has not turned for {} s", idle.as_secs()),
            })),
        )
            .into_response(),
    }
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.health.ready() {
        Ok(()) => Json(json!({ "status": "ready", "lag": s.health.lag() })).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "reason": why.as_str(), "lag": s.health.lag() })),
        )
            .into_response(),
    }
}

async fn instances(State(s): State<AppState>) -> Response {
    let lookup = s.lookup.clone();
    match tokio::task::spawn_blocking(move || lookup.instances()).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn seller_vtr(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let seller = match path {
        Ok(Path(seller)) => seller,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    if let Err(why) = check_ids(&[("seller_id", &seller)]) {
        return error(StatusCode::BAD_REQUEST, why);
    }
    let lookup = s.lookup.clone();
    answer(&s, &headers, &uri, move || lookup.seller_vtr(&seller)).await
}

async fn package(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    match path {
        Ok(Path((seller, order, package))) => {
            package_answer(s, headers, uri, seller, order, package).await
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.body_text()),
    }
}

/// `/v1/packages/{seller_id}/{order_id}/`: the package whose id is `""`.
async fn package_without_id(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    match path {
        Ok(Path((seller, order))) => {
            package_answer(s, headers, uri, seller, order, String::new()).await
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.body_text()),
    }
}

async fn package_answer(
    s: AppState,
    headers: HeaderMap,
    uri: Uri,
    seller: String,
    order: String,
    package: String,
) -> Response {
    let ids = [
        ("seller_id", seller.as_str()),
        ("order_id", order.as_str()),
        ("package_id", package.as_str()),
    ];
    if let Err(why) = check_ids(&ids) {
        return error(StatusCode::BAD_REQUEST, why);
    }
    let lookup = s.lookup.clone();
    answer(&s, &headers, &uri, move || {
        lookup.package(&seller, &order, &package)
    })
    .await
}

/// Runs a lookup off the async tasks and turns its answer into a response, forwarding to
/// the owner when another instance holds the key.
async fn answer(
    s: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    lookup: impl FnOnce() -> Answer + Send + 'static,
) -> Response {
    let me = s.lookup.instance_id();
    let result = match tokio::task::spawn_blocking(lookup).await {
        Ok(a) => a,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut response = match result {
        Answer::Found(v) => Json(v).into_response(),
        Answer::NotFound(why) => error(StatusCode::NOT_FOUND, why),
        Answer::Unavailable(why) => error(StatusCode::SERVICE_UNAVAILABLE, why),
        Answer::Elsewhere { instance, url } => {
            if headers.contains_key(FORWARDED_HEADER) {
                return owner_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "this instance does not own the key (any more); ask its owner",
                    &instance,
                    &url,
                );
            }
            return forward(s, uri, &me, &instance, &url).await;
        }
    };
    if let Ok(v) = HeaderValue::from_str(&me) {
        response.headers_mut().insert(INSTANCE_HEADER, v);
    }
    response
}

/// An error naming the key's owner, so the caller can ask it directly.
fn owner_error(status: StatusCode, message: &str, instance: &str, url: &str) -> Response {
    (
        status,
        Json(json!({
            "error": message,
            "owner": { "instance_id": instance, "url": url },
        })),
    )
        .into_response()
}

/// Sends the same GET to the owner and relays its answer.
async fn forward(s: &AppState, uri: &Uri, me: &str, instance: &str, url: &str) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = format!("{}{}", url.trim_end_matches('/'), path);
    let request = Request::get(&target)
        .header(FORWARDED_HEADER, me)
        .body(Empty::new());
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            return owner_error(StatusCode::BAD_GATEWAY, &e.to_string(), instance, url);
        }
    };
    let sent = tokio::time::timeout(FORWARD_TIMEOUT, s.client.request(request)).await;
    let reply = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let why = format!("the owner could not be reached: {e}");
            return owner_error(StatusCode::BAD_GATEWAY, &why, instance, url);
        }
        Err(_) => {
            let why = "the owner did not answer in time";
            return owner_error(StatusCode::GATEWAY_TIMEOUT, why, instance, url);
        }
    };
    let (mut parts, body) = reply.into_parts();
    // The body is relayed whole: the hop's own framing headers do not apply.
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.remove(header::CONNECTION);
    parts.headers.remove(header::CONTENT_LENGTH);
    match body.collect().await {
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes.to_bytes())),
        Err(e) => {
            let why = format!("reading the owner's answer failed: {e}");
            owner_error(StatusCode::BAD_GATEWAY, &why, instance, url)
        }
    }
}
