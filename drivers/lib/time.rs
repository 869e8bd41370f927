// SPDX-License-Identifier: GPL-2.0

//! Jiffies.

use kernel::bindings;

/// The current jiffies count.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: `jiffies` is a kernel global updated by the timer interrupt; a
    // volatile read of the aligned word is how C reads it too.
    unsafe { core::ptr::addr_of!(bindings::jiffies).read_volatile() as u64 }
}

/// Sleeps for at least `ms` milliseconds.
pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: Called from process context, where sleeping is allowed.
    unsafe { bindings::msleep(ms) };
}

#[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
/// Busy-waits for `ms` milliseconds (any context: for fault injection).
pub(crate) fn delay_ms(ms: u32) {
    for _ in 0..ms {
        // SAFETY: A busy wait; callable in any context.
        unsafe { bindings::__udelay(1000) };
    }
}

/// `secs` seconds in jiffies.
pub(crate) fn secs_to_jiffies(secs: u32) -> u64 {
    // SAFETY: Pure function.
    unsafe { bindings::__msecs_to_jiffies(secs.saturating_mul(1000)) as u64 }
}

/// `j` jiffies in whole seconds.
pub(crate) fn jiffies_to_secs(j: u64) -> u64 {
    // (7.3 made jiffies_to_msecs inline; jiffies64_to_msecs is in both.)
    // SAFETY: Pure function.
    let ms = unsafe { bindings::jiffies64_to_msecs(j) };
    ms / 1000
}
