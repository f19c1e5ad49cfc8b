//! `wa_top(score, rowid, k)`: whether a row is among the best `k` the statement has
//! offered so far (lower score first, then the newer row). A search reads its matches
//! once, newest first, and builds a snippet only where `wa_top` says so: every row among
//! the final best `k` was among the best `k` of the rows before it, so those rows all get
//! their snippet, and few others do (about `k·ln(n/k)` of `n` rows in random order, at
//! most `n`).
//!
//! The best rows so far are kept as SQLite auxiliary data of the constant `k` argument,
//! which lives for one run of the statement.

use std::collections::BinaryHeap;
use std::sync::Mutex;

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

/// The function's SQL name.
pub(crate) const FUNCTION: &str = "wa_top";

/// Adds `wa_top` to `conn` (every pooled reader has it from the start).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        FUNCTION,
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
        |ctx| {
            let offered = Ranked {
                score: ctx.get::<f64>(0)?,
                rowid: ctx.get::<i64>(1)?,
            };
            let best = ctx.get_or_create_aux(2, |k| -> rusqlite::Result<_> {
                Ok(Mutex::new(Best::new(
                    usize::try_from(k.as_i64()?).unwrap_or(0),
                )))
            })?;
            let mut best = best.lock().map_err(|_| {
                rusqlite::Error::UserFunctionError("wa_top: a previous call panicked".into())
            })?;
            Ok(best.offer(offered))
        },
    )
}

/// A scored row; greater is worse: a higher score, then an older (smaller) rowid.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranked {
    score: f64,
    rowid: i64,
}

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.rowid.cmp(&self.rowid))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The best `k` rows offered so far, the worst on top.
#[derive(Debug)]
struct Best {
    k: usize,
    rows: BinaryHeap<Ranked>,
}

impl Best {
    fn new(k: usize) -> Best {
        Best {
            k,
            rows: BinaryHeap::with_capacity(k.min(1_024) + 1),
        }
    }

    /// Whether `row` is among the best `k` rows offered so far, itself included.
    fn offer(&mut self, row: Ranked) -> bool {
        if self.rows.len() < self.k {
            self.rows.push(row);
            return true;
        }
        match self.rows.peek() {
            Some(worst) if row < *worst => {
                self.rows.pop();
                self.rows.push(row);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_kept_while_it_is_among_the_best_k_so_far() {
        let mut best = Best::new(2);
        let offer = |best: &mut Best, score: f64, rowid: i64| best.offer(Ranked { score, rowid });
        assert!(offer(&mut best, -1.0, 10));
        assert!(offer(&mut best, -3.0, 9));
        assert!(!offer(&mut best, -0.5, 8), "worse than both");
        assert!(!offer(&mut best, -1.0, 7), "a tie goes to the newer row");
        assert!(offer(&mut best, -2.0, 6), "better than the worst kept");
        assert!(!Best::new(0).offer(Ranked {
            score: -9.0,
            rowid: 1
        }));
    }

    #[test]
    fn the_best_k_are_kept_for_one_run_of_a_statement_and_start_again_on_the_next() {
        let conn = Connection::open_in_memory().expect("open");
        register(&conn).expect("registered");
        let sql = "SELECT group_concat(CASE WHEN wa_top(score, id, 2) THEN id END, ',')
                   FROM (SELECT column1 AS id, column2 AS score
                         FROM (VALUES (5, ?1), (4, -2.0), (3, -3.0), (2, -1.0), (1, -4.0)))";
        for _ in 0..2 {
            let kept: String = conn
                .prepare_cached(sql)
                .expect("prepared")
                .query_row([-1.0], |r| r.get(0))
                .expect("ran");
            assert_eq!(kept, "5,4,3,1");
        }
    }
}
