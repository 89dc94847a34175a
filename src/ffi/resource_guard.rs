//! `dualsync_resource_guard_t`: a `ResourceGuard`. It never waits, so it has
//! no `_timeout` or `try_` form: `_enter` is already the non-waiting call.

use core::ffi::{CStr, c_char};

use std::sync::Arc;

use super::dualsync_status::{self, *};
use super::{Calls, boundary, boundary_or, free_boxed, impl_handle, uncounted};
use super::{arc_bridge, last_ref};
use crate::ResourceGuard;

/// An opaque resource guard handle.
pub struct dualsync_resource_guard_t(Arc<ResourceGuard>, Calls);

impl_handle!(dualsync_resource_guard_t => 1);
arc_bridge!(
    dualsync_resource_guard_t,
    ResourceGuard,
    "dualsync_resource_guard_free",
    resource_guard_arc
);

impl dualsync_resource_guard_t {
    /// The Rust [`ResourceGuard`] behind this handle (C's `enter`/`exit`
    /// and Rust's `enter()` guard the same resource).
    pub fn resource_guard(&self) -> &ResourceGuard {
        &self.0
    }
}

/// Creates a guard for `action` (a verb phrase such as `"writing to"`,
/// copied; invalid UTF-8 is replaced). Returns NULL if `action` is NULL or
/// allocation fails. Free it with `dualsync_resource_guard_free`.
///
/// # Safety
///
/// `action` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_resource_guard_new(
    action: *const c_char,
) -> *mut dualsync_resource_guard_t {
    boundary_or(core::ptr::null_mut(), || {
        if action.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: non-NULL and NUL-terminated (caller's contract).
        let a = unsafe { CStr::from_ptr(action) }
            .to_string_lossy()
            .into_owned();
        Box::into_raw(Box::new(dualsync_resource_guard_t(
            Arc::new(ResourceGuard::new(a)),
            Calls::new(),
        )))
    })
}

/// Frees a guard handle. `NULL` does nothing (`DUALSYNC_OK`). A handle
/// that Rust made from a guard it still holds only lets go of its
/// reference. Otherwise, a guard someone is
/// inside is not freed: `DUALSYNC_BUSY`.
///
/// Like every `_free`, it also refuses (`DUALSYNC_BUSY`, nothing freed)
/// while any other call on the handle has not returned, blocked or not: a
/// thread that released a waiter may still be finishing its call when that
/// waiter returns and frees. Retry once those calls are done. A call that
/// is done with the handle before it returns does not count: one that
/// takes or gives back a lock, permits or a flag in one atomic step with
/// nobody waiting (the list is at `DUALSYNC_BUSY`).
///
/// # Safety
///
/// `guard` is NULL or came from `dualsync_resource_guard_new` (or Rust's
/// `dualsync_resource_guard_t::from_arc`) and was not freed; no
/// call on it starts during or after this call (calls in progress make it
/// return `DUALSYNC_BUSY`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_resource_guard_free(
    guard: *mut dualsync_resource_guard_t,
) -> dualsync_status {
    // SAFETY: this function's contract is `free_boxed`'s.
    unsafe { free_boxed(guard, |g| last_ref(&g.0) && g.0.is_busy()) }
}

/// Enters the guarded section, or `DUALSYNC_BUSY` at once if someone is
/// inside. Never waits.
///
/// # Safety
///
/// `guard` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_resource_guard_enter(
    guard: *const dualsync_resource_guard_t,
) -> dualsync_status {
    boundary(|| {
        // One CAS: not counted (see `Calls`).
        let g = uncounted!(guard);
        if g.0.try_enter_raw() {
            DUALSYNC_OK
        } else {
            DUALSYNC_BUSY
        }
    })
}

/// Leaves the guarded section (any thread may). `DUALSYNC_NOT_LOCKED` if
/// nobody is inside (the closest status: "releasing what is not held");
/// nothing changes then.
///
/// # Safety
///
/// `guard` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dualsync_resource_guard_exit(
    guard: *const dualsync_resource_guard_t,
) -> dualsync_status {
    boundary(|| {
        // One CAS: not counted (see `Calls`).
        let g = uncounted!(guard);
        if g.0.exit_checked() {
            DUALSYNC_OK
        } else {
            DUALSYNC_NOT_LOCKED
        }
    })
}
