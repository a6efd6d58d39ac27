//! `mcpsec`: one binary for one-shot security jobs and for `serve`, the whole platform
//! in one process.

mod cli;
mod cmd;
mod config;
mod demo;
mod demo_seed;
mod mcp;
mod serve;
mod telemetry;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
