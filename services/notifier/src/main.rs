//! `notifier`: see the library for what it does.

fn main() -> std::process::ExitCode {
    let cli: notifier::Cli = keepalived_runtime::parse_args(notifier::SPEC.default_listen);
    if let Some(code) = keepalived_runtime::config::handle_flags(&cli.common) {
        return code;
    }
    keepalived_runtime::block_on(notifier::run(cli))
}
