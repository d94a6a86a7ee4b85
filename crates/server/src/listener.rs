//! The accept loop: per-connection limits that the HTTP framework leaves
//! open, and a shutdown that always ends.
//!
//! - A connection must send a request's headers within `header_timeout`,
//!   which also closes idle keep-alive connections and silent ones.
//! - A request's body must arrive within `body_timeout` (the router's body
//!   layer).
//! - At most `max_connections` are open; beyond that, new connections wait
//!   in the kernel's accept backlog.
//! - On shutdown the listener closes, connections finish the requests they
//!   have sent in full and close, and after `shutdown_grace` whatever is
//!   left is dropped.
//!
//! gRPC runs on HTTP/2 (prior knowledge, as gRPC clients speak it): a
//! connection must start within `header_timeout`, a connection gone silent
//! is found by keep-alive pings, and header lists are bounded as on REST.

use std::future::Future;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

use crate::ServerConfig;
use crate::error::{Error, Result};

/// The HTTP version a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Http {
    /// REST.
    One,
    /// gRPC.
    Two,
}

/// Serves `app` on `listener` until `shutdown` completes.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    version: Http,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .keep_alive(true);
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .keep_alive_interval(Some(config.header_timeout))
        .keep_alive_timeout(config.header_timeout)
        .max_header_list_size(crate::infer::MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(256);
    tokio::pin!(shutdown);
    loop {
        // A free slot first: past the limit, connections wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(|e| Error::Listener(e.to_string()))?,
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        match version {
            Http::One => {
                let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(slot);
                });
            }
            Http::Two => {
                let (h2, watcher, wait) = (h2.clone(), graceful.watcher(), config.header_timeout);
                tokio::spawn(async move {
                    // A connection that sends nothing is closed, as on REST.
                    if let Ok(Ok(())) = tokio::time::timeout(wait, stream.readable()).await {
                        let conn =
                            watcher.watch(h2.serve_connection(TokioIo::new(stream), service));
                        let _ = conn.await;
                    }
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests already received");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(config.shutdown_grace) => {
            tracing::warn!("shutdown grace of {:?} over: closing the remaining connections", config.shutdown_grace);
        }
    }
    Ok(())
}
