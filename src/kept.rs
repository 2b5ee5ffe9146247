//! A bounded map of what a process keeps between requests (an organization's options, its
//! settings form's fields as HTML): at most so many entries and so many bytes. Past either bound,
//! entries make room, whichever the map yields first (the bound matters here, not which one goes).
//! Whoever reads an entry says whether it still stands (docs/architecture.md, "The options
//! cache").

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

pub struct Kept<K, V> {
    entries: Mutex<Entries<K, V>>,
    max_entries: usize,
    max_bytes: usize,
}

struct Entries<K, V> {
    by_key: HashMap<K, (V, usize)>,
    bytes: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Kept<K, V> {
    pub fn with_limits(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(Entries {
                by_key: HashMap::new(),
                bytes: 0,
            }),
            max_entries,
            max_bytes,
        }
    }

    /// A copy of what is kept under `key`, when `stands` says it still holds.
    pub fn get(&self, key: &K, stands: impl FnOnce(&V) -> bool) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .by_key
            .get(key)
            .filter(|(value, _)| stands(value))
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value`, `bytes` long, under `key` in place of what was there; a value larger than
    /// the whole budget is not kept.
    pub fn keep(&self, key: K, value: V, bytes: usize) {
        if bytes > self.max_bytes {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, old)) = entries.by_key.remove(&key) {
            entries.bytes -= old;
        }
        while entries.by_key.len() >= self.max_entries || entries.bytes + bytes > self.max_bytes {
            let Some(victim) = entries.by_key.keys().next().cloned() else {
                break;
            };
            if let Some((_, old)) = entries.by_key.remove(&victim) {
                entries.bytes -= old;
            }
        }
        entries.bytes += bytes;
        entries.by_key.insert(key, (value, bytes));
    }

    /// How many entries are kept, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        (entries.by_key.len(), entries.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::Kept;

    #[test]
    fn an_entry_is_given_only_while_its_reader_says_it_stands() {
        let kept = Kept::with_limits(10, 100);
        kept.keep(1, (3, "thirty"), 10);
        assert_eq!(
            kept.get(&1, |(version, _)| *version == 3),
            Some((3, "thirty"))
        );
        assert_eq!(kept.get(&1, |(version, _)| *version == 4), None, "stale");
        assert_eq!(kept.get(&2, |_| true), None, "another key");
        kept.keep(1, (4, "forty"), 10);
        assert_eq!(kept.get(&1, |_| true), Some((4, "forty")), "replaced");
        assert_eq!(kept.size(), (1, 10));
    }

    #[test]
    fn the_map_stays_within_its_count_and_its_size() {
        let kept = Kept::with_limits(3, 100);
        for key in 0..10 {
            kept.keep(key, key, 10);
        }
        assert_eq!(kept.size(), (3, 30));
        assert_eq!(kept.get(&9, |_| true), Some(9), "the last one kept stays");

        let kept = Kept::with_limits(100, 100);
        for key in 0..10 {
            kept.keep(key, key, 40);
        }
        assert_eq!(kept.size(), (2, 80));
        kept.keep(99, 99, 101);
        assert_eq!(
            kept.get(&99, |_| true),
            None,
            "larger than the whole budget: not kept"
        );
    }
}
