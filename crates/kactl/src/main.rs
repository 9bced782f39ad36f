//! `kactl`: see the crate documentation of the `kactl` library.
#![forbid(unsafe_code)]

use clap::Parser as _;

#[tokio::main]
async fn main() {
    let cli = kactl::Cli::parse();
    match kactl::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("kactl: {e:#}");
            std::process::exit(1);
        }
    }
}
