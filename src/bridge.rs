//! The Rust side of a C queue's items (re-exported by [`crate::ffi`]; kept
//! out of `src/ffi` so that cbindgen does not put them in the C header).

use core::ffi::c_void;
use core::sync::atomic::{AtomicU64, Ordering};

/// An item of a C queue (`dualsync_queue_t`): the `void *` a C caller put,
/// or that Rust puts for C to get. NULL is an item like any other.
///
/// The queue never dereferences or frees it, and neither does this type:
/// it is a plain address that may cross threads. What it points to, and
/// who owns that, is the business of the code at both ends (typically: the
/// putter gives up ownership, the getter takes it, e.g. `Box::into_raw` on
/// one side and `Box::from_raw` on the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueItem(pub *mut c_void);

// SAFETY: a `QueueItem` is only an address; nothing in this crate
// dereferences it, and dereferencing a raw pointer is `unsafe` anyway, with
// its own obligations for whoever does it.
unsafe impl Send for QueueItem {}
// SAFETY: as above (shared references to it give only a copy of the address).
unsafe impl Sync for QueueItem {}

impl QueueItem {
    /// The item as an address.
    pub fn as_ptr(self) -> *mut c_void {
        self.0
    }
}

impl<T> From<*mut T> for QueueItem {
    fn from(p: *mut T) -> QueueItem {
        QueueItem(p.cast())
    }
}

/// The put order of priority items, shared by every priority queue: equal
/// priorities come out in put order. (One counter for the process: a
/// `u64` does not wrap in practice.)
static SEQ: AtomicU64 = AtomicU64::new(0);

/// An item of a C priority queue (`DUALSYNC_QUEUE_PRIORITY`): a
/// [`QueueItem`] and its `uint64_t` priority. Items compare by priority
/// (smallest first out of the queue), then by creation order, so equal
/// priorities come out in the order they were made (which is put order
/// when each is made just before its put, as [`PriorityItem::new`] is
/// meant to be used and as the C calls do).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PriorityItem {
    priority: u64,
    seq: u64,
    item: QueueItem,
}

impl PriorityItem {
    /// An item with its priority; make it right before putting it.
    pub fn new(priority: u64, item: impl Into<QueueItem>) -> PriorityItem {
        PriorityItem {
            priority,
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            item: item.into(),
        }
    }

    /// The priority.
    pub fn priority(&self) -> u64 {
        self.priority
    }

    /// The item.
    pub fn item(&self) -> QueueItem {
        self.item
    }
}
