//! The owner in the loop: the owner's own numbers (`WA_OWNER_NUMBERS`), whose inbound
//! messages a channel session hears (`WA_CHANNEL_SENDERS`), and the owner's answer to a
//! permission prompt (`yes <id>` / `no <id>`). Inbound text is untrusted: only an
//! owner number's exact answer counts, and nothing else about a message is read.

use std::collections::HashSet;

use crate::phone::{is_bsuid, to_meta_format};

/// A configured list of numbers and BSUIDs, each in the form inbound senders are
/// compared in (phone numbers in Meta's format, BSUIDs as given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identities {
    listed: HashSet<String>,
    /// Entries that are neither a phone number nor a BSUID (by position, from 1).
    pub invalid: Vec<usize>,
}

impl Identities {
    /// Reads `entries`, keeping the positions of the ones that can match no one.
    pub fn parse(entries: &[String]) -> Identities {
        let mut ids = Identities::default();
        for (position, entry) in entries.iter().enumerate() {
            let entry = entry.trim();
            if is_bsuid(entry) {
                ids.listed.insert(entry.to_owned());
            } else if let Ok(phone) = to_meta_format(entry) {
                ids.listed.insert(phone);
            } else {
                ids.invalid.push(position + 1);
            }
        }
        ids
    }

    /// Whether any of a sender's identities is listed.
    pub fn contains_any<'a>(&self, identities: impl IntoIterator<Item = &'a str>) -> bool {
        identities.into_iter().any(|i| self.listed.contains(i))
    }

    /// The listed phone numbers (Meta format), sorted: where owner prompts go.
    pub fn phones(&self) -> Vec<String> {
        let mut phones: Vec<String> = self
            .listed
            .iter()
            .filter(|i| !is_bsuid(i))
            .cloned()
            .collect();
        phones.sort();
        phones
    }

    pub fn len(&self) -> usize {
        self.listed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }
}

/// Whose inbound messages a channel session pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelSenders {
    /// `WA_CHANNEL_SENDERS=*`: every sender, strangers included.
    Everyone,
    /// The listed senders (by default the owner numbers; possibly nobody).
    Listed {
        ids: Identities,
        /// Whether the list is the owner numbers because `WA_CHANNEL_SENDERS` is unset.
        from_owner_numbers: bool,
    },
}

impl ChannelSenders {
    /// The gate `WA_CHANNEL_SENDERS` sets, defaulting to the owner numbers.
    pub fn from_settings(channel_senders: Option<&[String]>, owners: &Identities) -> Self {
        match channel_senders {
            Some(list) if list.iter().any(|e| e.trim() == "*") => ChannelSenders::Everyone,
            Some(list) => ChannelSenders::Listed {
                ids: Identities::parse(list),
                from_owner_numbers: false,
            },
            None => ChannelSenders::Listed {
                ids: owners.clone(),
                from_owner_numbers: true,
            },
        }
    }

    /// Whether a sender known by `identities` (thread key, BSUID) may be pushed.
    pub fn allows<'a>(&self, identities: impl IntoIterator<Item = &'a str>) -> bool {
        match self {
            ChannelSenders::Everyone => true,
            ChannelSenders::Listed { ids, .. } => ids.contains_any(identities),
        }
    }

    /// Whether anyone at all can pass.
    pub fn allows_anyone(&self) -> bool {
        match self {
            ChannelSenders::Everyone => true,
            ChannelSenders::Listed { ids, .. } => !ids.is_empty(),
        }
    }

    /// How the gate reads, for logs and `doctor`.
    pub fn describe(&self) -> String {
        match self {
            ChannelSenders::Everyone => "everyone (WA_CHANNEL_SENDERS=*)".into(),
            ChannelSenders::Listed {
                ids,
                from_owner_numbers: true,
            } => format!("the owner numbers ({} listed)", ids.len()),
            ChannelSenders::Listed { ids, .. } => {
                format!("{} listed sender(s) (WA_CHANNEL_SENDERS)", ids.len())
            }
        }
    }
}

/// The owner's answer to a permission prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionAnswer {
    /// The five-letter id Claude Code gave the request, lowercased.
    pub request_id: String,
    pub allow: bool,
}

/// Reads `yes <id>` or `no <id>` (any case, surrounding spaces allowed, nothing else),
/// where `<id>` is five letters a-z without `l`, as Claude Code names its requests.
pub fn parse_permission_answer(text: &str) -> Option<PermissionAnswer> {
    let mut words = text.split_whitespace();
    let (verb, id) = (words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let allow = if verb.eq_ignore_ascii_case("yes") {
        true
    } else if verb.eq_ignore_ascii_case("no") {
        false
    } else {
        return None;
    };
    let id = id.to_ascii_lowercase();
    is_request_id(&id).then_some(PermissionAnswer {
        request_id: id,
        allow,
    })
}

/// Whether `id` has the shape of a permission request id: five of a-z without `l`.
pub fn is_request_id(id: &str) -> bool {
    id.len() == 5 && id.bytes().all(|b| b.is_ascii_lowercase() && b != b'l')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn answers_are_exact_and_case_insensitive() {
        let yes = parse_permission_answer("  YES Abcde ").expect("an answer");
        assert_eq!((yes.request_id.as_str(), yes.allow), ("abcde", true));
        let no = parse_permission_answer("no qwert").expect("an answer");
        assert!(!no.allow);
        for not in [
            "yes",
            "yes abcde please",
            "yes abcdl",
            "yes abcd",
            "ok abcde",
            "yes abcdef",
        ] {
            assert_eq!(parse_permission_answer(not), None, "{not}");
        }
    }

    #[test]
    fn senders_default_to_the_owner_numbers_and_star_is_everyone() {
        let owners = Identities::parse(&owned(&["+44 7700 900123", "junk"]));
        assert_eq!(owners.invalid, vec![2]);
        assert_eq!(owners.phones(), vec!["447700900123".to_owned()]);
        let default = ChannelSenders::from_settings(None, &owners);
        assert!(default.allows(["447700900123"]));
        assert!(!default.allows(["16505551234"]));
        let star = ChannelSenders::from_settings(Some(&owned(&["*"])), &owners);
        assert!(star.allows(["16505551234"]));
        let listed = ChannelSenders::from_settings(Some(&owned(&["16505551234"])), &owners);
        assert!(listed.allows(["16505551234"]));
        assert!(
            !listed.allows(["447700900123"]),
            "the list replaces the owners"
        );
    }
}
