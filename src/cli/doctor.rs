//! `wa-mcp doctor [--online] [--webhook URL]`: runs the checks of [`crate::doctor`] and
//! prints the report on stdout (doctor never runs on the MCP path). Exits 1 when any
//! check failed; warnings alone exit 0.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::doctor::{DoctorOptions, print_report, run_checks};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also ask Meta about the token, the phone number and the webhook subscription
    #[arg(long)]
    pub online: bool,
    /// Probe this public webhook URL (e.g. https://<tunnel host>/webhook/meta) as Meta
    /// would: handshake, a signed test delivery and a forged one
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
}

pub fn doctor(config: &Config, args: &DoctorArgs) -> Result<ExitCode, CliError> {
    let options = DoctorOptions {
        online: args.online,
        webhook_url: args.webhook.clone(),
    };
    let sections = run_checks(config, &options);
    let mut out = std::io::stdout().lock();
    let tally = print_report(&sections, &mut out)?;
    out.flush()?;
    Ok(if tally.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
