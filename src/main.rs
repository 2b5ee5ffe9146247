//! The `orgsettings` command: parses arguments and hands them to the library.

use std::process::ExitCode;

use clap::Parser;
use orgsettings::cli;
use orgsettings::config::Cli;

fn main() -> ExitCode {
    return_big_allocations_to_the_system();
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

/// glibc raises its mmap threshold after a big block is freed, so later big blocks (argon2's 19 MiB
/// per password check) come from the heap and stay resident after use. A fixed threshold keeps
/// every block over 512 KiB in its own mapping, returned when freed (docs/architecture.md,
/// "Memory").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_big_allocations_to_the_system() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_big_allocations_to_the_system() {}
