//! `memsynth`: the command-line entry point. One file per subcommand in `cli/`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

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
