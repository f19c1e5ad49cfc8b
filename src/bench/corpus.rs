//! A synthetic inbox that reads like a real one, the same on every run: contacts in seven
//! languages with names and numbers, and messages whose words follow a Zipf-like law (a
//! few words are in almost every message, most are rare), with numbers, emoji and
//! Chinese and Japanese written without spaces. Message `i` and contact `k` depend on
//! nothing but `i` and `k`, so a benchmark can regenerate any message to take its
//! words as a query.

use super::corpus_words as words;
use crate::store::synthetic::{SyntheticContact, SyntheticMessage};

/// The languages of the inbox, in the order of the name lists in [`words`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Spanish,
    German,
    French,
    Arabic,
    Chinese,
    Japanese,
}

/// Each language's share of the contacts, per mille.
const SHARES: [(Language, u64); 7] = [
    (Language::English, 700),
    (Language::Spanish, 100),
    (Language::German, 60),
    (Language::French, 50),
    (Language::Arabic, 50),
    (Language::Chinese, 20),
    (Language::Japanese, 20),
];

/// SplitMix64: small, fast and good enough to make text; seeded per item so any
/// message can be regenerated alone.
pub struct Rng(u64);

impl Rng {
    /// The generator for item `index` of stream `stream`.
    pub fn new(stream: u64, index: u64) -> Rng {
        let mut r = Rng(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Ranks `0..n` drawn with probability proportional to `1 / (rank + offset)^s`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64, offset: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|r| {
                total += 1.0 / (r as f64 + offset).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.cumulative.len() - 1)
    }
}

/// One language's words, most frequent first, and how often each is used.
struct Vocabulary {
    words: Vec<String>,
    zipf: Zipf,
}

impl Vocabulary {
    /// `core` then a tail of made-up words up to `size`.
    fn new(language: Language, core: &[&str], size: usize) -> Vocabulary {
        let mut words: Vec<String> = core.iter().map(|w| (*w).to_owned()).collect();
        let mut k = 0;
        while words.len() < size {
            words.push(tail_word(language, k));
            k += 1;
        }
        Vocabulary {
            zipf: Zipf::new(words.len(), 1.0, 1.5),
            words,
        }
    }
}

/// Made-up word `k` of a language's long tail, spelt with its letters.
fn tail_word(language: Language, k: usize) -> String {
    let mut rng = Rng::new(7 + language as u64, k as u64);
    let (onsets, vowels) = match language {
        Language::Arabic => {
            let letters: Vec<char> = words::ARABIC_LETTERS.chars().collect();
            let word: String = (0..3 + rng.below(4)).map(|_| *rng.pick(&letters)).collect();
            return if rng.chance(300) {
                format!("ال{word}")
            } else {
                word
            };
        }
        Language::Chinese | Language::Japanese => {
            let chars: Vec<char> = words::CJK_CHARACTERS
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            return (0..2 + rng.below(3)).map(|_| *rng.pick(&chars)).collect();
        }
        latin => words::SYLLABLES[latin as usize],
    };
    (0..2 + rng.below(3))
        .map(|_| format!("{}{}", rng.pick(onsets), rng.pick(vowels)))
        .collect()
}

/// One contact of the inbox.
#[derive(Debug, Clone)]
pub struct Contact {
    pub language: Language,
    pub row: SyntheticContact,
    /// The phone number's country code, when the contact has a number.
    pub country_code: Option<&'static str>,
}

/// One message of the inbox, before it is a row.
#[derive(Debug, Clone)]
pub struct Message {
    pub contact: usize,
    pub inbound: bool,
    pub body: String,
    /// The words of `body` as a person would type them in a search (a Chinese or
    /// Japanese run whole), in order.
    pub words: Vec<String>,
}

/// The inbox: its contacts and the rules its messages are written by.
pub struct Corpus {
    contacts: Vec<Contact>,
    activity: Zipf,
    vocabularies: Vec<Vocabulary>,
}

impl Corpus {
    /// An inbox with `contacts` people (at least one).
    pub fn new(contacts: usize) -> Corpus {
        let sizes = [30_000, 10_000, 10_000, 10_000, 8_000, 5_000, 5_000];
        let cores = [
            words::ENGLISH,
            words::SPANISH,
            words::GERMAN,
            words::FRENCH,
            words::ARABIC,
            words::CHINESE,
            words::JAPANESE,
        ];
        Corpus {
            contacts: (0..contacts.max(1)).map(contact).collect(),
            // A few people write a lot, most a little: every contact still expects ~5
            // messages of a million.
            activity: Zipf::new(contacts.max(1), 0.8, 10.0),
            vocabularies: SHARES
                .iter()
                .map(|(l, _)| Vocabulary::new(*l, cores[*l as usize], sizes[*l as usize]))
                .collect(),
        }
    }

    pub fn contacts(&self) -> &[Contact] {
        &self.contacts
    }

    /// The English word of frequency rank `rank` (0 the most common); `None` for a rank
    /// that holds a phrase or lies beyond the vocabulary.
    pub fn english_word(&self, rank: usize) -> Option<&str> {
        self.vocabularies[Language::English as usize]
            .words
            .get(rank)
            .map(String::as_str)
            .filter(|w| !w.contains(' '))
    }

    /// Message `i`.
    pub fn message(&self, i: usize) -> Message {
        let mut rng = Rng::new(1, i as u64);
        let k = permute(self.activity.draw(&mut rng), self.contacts.len());
        let language = self.contacts[k].language;
        let (body, words) = self.text(language, &mut rng);
        Message {
            contact: k,
            inbound: rng.chance(550),
            body,
            words,
        }
    }

    /// Message `i` as a row stored at `at`.
    pub fn row(&self, i: usize, at: &str, ts_seconds: i64) -> SyntheticMessage {
        let m = self.message(i);
        let contact = self.contacts[m.contact].row.wa_id.clone();
        let wamid = format!("wamid.HBgMNDQ3NzAw{i:016X}FQIAEhgU");
        let raw = if m.inbound {
            serde_json::json!({"from": contact, "id": wamid, "timestamp": ts_seconds.to_string(),
                "type": "text", "text": {"body": m.body}})
        } else {
            serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": contact, "type": "text", "text": {"body": m.body}})
        };
        SyntheticMessage {
            id: format!("0193a1b2-0000-7000-8000-{i:012x}"),
            inbound: m.inbound,
            wamid,
            contact,
            body: m.body,
            at: at.to_owned(),
            raw: Some(raw.to_string()),
        }
    }

    /// A message's text in `language`: mostly a few words, now and then a long one.
    fn text(&self, language: Language, rng: &mut Rng) -> (String, Vec<String>) {
        let vocabulary = &self.vocabularies[language as usize];
        let length = match rng.below(100) {
            0..40 => 1 + rng.below(5),
            40..80 => 6 + rng.below(10),
            80..95 => 16 + rng.below(25),
            _ => 41 + rng.below(60),
        };
        let joined = matches!(language, Language::Chinese | Language::Japanese);
        let mut words: Vec<String> = Vec::with_capacity(length + 2);
        let mut body = String::new();
        while words.len() < length {
            let word = if !joined && rng.chance(30) {
                (1 + rng.below(99_999)).to_string()
            } else if joined {
                (0..1 + rng.below(3))
                    .map(|_| vocabulary.words[vocabulary.zipf.draw(rng)].as_str())
                    .collect()
            } else {
                vocabulary.words[vocabulary.zipf.draw(rng)].clone()
            };
            if !body.is_empty() {
                body.push_str(match (joined, rng.below(3)) {
                    (false, _) => " ",
                    (true, 0) => "，",
                    (true, 1) => "。",
                    (true, _) => " ",
                });
            }
            if rng.chance(40) {
                let emoji: &&str = rng.pick(words::EMOJI);
                body.push_str(emoji);
                body.push(' ');
            }
            body.push_str(&word);
            words.extend(word.split(' ').map(str::to_owned));
        }
        if rng.chance(120) {
            let emoji: &&str = rng.pick(words::EMOJI);
            body.push_str(emoji);
        }
        let end: &&str = rng.pick(&["", "", ".", "?", "!", "..."]);
        body.push_str(end);
        (body, words)
    }
}

/// A bijection of `0..n`, so the most active contacts are spread over the list.
fn permute(rank: usize, n: usize) -> usize {
    const STRIDE: usize = 7_919;
    if n.is_multiple_of(STRIDE) {
        rank % n
    } else {
        (rank * STRIDE + 17) % n
    }
}

/// Contact `k`: a language, a name as WhatsApp gives it (or none), a number unique to
/// `k` in that language's country, and for some a BSUID (for a few, instead of a number).
fn contact(k: usize) -> Contact {
    let mut rng = Rng::new(2, k as u64);
    let roll = rng.below(1000) as u64;
    let mut seen = 0;
    let language = SHARES
        .iter()
        .find(|(_, share)| {
            seen += share;
            roll < seen
        })
        .map_or(Language::English, |(l, _)| *l);
    let first = rng.pick(words::FIRST_NAMES[language as usize]);
    let last = rng.pick(words::LAST_NAMES[language as usize]);
    let profile_name = match (rng.below(100), language) {
        (0..5, _) => None,
        (5..15, _) => Some((*first).to_owned()),
        (15..18, _) => Some(format!("{first} ❤️")),
        (_, Language::Chinese | Language::Japanese) => Some(format!("{last}{first}")),
        _ => Some(format!("{first} {last}")),
    };
    // Unique per contact: the stride is prime to 10^8.
    let digits = format!("{:08}", (k * 7_919 + 12_345) % 100_000_000);
    let (country_code, prefix, region) = match language {
        Language::English if rng.chance(600) => ("1", "415", "US"),
        Language::English => ("44", "7700", "GB"),
        Language::Spanish => ("34", "6", "ES"),
        Language::German => ("49", "151", "DE"),
        Language::French => ("33", "6", "FR"),
        Language::Arabic => ("971", "5", "AE"),
        Language::Chinese => ("86", "138", "CN"),
        Language::Japanese => ("81", "90", "JP"),
    };
    let phone = format!("{country_code}{prefix}{digits}");
    let bsuid = format!("{region}.2{:019}", k as u64 * 1_000_003 + 77);
    let (wa_id, user_id, country_code) = match rng.below(100) {
        0..2 => (bsuid.clone(), Some(bsuid), None),
        2..10 => (phone, Some(bsuid), Some(country_code)),
        _ => (phone, None, Some(country_code)),
    };
    Contact {
        language,
        row: SyntheticContact {
            wa_id,
            user_id,
            profile_name,
        },
        country_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_gives_the_same_message_and_contacts_are_unique() {
        let corpus = Corpus::new(2_000);
        assert_eq!(corpus.message(42).body, corpus.message(42).body);
        let mut keys: Vec<&str> = corpus
            .contacts()
            .iter()
            .map(|c| c.row.wa_id.as_str())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 2_000);
    }

    #[test]
    fn common_words_are_common_and_the_tail_is_rare() {
        let corpus = Corpus::new(1_000);
        let messages: Vec<Message> = (0..20_000).map(|i| corpus.message(i)).collect();
        let share = |w: &str| {
            messages
                .iter()
                .filter(|m| m.words.iter().any(|x| x == w))
                .count()
        };
        let the = share("the");
        assert!(the > 4_000 && the < 12_000, "{the}");
        let rare = corpus.english_word(20_000).expect("a tail word");
        assert!(share(rare) < 20, "{rare}");
        assert!(messages.iter().any(|m| m.body.contains('é')));
        assert!(
            messages
                .iter()
                .any(|m| m.body.contains("المتجر") || m.body.contains("في"))
        );
    }
}
