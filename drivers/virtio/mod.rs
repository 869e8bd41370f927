// SPDX-License-Identifier: GPL-2.0

//! A safe Rust layer over the C virtio core, for virtio device drivers.
//!
//! The 6.12 `kernel` crate has no virtio support; this layer is rvirtio's. It
//! knows nothing about block devices or SCSI: drivers join it with their
//! subsystem's glue.
//!
//! - [`Driver`] and [`Registration`]: binding to virtio devices (probe,
//!   remove, config change), with feature tables and device ids.
//! - [`Device`]: feature bits, config-space reads with generation-count
//!   retry, the device status (get, reset, ready), virtqueue creation and
//!   deletion, and `dev_*`-style logging.
//! - [`Virtqueue`]: a queue that carries typed [`Token`]s. Adding a buffer
//!   *moves* the token into the device; only [`Virtqueue::get_buf`] (the
//!   device returned it) and [`Virtqueue::detach_unused`] (which needs a
//!   [`DeviceReset`] proof) give it back. A request the device owns cannot
//!   be completed, because the driver no longer has it.
//! - [`status`]: the status byte decoded, NEEDS_RESET before DRIVER_OK.

pub mod bindings;
mod device;
mod driver;
pub mod status;
mod virtqueue;

pub use device::{Device, DeviceRef, DeviceReset, VqSpec};
pub use driver::{Driver, IdTable, Registration};
pub use virtqueue::{ArcToken, Chain, DeviceWritable, Token, Virtqueue, Vq};

/// Prints a message prefixed with the virtio device's name, at `dev_info` level.
#[macro_export]
macro_rules! vdev_info {
    ($dev:expr, $($arg:tt)*) => {
        $dev.log($crate::virtio::Level::Info, format_args!($($arg)*))
    };
}

/// Prints a message prefixed with the virtio device's name, at `dev_notice` level.
#[macro_export]
macro_rules! vdev_notice {
    ($dev:expr, $($arg:tt)*) => {
        $dev.log($crate::virtio::Level::Notice, format_args!($($arg)*))
    };
}

/// Prints a message prefixed with the virtio device's name, at `dev_warn` level.
#[macro_export]
macro_rules! vdev_warn {
    ($dev:expr, $($arg:tt)*) => {
        $dev.log($crate::virtio::Level::Warn, format_args!($($arg)*))
    };
}

/// Prints a message prefixed with the virtio device's name, at `dev_err` level.
#[macro_export]
macro_rules! vdev_err {
    ($dev:expr, $($arg:tt)*) => {
        $dev.log($crate::virtio::Level::Err, format_args!($($arg)*))
    };
}

/// Log levels for [`Device::log`].
#[derive(Clone, Copy)]
pub enum Level {
    /// `dev_err`.
    Err,
    /// `dev_warn`.
    Warn,
    /// `dev_notice`.
    Notice,
    /// `dev_info`.
    Info,
}
