//! The contact directory (`find_contacts`): people matched on their name, any way their
//! number is written, or their BSUID, each with what the owner wants to know at a glance.
//!
//! The trigram index `contact_search` (migration V12) narrows a query to the contacts that
//! hold its characters in order, and the exact rule is checked on those alone, and on the
//! new contacts not indexed yet (`store::search`'s pending note); a query under three
//! characters, which trigrams cannot look up, reads every contact (a name without ASCII
//! letters reads only their names, from `contacts_by_name`). Only the page of matches gets
//! its message and unread counts, one index range each. Without a query, the page is read
//! newest activity first through `contacts_by_last_message`.

use rusqlite::types::Value;
use rusqlite::{Connection, Row};

use super::StoreError;

/// The keys of the `?4` contacts passing `{rule}` ([`RULE`]), most recent activity first,
/// among the contacts `{narrowed}` leaves.
const MATCHING_PAGE: &str = "
    SELECT k.wa_id FROM contacts k
    WHERE {narrowed} {rule}
    ORDER BY k.last_message_at IS NULL, k.last_message_at DESC, k.wa_id DESC
    LIMIT ?4";

/// [`MATCHING_PAGE`] for a query the trigram index finds many contacts for: the contacts
/// are read newest activity first (through `contacts_by_last_message`) and each is checked
/// against the set the index found, until the page is full. Sorting every match, as
/// [`MATCHING_PAGE`] does, costs as many steps as there are matches (thousands for the
/// start of a common name); this costs about as many as the page needs, and more only
/// when few contacts match, which is why it is kept for [`MANY_MATCHES`] or more.
const MATCHING_NEWEST_PAGE: &str = "
    SELECT wa_id FROM (
        SELECT k.wa_id FROM contacts k
        WHERE k.last_message_at IS NOT NULL AND +{narrowed} {rule}
        ORDER BY k.last_message_at DESC, k.wa_id DESC LIMIT ?4)
    UNION ALL
    SELECT wa_id FROM (
        SELECT k.wa_id FROM contacts k
        WHERE k.last_message_at IS NULL AND +{narrowed} {rule}
        ORDER BY k.wa_id DESC LIMIT ?4)
    LIMIT ?4";

/// The rule a contact must pass, for `?1` (name), `?2` (number) and `?3` (BSUID).
const RULE: &str = "
      ((?1 IS NOT NULL AND (k.profile_name LIKE ?1 ESCAPE '\\' OR k.username LIKE ?1 ESCAPE '\\'))
       OR (?2 IS NOT NULL AND k.wa_id LIKE ?2 ESCAPE '\\')
       OR (?3 IS NOT NULL AND (k.user_id LIKE ?3 ESCAPE '\\' OR k.parent_user_id LIKE ?3 ESCAPE '\\')))";

/// How many trigram matches make [`MATCHING_NEWEST_PAGE`] the faster plan: with fewer,
/// reading contacts newest first meets a match too rarely (with none, it reads all 50,000
/// of a large inbox: about 10 ms).
const MANY_MATCHES: i64 = 400;

/// What narrows [`MATCHING_PAGE`] for a query under three characters without an ASCII
/// letter (a Chinese or Japanese name is often two characters), which trigrams cannot
/// look up: every contact's names are still read, but from `contacts_by_name` (migration
/// V15), which holds only those, and `instr` finds the text as written, exactly as `LIKE`
/// (which folds ASCII letters only) would, in three quarters of the time.
const NARROWED_AS_WRITTEN: &str = "k.rowid IN (SELECT rowid FROM contacts
                    WHERE instr(profile_name, ?5) > 0 OR instr(username, ?5) > 0) AND";

/// What narrows [`MATCHING_PAGE`] to the contacts the trigram index finds for `?5`, and
/// the new contacts still waiting to join it (at most
/// [`super::search::CONTACT_INDEX_BATCH`]), which the rule then checks one by one.
const NARROWED: &str = "k.rowid IN (SELECT rowid FROM contact_search WHERE contact_search MATCH ?5
                    UNION ALL SELECT contact_rowid FROM contact_search_pending) AND";

/// The keys of the `?4` most recently active contacts, read from the end of
/// `contacts_by_last_message` (which holds only those with a message), then any without
/// a message. (`?1`..`?3` are not used.)
const NEWEST_PAGE: &str = "
    SELECT wa_id FROM (
        SELECT k.wa_id FROM contacts k WHERE k.last_message_at IS NOT NULL
        ORDER BY k.last_message_at DESC, k.wa_id DESC LIMIT ?4)
    UNION ALL
    SELECT wa_id FROM (
        SELECT k.wa_id FROM contacts k WHERE k.last_message_at IS NULL
        ORDER BY k.wa_id DESC LIMIT ?4)
    LIMIT ?4";

/// One contact as the directory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The thread key (`contacts.wa_id`): the phone number, or the BSUID when no number
    /// is known.
    pub contact: String,
    /// The phone number (digits), when known.
    pub phone: Option<String>,
    /// The business-scoped user id, when known.
    pub bsuid: Option<String>,
    pub profile_name: Option<String>,
    pub first_seen_at: String,
    /// When they last wrote, by Meta's clock.
    pub last_inbound_at: Option<String>,
    /// `created_at` of the newest message either way.
    pub last_message_at: Option<String>,
    /// Messages either way.
    pub messages: i64,
    /// Inbound messages after the newest one marked read.
    pub unread: i64,
    /// Whether the owner blocked this contact (`block_contact`): every send to them is
    /// refused.
    pub blocked: bool,
}

/// How a directory query matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactMatch {
    /// Part of a profile name or username, matched case-insensitively (ASCII letters).
    pub name: Option<String>,
    /// Digits that must appear in the number, in order (leading zeros dropped, so a
    /// local `07700 900123` finds `447700900123`).
    pub digits: Option<String>,
    /// The start of a BSUID (its parent's too).
    pub bsuid: Option<String>,
}

impl ContactMatch {
    /// The match for what a person typed: the whole text against names, its digits
    /// (when there are at least three) against numbers, and the text as a BSUID prefix.
    pub fn from_query(query: &str) -> ContactMatch {
        let query = query.trim();
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        let looks_like_number = query
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        ContactMatch {
            name: (!query.is_empty()).then(|| query.to_owned()),
            digits: (digits.len() >= 3 && looks_like_number).then(|| digits.to_owned()),
            bsuid: (query.len() >= 3 && query.contains('.')).then(|| query.to_owned()),
        }
    }

    fn is_empty(&self) -> bool {
        self.name.is_none() && self.digits.is_none() && self.bsuid.is_none()
    }

    /// The `contact_search` query that finds every contact this match can accept (and
    /// maybe more): each part as a quoted string in its columns. `None` when a part is
    /// under three characters, which a trigram index cannot look up.
    fn trigram_query(&self) -> Option<String> {
        let parts = [
            ("{profile_name username}", &self.name),
            ("wa_id", &self.digits),
            ("{user_id parent_user_id}", &self.bsuid),
        ];
        let mut query = Vec::new();
        for (columns, part) in parts {
            if let Some(text) = part {
                if text.chars().count() < 3 {
                    return None;
                }
                query.push(format!("{columns} : \"{}\"", text.replace('"', "\"\"")));
            }
        }
        (!query.is_empty()).then(|| query.join(" OR "))
    }
}

/// Up to `limit` contacts matching `m` (all contacts when it is empty), most recent
/// activity first; contacts without any message last.
pub fn find_contacts(
    conn: &Connection,
    m: &ContactMatch,
    limit: usize,
) -> Result<Vec<DirectoryEntry>, StoreError> {
    let trigrams = (!m.is_empty()).then(|| m.trigram_query()).flatten();
    // A number is specific: its digits find a few contacts, and counting them would read
    // the index twice. Part of a name may find thousands.
    let many = match &trigrams {
        Some(query) if m.digits.is_none() => conn
            .prepare_cached(
                "SELECT count(*) >= ?2 FROM (
                     SELECT 1 FROM contact_search WHERE contact_search MATCH ?1 LIMIT ?2)",
            )?
            .query_row(rusqlite::params![query, MANY_MATCHES], |r| r.get(0))?,
        _ => false,
    };
    let (sql, args) = directory_sql(m, trigrams, many, limit);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), directory_entry)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The statement [`find_contacts`] runs for `m` (narrowed by the trigram query
/// `trigrams`, which finds `many` contacts or not), and its arguments.
fn directory_sql(
    m: &ContactMatch,
    trigrams: Option<String>,
    many: bool,
    limit: usize,
) -> (String, Vec<Value>) {
    let page = match (m.is_empty(), &trigrams) {
        (true, _) => NEWEST_PAGE.to_owned(),
        (false, Some(_)) if many => MATCHING_NEWEST_PAGE
            .replace("{narrowed}", NARROWED)
            .replace("{rule}", RULE),
        (false, Some(_)) => MATCHING_PAGE
            .replace("{narrowed}", NARROWED)
            .replace("{rule}", RULE),
        (false, None) => MATCHING_PAGE
            .replace("{narrowed}", short_narrowing(m))
            .replace("{rule}", RULE),
    };
    let sql = format!(
        "SELECT c.wa_id, c.user_id, c.profile_name, c.first_seen_at, c.last_inbound_at,
                c.last_message_at,
                (SELECT count(*) FROM messages n WHERE n.contact_wa_id = c.wa_id),
                (SELECT count(*) FROM messages u
                 WHERE u.contact_wa_id = c.wa_id AND u.direction = 'inbound'
                   AND u.created_at > coalesce(c.last_read_at, '')),
                c.blocked
         FROM ({page}) page
         JOIN contacts c ON c.wa_id = page.wa_id
         ORDER BY c.last_message_at IS NULL, c.last_message_at DESC, c.wa_id DESC"
    );
    let mut args: Vec<Value> = vec![
        like(&m.name, true).into(),
        like(&m.digits, true).into(),
        like(&m.bsuid, false).into(),
        Value::Integer(limit as i64),
    ];
    match trigrams {
        Some(query) => args.push(Value::Text(query)),
        None if short_narrowing(m) == NARROWED_AS_WRITTEN => args.push(m.name.clone().into()),
        None => {}
    }
    (sql, args)
}

/// What narrows a query the trigram index cannot look up: [`NARROWED_AS_WRITTEN`] when
/// it is only a name part without an ASCII letter; otherwise nothing, and the rule alone
/// reads every contact.
fn short_narrowing(m: &ContactMatch) -> &'static str {
    match (&m.name, &m.digits, &m.bsuid) {
        (Some(name), None, None) if !name.bytes().any(|b| b.is_ascii_alphabetic()) => {
            NARROWED_AS_WRITTEN
        }
        _ => "",
    }
}

/// `text` as a LIKE pattern: found anywhere (`contains`) or at the start, with `%`, `_`
/// and the escape character itself taken literally.
fn like(text: &Option<String>, contains: bool) -> Option<String> {
    text.as_ref().map(|s| {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        if contains {
            format!("%{escaped}%")
        } else {
            format!("{escaped}%")
        }
    })
}

fn directory_entry(r: &Row<'_>) -> rusqlite::Result<DirectoryEntry> {
    let contact: String = r.get(0)?;
    let phone = (!contact.is_empty() && contact.bytes().all(|b| b.is_ascii_digit()))
        .then(|| contact.clone());
    Ok(DirectoryEntry {
        contact,
        phone,
        bsuid: r.get(1)?,
        profile_name: r.get(2)?,
        first_seen_at: r.get(3)?,
        last_inbound_at: r.get(4)?,
        last_message_at: r.get(5)?,
        messages: r.get(6)?,
        unread: r.get(7)?,
        blocked: r.get::<_, i64>(8)? != 0,
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::store::Store;
    use crate::store::search::{CONTACT_INDEX_BATCH, Contacts, index_pending};

    #[test]
    fn contacts_without_a_message_come_after_everyone_with_one() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        store
            .write_blocking(|ctx| {
                for (wa_id, last) in [
                    ("447700900111", None),
                    ("447700900222", Some("2026-11-01T10:00:00.000000Z")),
                    ("447700900333", Some("2026-11-02T10:00:00.000000Z")),
                    ("447700900444", None),
                ] {
                    ctx.exec(
                        "INSERT INTO contacts (wa_id, first_seen_at, updated_at, last_message_at)
                         VALUES (?1, '2026-01-01T00:00:00.000000Z',
                                 '2026-01-01T00:00:00.000000Z', ?2)",
                        params![wa_id, last],
                    )?;
                }
                Ok(())
            })
            .expect("contacts");
        let keys = |m: ContactMatch, limit: usize| -> Vec<String> {
            store
                .read_blocking(move |c| find_contacts(c, &m, limit))
                .expect("found")
                .into_iter()
                .map(|e| e.contact)
                .collect()
        };
        let everyone = [
            "447700900333",
            "447700900222",
            "447700900444",
            "447700900111",
        ];
        assert_eq!(keys(ContactMatch::default(), 10), everyone);
        assert_eq!(keys(ContactMatch::default(), 3), everyone[..3]);
        assert_eq!(keys(ContactMatch::default(), 1), everyone[..1]);
        assert_eq!(keys(ContactMatch::from_query("+44 7700"), 10), everyone);
    }

    fn names(store: &Store, query: &str) -> Vec<String> {
        let m = ContactMatch::from_query(query);
        store
            .read_blocking(move |c| find_contacts(c, &m, 10))
            .expect("found")
            .into_iter()
            .map(|e| e.contact)
            .collect()
    }

    /// Indexes every contact still waiting in the note, as a full batch would.
    fn index_noted_contacts(store: &Store) {
        store
            .write_blocking(|ctx| Ok(index_pending(ctx.conn(), Contacts::All)?))
            .expect("indexed");
    }

    fn noted_contacts(store: &Store) -> i64 {
        store
            .read_blocking(|c| {
                Ok(
                    c.query_row("SELECT count(*) FROM contact_search_pending", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .expect("counted")
    }

    #[test]
    fn the_trigram_index_follows_every_change_to_a_contact() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        let write = |sql: &'static str| {
            store
                .write_blocking(move |ctx| Ok(ctx.exec(sql, []).map(drop)?))
                .expect("written");
        };
        write(
            "INSERT INTO contacts (wa_id, user_id, profile_name, first_seen_at, updated_at)
             VALUES ('US.20581937466401827395', 'US.20581937466401827395', 'Grace Brewster',
                     '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
        );
        index_noted_contacts(&store);
        assert_eq!(noted_contacts(&store), 0);
        assert_eq!(names(&store, "brewster"), ["US.20581937466401827395"]);
        // A new name, then a number that becomes the key: each is found, the old name not.
        write("UPDATE contacts SET profile_name = 'Grace Hopper' WHERE user_id LIKE 'US.2058%'");
        write("UPDATE contacts SET wa_id = '447700900999' WHERE user_id LIKE 'US.2058%'");
        assert!(names(&store, "brewster").is_empty());
        for query in ["hopper", "+44 7700 900999", "US.2058"] {
            assert_eq!(names(&store, query), ["447700900999"], "{query}");
        }
        // Under three characters the index cannot look up: every contact is read instead.
        assert_eq!(names(&store, "Gr"), ["447700900999"]);
        // Added, renamed and removed within one transaction, before the index saw them.
        store
            .write_blocking(|ctx| {
                for (wa_id, name) in [("16505550001", "Ada Byron"), ("16505550002", "Temp")] {
                    ctx.exec(
                        "INSERT INTO contacts (wa_id, profile_name, first_seen_at, updated_at)
                         VALUES (?1, ?2, '2026-01-01T00:00:00.000000Z',
                                 '2026-01-01T00:00:00.000000Z')",
                        params![wa_id, name],
                    )?;
                }
                ctx.exec(
                    "UPDATE contacts SET profile_name = 'Ada Lovelace' WHERE wa_id = '16505550001'",
                    [],
                )?;
                ctx.exec("DELETE FROM contacts WHERE wa_id = '16505550002'", [])?;
                Ok(())
            })
            .expect("one transaction");
        index_noted_contacts(&store);
        assert_eq!(names(&store, "lovelace"), ["16505550001"]);
        assert!(names(&store, "byron").is_empty() && names(&store, "temp").is_empty());
        store
            .write_blocking(|ctx| {
                ctx.exec(
                    "INSERT INTO contact_search (contact_search, rank) VALUES ('integrity-check', 1)",
                    [],
                )?;
                ctx.exec("DELETE FROM contacts", [])?;
                ctx.exec(
                    "INSERT INTO contact_search (contact_search, rank) VALUES ('integrity-check', 1)",
                    [],
                )?;
                Ok(())
            })
            .expect("the index matches the rows");
        assert!(names(&store, "hopper").is_empty());
    }

    #[test]
    fn a_new_contact_is_found_before_it_joins_the_index_and_after() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        let add = |from: i64, count: i64| {
            store
                .write_blocking(move |ctx| {
                    for n in from..from + count {
                        ctx.exec(
                            "INSERT INTO contacts (wa_id, user_id, profile_name, first_seen_at,
                                                   updated_at)
                             VALUES (?1, ?2, ?3, '2026-01-01T00:00:00.000000Z',
                                     '2026-01-01T00:00:00.000000Z')",
                            params![
                                format!("4477009{n:05}"),
                                format!("GB.{n:05}1937466401827395"),
                                format!("Person {n} Quimby")
                            ],
                        )?;
                    }
                    Ok(())
                })
                .expect("added");
        };
        let indexed = |store: &Store| -> i64 {
            store
                .read_blocking(|c| {
                    Ok(c.query_row(
                        "SELECT count(*) FROM contact_search WHERE contact_search MATCH 'quimby'",
                        [],
                        |r| r.get(0),
                    )?)
                })
                .expect("counted")
        };
        add(1, 1);
        // Waiting in the note, not in the index: found by name, number and BSUID all the same.
        assert_eq!((noted_contacts(&store), indexed(&store)), (1, 0));
        for query in [
            "son 1 Quim",
            "07700 900001",
            "+44 7700 900001",
            "GB.000011937",
        ] {
            assert_eq!(names(&store, query), ["447700900001"], "{query}");
        }
        assert!(names(&store, "Zelda").is_empty());
        // A contact waiting in the note is not damage: the check backups run says so.
        let pragma = store
            .read_blocking(|c| {
                Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?)
            })
            .expect("checked");
        assert_eq!(pragma, "ok");
        // The commit that brings the note to a full batch indexes the whole batch.
        add(2, CONTACT_INDEX_BATCH - 2);
        assert_eq!(noted_contacts(&store), CONTACT_INDEX_BATCH - 1);
        add(CONTACT_INDEX_BATCH, 1);
        assert_eq!(
            (noted_contacts(&store), indexed(&store)),
            (0, CONTACT_INDEX_BATCH)
        );
        assert_eq!(names(&store, "quimby").len(), 10);
        assert_eq!(names(&store, "+44 7700 900001"), ["447700900001"]);
        store
            .write_blocking(|ctx| {
                Ok(ctx
                    .exec(
                        "INSERT INTO contact_search (contact_search, rank)
                         VALUES ('integrity-check', 1)",
                        [],
                    )
                    .map(drop)?)
            })
            .expect("the index matches the rows");
        add(CONTACT_INDEX_BATCH + 1, 1);
        let newest = format!("4477009{:05}", CONTACT_INDEX_BATCH + 1);
        assert_eq!(names(&store, &newest), [newest]);
    }

    #[test]
    fn a_name_of_one_or_two_characters_is_found_in_any_script() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        store
            .write_blocking(|ctx| {
                for (wa_id, name, username) in [
                    ("8613800000001", Some("周洋"), None),
                    ("8613800000002", Some("王周洋"), None),
                    ("8613800000003", Some("周杰"), None),
                    ("447700900001", Some("Grace"), None),
                    ("447700900002", None, Some("ogre")),
                    ("447700900003", Some("Ada"), None),
                ] {
                    ctx.exec(
                        "INSERT INTO contacts (wa_id, profile_name, username, first_seen_at,
                                               updated_at)
                         VALUES (?1, ?2, ?3, '2026-01-01T00:00:00.000000Z',
                                 '2026-01-01T00:00:00.000000Z')",
                        params![wa_id, name, username],
                    )?;
                }
                Ok(())
            })
            .expect("contacts");
        let sorted = |query: &str| {
            let mut found = names(&store, query);
            found.sort();
            found
        };
        assert_eq!(sorted("周洋"), ["8613800000001", "8613800000002"]);
        assert_eq!(
            sorted("周"),
            ["8613800000001", "8613800000002", "8613800000003"]
        );
        assert_eq!(sorted("gR"), ["447700900001", "447700900002"]);
        assert_eq!(sorted("%"), Vec::<String>::new());
        assert_eq!(sorted("洋x"), Vec::<String>::new());
    }

    #[test]
    fn both_plans_find_the_same_page_in_the_same_order() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        let many = MANY_MATCHES + 50;
        store
            .write_blocking(move |ctx| {
                for n in 0..many {
                    // Activity out of step with the key; every seventh has no message.
                    let last = (n % 7 != 0)
                        .then(|| format!("2026-11-{:02}T10:00:00.000000Z", 1 + (n * 37) % 28));
                    ctx.exec(
                        "INSERT INTO contacts (wa_id, profile_name, first_seen_at, updated_at,
                                               last_message_at)
                         VALUES (?1, ?2, '2026-01-01T00:00:00.000000Z',
                                 '2026-01-01T00:00:00.000000Z', ?3)",
                        params![format!("4477009{n:05}"), format!("Quimby {n}"), last],
                    )?;
                }
                Ok(())
            })
            .expect("contacts");
        index_noted_contacts(&store);
        let page = |query: &str, many: bool, limit: usize| -> Vec<String> {
            let m = ContactMatch::from_query(query);
            let (sql, args) = directory_sql(&m, m.trigram_query(), many, limit);
            store
                .read_blocking(move |c| {
                    Ok(c.prepare(&sql)?
                        .query_map(rusqlite::params_from_iter(args), |r| r.get(0))?
                        .collect::<Result<Vec<String>, _>>()?)
                })
                .expect("page")
        };
        for (query, limit) in [("quimby", 20), ("quimby", 500), ("mby 1", 20), ("mby 3", 7)] {
            let sorted = page(query, false, limit);
            assert!(!sorted.is_empty(), "{query}");
            assert_eq!(page(query, true, limit), sorted, "{query} {limit}");
        }
        // find_contacts takes the plan for many matches here and gives the sorted page.
        assert_eq!(names(&store, "quimby"), page("quimby", false, 10));
    }

    #[test]
    fn a_query_of_three_characters_or_more_reads_the_trigram_index_not_every_contact() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("wa.db")).expect("open");
        let plan = |query: &str, many: bool| {
            let m = ContactMatch::from_query(query);
            let trigrams = m.trigram_query();
            let (sql, args) = directory_sql(&m, trigrams, many, 20);
            store
                .read_blocking(move |c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let steps = stmt
                        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))?;
                    Ok(steps.collect::<Result<Vec<_>, _>>()?.join("\n"))
                })
                .expect("plan")
        };
        for query in ["Jam", "+44 7700 900123", "US.2058"] {
            let steps = plan(query, false);
            assert!(steps.contains("contact_search"), "{query}: {steps}");
            assert!(!steps.contains("SCAN k\n"), "{query}: {steps}");
            // With many matches, contacts are read newest first and checked against them.
            let steps = plan(query, true);
            assert!(steps.contains("contact_search"), "{query}: {steps}");
            assert!(
                steps.contains("k USING INDEX contacts_by_last_message"),
                "{query}: {steps}"
            );
        }
        // Under three characters, which trigrams cannot look up, every contact is read;
        // for a name without ASCII letters, only their names.
        for query in ["Ja", "周洋"] {
            assert!(!plan(query, false).contains("contact_search"), "{query}");
        }
        let steps = plan("周洋", false);
        assert!(
            steps.contains("SCAN contacts USING COVERING INDEX contacts_by_name"),
            "{steps}"
        );
    }
}
