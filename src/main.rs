//! The `vtrack` binary: parse the command line, set up logging, run.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = vtrack::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VTRACK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    vtrack::cli::run(cli)
}
