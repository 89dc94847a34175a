//! `ResourceGuard`: anyio's `ResourceGuard`, for threads and tasks alike.
//!
//! # State
//!
//! One `AtomicBool`: `true` while someone is inside. `enter` is one
//! CAS `false -> true` (`Acquire`), leaving is one store
//! of `false` (`Release`).
//!
//! # Modes
//!
//! A `ResourceGuard` never waits: concurrent use is an error, not a queue.
//! So it has no operation value; [`ResourceGuard::enter`] is the one call,
//! and it is the same from a thread (there is nothing to `.block()` on) and
//! from a task (there is nothing to `.await`). Its `try_*`, `.block()`,
//! `.block_for()` and `.block_until()` forms would all be this same call.

use crate::error::BusyResource;
use core::fmt;
use std::borrow::Cow;

use crate::engine::loom_const_fn;
use crate::engine::sync::{AtomicBool, Ordering};

/// Detects concurrent use of a resource that must not be used concurrently
/// (anyio's `ResourceGuard`): [`enter`](Self::enter) fails with
/// [`BusyResource`], naming the action, when someone is already inside.
///
/// It never waits, so it has no operation value: threads and tasks call the
/// same [`enter`](Self::enter). Nothing to cancel, no order to serve.
///
/// ```
/// use dualsync::ResourceGuard;
///
/// let guard = ResourceGuard::new("reading from");
/// let token = guard.enter().unwrap();
/// let err = guard.enter().unwrap_err(); // someone is inside: an error, not a wait
/// assert_eq!(
///     err.to_string(),
///     "this resource is busy: another thread or task is already reading from it"
/// );
/// drop(token);
/// assert!(guard.enter().is_ok());
/// ```
pub struct ResourceGuard {
    busy: AtomicBool,
    action: Cow<'static, str>,
}

impl ResourceGuard {
    /// A guard for `action`, a verb phrase such as `"reading from"` or
    /// `"writing to"` that completes "already ... it" in the error message.
    pub fn new(action: impl Into<Cow<'static, str>>) -> ResourceGuard {
        ResourceGuard {
            busy: AtomicBool::new(false),
            action: action.into(),
        }
    }

    loom_const_fn! {
        /// [`new`](Self::new) for a `&'static str` action, usable in `const`
        /// context (a guard in a `static`).
        ///
        /// ```
        /// static PORT: dualsync::ResourceGuard = dualsync::ResourceGuard::from_static("writing to");
        /// let _inside = PORT.enter().unwrap();
        /// assert!(PORT.enter().is_err());
        /// ```
        pub fn from_static(action: &'static str) -> ResourceGuard {
            ResourceGuard {
                busy: AtomicBool::new(false),
                action: Cow::Borrowed(action),
            }
        }
    }

    /// Enters the guarded section, or fails at once with [`BusyResource`]
    /// if someone (any thread or task) is inside. Never waits.
    #[inline]
    pub fn enter(&self) -> Result<ResourceGuardToken<'_>, BusyResource> {
        if self.try_enter_raw() {
            Ok(ResourceGuardToken { guard: self })
        } else {
            Err(self.busy_error())
        }
    }

    #[cold]
    fn busy_error(&self) -> BusyResource {
        BusyResource {
            action: self.action.clone(),
        }
    }

    /// Whether someone is inside now (a snapshot).
    #[inline]
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    /// The action named in errors.
    pub fn action(&self) -> &str {
        &self.action
    }

    #[inline]
    pub(crate) fn try_enter_raw(&self) -> bool {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Leaves on behalf of anyone (the C ABI). `false`, changing nothing, if
    /// nobody was inside.
    #[inline]
    pub(crate) fn exit_checked(&self) -> bool {
        self.busy
            .compare_exchange(true, false, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }
}

impl fmt::Debug for ResourceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceGuard")
            .field("action", &&*self.action)
            .field("busy", &self.is_busy())
            .finish()
    }
}

/// Proof of being inside a [`ResourceGuard`]; leaves on drop.
#[must_use = "if unused the guard is left at once"]
pub struct ResourceGuardToken<'a> {
    guard: &'a ResourceGuard,
}

impl ResourceGuardToken<'_> {
    /// Leaves now (same as dropping the token).
    pub fn exit(self) {
        drop(self);
    }
}

impl Drop for ResourceGuardToken<'_> {
    #[inline]
    fn drop(&mut self) {
        self.guard.busy.store(false, Ordering::Release);
    }
}

impl fmt::Debug for ResourceGuardToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceGuardToken")
            .field("action", &&*self.guard.action)
            .finish()
    }
}
