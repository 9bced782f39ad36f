//! `vrrp-core`: see the library for what it does.

fn main() -> std::process::ExitCode {
    let cli: vrrp_core::Cli = keepalived_runtime::parse_args(vrrp_core::SPEC.default_listen);
    if let Some(code) = keepalived_runtime::config::handle_flags(&cli.common) {
        return code;
    }
    keepalived_runtime::block_on(vrrp_core::run(cli))
}
