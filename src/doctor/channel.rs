//! The owner-in-the-loop settings: whether the owner numbers are numbers that can be
//! texted, whose messages `mcp --channel` lets into a session (and a warning when that
//! is everyone), and which sends wait for the user's yes.

use super::Check;
use crate::config::{ConfirmSends, OwnerSettings};
use crate::messaging::{ChannelSenders, Identities};

/// One check per setting: `WA_OWNER_NUMBERS`, `WA_CHANNEL_SENDERS`, `WA_CONFIRM_SENDS`.
pub fn channel_checks(settings: &OwnerSettings) -> Vec<Check> {
    let owners = Identities::parse(&settings.owner_numbers);
    let senders = ChannelSenders::from_settings(settings.channel_senders.as_deref(), &owners);
    vec![
        owner_check(&settings.owner_numbers, &owners),
        senders_check(&senders),
        confirm_check(settings.confirm_sends),
    ]
}

fn owner_check(entries: &[String], owners: &Identities) -> Check {
    const NAME: &str = "WA_OWNER_NUMBERS";
    const FIX: &str = "set WA_OWNER_NUMBERS to your own WhatsApp number(s) with country code, \
                       comma-separated (e.g. +44 7700 900123)";
    if entries.is_empty() {
        return Check::pass(
            NAME,
            "unset: `mcp --channel` relays no permission prompts to a phone",
        );
    }
    if !owners.invalid.is_empty() {
        let positions: Vec<String> = owners.invalid.iter().map(usize::to_string).collect();
        return Check::fail(
            NAME,
            format!(
                "entr{} {} {} neither a phone number nor a BSUID, so {} ignored",
                if positions.len() == 1 { "y" } else { "ies" },
                positions.join(", "),
                if positions.len() == 1 { "is" } else { "are" },
                if positions.len() == 1 {
                    "it is"
                } else {
                    "they are"
                },
            ),
            FIX,
        );
    }
    let phones = owners.phones().len();
    if phones == 0 {
        return Check::warn(
            NAME,
            "only BSUIDs: they can answer a permission prompt, but no prompt can be sent to one",
            FIX,
        );
    }
    Check::pass(
        NAME,
        format!(
            "{phones} number{}: permission prompts go there, and only replies from the owner \
             numbers answer one (write to the business number from your phone to open the \
             24-hour window)",
            if phones == 1 { "" } else { "s" }
        ),
    )
}

fn senders_check(senders: &ChannelSenders) -> Check {
    const NAME: &str = "WA_CHANNEL_SENDERS";
    match senders {
        ChannelSenders::Everyone => Check::warn(
            NAME,
            "* : `mcp --channel` pushes every stranger's message into a Claude Code session \
             that may run commands on this machine",
            "list the numbers you trust instead (or leave WA_CHANNEL_SENDERS unset for the \
             owner numbers only)",
        ),
        ChannelSenders::Listed { ids, .. } if !ids.invalid.is_empty() => Check::fail(
            NAME,
            format!(
                "{} entr{} neither a phone number nor a BSUID",
                ids.invalid.len(),
                if ids.invalid.len() == 1 {
                    "y is"
                } else {
                    "ies are"
                }
            ),
            "write each sender as a phone number with country code or a BSUID",
        ),
        listed if !listed.allows_anyone() => Check::pass(
            NAME,
            "nobody: `mcp --channel` pushes no message (set WA_OWNER_NUMBERS or \
             WA_CHANNEL_SENDERS)",
        ),
        listed => Check::pass(
            NAME,
            format!(
                "`mcp --channel` pushes messages from {}; others are stored, not pushed",
                listed.describe()
            ),
        ),
    }
}

fn confirm_check(rule: ConfirmSends) -> Check {
    const NAME: &str = "WA_CONFIRM_SENDS";
    let detail = match rule {
        ConfirmSends::Strangers => {
            "strangers: a client that can ask (MCP elicitation) confirms sends to anyone who \
             never wrote to you"
        }
        ConfirmSends::Always => {
            "always: every send waits for the user's yes; clients that cannot ask cannot send"
        }
        ConfirmSends::Never => "never: sends are not confirmed",
    };
    Check::pass(NAME, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Outcome;

    fn settings(owners: &[&str], senders: Option<&[&str]>) -> OwnerSettings {
        OwnerSettings {
            owner_numbers: owners.iter().map(|s| (*s).to_owned()).collect(),
            channel_senders: senders.map(|l| l.iter().map(|s| (*s).to_owned()).collect()),
            confirm_sends: ConfirmSends::Strangers,
        }
    }

    #[test]
    fn star_warns_and_bad_owner_numbers_fail() {
        let checks = channel_checks(&settings(&["+44 7700 900123", "nope"], Some(&["*"])));
        assert_eq!(checks[0].outcome, Outcome::Fail, "{}", checks[0]);
        assert!(checks[0].to_string().contains("entry 2"), "{}", checks[0]);
        assert_eq!(checks[1].outcome, Outcome::Warn);
        let fine = channel_checks(&settings(&["+44 7700 900123"], None));
        assert_eq!(fine[0].outcome, Outcome::Pass);
        assert!(
            fine[1].to_string().contains("the owner numbers (1 listed)"),
            "{}",
            fine[1]
        );
    }
}
