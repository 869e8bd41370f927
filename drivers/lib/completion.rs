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

/// The longest one uninterruptible wait of [`Completion::wait_timeout`]
/// lasts, in seconds: well below the hung-task detector's 120.
const SLICE_SECS: u32 = 10;

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
    /// signalled. Process context only. The wait is in slices of at most
    /// [`SLICE_SECS`], so that a long one does not look like a hung task.
    pub(crate) fn wait_timeout(&self, timeout: u64) -> bool {
        let slice = crate::lib::time::secs_to_jiffies(SLICE_SECS);
        let mut left = timeout;
        loop {
            let now = usize::try_from(left.min(slice)).unwrap_or(usize::MAX);
            // SAFETY: As above; the caller may sleep.
            if unsafe { bindings::wait_for_completion_timeout(self.inner.get(), now) } != 0 {
                return true;
            }
            left = left.saturating_sub(slice);
            if left == 0 {
                return false;
            }
        }
    }
}
