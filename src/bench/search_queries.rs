//! The queries `bench search` times, drawn from the inbox itself so every kind finds
//! something: one word by how common it is (rare, medium, very common, and very common
//! within one person's thread), two words of one message, a phrase of two or three
//! adjacent words, a prefix; and for `find_contacts`, part of a name, a number written
//! three ways, and no query at all.

use super::corpus::{Corpus, Language, Rng};
use crate::messaging::SearchInput;

/// A kind of search and its queries.
pub struct SearchKind {
    pub label: &'static str,
    pub queries: Vec<SearchInput>,
    /// Every query was taken from a stored message, so each must find at least one.
    pub drawn_from_messages: bool,
}

/// The search kinds timed: `queries` of each, from an inbox of `rows` messages.
pub fn search_kinds(corpus: &Corpus, rows: usize, queries: usize) -> Vec<SearchKind> {
    let by_rank = |from: usize, to: usize| -> Vec<SearchInput> {
        let mut rng = Rng::new(11, from as u64);
        let words: Vec<&str> = (from..to).filter_map(|r| corpus.english_word(r)).collect();
        if words.is_empty() {
            return Vec::new();
        }
        (0..queries)
            .map(|i| {
                let word = if to - from <= queries {
                    words[i % words.len()]
                } else {
                    words[rng.below(words.len())]
                };
                query(word)
            })
            .collect()
    };
    let common = by_rank(0, 12);
    let mut rng = Rng::new(12, 0);
    let from_messages = |pick: &dyn Fn(&[String], &mut Rng) -> Option<String>| {
        let mut rng = Rng::new(13, 0);
        let mut out = Vec::with_capacity(queries);
        // Bounded: a tiny inbox may not hold enough messages of the shape asked for.
        for _ in 0..queries * 1_000 {
            if out.len() == queries {
                break;
            }
            let m = corpus.message(rng.below(rows));
            if let Some(q) = pick(&m.words, &mut rng) {
                out.push(query(&q));
            }
        }
        out
    };
    // The thread of someone who writes in English, picked as messages are (the active
    // more often).
    let with_contact = common
        .iter()
        .filter_map(|q| {
            let contact = (0..1_000)
                .map(|_| &corpus.contacts()[corpus.message(rng.below(rows)).contact])
                .find(|c| c.language == Language::English)?;
            Some(SearchInput {
                contact: Some(contact.row.wa_id.clone()),
                ..q.clone()
            })
        })
        .collect();
    let kind = |label, queries, drawn_from_messages| SearchKind {
        label,
        queries,
        drawn_from_messages,
    };
    vec![
        kind("one word, rare", by_rank(10_000, 30_000), false),
        kind("one word, medium", by_rank(150, 1_000), false),
        kind("one word, very common", common, false),
        kind("very common word, one contact", with_contact, false),
        kind("two words", from_messages(&two_words), true),
        kind("phrase", from_messages(&phrase), true),
        kind("prefix", from_messages(&prefix), true),
    ]
}

fn query(q: &str) -> SearchInput {
    SearchInput {
        query: q.to_owned(),
        ..SearchInput::default()
    }
}

/// Two different words of one message, in any order.
fn two_words(words: &[String], rng: &mut Rng) -> Option<String> {
    (words.len() >= 2).then(|| {
        let a = rng.below(words.len());
        let b = (a + 1 + rng.below(words.len() - 1)) % words.len();
        format!("{} {}", words[a], words[b])
    })
}

/// Two or three words next to each other in one message, quoted.
fn phrase(words: &[String], rng: &mut Rng) -> Option<String> {
    let n = 2 + rng.below(2);
    (words.len() >= n).then(|| {
        let at = rng.below(words.len() - n + 1);
        format!("\"{}\"", words[at..at + n].join(" "))
    })
}

/// The start of a word of at least four letters (all but its last two, at least
/// three), then `*`.
fn prefix(words: &[String], rng: &mut Rng) -> Option<String> {
    let word = words.get(rng.below(words.len()))?;
    let chars = word.chars().count();
    (chars >= 4 && word.chars().all(char::is_alphanumeric)).then(|| {
        let stem: String = word.chars().take((chars - 2).max(3)).collect();
        format!("{stem}*")
    })
}

/// The `find_contacts` kinds timed, `queries` of each.
pub fn contact_kinds(corpus: &Corpus, queries: usize) -> Vec<(&'static str, Vec<Option<String>>)> {
    let mut rng = Rng::new(14, 0);
    let people = corpus.contacts();
    let mut names = Vec::with_capacity(queries);
    let mut numbers = Vec::with_capacity(queries);
    for _ in 0..queries * 1_000 {
        if names.len() == queries && numbers.len() == queries {
            break;
        }
        let c = &people[rng.below(people.len())];
        if let Some(name) = &c.row.profile_name
            && names.len() < queries
        {
            names.push(Some(name.chars().take(3).collect()));
        }
        if let Some(cc) = c.country_code
            && numbers.len() < queries
        {
            let rest = &c.row.wa_id[cc.len()..];
            numbers.push(Some(match numbers.len() % 3 {
                0 => format!("+{cc} {} {}", &rest[..4], &rest[4..]),
                1 => format!("00{cc}{rest}"),
                _ => c.row.wa_id.clone(),
            }));
        }
    }
    vec![
        ("by name (first 3 letters)", names),
        ("by number (3 formats)", numbers),
        ("no query (most recent)", vec![None; queries]),
    ]
}
