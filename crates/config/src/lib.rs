//! keepalived.conf reader for keepalived-rs.
//!
//! Reads a configuration exactly as keepalived 2.2 does — comments, quoting, `include` with
//! globs, `$PARAM` macros, `@id` conditionals, `~SEQ`/`~LST`, deprecated aliases — and hands
//! each service a typed, validated [`Config`] with keepalived's defaults filled in.
//! Problems come back as [`Diagnostic`]s naming `file:line:col`.

#![forbid(unsafe_code)]

mod build;
mod diag;
mod glob;
mod keywords;
mod lexer;
mod model;
mod print;
mod time;
mod tree;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Severity, config_test_exit_code};
pub use model::*;
pub use time::{Centiseconds, Seconds, TimeUs};

/// How to load: the values keepalived takes from its command line.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-i/--config-id` for `@id` lines and `${_INSTANCE}` (lib/parser.c `get_instance`
    /// returns the config id); default [`default_config_id`].
    pub config_id: Option<String>,
    /// This host's network interfaces (name → is a loopback), for the checks keepalived
    /// makes of the names it is given: an instance's `interface`, `track_interface`, a
    /// virtual address's `dev`. `None` skips them (a config read for another host, tests);
    /// the services pass [`host_interfaces`].
    pub interfaces: Option<std::collections::BTreeMap<String, bool>>,
    /// Check the scripts, users and files of this host as keepalived and the services do: a
    /// tracked `vrrp_script` or a MISC_CHECK whose program is not found or not executable is
    /// disabled (lib/notify.c `check_script_secure`), a script `user` the host lacks removes
    /// the script, scripts that exist without `enable_script_security` are keepalived's
    /// "SECURITY VIOLATION". (The `SSL` block's files are loaded by the health-prober, their
    /// one owner.) Off for a config read for another host (tests); the services turn it on.
    pub host_checks: bool,
}

/// The interfaces of the network namespace this process runs in, from `/sys/class/net`
/// (name → whether it is a loopback, `type` 772).
pub fn host_interfaces() -> Option<std::collections::BTreeMap<String, bool>> {
    let dir = std::fs::read_dir("/sys/class/net").ok()?;
    Some(
        dir.filter_map(Result::ok)
            .map(|e| {
                let loopback =
                    std::fs::read_to_string(e.path().join("type")).is_ok_and(|t| t.trim() == "772");
                (e.file_name().to_string_lossy().into_owned(), loopback)
            })
            .collect(),
    )
}

/// A successfully loaded configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model.
    pub config: Config,
    /// Warnings (never errors).
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The main file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration has errors; `diagnostics` holds all errors and warnings in order.
    #[error("invalid configuration: {} error(s)", diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid {
        /// Every diagnostic, errors and warnings.
        diagnostics: Vec<Diagnostic>,
    },
}

/// This host's name up to the first dot: keepalived's default config id.
pub fn default_config_id() -> String {
    let h = hostname();
    h.split('.').next().unwrap_or_default().to_string()
}

/// The full host name (keepalived's `uname` nodename), used for `router_id` and mail defaults.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Loads a configuration file (and everything it includes).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&String::from_utf8_lossy(&bytes), path, opts)
}

/// Loads configuration text as if it were the file `virtual_path` (includes are resolved
/// relative to its directory).
pub fn load_str(text: &str, virtual_path: &Path, opts: &LoadOptions) -> Result<Loaded, LoadError> {
    load_with_host(text, virtual_path, opts, &hostname())
}

/// The loader with the host name injected, so tests do not depend on the machine.
#[doc(hidden)]
pub fn load_with_host(
    text: &str,
    virtual_path: &Path,
    opts: &LoadOptions,
    host: &str,
) -> Result<Loaded, LoadError> {
    let mut d = diag::Diags::default();
    let config_id = opts
        .config_id
        .clone()
        .unwrap_or_else(|| host.split('.').next().unwrap_or_default().to_string());
    let mut items = {
        let mut pre = lexer::Pre::new(&mut d, config_id);
        pre.run_file(virtual_path, text);
        pre.items
    };
    let nodes = tree::parse(&mut items, &mut d);
    let nodes = build::reflow(&mut d, nodes);
    drop(items);
    let config = build::build(&nodes, &mut d, host, opts);
    if d.has_errors() {
        Err(LoadError::Invalid {
            diagnostics: d.list,
        })
    } else {
        Ok(Loaded {
            config,
            diagnostics: d.list,
        })
    }
}
