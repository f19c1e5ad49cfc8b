//! The `wa-mcp` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = wa_mcp::cli::Cli::parse();
    wa_mcp::cli::init_logging(cli.log_format);
    match wa_mcp::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wa-mcp: {}", wa_mcp::terminal::for_terminal(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}
