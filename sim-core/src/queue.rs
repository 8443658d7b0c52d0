//! The event queue: a priority queue keyed `(time, insertion seq)`.
//!
//! Events at the same instant leave in the order they were pushed (FIFO), so a run never
//! depends on how the heap happens to break ties. The sequence number is global to the queue
//! and never reused, which makes the key unique and the order total.

use crate::time::Time;

/// A min-queue of events ordered by `(time, seq)`.
///
/// An implicit 4-ary min-heap of 24-byte keys; payloads wait in a slab and are moved once in
/// and once out, so sifting costs the same whatever the size of `E`. Four children per node
/// halve the depth of a binary heap, and the four compares of a level touch one cache line.
pub struct EventQueue<E> {
    heap: Vec<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

impl Key {
    /// `(time, seq)` as one integer: ordering by it is ordering by time, then insertion. `seq`
    /// is unique, so the order is total and `slot` never decides.
    #[inline(always)]
    fn rank(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

const ARITY: usize = 4;

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(n),
            slab: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
            next_seq: 0,
        }
    }

    /// Adds `event` at `time`; returns its sequence number.
    #[inline]
    pub fn push(&mut self, time: Time, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                u32::try_from(self.slab.len() - 1).expect("invariant: under 2^32 pending events")
            }
        };
        self.sift_up(Key { time: time.as_nanos(), seq, slot });
        seq
    }

    #[inline]
    fn sift_up(&mut self, key: Key) {
        let rank = key.rank();
        let mut i = self.heap.len();
        self.heap.push(key);
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].rank() <= rank {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = key;
    }

    /// Removes the root, moving the last key down from the root into the hole.
    #[inline]
    fn pop_root(&mut self) -> Option<Key> {
        let last = self.heap.pop()?;
        let n = self.heap.len();
        if n == 0 {
            return Some(last);
        }
        let top = self.heap[0];
        let rank = last.rank();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            let mut best_rank = self.heap[first].rank();
            for c in first + 1..end {
                let r = self.heap[c].rank();
                if r < best_rank {
                    best = c;
                    best_rank = r;
                }
            }
            if best_rank >= rank {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
        Some(top)
    }

    /// Removes and returns the earliest event (FIFO among equal times).
    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let key = self.pop_root()?;
        let event = self.slab[key.slot as usize].take().expect("invariant: a key has its event");
        self.free.push(key.slot);
        Some((Time::from_nanos(key.time), event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.first().map(|k| Time::from_nanos(k.time))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events pushed so far, popped or not.
    pub fn pushed(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_leave_in_insertion_order() {
        let mut q = EventQueue::new();
        let t = Time::from_nanos(5);
        for i in 0..100 {
            q.push(t, i);
        }
        q.push(Time::from_nanos(1), -1);
        assert_eq!(q.pop(), Some((Time::from_nanos(1), -1)));
        for i in 0..100 {
            assert_eq!(q.pop(), Some((t, i)));
        }
        assert!(q.pop().is_none());
    }

    #[test]
    fn interleaved_pushes_and_pops_match_a_sorted_model() {
        // A model: a sorted vector of (time, seq). Random-ish operations from an LCG.
        let mut q = EventQueue::new();
        let mut model: Vec<(u64, u64)> = Vec::new();
        let mut x: u64 = 99;
        let mut now = 0;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if (x >> 60) < 9 || model.is_empty() {
                let t = now + (x >> 33) % 50; // many equal times
                let seq = q.push(Time::from_nanos(t), t);
                model.push((t, seq));
                model.sort();
            } else {
                let (t, seq) = model.remove(0);
                let (qt, v) = q.pop().unwrap();
                assert_eq!((qt.as_nanos(), v), (t, t), "seq {seq}");
                now = t;
            }
            assert_eq!(q.len(), model.len());
        }
    }

    #[test]
    fn pops_in_time_order_whatever_the_push_order() {
        let mut q = EventQueue::new();
        // A fixed permutation of 0..1000 (multiplication by a unit mod 1000).
        for i in 0..1000u64 {
            let t = (i * 617) % 1000;
            q.push(Time::from_nanos(t), t);
        }
        let mut last = 0;
        while let Some((t, v)) = q.pop() {
            assert_eq!(t.as_nanos(), v);
            assert!(v >= last);
            last = v;
        }
    }
}
