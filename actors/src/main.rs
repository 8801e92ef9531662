//! `memsynth`: the command-line entry point. One file per subcommand in `cli/`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

// Debug builds abort when the audio callback allocates (it runs inside `assert_no_alloc`).
#[cfg(debug_assertions)]
#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

fn main() -> ExitCode {
    match cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A person reads this: the message and its causes, without a backtrace, and
            // without repeating a cause that the message above it already quotes.
            let mut said = error.to_string();
            eprintln!("error: {said}");
            for cause in error.chain().skip(1) {
                let text = cause.to_string();
                if !said.contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                said = text;
            }
            ExitCode::FAILURE
        }
    }
}
