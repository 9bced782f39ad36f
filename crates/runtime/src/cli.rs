//! Flags common to every service. They follow keepalived's where they mean
//! the same thing (`-f`, `-t`, `-i`, `-l`, `-D`, `-G`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches};
use keepalived_bus::addr::Address;

/// Flags shared by vrrp-core, ipvs-manager, health-prober and notifier.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Where to serve gRPC: `tcp://HOST:PORT` or `unix:PATH`. Repeat to serve
    /// on several. Default: tcp on loopback at this service's port.
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Vec<Address>,

    /// The keepalived configuration file (keepalived's `-f`).
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub config: PathBuf,

    /// Check the configuration and exit: 0 when valid, non-zero with every
    /// diagnostic otherwise (keepalived's `-t`).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,

    /// Print the resolved configuration (after includes, parameters and
    /// conditionals) as JSON and exit.
    #[arg(long = "dump-config")]
    pub dump_config: bool,

    /// Configuration id for `@id` conditional lines (keepalived's `-i`).
    /// Default: the host name up to its first dot.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Log to the console (standard error), as keepalived's `-l`.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed logs: debug level and the source of each line (keepalived's `-D`).
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,

    /// Do not log to syslog (keepalived's `-G`).
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// PEM certificate chain: serve TCP listeners over TLS.
    #[arg(long = "tls-cert", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `--tls-cert`.
    #[arg(long = "tls-key", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA bundle: TLS clients presenting a certificate signed by it may
    /// call state-changing RPCs (mTLS). Needs `--tls-cert`.
    #[arg(long = "tls-client-ca", value_name = "PEM", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Serve Prometheus metrics over HTTP at `HOST:PORT` (path `/metrics`).
    #[arg(long = "metrics-listen", value_name = "HOST:PORT")]
    pub metrics_listen: Option<SocketAddr>,
}

impl CommonArgs {
    /// The logging flags as telemetry options.
    pub fn log_options(&self) -> keepalived_telemetry::LogOptions {
        keepalived_telemetry::LogOptions {
            console: self.log_console,
            detail: self.log_detail,
            no_syslog: self.no_syslog,
        }
    }
}

/// Parses the process arguments into a service's `Cli` (which flattens
/// [`CommonArgs`]), showing `default_listen` as the default of `--listen`
/// and filling it in when no `--listen` was given.
pub fn parse_args<C>(default_listen: &'static str) -> C
where
    C: CommandFactory + FromArgMatches,
{
    parse_args_from(default_listen, std::env::args_os())
}

/// [`parse_args`] over explicit arguments (for tests).
pub fn parse_args_from<C, I, T>(default_listen: &'static str, args: I) -> C
where
    C: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let command = C::command().mut_arg("listen", |arg| arg.default_value(default_listen));
    let mut matches: ArgMatches = command.get_matches_from(args);
    C::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn listen_defaults_to_the_service_port_and_accepts_several() {
        let cli: Cli = parse_args_from("tcp://127.0.0.1:50051", ["vrrp-core"]);
        assert_eq!(cli.common.listen.len(), 1);
        assert_eq!(cli.common.listen[0].to_string(), "tcp://127.0.0.1:50051");

        let cli: Cli = parse_args_from(
            "tcp://127.0.0.1:50051",
            [
                "vrrp-core",
                "--listen",
                "unix:/tmp/a.sock",
                "--listen",
                "tcp://0.0.0.0:1",
            ],
        );
        assert_eq!(cli.common.listen.len(), 2);
    }

    #[test]
    fn keepalived_short_flags_mean_what_they_mean_in_keepalived() {
        let cli: Cli = parse_args_from(
            "tcp://127.0.0.1:50051",
            [
                "x",
                "-f",
                "/tmp/k.conf",
                "-t",
                "-i",
                "dr1",
                "-l",
                "-D",
                "-G",
            ],
        );
        let c = cli.common;
        assert_eq!(c.config, PathBuf::from("/tmp/k.conf"));
        assert!(c.config_test && c.log_console && c.log_detail && c.no_syslog);
        assert_eq!(c.config_id.as_deref(), Some("dr1"));
    }
}
