//! The `orgsettings` command: parses arguments and hands them to the library.

use std::process::ExitCode;

use clap::Parser;
use orgsettings::cli;
use orgsettings::config::Cli;

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::init_logging(&args.global.log);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
