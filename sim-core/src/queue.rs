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
    /// Earlier time first; at equal times, earlier insertion. `seq` is unique, so the order is
    /// total and `slot` never decides. Ties are rare, so the `seq` compare is a predictable
    /// branch rather than a 128-bit compare on every step.
    #[inline(always)]
    fn before(&self, other: &Key) -> bool {
        if self.time != other.time {
            self.time < other.time
        } else {
            self.seq < other.seq
        }
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
        let mut i = self.heap.len();
        self.heap.push(key);
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if !key.before(&self.heap[parent]) {
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
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            let best = if first + ARITY <= n {
                // A full level: a tournament of three compares over one bounds-checked slice.
                let c = &self.heap[first..first + ARITY];
                let b01 = usize::from(c[1].before(&c[0]));
                let b23 = 2 + usize::from(c[3].before(&c[2]));
                first + if c[b23].before(&c[b01]) { b23 } else { b01 }
            } else if first < n {
                let c = &self.heap[first..n];
                let mut b = 0;
                for (j, k) in c.iter().enumerate().skip(1) {
                    if k.before(&c[b]) {
                        b = j;
                    }
                }
                first + b
            } else {
                break;
            };
            if !self.heap[best].before(&last) {
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

    /// Removes and returns the earliest event if it is at or before `limit`.
    #[inline]
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        match self.heap.first() {
            Some(k) if k.time <= limit.as_nanos() => self.pop(),
            _ => None,
        }
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
