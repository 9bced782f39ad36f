//! `-t/--config-test`, `--dump-config`, and loading keepalived.conf at start.

use std::io::Write as _;
use std::process::ExitCode;

use keepalived_config::{LoadError, LoadOptions, Loaded, Severity};

use crate::CommonArgs;

/// keepalived's exit code when the configuration file cannot be read.
pub const EXIT_CONFIG: u8 = 4;
/// keepalived's exit code when `-t` finds errors.
pub const EXIT_CONFIG_TEST: u8 = 5;

fn options(args: &CommonArgs) -> LoadOptions {
    LoadOptions {
        config_id: args.config_id.clone(),
        instance: None,
    }
}

/// Handles `-t` and `--dump-config`: returns the exit code when one of them
/// was given (the process should exit), `None` otherwise. Diagnostics go to
/// standard error as `FILE:LINE:COL: severity: message`.
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
            0
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
                "{}: {errors} error(s); configuration is not valid",
                args.config.display()
            );
            EXIT_CONFIG_TEST
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
