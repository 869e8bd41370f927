// SPDX-License-Identifier: GPL-2.0

//! Rate limiting for log lines that a device can trigger as often as it
//! likes, in any context (a virtqueue callback runs in hard-IRQ context).

use super::time;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// At most one line per this many seconds, per [`RateLimit`].
pub(crate) const INTERVAL_SECS: u32 = 5;

/// One kind of log line, allowed once per [`INTERVAL_SECS`]; the lines held
/// back meanwhile are counted, so that the next one allowed can say how many.
pub(crate) struct RateLimit {
    /// The jiffies from which the next line is allowed.
    next: AtomicU64,
    /// Lines held back since the last one allowed.
    suppressed: AtomicU32,
}

impl RateLimit {
    /// A limit whose first line is allowed.
    pub(crate) const fn new() -> Self {
        Self {
            next: AtomicU64::new(0),
            suppressed: AtomicU32::new(0),
        }
    }

    /// Whether a line may be printed now: `Some(n)` (print it, and that `n`
    /// were held back since the last), or `None` (counted). Any context.
    pub(crate) fn check(&self) -> Option<u32> {
        let now = time::jiffies();
        let next = self.next.load(Ordering::Relaxed);
        // `now` is at or past `next`, in wrapping jiffies.
        let due = now.wrapping_sub(next) < u64::MAX / 2;
        let then = now.wrapping_add(time::secs_to_jiffies(INTERVAL_SECS));
        if due
            && self
                .next
                .compare_exchange(next, then, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Says how many lines like it a rate-limited line stands for: nothing for
/// 0, else " (N more like it held back since the last)".
pub(crate) struct Held(pub(crate) u32);

impl core::fmt::Display for Held {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 == 0 {
            Ok(())
        } else {
            write!(f, " ({} more like it held back since the last)", self.0)
        }
    }
}

// 7.3's print macros format through `kernel::fmt::Display`.
#[cfg(rvirtio_7_3)]
impl kernel::fmt::Display for Held {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}
