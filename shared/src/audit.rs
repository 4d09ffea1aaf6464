//! The audit log's hash chain (DOMAIN.md §17). Each entry's hash covers the
//! previous entry's hash and every field of the entry, so editing, deleting or
//! reordering any row breaks every later link. The server stores the hash;
//! `gozcu audit verify` recomputes the chain with [`entry_hash`].

use sha2::{Digest, Sha256};

/// The hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of one audit entry, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFields<'a> {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// SHA-256 over the previous hash and a length-prefixed encoding of every
/// field, hex-encoded. Length prefixes make the encoding unambiguous: moving a
/// character from one field to the next changes the hash.
pub fn entry_hash(prev_hash: &str, e: &AuditFields<'_>) -> String {
    let mut h = Sha256::new();
    let mut put = |tag: u8, v: Option<&[u8]>| {
        h.update([tag]);
        match v {
            None => h.update([0u8]),
            Some(bytes) => {
                h.update([1u8]);
                h.update((bytes.len() as u64).to_be_bytes());
                h.update(bytes);
            }
        }
    };
    put(b'p', Some(prev_hash.as_bytes()));
    put(b's', Some(&e.seq.to_be_bytes()));
    put(b't', Some(&e.at_ms.to_be_bytes()));
    put(b'a', e.actor_id.map(str::as_bytes));
    put(b'n', Some(e.actor_name.as_bytes()));
    put(b'x', Some(e.action.as_bytes()));
    put(b'k', Some(e.entity_type.as_bytes()));
    put(b'i', e.entity_id.map(str::as_bytes));
    put(b'b', e.before.map(str::as_bytes));
    put(b'f', e.after.map(str::as_bytes));
    put(b'r', e.ip.map(str::as_bytes));
    hex::encode(h.finalize())
}

/// Where a chain stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The stored hash of entry `seq` is not what its fields hash to.
    HashMismatch { seq: i64 },
    /// Entry `seq` does not follow the one before it (a row was deleted or
    /// inserted): `expected` is the sequence number that should be here.
    Gap { seq: i64, expected: i64 },
}

/// Checks stored `(fields, prev_hash, hash)` rows in sequence order and
/// returns the number of entries or the first broken link.
pub fn verify_chain<'a>(
    rows: impl IntoIterator<Item = (AuditFields<'a>, &'a str, &'a str)>,
) -> Result<u64, ChainBreak> {
    let mut cursor = ChainCursor::default();
    cursor.check(rows)?;
    Ok(cursor.count)
}

/// Where a verification has got to, so a long chain can be checked in
/// batches without holding it all in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCursor {
    pub prev_hash: String,
    pub next_seq: i64,
    pub count: u64,
}

impl Default for ChainCursor {
    fn default() -> Self {
        ChainCursor {
            prev_hash: GENESIS.to_owned(),
            next_seq: 1,
            count: 0,
        }
    }
}

impl ChainCursor {
    /// Checks the next rows of the chain.
    pub fn check<'a>(
        &mut self,
        rows: impl IntoIterator<Item = (AuditFields<'a>, &'a str, &'a str)>,
    ) -> Result<(), ChainBreak> {
        for (fields, stored_prev, stored_hash) in rows {
            if fields.seq != self.next_seq {
                return Err(ChainBreak::Gap {
                    seq: fields.seq,
                    expected: self.next_seq,
                });
            }
            if stored_prev != self.prev_hash || entry_hash(&self.prev_hash, &fields) != stored_hash
            {
                return Err(ChainBreak::HashMismatch { seq: fields.seq });
            }
            self.prev_hash = stored_hash.to_owned();
            self.next_seq += 1;
            self.count += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(seq: i64, action: &'static str) -> AuditFields<'static> {
        AuditFields {
            seq,
            at_ms: 1_700_000_000_000 + seq,
            actor_id: Some("u1"),
            actor_name: "admin",
            action,
            entity_type: "camera",
            entity_id: Some("c1"),
            before: None,
            after: Some("{\"name\":\"A\"}"),
            ip: Some("127.0.0.1"),
        }
    }

    fn chain(n: i64) -> Vec<(AuditFields<'static>, String, String)> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let f = fields(seq, "update");
                let h = entry_hash(&prev, &f);
                let row = (f, prev.clone(), h.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn check(rows: &[(AuditFields<'static>, String, String)]) -> Result<u64, ChainBreak> {
        verify_chain(
            rows.iter()
                .map(|(f, p, h)| (f.clone(), p.as_str(), h.as_str())),
        )
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(check(&chain(5)), Ok(5));
        assert_eq!(check(&[]), Ok(0));
    }

    #[test]
    fn edited_field_is_found() {
        let mut rows = chain(5);
        rows[2].0.after = Some("{\"name\":\"B\"}");
        assert_eq!(check(&rows), Err(ChainBreak::HashMismatch { seq: 3 }));
    }

    #[test]
    fn deleted_row_is_found() {
        let mut rows = chain(5);
        rows.remove(1);
        assert_eq!(
            check(&rows),
            Err(ChainBreak::Gap {
                seq: 3,
                expected: 2
            })
        );
    }

    #[test]
    fn deleted_last_rows_then_rehashed_tail_is_found() {
        // Deleting row 3 and renumbering the tail still fails: hashes of
        // later rows cover their predecessor's hash.
        let mut rows = chain(5);
        rows.remove(2);
        for (i, r) in rows.iter_mut().enumerate() {
            r.0.seq = i as i64 + 1;
        }
        assert_eq!(check(&rows), Err(ChainBreak::HashMismatch { seq: 3 }));
    }

    #[test]
    fn field_boundaries_matter() {
        let mut a = fields(1, "update");
        let mut b = a.clone();
        a.actor_name = "ab";
        a.action = "c";
        b.actor_name = "a";
        b.action = "bc";
        assert_ne!(entry_hash(GENESIS, &a), entry_hash(GENESIS, &b));
    }
}
