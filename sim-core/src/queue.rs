//! The event queue: a priority queue keyed `(time, insertion seq)`.
//!
//! Events at the same instant leave in the order they were pushed (FIFO), so a run never
//! depends on how the heap happens to break ties. The sequence number is global to the queue
//! and never reused, which makes the key unique and the order total.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Time;

/// A min-queue of events ordered by `(time, seq)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

struct Entry<E> {
    /// `time << 64 | seq`: one integer compare orders by time, then by insertion.
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap; reverse so the earliest key is on top.
        other.key.cmp(&self.key)
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0 }
    }

    pub fn with_capacity(n: usize) -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(n), next_seq: 0 }
    }

    /// Adds `event` at `time`; returns its sequence number.
    pub fn push(&mut self, time: Time, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { key: ((time.as_nanos() as u128) << 64) | seq as u128, event });
        seq
    }

    /// Removes and returns the earliest event (FIFO among equal times).
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.heap.pop().map(|e| (Time::from_nanos((e.key >> 64) as u64), e.event))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| Time::from_nanos((e.key >> 64) as u64))
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
