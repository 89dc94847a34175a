//! ResourceGuard: enter/exit, the error names the action, concurrent use
//! from threads and tasks is refused at once (never waits), and the C ABI.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use dualsync::ffi::dualsync_status::*;
use dualsync::ffi::*;
use dualsync::{BusyResource, ResourceGuard};

#[test]
fn enter_busy_exit() {
    let g = ResourceGuard::new("writing to");
    assert!(!g.is_busy());
    let t = g.enter().unwrap();
    assert!(g.is_busy());
    let e: BusyResource = g.enter().unwrap_err();
    assert_eq!(e.action(), "writing to");
    assert_eq!(
        e.to_string(),
        "this resource is busy: another thread or task is already writing to it"
    );
    assert_eq!(
        format!("{g:?}"),
        "ResourceGuard { action: \"writing to\", busy: true }"
    );
    t.exit();
    assert!(!g.is_busy());
    drop(g.enter().unwrap());
    assert!(!g.is_busy());
    // An owned action string works too.
    let g2 = ResourceGuard::new(format!("reading {}", "from"));
    let _t = g2.enter().unwrap();
    assert_eq!(g2.enter().unwrap_err().action(), "reading from");
}

#[test]
fn a_task_is_refused_while_a_thread_is_inside_and_never_waits() {
    let g: &'static ResourceGuard = Box::leak(Box::new(ResourceGuard::new("sending on")));
    let token = g.enter().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let g2 = g;
    let t0 = Instant::now();
    let r = rt.block_on(async move {
        tokio::spawn(async move { g2.enter().map(drop) })
            .await
            .unwrap()
    });
    assert!(r.is_err());
    assert!(t0.elapsed() < Duration::from_secs(10));
    // A token taken on a thread may be released by a task.
    rt.block_on(async move { tokio::spawn(async move { drop(token) }).await.unwrap() });
    assert!(!g.is_busy());
}

#[test]
fn at_most_one_inside_under_contention() {
    let g = Arc::new(ResourceGuard::new("using"));
    let inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let body = {
        let (g, inside, entered, refused) =
            (g.clone(), inside.clone(), entered.clone(), refused.clone());
        move || {
            for _ in 0..2000 {
                match g.enter() {
                    Ok(t) => {
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        entered.fetch_add(1, Ordering::Relaxed);
                        std::hint::spin_loop();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(t);
                    }
                    Err(e) => {
                        assert_eq!(e.action(), "using");
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    };
    let threads: Vec<_> = (0..3).map(|_| thread::spawn(body.clone())).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let b = body.clone();
                tokio::spawn(async move { b() })
            })
            .collect();
        for t in ts {
            t.await.unwrap();
        }
    });
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        entered.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed),
        5 * 2000
    );
    assert!(entered.load(Ordering::Relaxed) > 0);
    assert!(!g.is_busy());
}

#[test]
fn ffi_resource_guard() {
    // SAFETY (whole test): the handle is live until freed at the end; the
    // action strings are NUL-terminated literals.
    unsafe {
        assert!(dualsync_resource_guard_new(std::ptr::null()).is_null());
        let g = dualsync_resource_guard_new(c"writing to".as_ptr());
        assert!(!g.is_null());
        assert_eq!(dualsync_resource_guard_exit(g), DUALSYNC_NOT_LOCKED);
        assert_eq!(dualsync_resource_guard_enter(g), DUALSYNC_OK);
        assert_eq!(dualsync_resource_guard_enter(g), DUALSYNC_BUSY);
        assert_eq!(dualsync_resource_guard_free(g), DUALSYNC_BUSY);
        assert_eq!(dualsync_resource_guard_exit(g), DUALSYNC_OK);
        assert_eq!(dualsync_resource_guard_exit(g), DUALSYNC_NOT_LOCKED);
        assert_eq!(
            dualsync_resource_guard_enter(std::ptr::null()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(
            dualsync_resource_guard_exit(std::ptr::null()),
            DUALSYNC_INVALID_ARGUMENT
        );
        assert_eq!(dualsync_resource_guard_free(g), DUALSYNC_OK);
        assert_eq!(
            dualsync_resource_guard_free(std::ptr::null_mut()),
            DUALSYNC_OK
        );
    }
}
