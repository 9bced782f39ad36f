//! The in-memory picture of the spool: every live delivery by spool seq, the
//! id index and the producer cursors (pure; the journal mirrors it).

use std::collections::{BTreeMap, HashMap};

use crate::delivery::Record;
use crate::spool::{Cursor, Op, Recovered};

/// Deliveries and cursors.
#[derive(Debug, Default)]
pub struct Store {
    records: BTreeMap<u64, Record>,
    ids: HashMap<String, u64>,
    cursors: HashMap<String, Cursor>,
    next_seq: u64,
}

/// Whether an event is new for its producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// New: handle it.
    New,
    /// Already handled (same incarnation, seq not above the cursor).
    Duplicate,
}

impl Store {
    /// The store the journal described.
    pub fn from_recovered(recovered: Recovered) -> Self {
        let ids = recovered
            .records
            .values()
            .map(|r| (r.id.clone(), r.seq))
            .collect();
        let next_seq = recovered.records.keys().next_back().map_or(1, |s| s + 1);
        Self {
            records: recovered.records,
            ids,
            cursors: recovered.cursors,
            next_seq,
        }
    }

    /// Allocates the next spool seq.
    pub fn allocate(&mut self) -> u64 {
        // Seqs start at 1, also in a store made by `default()`.
        let seq = self.next_seq.max(1);
        self.next_seq = seq + 1;
        seq
    }

    /// Whether a delivery with this id exists.
    pub fn contains_id(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// Inserts or replaces a record.
    pub fn put(&mut self, record: Record) {
        self.ids.insert(record.id.clone(), record.seq);
        self.records.insert(record.seq, record);
    }

    /// A record by spool seq.
    pub fn get(&self, seq: u64) -> Option<&Record> {
        self.records.get(&seq)
    }

    /// A record by id.
    pub fn by_id(&self, id: &str) -> Option<&Record> {
        self.ids.get(id).and_then(|seq| self.records.get(seq))
    }

    /// All records, oldest first.
    pub fn records(&self) -> impl DoubleEndedIterator<Item = &Record> {
        self.records.values()
    }

    /// Number of live records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records an event position and says whether the event is new. A new
    /// incarnation resets the position (the producer restarted).
    pub fn observe(&mut self, producer: &str, incarnation: &str, seq: u64) -> Seen {
        match self.cursors.get_mut(producer) {
            Some(c) if c.incarnation == incarnation && seq <= c.seq => Seen::Duplicate,
            Some(c) if c.incarnation == incarnation => {
                c.seq = seq;
                Seen::New
            }
            _ => {
                self.cursors.insert(
                    producer.to_owned(),
                    Cursor {
                        producer: producer.to_owned(),
                        incarnation: incarnation.to_owned(),
                        seq,
                    },
                );
                Seen::New
            }
        }
    }

    /// A snapshot's position: the events it includes count as seen, and
    /// never move a cursor backwards within one incarnation.
    pub fn observe_snapshot(&mut self, producer: &str, incarnation: &str, seq: u64) {
        let _ = self.observe(producer, incarnation, seq);
    }

    /// The cursor of `producer`.
    pub fn cursor(&self, producer: &str) -> Option<&Cursor> {
        self.cursors.get(producer)
    }

    /// Drops the oldest finished deliveries until at most `max` remain (or
    /// only unfinished ones are left: those are never dropped). Returns the
    /// prune operations to journal.
    pub fn prune(&mut self, max: usize) -> Vec<Op> {
        let excess = self.records.len().saturating_sub(max);
        if excess == 0 {
            return Vec::new();
        }
        let victims: Vec<u64> = self
            .records
            .values()
            .filter(|r| r.status.finished())
            .take(excess)
            .map(|r| r.seq)
            .collect();
        victims
            .into_iter()
            .filter_map(|seq| self.records.remove(&seq))
            .map(|r| {
                self.ids.remove(&r.id);
                Op::Prune(r.id)
            })
            .collect()
    }

    /// The live state as journal operations (for compaction).
    pub fn live_ops(&self) -> Vec<Op> {
        self.records
            .values()
            .map(|r| Op::Put(Box::new(r.clone())))
            .chain(self.cursors.values().cloned().map(Op::Cursor))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{Cause, Outcome};
    use crate::job::{Action, Job, ScriptJob};

    fn record(store: &mut Store) -> Record {
        let seq = store.allocate();
        let job = Job {
            lane: "l".into(),
            destination: "d".into(),
            summary: "s".into(),
            action: Action::Script(ScriptJob {
                argv: vec!["/bin/true".into()],
                user: None,
                group: None,
                secure: false,
            }),
        };
        Record::new(seq, format!("i-{seq}-0"), job, Cause::default(), 0)
    }

    #[test]
    fn duplicates_are_recognised_per_incarnation() {
        let mut s = Store::default();
        s.observe_snapshot("p", "a", 5);
        assert_eq!(s.observe("p", "a", 5), Seen::Duplicate);
        assert_eq!(s.observe("p", "a", 6), Seen::New);
        assert_eq!(s.observe("p", "a", 6), Seen::Duplicate);
        // A reconnect's snapshot never moves the cursor back.
        s.observe_snapshot("p", "a", 4);
        assert_eq!(s.observe("p", "a", 6), Seen::Duplicate);
        // A restarted producer starts over.
        s.observe_snapshot("p", "b", 0);
        assert_eq!(s.observe("p", "b", 1), Seen::New);
    }

    #[test]
    fn pruning_drops_oldest_finished_first_and_never_unfinished() {
        let mut s = Store::default();
        let mut records: Vec<Record> = (0..4).map(|_| record(&mut s)).collect();
        for r in &mut records[1..3] {
            r.apply(Outcome::Delivered, 1, std::time::Duration::ZERO, None);
        }
        for r in records {
            s.put(r);
        }
        let ops = s.prune(2);
        assert_eq!(ops, [Op::Prune("i-2-0".into()), Op::Prune("i-3-0".into())]);
        assert_eq!(s.prune(1), []);
        assert_eq!(s.len(), 2);
    }
}
