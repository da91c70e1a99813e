//! Fault injection, for the fail-stop and crash tests: `OPENLEDGER_FAILPOINTS` (read by
//! `openledgerd start`) or `NodeSettings::failpoints` arms points at heights, e.g.
//! `finalize:error@5,commit:abort@9`. Points:
//!
//! - `finalize` — every state read of the block's execution (FinalizeBlock);
//! - `stream` — staging the block's stream record (in FinalizeBlock, after execution);
//! - `commit` — Commit, before the batch is written;
//! - `committed` — Commit, after the batch is written and before Commit answers.
//!
//! Actions: `error` makes the point fail as the storage would (an I/O error), `abort`
//! kills the process there (as `kill -9` or a power cut would). Unarmed — always, in
//! production — a check is an empty-list test.
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    Finalize,
    Stream,
    Commit,
    Committed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Error,
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failpoint {
    pub point: Point,
    pub action: Action,
    pub height: u64,
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Point::Finalize => "finalize",
            Point::Stream => "stream",
            Point::Commit => "commit",
            Point::Committed => "committed",
        })
    }
}

/// Parse `point:action@height[,…]`.
pub fn parse(spec: &str) -> Result<Vec<Failpoint>, String> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || format!("failpoint {item:?}: expected point:action@height, e.g. commit:error@5");
        let (pa, h) = item.split_once('@').ok_or_else(bad)?;
        let (p, a) = pa.split_once(':').ok_or_else(bad)?;
        let point = match p {
            "finalize" => Point::Finalize,
            "stream" => Point::Stream,
            "commit" => Point::Commit,
            "committed" => Point::Committed,
            _ => return Err(format!("failpoint {item:?}: unknown point {p:?} (finalize, stream, commit, committed)")),
        };
        let action = match a {
            "error" => Action::Error,
            "abort" => Action::Abort,
            _ => return Err(format!("failpoint {item:?}: unknown action {a:?} (error, abort)")),
        };
        let height = h.parse().map_err(|_| bad())?;
        out.push(Failpoint { point, action, height });
    }
    Ok(out)
}

/// The injected storage failure.
pub fn injected(point: Point, height: u64) -> anyhow::Error {
    anyhow::anyhow!("injected I/O error (failpoint {point} at height {height})")
}

/// Whether `point` fails at `height`: `Err` for an armed `error`; an armed `abort`
/// does not return.
pub fn check(armed: &[Failpoint], point: Point, height: u64) -> anyhow::Result<()> {
    for f in armed {
        if f.point == point && f.height == height {
            match f.action {
                Action::Error => return Err(injected(point, height)),
                Action::Abort => {
                    tracing::error!("failpoint {point}:abort at height {height}: aborting");
                    std::process::abort();
                }
            }
        }
    }
    Ok(())
}

/// Whether an `error` at `point` is armed for `height` (for reads that fail one by one).
pub fn fails(armed: &[Failpoint], point: Point, height: u64) -> bool {
    armed.iter().any(|f| f.point == point && f.height == height && f.action == Action::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        assert_eq!(
            parse("finalize:error@5, commit:abort@9").unwrap(),
            vec![
                Failpoint { point: Point::Finalize, action: Action::Error, height: 5 },
                Failpoint { point: Point::Commit, action: Action::Abort, height: 9 }
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert!(parse("disk:error@5").unwrap_err().contains("unknown point"));
        assert!(parse("commit:explode@5").unwrap_err().contains("unknown action"));
        assert!(parse("commit:error").unwrap_err().contains("expected"));
        assert!(parse("commit:error@x").unwrap_err().contains("expected"));
    }

    #[test]
    fn only_the_armed_point_and_height_fail() {
        let armed = parse("commit:error@5").unwrap();
        assert!(check(&armed, Point::Commit, 5).is_err());
        assert!(check(&armed, Point::Commit, 6).is_ok());
        assert!(check(&armed, Point::Finalize, 5).is_ok());
        assert!(fails(&armed, Point::Commit, 5) && !fails(&armed, Point::Finalize, 5));
    }
}
