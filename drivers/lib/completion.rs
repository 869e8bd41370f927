// SPDX-License-Identifier: GPL-2.0

//! A `struct completion`: one side waits (with a timeout), the other signals,
//! from any context, hard interrupts included. The 6.12 `kernel` crate has
//! none.

use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

extern "C" {
    fn rvirtio_init_completion(c: *mut bindings::completion);
}

/// A completion.
#[pin_data]
pub(crate) struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A completion is made to be signalled and waited on from any thread.
unsafe impl Send for Completion {}
// SAFETY: As above; every operation takes the completion's own lock.
unsafe impl Sync for Completion {}

impl Completion {
    /// A completion not yet signalled.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `init_completion` initialises the struct in place; it is
            // pinned, as its wait queue requires.
            inner <- Opaque::ffi_init(|p| unsafe { rvirtio_init_completion(p) }),
        })
    }

    /// Signals the completion, waking the waiter. Any context.
    pub(crate) fn complete(&self) {
        // SAFETY: The completion was initialised by `new`.
        unsafe { bindings::complete(self.inner.get()) };
    }

    /// Waits for the completion for at most `timeout` jiffies; true if it was
    /// signalled. Process context only.
    pub(crate) fn wait_timeout(&self, timeout: u64) -> bool {
        let timeout = timeout.min(i64::MAX as u64 - 1) as usize;
        // SAFETY: As above; the caller may sleep.
        unsafe { bindings::wait_for_completion_timeout(self.inner.get(), timeout) != 0 }
    }
}
