//! Tests of `queue::ring` that need its private items: unit tests and
//! loom models (`RUSTFLAGS="--cfg loom"`).

#[cfg(all(test, not(loom)))]
mod unit {
    use crate::queue::ring::*;

    #[test]
    fn fifo_wraps_and_counts() {
        for cap in [1, 2, 3, 5, 8] {
            let r = Ring::new(cap);
            let mut next_in = 0u32;
            let mut next_out = 0u32;
            for round in 0..20 {
                let n = round % (cap + 1);
                for _ in 0..n {
                    assert!(r.try_push(next_in).is_ok());
                    next_in += 1;
                }
                assert_eq!(r.len(), n);
                assert_eq!(r.has_room(), n < cap);
                if n == cap {
                    assert!(matches!(r.try_push(99), Err(PushError::Full(99))));
                }
                for _ in 0..n {
                    assert_eq!(r.try_pop().ok(), Some(next_out));
                    next_out += 1;
                }
                assert_eq!(r.try_pop().err(), Some(PopError::Empty));
                assert_eq!(r.pushed(), next_in as usize);
            }
        }
    }

    /// The spin-delay hints: `peek_items_ahead` says "two items or more"
    /// and `peek_room_ahead` "two free slots or more" (held slots counted
    /// as taken), at every fill level, across laps, every capacity.
    #[test]
    fn ahead_hints_count_two() {
        for cap in [1, 2, 3, 5, 8] {
            for reservable in [false, true] {
                let r = if reservable {
                    Ring::reservable(cap).unwrap()
                } else {
                    Ring::new(cap)
                };
                let mut next_out = 0u32;
                let mut next_in = 0u32;
                for round in 0..3 * cap + 2 {
                    let held = if reservable { round % 2 } else { 0 }.min(cap);
                    for _ in 0..held {
                        r.try_reserve().ok().unwrap();
                    }
                    for len in 0..=cap - held {
                        assert_eq!(r.peek_items_ahead(), len >= 2, "cap {cap} len {len}");
                        let free = cap - held - len;
                        assert_eq!(
                            r.peek_room_ahead(),
                            free >= 2,
                            "cap {cap} held {held} len {len}"
                        );
                        if len < cap - held {
                            assert!(r.try_push(next_in).is_ok());
                            next_in += 1;
                        }
                    }
                    for _ in 0..held {
                        r.unreserve();
                    }
                    // Each round starts where the last one ended: the
                    // positions go round the ring and across laps.
                    while let Ok(x) = r.try_pop() {
                        assert_eq!(x, next_out);
                        next_out += 1;
                    }
                }
                // Closed: a producer has nothing to wait for.
                r.close();
                assert!(!r.peek_room_ahead());
            }
        }
    }

    /// Two producer threads push `N` boxed items each with `push` (which
    /// retries until it succeeds), two consumer threads pop `N` each: every
    /// item comes out exactly once. Returns the ring.
    fn two_by_two(
        r: Ring<Box<usize>>,
        push: fn(&Ring<Box<usize>>, Box<usize>, usize),
    ) -> std::sync::Arc<Ring<Box<usize>>> {
        use std::sync::Arc;
        const N: usize = 120;
        let r = Arc::new(r);
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        push(&r, Box::new(p * N + i), i);
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut got = vec![];
                    while got.len() < N {
                        match r.try_pop() {
                            Ok(b) => got.push(*b),
                            Err(_) => std::thread::yield_now(),
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert!(all.into_iter().eq(0..2 * N));
        assert_eq!(r.pushed(), 2 * N);
        r
    }

    /// A plain push, retried (yielding) while the ring is full.
    fn push_retrying(r: &Ring<Box<usize>>, mut item: Box<usize>, _: usize) {
        loop {
            match r.try_push(item) {
                Ok(()) => return,
                Err(PushError::Full(b)) => item = b,
                Err(PushError::Closed(_)) => unreachable!(),
            }
            std::thread::yield_now();
        }
    }

    /// Two producers and two consumers on a ring of 2 (Miri checks the slot
    /// hand-over for data races): every item comes out exactly once.
    #[test]
    fn mpmc_threads_deliver_each_item_once() {
        two_by_two(Ring::new(2), push_retrying);
    }

    #[test]
    fn close_keeps_items_and_refuses_pushes() {
        let r = Ring::new(3);
        r.try_push(String::from("a")).ok().unwrap();
        r.try_push(String::from("b")).ok().unwrap();
        assert!(r.close());
        assert!(!r.close());
        assert!(matches!(
            r.try_push(String::from("c")),
            Err(PushError::Closed(_))
        ));
        assert_eq!(r.len(), 2);
        assert_eq!(r.pushed(), 2);
        assert_eq!(r.try_pop().ok().as_deref(), Some("a"));
        drop(r); // "b" is dropped by the ring (Miri checks the leak)
    }

    fn full<T>(r: Result<(), PushError<T>>) -> bool {
        matches!(r, Err(PushError::Full(_)))
    }

    /// Held slots count as taken for plain pushes and for more
    /// reservations; a permit's push always finds its slot; releasing one
    /// gives the room back. Over many laps, every capacity.
    #[test]
    fn reservations_hold_slots() {
        for cap in [1, 2, 3, 5, 8] {
            let r = Ring::reservable(cap).unwrap();
            let (mut next_in, mut next_out) = (0u32, 0u32);
            for round in 0..3 * cap + 2 {
                let held = round % (cap + 1);
                for _ in 0..held {
                    r.try_reserve().ok().unwrap();
                }
                assert_eq!(r.reserved(), held);
                // Plain pushes fill what is left, then find it full.
                for _ in held..cap {
                    assert!(r.try_push(next_in).is_ok());
                    next_in += 1;
                }
                assert!(full(r.try_push(99)));
                assert!(matches!(r.try_reserve(), Err(PushError::Full(()))));
                assert!(!r.has_room() && !r.peek_room());
                assert_eq!(r.len(), cap - held);
                // Half the permits send, half let go.
                for k in 0..held {
                    if k % 2 == 0 {
                        r.push_reserved(next_in).ok().unwrap();
                        next_in += 1;
                    } else {
                        r.unreserve();
                        assert!(r.has_room() && r.peek_room());
                    }
                }
                assert_eq!(r.reserved(), 0);
                while let Ok(x) = r.try_pop() {
                    assert_eq!(x, next_out);
                    next_out += 1;
                }
                assert_eq!(next_out, next_in);
                assert_eq!(r.pushed(), next_in as usize);
            }
        }
    }

    /// A permit sends into a ring whose other slots are full; items keep
    /// their order around it.
    #[test]
    fn a_held_slot_keeps_its_place_in_a_full_ring() {
        let r = Ring::reservable(3).unwrap();
        r.try_push(1).ok().unwrap();
        r.try_reserve().ok().unwrap();
        r.try_push(2).ok().unwrap();
        assert!(full(r.try_push(9)));
        assert_eq!(r.try_pop().ok(), Some(1));
        r.try_push(3).ok().unwrap(); // the freed slot, not the held one
        assert!(full(r.try_push(9)));
        r.push_reserved(4).ok().unwrap(); // sent last: comes out last
        assert_eq!(r.len(), 3);
        let out: Vec<_> = core::iter::from_fn(|| r.try_pop().ok()).collect();
        assert_eq!(out, [2, 3, 4]);
    }

    /// Closing: a permit's push gives its item back and releases the slot.
    #[test]
    fn a_permit_on_a_closed_ring_gets_its_item_back() {
        let r = Ring::reservable(2).unwrap();
        r.try_reserve().ok().unwrap();
        r.try_reserve().ok().unwrap();
        r.close();
        assert!(matches!(r.try_reserve(), Err(PushError::Closed(()))));
        assert_eq!(
            r.push_reserved(String::from("x")).err().as_deref(),
            Some("x")
        );
        r.unreserve();
        assert_eq!(r.reserved(), 0);
        assert_eq!(r.try_pop().err(), Some(PopError::Closed));
    }

    /// Positions wrap (at 2^64 in a queue's ring, below `R` in a
    /// reservable one) without losing an item or the count of held slots.
    #[test]
    fn positions_wrap_with_and_without_reservations() {
        for reservable in [false, true] {
            for cap in [1usize, 3, 4] {
                let lap = (cap + 1).next_power_of_two() * 2;
                let laps = if reservable {
                    1usize << cap.leading_zeros() >> lap.trailing_zeros()
                } else {
                    usize::MAX / lap + 1
                };
                let r = Ring::build_at(cap, reservable, laps - 2);
                let mut next_in = 0u32;
                let mut next_out = 0u32;
                for _ in 0..6 * cap {
                    if reservable {
                        r.try_reserve().ok().unwrap();
                        assert_eq!(r.reserved(), 1);
                        for _ in 1..cap {
                            r.try_push(next_in).ok().unwrap();
                            next_in += 1;
                        }
                        assert!(full(r.try_push(99)));
                        r.push_reserved(next_in).ok().unwrap();
                        next_in += 1;
                    } else {
                        for _ in 0..cap {
                            r.try_push(next_in).ok().unwrap();
                            next_in += 1;
                        }
                        assert!(full(r.try_push(99)));
                    }
                    assert_eq!(r.len(), cap);
                    for _ in 0..cap - 1 {
                        assert_eq!(r.try_pop().ok(), Some(next_out));
                        next_out += 1;
                    }
                    assert!(r.has_item());
                    assert_eq!(r.has_room(), cap > 1);
                    assert_eq!(r.try_pop().ok(), Some(next_out));
                    next_out += 1;
                    assert_eq!(r.try_pop().err(), Some(PopError::Empty));
                }
                r.try_push(7).ok().unwrap();
                drop(r); // the ring drops the item left (Miri: no leak)
            }
        }
    }

    /// Threads sending through permits and plain sends at once, into a
    /// ring of 2, with two consumers (Miri checks the slot hand-over when a
    /// push waits for the pop of the slot's last lap): every item comes out
    /// once, and no slot stays held.
    #[test]
    fn permits_and_plain_pushes_from_threads_deliver_each_item_once() {
        let r = two_by_two(Ring::reservable(2).unwrap(), |r, item, i| {
            if i % 2 == 0 {
                while r.try_reserve().is_err() {
                    std::thread::yield_now();
                }
                r.push_reserved(item).ok().unwrap();
            } else {
                push_retrying(r, item, i);
            }
        });
        assert_eq!(r.reserved(), 0);
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    //! The reservation count in the tail word against a concurrent pop: a
    //! plain push must count the held slot (the ring never holds more
    //! items and held slots than its capacity), and a permit's push always
    //! finds its slot. An item lost, duplicated or read while being written
    //! fails the model.

    use std::sync::Arc;

    use crate::queue::ring::*;

    #[test]
    fn loom_ring_held_slot_against_push_and_pop() {
        crate::engine::loom_model(|| {
            let r = Arc::new(Ring::reservable(2).unwrap());
            r.try_push(1u32).ok().unwrap();
            r.try_reserve().ok().unwrap(); // full: one item, one held slot
            let r1 = r.clone();
            let popper = loom::thread::spawn(move || r1.try_pop().ok());
            let plain = r.try_push(4).is_ok(); // only once the pop is done
            assert!(r.len() + r.reserved() <= 2, "over capacity");
            r.push_reserved(3).ok().unwrap(); // the held slot: never full
            assert_eq!(popper.join().unwrap(), Some(1));
            assert_eq!(r.reserved(), 0);
            let rest: Vec<u32> = core::iter::from_fn(|| r.try_pop().ok()).collect();
            assert_eq!(rest, if plain { vec![4, 3] } else { vec![3] });
        });
    }

    /// A reservation and a plain push race for the last free slot while a
    /// pop frees another (the reservation's and the permit's inline first
    /// attempts against the push's): items and held slots never exceed the
    /// capacity, at least one of them gets a slot, and every item comes
    /// out once.
    #[test]
    fn loom_ring_reservation_and_push_race_for_the_last_slot() {
        crate::engine::loom_model(|| {
            let r = Arc::new(Ring::reservable(2).unwrap());
            r.try_push(1u32).ok().unwrap(); // one slot left
            let (r1, r2) = (r.clone(), r.clone());
            let reserver = loom::thread::spawn(move || {
                let held = r1.try_reserve().is_ok();
                assert!(r1.len() + r1.reserved() <= 2, "over capacity");
                if held {
                    r1.push_reserved(3).ok().unwrap();
                }
                held
            });
            let popper = loom::thread::spawn(move || r2.try_pop().ok());
            let pushed = r.try_push(2).is_ok();
            assert!(r.len() + r.reserved() <= 2, "over capacity");
            let reserved = reserver.join().unwrap();
            assert_eq!(popper.join().unwrap(), Some(1));
            assert!(pushed || reserved, "a free slot refused to both");
            assert_eq!(r.reserved(), 0);
            let mut rest: Vec<u32> = core::iter::from_fn(|| r.try_pop().ok()).collect();
            rest.sort_unstable();
            let want: Vec<u32> = [(pushed, 2), (reserved, 3)]
                .into_iter()
                .filter_map(|(got, item)| got.then_some(item))
                .collect();
            assert_eq!(rest, want);
        });
    }
}
