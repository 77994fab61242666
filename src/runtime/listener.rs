//! Serving the Runtime API on a TCP listener: every connection a bootstrap
//! opens gets [`routes::serve`](super::routes::serve).

use std::sync::Arc;

use tokio::net::TcpListener;

use super::{RuntimeApi, routes};

/// Serves every connection the bootstrap opens, until the task is aborted.
pub async fn accept_loop(listener: TcpListener, api: Arc<RuntimeApi>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::debug!(%err, "runtime API accept failed");
                continue;
            }
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY on a runtime API connection");
        }
        let api = Arc::clone(&api);
        tokio::spawn(async move {
            if let Err(err) = routes::serve(api, stream).await {
                tracing::debug!(%err, "runtime API connection ended");
            }
        });
    }
}
