//! The hybrid logical clock that orders every write in the sync protocol.
//!
//! Tablets work offline for days and their wall clocks drift, so plain
//! timestamps cannot order edits safely, and pure logical counters would lose
//! the useful "roughly when" that office staff read in a conflict. A hybrid
//! logical clock keeps both: its `wall_ms` part follows the largest physical
//! time any participant has seen, its `counter` orders events inside the same
//! millisecond, and its `node` (the client id) breaks the last tie, so two
//! different writers can never produce equal timestamps and every replica
//! orders the same two writes the same way.
//!
//! The clock never reads the system time itself: `now_ms` is always passed in,
//! which keeps this module pure and lets tests drive time exactly. The app
//! calls [`Hlc::recv`] with the server's time on every pull, so a tablet whose
//! clock is behind is pulled forward ("re-seeded") before it writes again.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A hybrid logical timestamp. The derived order (wall time, then counter,
/// then node) is the total order every merge rule uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hlc {
    /// Unix milliseconds, the largest physical time seen so far.
    pub wall_ms: i64,
    /// Orders events that share `wall_ms`.
    pub counter: u32,
    /// The client that issued this timestamp.
    pub node: Uuid,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter, self.node).cmp(&(other.wall_ms, other.counter, other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hlc {
    /// The starting clock of a client: before every timestamp it will issue
    /// (at the Unix epoch, so the JSON form stays within JavaScript's exact
    /// integer range).
    pub fn new(node: Uuid) -> Hlc {
        Hlc {
            wall_ms: 0,
            counter: 0,
            node,
        }
    }

    /// A timestamp standing for a bare wall time (for example the server's
    /// time in a pull answer), ordered before every event of that millisecond.
    pub fn at(wall_ms: i64, node: Uuid) -> Hlc {
        Hlc {
            wall_ms,
            counter: 0,
            node,
        }
    }

    /// Issues the timestamp of a local event. The result is strictly greater
    /// than everything this clock issued or received before, whatever `now_ms`
    /// says (a clock that jumps backwards only stops the wall part moving).
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        if now_ms > self.wall_ms {
            self.wall_ms = now_ms;
            self.counter = 0;
        } else {
            self.bump();
        }
        *self
    }

    /// Merges a timestamp received from elsewhere (a pulled record or the
    /// server's time) and issues the timestamp of the receive event, which
    /// is strictly greater than both the local clock and `remote`.
    pub fn recv(&mut self, remote: &Hlc, now_ms: i64) -> Hlc {
        let wall = self.wall_ms.max(remote.wall_ms).max(now_ms);
        if wall == self.wall_ms && wall == remote.wall_ms {
            self.counter = self.counter.max(remote.counter);
            self.bump();
        } else if wall == self.wall_ms {
            self.bump();
        } else if wall == remote.wall_ms {
            self.wall_ms = wall;
            self.counter = remote.counter;
            self.bump();
        } else {
            self.wall_ms = wall;
            self.counter = 0;
        }
        *self
    }

    /// Re-seeds the clock from the server's wall time, as the app does on
    /// every pull.
    pub fn seed_from_server(&mut self, server_ms: i64, now_ms: i64) -> Hlc {
        self.recv(&Hlc::at(server_ms, Uuid::nil()), now_ms)
    }

    /// Advances the counter; on the (practically unreachable) overflow the
    /// wall part moves on by one millisecond so the order stays strict.
    fn bump(&mut self) {
        match self.counter.checked_add(1) {
            Some(c) => self.counter = c,
            None => {
                self.wall_ms = self.wall_ms.saturating_add(1);
                self.counter = 0;
            }
        }
    }
}

/// The storage form: `WWWWWWWWWWWWWWWW-CCCCCCCC-<uuid>`, fixed width and
/// lower-case hex, so comparing two strings byte by byte gives the same answer
/// as comparing the timestamps. The wall part has its sign bit flipped so
/// negative times still sort first.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wall = (self.wall_ms as u64) ^ (1 << 63);
        write!(
            f,
            "{wall:016x}-{:08x}-{}",
            self.counter,
            self.node.hyphenated()
        )
    }
}

/// Why a stored timestamp string could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a hybrid logical clock timestamp: {0:?}")]
pub struct ParseHlcError(pub String);

impl FromStr for Hlc {
    type Err = ParseHlcError;

    fn from_str(s: &str) -> Result<Hlc, ParseHlcError> {
        let err = || ParseHlcError(s.to_string());
        let is_hex = |p: &str| {
            p.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let (wall, rest) = s.split_once('-').ok_or_else(err)?;
        let (counter, node_str) = rest.split_once('-').ok_or_else(err)?;
        if wall.len() != 16 || counter.len() != 8 || !is_hex(wall) || !is_hex(counter) {
            return Err(err());
        }
        let wall = u64::from_str_radix(wall, 16).map_err(|_| err())?;
        let counter = u32::from_str_radix(counter, 16).map_err(|_| err())?;
        let node = Uuid::try_parse(node_str).map_err(|_| err())?;
        // Only the canonical form sorts correctly, so only it is accepted.
        if node.hyphenated().to_string() != node_str {
            return Err(err());
        }
        Ok(Hlc {
            wall_ms: (wall ^ (1 << 63)) as i64,
            counter,
            node,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn h(wall_ms: i64, counter: u32, n: u8) -> Hlc {
        Hlc {
            wall_ms,
            counter,
            node: node(n),
        }
    }

    #[test]
    fn order_is_wall_then_counter_then_node() {
        let cases = [
            (h(1, 9, 9), h(2, 0, 0)),
            (h(5, 1, 9), h(5, 2, 0)),
            (h(5, 2, 1), h(5, 2, 2)),
            (h(-3, 0, 0), h(0, 0, 0)),
            (h(i64::MIN, 0, 0), h(i64::MIN, 0, 1)),
        ];
        for (lo, hi) in cases {
            assert!(lo < hi, "{lo:?} < {hi:?}");
            assert!(lo.to_string() < hi.to_string(), "{lo} < {hi}");
        }
    }

    #[test]
    fn tick_follows_wall_time_and_counts_within_a_millisecond() {
        // (clock before, now, expected after)
        let cases = [
            (h(10, 4, 1), 20, h(20, 0, 1)),        // time moved on: counter resets
            (h(10, 4, 1), 10, h(10, 5, 1)),        // same millisecond: counter grows
            (h(10, 4, 1), 3, h(10, 5, 1)),         // clock went backwards: wall holds
            (h(10, u32::MAX, 1), 10, h(11, 0, 1)), // counter overflow
            (Hlc::new(node(1)), 5, h(5, 0, 1)),
        ];
        for (mut clock, now, want) in cases {
            let before = clock;
            assert_eq!(clock.tick(now), want);
            assert_eq!(clock, want);
            assert!(want > before);
        }
    }

    #[test]
    fn recv_is_greater_than_both_sides() {
        // (local, remote, now, expected)
        let cases = [
            (h(10, 1, 1), h(5, 7, 2), 20, h(20, 0, 1)), // now is largest
            (h(10, 1, 1), h(5, 7, 2), 8, h(10, 2, 1)),  // local is largest
            (h(10, 1, 1), h(30, 7, 2), 8, h(30, 8, 1)), // remote is largest
            (h(10, 1, 1), h(10, 7, 2), 8, h(10, 8, 1)), // tie local/remote
            (h(10, 9, 1), h(10, 7, 2), 10, h(10, 10, 1)), // three-way tie
        ];
        for (mut clock, remote, now, want) in cases {
            let before = clock;
            assert_eq!(clock.recv(&remote, now), want);
            assert!(want > before && want > remote);
        }
    }

    #[test]
    fn seeding_from_the_server_pulls_a_slow_clock_forward() {
        let mut clock = h(1_000, 3, 1);
        let seeded = clock.seed_from_server(50_000, 1_200);
        assert_eq!(seeded.wall_ms, 50_000);
        assert!(clock.tick(1_300) > seeded);
    }

    #[test]
    fn string_form_round_trips_and_rejects_garbage() {
        for t in [
            h(0, 0, 0),
            h(-1, 3, 7),
            h(i64::MAX, u32::MAX, 255),
            h(1_700_000_000_000, 12, 9),
        ] {
            let s = t.to_string();
            assert_eq!(s.parse::<Hlc>(), Ok(t), "{s}");
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Hlc>(&json).unwrap(), t);
        }
        let good = h(1, 2, 0xab).to_string();
        for bad in [
            "".to_string(),
            "x".to_string(),
            good.to_uppercase(),
            good.replacen('-', "", 1),
            format!("0{good}"),
            good[..good.len() - 1].to_string(),
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad:?}");
        }
    }
}
