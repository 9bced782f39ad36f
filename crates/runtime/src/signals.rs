//! SIGTERM/SIGINT → graceful shutdown; SIGHUP → reload (keepalived's signals).

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The service's view of process signals.
#[derive(Debug, Clone)]
pub struct Signals {
    /// Cancelled on SIGTERM or SIGINT.
    pub shutdown: CancellationToken,
    reload: watch::Receiver<u64>,
}

impl Signals {
    /// Installs the handlers (inside a tokio runtime).
    pub fn install() -> std::io::Result<Self> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let shutdown = CancellationToken::new();
        let (reload_tx, reload) = watch::channel(0u64);
        let token = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => {
                        tracing::info!("Received SIGTERM, stopping");
                        token.cancel();
                    }
                    _ = int.recv() => {
                        tracing::info!("Received SIGINT, stopping");
                        token.cancel();
                    }
                    _ = hup.recv() => {
                        tracing::info!("Reloading");
                        reload_tx.send_modify(|generation| *generation += 1);
                    }
                }
            }
        });
        Ok(Self { shutdown, reload })
    }

    /// A receiver that changes once per SIGHUP (`changed().await`).
    pub fn reloads(&self) -> watch::Receiver<u64> {
        self.reload.clone()
    }
}
