//! The `vtrack` binary: parse the command line, set up logging, run.

use clap::Parser;

/// mimalloc: the engine allocates and frees many small strings per event (decoded inputs,
/// output records); glibc's allocator spent about a fifth of the engine's instructions on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
