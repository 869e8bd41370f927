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
//! - [`foreign`]: a value C code carries as a `void *` (a virtqueue token).
//! - [`reserve`]: values allocated up front for a path that must not fail
//!   for want of memory (a mempool of `Arc`s).

#[cfg_attr(
    rvirtio_blk,
    expect(dead_code, reason = "only rvirtio_scsi waits for an answer")
)]
pub(crate) mod completion;
pub(crate) mod cpumask;
pub(crate) mod debugfs;
pub(crate) mod foreign;
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

// pin-init moved out of the `kernel` crate into its own `pin_init` crate.
#[cfg(not(rvirtio_7_3))]
pub(crate) use kernel::init::pin_init_from_closure;
#[cfg(rvirtio_7_3)]
pub(crate) use pin_init::pin_init_from_closure;

/// A lockdep class key as the `kernel` crate's lock constructors take it,
/// and as `kernel::static_lock_class!()` makes it: a static reference on
/// 6.12, a pinned one on 7.3.
#[cfg(not(rvirtio_7_3))]
pub(crate) type LockKey = &'static LockClassKey;
/// A lockdep class key as the `kernel` crate's lock constructors take it,
/// and as `kernel::static_lock_class!()` makes it: a static reference on
/// 6.12, a pinned one on 7.3.
#[cfg(rvirtio_7_3)]
pub(crate) type LockKey = core::pin::Pin<&'static LockClassKey>;

/// The C `struct lock_class_key` behind a [`LockKey`].
#[cfg(not(rvirtio_7_3))]
pub(crate) fn lock_class_ptr(key: LockKey) -> *mut kernel::bindings::lock_class_key {
    // The 6.12 kernel crate keeps its accessor private to itself.
    // `LockClassKey` is `#[repr(transparent)]` over `Opaque<lock_class_key>`,
    // itself a transparent cell around the C struct.
    (key as *const LockClassKey).cast_mut().cast()
}

/// The C `struct lock_class_key` behind a [`LockKey`].
#[cfg(rvirtio_7_3)]
pub(crate) fn lock_class_ptr(key: LockKey) -> *mut kernel::bindings::lock_class_key {
    key.as_ptr()
}
