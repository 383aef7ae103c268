//! A fixed-capacity FIFO: the bounded history behind sparklines, charts and the debug panel.

use std::collections::VecDeque;

/// Keeps the newest `capacity` items; pushing into a full ring drops the oldest.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring<T> {
    /// Oldest first.
    items: VecDeque<T>,
    /// Never exceeded, so memory stays bounded however long the page is open.
    capacity: usize,
}

impl<T> Ring<T> {
    /// An empty ring; a capacity of 0 is treated as 1 so `push` always keeps the newest item.
    /// Nothing is allocated until the first push, and then only as items arrive (doubling, up
    /// to exactly `capacity`): thousands of containers can each have a ring that most never
    /// fill.
    pub fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Appends `item`, dropping the oldest one when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        } else if self.items.len() == self.items.capacity() {
            self.grow();
        }
        self.items.push_back(item);
    }

    /// Doubles the memory (from 8 items), but never past `capacity`: left to itself, a
    /// `VecDeque` doubles to the next power of two, 512 items for a ring of 300, and 2,000
    /// containers' rings would keep 40 % more memory than they can use.
    fn grow(&mut self) {
        let len = self.items.len();
        let target = (len * 2).max(8).min(self.capacity);
        self.items.reserve_exact(target - len);
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// The newest `n` items (fewer when the ring holds fewer), oldest first.
    pub fn last_n(&self, n: usize) -> impl Iterator<Item = &T> {
        self.items.iter().skip(self.items.len().saturating_sub(n))
    }

    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Empties the ring and gives its memory back.
    pub fn release(&mut self) {
        self.items = VecDeque::new();
    }

    /// Items the ring has memory for now (at most its capacity).
    pub fn allocated(&self) -> usize {
        self.items.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_items() {
        let cases: &[(usize, &[u32], &[u32])] = &[
            (3, &[], &[]),
            (3, &[1, 2], &[1, 2]),
            (3, &[1, 2, 3], &[1, 2, 3]),
            (3, &[1, 2, 3, 4, 5], &[3, 4, 5]),
            (0, &[1, 2], &[2]),
        ];
        for (capacity, pushed, expected) in cases {
            let mut ring = Ring::new(*capacity);
            for item in *pushed {
                ring.push(*item);
            }
            let got: Vec<u32> = ring.iter().copied().collect();
            assert_eq!(&got, expected, "capacity {capacity}, pushed {pushed:?}");
        }
    }

    #[test]
    fn allocates_only_as_items_arrive() {
        let mut ring = Ring::new(300);
        assert_eq!(ring.allocated(), 0);
        ring.push(1u64);
        assert!(ring.allocated() < 300);
        for i in 0..1_000 {
            ring.push(i);
        }
        assert_eq!(ring.len(), 300);
        assert_eq!(
            ring.allocated(),
            300,
            "full, a ring has memory for its capacity only"
        );
        ring.release();
        assert_eq!((ring.len(), ring.allocated()), (0, 0));
    }

    #[test]
    fn last_n_returns_the_tail_oldest_first() {
        let mut ring = Ring::new(10);
        for i in 0..6 {
            ring.push(i);
        }
        assert_eq!(ring.last_n(3).copied().collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(ring.last_n(60).count(), 6);
        assert_eq!(ring.last(), Some(&5));
    }
}
