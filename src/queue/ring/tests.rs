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

    /// Two producers and two consumers on a ring of 2 (Miri checks the slot
    /// hand-over for data races): every item comes out exactly once.
    #[test]
    fn mpmc_threads_deliver_each_item_once() {
        use std::sync::Arc;
        const N: usize = 150;
        let r = Arc::new(Ring::new(2));
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..N {
                        let mut item = Box::new(p * N + i);
                        loop {
                            match r.try_push(item) {
                                Ok(()) => break,
                                Err(PushError::Full(b)) => item = b,
                                Err(PushError::Closed(_)) => unreachable!(),
                            }
                            std::thread::yield_now();
                        }
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
}
