//! `wa-mcp doctor`: what is wrong with this installation, found before Meta finds it.
//!
//! Every check yields a [`Check`]: a name (usually the variable or thing checked), an
//! [`Outcome`], what was found, and for anything not passing the remedy. The report
//! prints one line per check and a summary; a run fails when any check fails (warnings
//! do not). The checks themselves live by what they look at: [`variables`] (the
//! variables), [`database`] (the file, read without migrating it), [`port`] (the
//! listen address), [`online`] (the token, number and webhook subscription at Meta),
//! [`webhook`] (a public URL, probed the way Meta calls it) and [`remote`] (remote MCP:
//! `WA_PUBLIC_URL`, the owner passphrase, the throttle, the metadata through the URL).
//!
//! No check ever prints a secret or any part of one: secrets are reported as set or
//! unset only, and the remedies name variables, never values.

mod channel;
pub mod database;
pub mod online;
pub mod port;
pub mod remote;
pub mod variables;
pub mod webhook;

use std::fmt;
use std::io::{self, Write};

use crate::config::Config;
use crate::terminal::for_terminal;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Works as it should (also used for purely informational lines).
    Pass,
    /// Works, but something is likely to bite later; does not fail the run.
    Warn,
    /// Broken: a feature will not work until it is fixed; fails the run.
    Fail,
    /// Not checked, because something it needs is missing or was not asked for.
    Skip,
}

impl Outcome {
    /// The fixed-width label the report starts each line with.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `WA_APP_SECRET` or `database file`.
    pub name: String,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found; never contains a secret.
    pub detail: String,
    /// What to do about it; set for every warning and failure.
    pub remedy: Option<String>,
}

impl Check {
    /// A passing check.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Outcome::Pass, detail, None)
    }

    /// A warning with its remedy.
    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        remedy: impl Into<String>,
    ) -> Check {
        Check::new(name, Outcome::Warn, detail, Some(remedy.into()))
    }

    /// A failure with its remedy.
    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        remedy: impl Into<String>,
    ) -> Check {
        Check::new(name, Outcome::Fail, detail, Some(remedy.into()))
    }

    /// A check that was not made, and why.
    pub fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Outcome::Skip, detail, None)
    }

    fn new(
        name: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
        remedy: Option<String>,
    ) -> Check {
        Check {
            name: name.into(),
            outcome,
            detail: detail.into(),
            remedy,
        }
    }
}

impl fmt::Display for Check {
    /// `FAIL  WA_APP_SECRET: unset: ... -> fix: ...`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {}: {}",
            self.outcome.label(),
            self.name,
            self.detail
        )?;
        match &self.remedy {
            Some(remedy) if self.outcome != Outcome::Pass => write!(f, " -> fix: {remedy}"),
            _ => Ok(()),
        }
    }
}

/// A titled group of checks, printed under its title.
#[derive(Debug, Clone)]
pub struct Section {
    /// E.g. `Configuration`.
    pub title: &'static str,
    /// Its findings, in the order they were made.
    pub checks: Vec<Check>,
}

/// What to check beyond the local installation.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    /// Ask Meta about the token, the phone number and the webhook subscription.
    pub online: bool,
    /// A public URL (e.g. a tunnel's) to probe as Meta would call it.
    pub webhook_url: Option<String>,
}

/// Runs every check the options ask for, in report order.
pub fn run_checks(config: &Config, options: &DoctorOptions) -> Vec<Section> {
    let mut sections = vec![
        Section {
            title: "Configuration",
            checks: variables::variable_checks(config),
        },
        Section {
            title: "Owner in the loop (mcp --channel, confirmations)",
            checks: channel::channel_checks(&config.owner),
        },
        Section {
            title: "Database",
            checks: database::database_checks(&config.db_path),
        },
        Section {
            title: "Webhook listener",
            checks: vec![port::port_check(config.bind, config.port)],
        },
    ];
    let meta = if options.online {
        online::online_checks(config)
    } else {
        vec![Check::skip(
            "Meta",
            "not asked (run `wa-mcp doctor --online` to check the token, the phone number \
             and the webhook subscription at Meta)",
        )]
    };
    sections.push(Section {
        title: "Meta (online)",
        checks: meta,
    });
    sections.push(Section {
        title: "Remote MCP",
        checks: remote::remote_checks(config),
    });
    if let Some(url) = &options.webhook_url {
        sections.push(Section {
            title: "Public webhook URL",
            checks: webhook::webhook_checks(config, url),
        });
    }
    sections
}

/// How many checks came out each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub warnings: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Tally {
    /// Counts the outcomes of every check in `sections`.
    pub fn of(sections: &[Section]) -> Tally {
        let mut tally = Tally::default();
        for check in sections.iter().flat_map(|s| &s.checks) {
            match check.outcome {
                Outcome::Pass => tally.passed += 1,
                Outcome::Warn => tally.warnings += 1,
                Outcome::Fail => tally.failed += 1,
                Outcome::Skip => tally.skipped += 1,
            }
        }
        tally
    }
}

/// Prints each section's title and one line per check, then the summary line.
pub fn print_report(sections: &[Section], out: &mut impl Write) -> io::Result<Tally> {
    for section in sections {
        writeln!(out, "{}", section.title)?;
        for check in &section.checks {
            // A detail may quote what a remote server or Meta answered.
            writeln!(out, "  {}", for_terminal(&check.to_string()))?;
        }
        writeln!(out)?;
    }
    let tally = Tally::of(sections);
    let verdict = if tally.failed > 0 {
        "fix the failures above"
    } else if tally.warnings > 0 {
        "ready, with warnings"
    } else {
        "ready"
    };
    let warnings = if tally.warnings == 1 {
        "warning"
    } else {
        "warnings"
    };
    writeln!(
        out,
        "doctor: {} passed, {} {warnings}, {} failed, {} skipped: {verdict}",
        tally.passed, tally.warnings, tally.failed, tally.skipped
    )?;
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_carries_the_remedy_only_when_not_passing() {
        let fail = Check::fail("WA_APP_SECRET", "unset", "set it");
        assert_eq!(
            fail.to_string(),
            "FAIL  WA_APP_SECRET: unset -> fix: set it"
        );
        assert_eq!(Check::pass("x", "fine").to_string(), "PASS  x: fine");
    }

    #[test]
    fn the_summary_counts_every_outcome() {
        let sections = vec![Section {
            title: "T",
            checks: vec![
                Check::pass("a", "ok"),
                Check::warn("b", "meh", "do"),
                Check::fail("c", "bad", "do"),
                Check::skip("d", "later"),
            ],
        }];
        let mut out = Vec::new();
        let tally = print_report(&sections, &mut out).expect("writes to memory");
        assert_eq!(
            tally,
            Tally {
                passed: 1,
                warnings: 1,
                failed: 1,
                skipped: 1
            }
        );
        let text = String::from_utf8_lossy(&out);
        assert!(text.ends_with(
            "doctor: 1 passed, 1 warning, 1 failed, 1 skipped: fix the failures above\n"
        ));
    }
}
