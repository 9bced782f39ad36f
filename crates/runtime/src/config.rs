//! `-t/--config-test`, `--dump-config`, and loading keepalived.conf at start.

use std::io::Write as _;
use std::process::ExitCode;

use keepalived_config::{LoadError, LoadOptions, Loaded, Severity};

use crate::CommonArgs;

/// keepalived's exit code when the configuration cannot be run (or read).
pub const EXIT_CONFIG: u8 = 4;

fn options(args: &CommonArgs) -> LoadOptions {
    LoadOptions {
        config_id: args.config_id.clone(),
        // keepalived checks the interfaces it is given on the host it runs on.
        interfaces: keepalived_config::host_interfaces(),
        host_checks: true,
    }
}

/// Handles `-t` and `--dump-config`: returns the exit code when one of them
/// was given (the process should exit), `None` otherwise. Diagnostics go to
/// standard error as `FILE:LINE:COL: severity: message`; the exit code is
/// keepalived's (`keepalived_config::config_test_exit_code`): 0 clean, 4 cannot
/// run, 5 errors the services run with, 6 scripts without script security.
pub fn handle_flags(args: &CommonArgs) -> Option<ExitCode> {
    if !args.config_test && !args.dump_config {
        return None;
    }
    let mut stderr = std::io::stderr().lock();
    let code = match keepalived_config::load_file(&args.config, &options(args)) {
        Ok(Loaded {
            config,
            diagnostics,
        }) => {
            for d in &diagnostics {
                let _ = writeln!(stderr, "{d}");
            }
            if args.dump_config {
                match serde_json::to_string_pretty(&config) {
                    Ok(json) => println!("{json}"),
                    Err(error) => {
                        let _ = writeln!(stderr, "cannot print the configuration: {error}");
                        return Some(ExitCode::from(EXIT_CONFIG));
                    }
                }
            }
            if args.config_test {
                keepalived_config::config_test_exit_code(&diagnostics)
            } else {
                0
            }
        }
        Err(LoadError::Io { path, source }) => {
            let _ = writeln!(
                stderr,
                "{}: cannot read configuration: {source}",
                path.display()
            );
            EXIT_CONFIG
        }
        Err(LoadError::Invalid { diagnostics }) => {
            for d in &diagnostics {
                let _ = writeln!(stderr, "{d}");
            }
            let errors = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let _ = writeln!(
                stderr,
                "{}: {errors} error(s); keepalived-rs cannot run this configuration",
                args.config.display()
            );
            keepalived_config::config_test_exit_code(&diagnostics)
        }
    };
    Some(ExitCode::from(code))
}

/// Loads the configuration for a starting (or reloading) service. Warnings
/// are logged; errors fail with every diagnostic in the message. A missing
/// file is `Ok(None)` with a warning: the service then serves an empty state,
/// as keepalived runs with nothing configured.
pub fn load(args: &CommonArgs) -> anyhow::Result<Option<keepalived_config::Config>> {
    match keepalived_config::load_file(&args.config, &options(args)) {
        Ok(Loaded {
            config,
            diagnostics,
        }) => {
            for d in diagnostics {
                tracing::warn!("{d}");
            }
            Ok(Some(config))
        }
        Err(LoadError::Io { path, source }) if source.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(
                "Configuration file {} not found; nothing to do until one exists and SIGHUP",
                path.display()
            );
            Ok(None)
        }
        Err(LoadError::Io { path, source }) => {
            anyhow::bail!("cannot read configuration {}: {source}", path.display())
        }
        Err(LoadError::Invalid { diagnostics }) => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            anyhow::bail!("invalid configuration:\n{}", lines.join("\n"))
        }
    }
}

/// SIGHUP for a service whose state is rebuilt from the configuration: on
/// every reload signal in `reloads`, loads the configuration again and hands
/// it to `apply` (which returns false when the service is gone). A file that
/// is missing or invalid keeps the running configuration, saying why, as
/// keepalived does on a reload it refuses.
pub fn spawn_reloader(
    args: CommonArgs,
    mut reloads: tokio::sync::watch::Receiver<u64>,
    mut apply: impl FnMut(keepalived_config::Config) -> bool + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while reloads.changed().await.is_ok() {
            match load(&args) {
                Ok(Some(config)) => {
                    if !apply(config) {
                        return;
                    }
                }
                // `load` has said that the file is missing.
                Ok(None) => tracing::warn!("reload: keeping the running configuration"),
                Err(e) => {
                    tracing::error!("reload refused, keeping the running configuration: {e:#}")
                }
            }
        }
    })
}
