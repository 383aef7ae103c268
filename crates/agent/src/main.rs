//! Parses flags, sets up logging, binds the listener and hands over to [`dockscope_agent::run`].
//! `dockscope-agent healthcheck` is a probe of a running agent instead
//! ([`dockscope_agent::healthcheck`]).

use anyhow::Context;
use clap::Parser;
use dockscope_agent::config::Config;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        std::process::exit(dockscope_agent::healthcheck::main(std::env::args().skip(1)));
    }
    agent()
}

#[tokio::main]
async fn agent() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = EnvFilter::try_new(dockscope_agent::config::log_filter(&config.log_level))
        .with_context(|| {
            format!(
                "--log-level {:?} is not a valid filter; try info or debug",
                config.log_level
            )
        })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let listener = dockscope_agent::listen::bind(config.listen)
        .with_context(|| format!("cannot listen on {} (--listen)", config.listen))?;
    dockscope_agent::run(config, listener, dockscope_agent::shutdown_signal()).await?;
    Ok(())
}
