//! `health-prober`: see the library for what it does.

fn main() -> std::process::ExitCode {
    let cli: health_prober::Cli =
        keepalived_runtime::parse_args(health_prober::SPEC.default_listen);
    if let Some(code) = keepalived_runtime::config::handle_flags(&cli.common) {
        return code;
    }
    keepalived_runtime::block_on(health_prober::run(cli))
}
