// SPDX-License-Identifier: GPL-2.0

//! Small kernel abstractions that the 6.12 `kernel` crate lacks and that more
//! than one rvirtio layer needs. Nothing here knows of virtio, blk-mq's
//! users or recovery policy, and nothing here names a layer above it.
//!
//! - [`sg`]: scatter-gather tables, the currency between the blk-mq glue
//!   (which maps requests into them) and the virtio layer (which hands them
//!   to the device).
//! - [`cpumask`]: iterating a CPU mask.
//! - [`completion`]: waiting for an interrupt handler's signal.
//! - [`queuemap`]: a blk-mq queue map (CPUs to hardware queues), shared by
//!   the blk-mq and SCSI glues.
//! - [`revocable`]: a value its owner revokes, waiting for its users.
//! - [`work`], [`time`], [`debugfs`]: a module's own workqueue, jiffies,
//!   debugfs directories of counters.
//! - `params.h`: range-checked module parameters (C; the 6.12 `module!`
//!   macro has none), and [`params`], the Rust getter macro.
//! - [`irqlock`]: a spinlock taken with interrupts disabled, for state that a
//!   hard-interrupt handler (a virtqueue callback) shares with process
//!   context.
//! - [`ratelimit`]: log lines a device can trigger at will, at most one per
//!   few seconds.
//! - [`reserve`]: values allocated up front for a path that must not fail
//!   for want of memory (a mempool of `Arc`s).

#[cfg_attr(
    rvirtio_blk,
    expect(dead_code, reason = "only rvirtio_scsi waits for an answer")
)]
pub(crate) mod completion;
pub(crate) mod cpumask;
pub(crate) mod debugfs;
pub(crate) mod irqlock;
pub(crate) mod params;
pub(crate) mod queuemap;
#[cfg_attr(
    rvirtio_blk,
    expect(dead_code, reason = "only rvirtio_scsi logs what a device says")
)]
pub(crate) mod ratelimit;
#[cfg_attr(
    rvirtio_blk,
    expect(dead_code, reason = "only rvirtio_scsi sends task management")
)]
pub(crate) mod reserve;
pub(crate) mod revocable;
pub(crate) mod sg;
pub(crate) mod time;
pub(crate) mod work;

use kernel::sync::LockClassKey;

/// The C `struct lock_class_key` behind a [`LockClassKey`] (the 6.12 kernel
/// crate keeps its accessor private to itself).
pub(crate) fn lock_class_ptr(key: &'static LockClassKey) -> *mut kernel::bindings::lock_class_key {
    // `LockClassKey` is `#[repr(transparent)]` over `Opaque<lock_class_key>`,
    // itself a transparent cell around the C struct.
    (key as *const LockClassKey).cast_mut().cast()
}
