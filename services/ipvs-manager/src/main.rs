//! `ipvs-manager`: see the library for what it does.

fn main() -> std::process::ExitCode {
    let cli: ipvs_manager::Cli = keepalived_runtime::parse_args(ipvs_manager::SPEC.default_listen);
    if let Some(code) = keepalived_runtime::config::handle_flags(&cli.common) {
        return code;
    }
    keepalived_runtime::block_on(ipvs_manager::run(cli))
}
