//! `otlp-sink [--listen ADDR]`: print received OTLP spans as JSON lines.
#![forbid(unsafe_code)]

use clap::Parser;

/// A tiny OTLP/gRPC trace receiver printing spans as JSON lines.
#[derive(Debug, Parser)]
#[command(name = "otlp-sink", version)]
struct Cli {
    /// Address to receive OTLP/gRPC on.
    #[arg(long, default_value = "0.0.0.0:4317")]
    listen: std::net::SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    otlp_sink::serve(
        cli.listen,
        otlp_sink::Sink::new(Box::new(std::io::stdout())),
    )
    .await
}
