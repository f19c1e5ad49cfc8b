//! The search query compiler: what a person types becomes an FTS5 expression in which every
//! word is a quoted string, so no input (quotes, `*`, `NEAR(`, `-`, `col:`, brackets,
//! emoji, control characters) is ever read as FTS5 syntax.
//!
//! The language is the one people expect from a search box:
//! - words, in any order, all of which must match: `invoice march`;
//! - `"quoted phrases"`: the words next to each other, in that order (an unclosed
//!   quote runs to the end);
//! - a trailing `*` makes a word a prefix: `invoi*`;
//! - `OR` (upper case, between words) matches either side: `invoice OR receipt`.
//!
//! Everything else is literal text: FTS5's tokenizer splits it into words the same way
//! it split the messages, so `e-mail` is the phrase "e mail" and punctuation is ignored.

/// A compiled query, ready to bind as the right-hand side of `MATCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    expression: String,
}

impl SearchQuery {
    /// The FTS5 expression: only quoted strings, `*`, `OR` and brackets.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

/// Why a query could not be compiled; the text is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the search query is empty: give at least one word")]
    Empty,
    #[error("the search query is too long: at most {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("the search query has too many words: at most {MAX_TERMS}")]
    TooManyTerms,
}

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words and phrases one query may hold.
pub const MAX_TERMS: usize = 32;

/// One word or phrase as typed.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Term { text: String, prefix: bool },
    Or,
}

/// Compiles `input` (see the module docs). Fails only on an empty or oversized query.
pub fn compile_query(input: &str) -> Result<SearchQuery, QueryError> {
    if input.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let pieces = split_pieces(&clean(input));
    let mut groups: Vec<Vec<String>> = vec![Vec::new()];
    let mut terms = 0;
    for piece in pieces {
        match piece {
            Piece::Or => groups.push(Vec::new()),
            Piece::Term { text, prefix } => {
                terms += 1;
                let quoted = format!(
                    "\"{}\"{}",
                    text.replace('"', "\"\""),
                    if prefix { " *" } else { "" }
                );
                // A word or phrase twice in one group asks nothing more (each must match
                // anyway), but would make bm25 count its matches twice.
                if let Some(group) = groups.last_mut()
                    && !group
                        .iter()
                        .any(|q| q.to_lowercase() == quoted.to_lowercase())
                {
                    group.push(quoted);
                }
            }
        }
    }
    if terms > MAX_TERMS {
        return Err(QueryError::TooManyTerms);
    }
    let groups: Vec<String> = groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|g| g.join(" "))
        .collect();
    let expression = match groups.len() {
        0 => return Err(QueryError::Empty),
        1 => groups.concat(),
        _ => groups
            .iter()
            .map(|g| format!("({g})"))
            .collect::<Vec<_>>()
            .join(" OR "),
    };
    Ok(SearchQuery { expression })
}

/// Control characters become spaces; Arabic harakat, tatweel, the superscript alef and
/// emoji modifiers go, as they go from the indexed text (see migration V8).
fn clean(input: &str) -> String {
    input
        .chars()
        .filter(|c| !is_dropped_mark(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The marks migration V8 removes from the indexed text.
fn is_dropped_mark(c: char) -> bool {
    matches!(
        c,
        '\u{064B}'..='\u{0652}'
            | '\u{0640}'
            | '\u{0670}'
            | '\u{FE0E}'
            | '\u{FE0F}'
            | '\u{1F3FB}'..='\u{1F3FF}'
    )
}

/// Splits into quoted phrases, words (a trailing `*` marks a prefix) and `OR`s.
fn split_pieces(input: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            let prefix = chars.peek() == Some(&'*');
            if prefix {
                chars.next();
            }
            push_term(&mut pieces, phrase.trim(), prefix);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            if word == "OR" {
                pieces.push(Piece::Or);
            } else {
                let stem = word.trim_end_matches('*');
                push_term(&mut pieces, stem, stem.len() < word.len());
            }
        }
    }
    pieces
}

fn push_term(pieces: &mut Vec<Piece>, text: &str, prefix: bool) {
    if !text.is_empty() {
        pieces.push(Piece::Term {
            text: text.to_owned(),
            prefix,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(q: &str) -> String {
        compile_query(q).expect("compiles").expression
    }

    #[test]
    fn words_become_quoted_terms_that_must_all_match() {
        assert_eq!(expr("invoice  march"), r#""invoice" "march""#);
    }

    #[test]
    fn quoted_phrases_stay_phrases_and_an_unclosed_quote_runs_to_the_end() {
        assert_eq!(expr(r#"the "red car" now"#), r#""the" "red car" "now""#);
        assert_eq!(expr(r#"say "hello there"#), r#""say" "hello there""#);
    }

    #[test]
    fn a_trailing_star_makes_a_prefix_and_a_lone_star_is_nothing() {
        assert_eq!(expr("invoi*"), r#""invoi" *"#);
        assert_eq!(expr(r#""red ca"*"#), r#""red ca" *"#);
        assert_eq!(compile_query("*"), Err(QueryError::Empty));
        assert_eq!(compile_query(r#"  "" ** "#), Err(QueryError::Empty));
    }

    #[test]
    fn a_word_repeated_in_one_group_is_asked_for_once() {
        assert_eq!(expr("the The the"), r#""the""#);
        assert_eq!(expr("the the*"), r#""the" "the" *"#);
        assert_eq!(expr(r#""red car" red "Red Car""#), r#""red car" "red""#);
        assert_eq!(expr("the OR the"), r#"("the") OR ("the")"#);
    }

    #[test]
    fn or_between_words_alternates_and_is_otherwise_ignored() {
        assert_eq!(expr("a b OR c"), r#"("a" "b") OR ("c")"#);
        assert_eq!(expr("OR invoice OR"), r#""invoice""#);
        assert_eq!(expr("a or b"), r#""a" "or" "b""#);
    }

    #[test]
    fn fts5_syntax_is_only_ever_literal_text() {
        assert_eq!(expr("NEAR(a b)"), r#""NEAR(a" "b)""#);
        assert_eq!(expr("text:secret -x ^y"), r#""text:secret" "-x" "^y""#);
        assert_eq!(expr(r#"a"b"#), r#""a" "b""#);
        assert_eq!(expr("say \"\"\"hi"), r#""say" "hi""#);
    }

    #[test]
    fn arabic_marks_and_control_characters_are_dropped() {
        assert_eq!(expr("مَرْحَبًا"), "\"مرحبا\"");
        assert_eq!(expr("a\u{0}b\nc"), r#""a" "b" "c""#);
    }

    #[test]
    fn oversized_queries_are_refused_clearly() {
        assert_eq!(compile_query(&"a".repeat(501)), Err(QueryError::TooLong));
        let many = vec!["w"; 33].join(" ");
        assert_eq!(compile_query(&many), Err(QueryError::TooManyTerms));
        assert_eq!(compile_query(""), Err(QueryError::Empty));
    }
}
