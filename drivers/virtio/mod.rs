// SPDX-License-Identifier: GPL-2.0

//! A safe Rust layer over the C virtio core, for virtio device drivers.
//!
//! The 6.12 `kernel` crate has no virtio support; this layer is rvirtio's. It
//! knows nothing about block devices or SCSI: drivers join it with their
//! subsystem's glue.
//!
//! - [`Driver`] and [`Registration`]: binding to virtio devices (probe,
//!   remove, config change, freeze and restore), with feature tables, device
//!   ids and a context every device of the driver shares;
//!   [`crate::module_virtio_driver`] declares the kernel module around it.
//! - [`Device`]: feature bits, config-space reads with generation-count
//!   retry, the device status (get, reset, ready), virtqueue creation, the
//!   CPUs a queue's interrupt is affine to, and `dev_*`-style logging.
//! - [`Virtqueue`]: a queue that carries typed [`Token`]s. Adding a buffer
//!   *moves* the token into the device; only [`Virtqueue::get_buf`] (the
//!   device returned it) and [`Virtqueue::detach_unused`] (which needs a
//!   [`DeviceReset`] proof) give it back. A request the device owns cannot
//!   be completed, because the driver no longer has it.
//! - [`DeviceReset`]: what [`Device::reset`] returns. The queues are retired
//!   into it and deleted with it ([`DeviceReset::delete_vqs`]), so the proof
//!   cannot outlive them, nor cover queues created after it.
//! - [`status`]: the status byte decoded, NEEDS_RESET before DRIVER_OK.

pub(crate) mod bindings;
mod device;
mod driver;
pub(crate) mod status;
mod virtqueue;

pub(crate) use device::{Device, DeviceRef, DeviceReset, NoQueues, VqSpec};
pub(crate) use driver::{Driver, IdTable, Registration};
#[cfg_attr(
    rvirtio_blk,
    expect(unused_imports, reason = "only rvirtio_scsi uses it")
)]
pub(crate) use virtqueue::ArcToken;
#[cfg(rvirtio_scsi)]
pub(crate) use virtqueue::Words;
pub(crate) use virtqueue::{Chain, DeviceWritable, Mapped, Token, Virtqueue, Vq};

/// Declares the kernel module of a virtio driver: `module!` with a module
/// that makes the driver's context and registers it at load, and
/// unregisters it (removing every device) and drops the context at unload.
///
/// ```ignore
/// crate::module_virtio_driver! {
///     type: MyDriver,
///     name: "my_driver",
///     author: "...",
///     description: "...",
///     license: "GPL",
///     alias: ["virtio:d00000002v*"],
/// }
/// ```
#[macro_export]
macro_rules! module_virtio_driver {
    (
        type: $driver:ty,
        name: $name:tt,
        author: $author:tt,
        description: $description:tt,
        license: $license:tt,
        alias: [$($alias:tt),* $(,)?] $(,)?
    ) => {
        /// The module: the driver's registration.
        struct VirtioModule {
            _registration:
                ::core::pin::Pin<::kernel::prelude::KBox<$crate::virtio::Registration<$driver>>>,
        }

        impl ::kernel::Module for VirtioModule {
            fn init(_module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                use ::kernel::prelude::*;
                Ok(Self {
                    _registration: KBox::pin_init($crate::virtio::Registration::new(), GFP_KERNEL)?,
                })
            }
        }

        // 7.3's `module!` takes a list of authors; 6.12's one author. (The
        // fields are `tt`s: 6.12's `module!` does not see through the
        // invisible groups that `literal` fragments arrive in.)
        #[cfg(rvirtio_7_3)]
        ::kernel::prelude::module! {
            type: VirtioModule,
            name: $name,
            authors: [$author],
            description: $description,
            license: $license,
            alias: [$($alias),*],
        }
        #[cfg(not(rvirtio_7_3))]
        ::kernel::prelude::module! {
            type: VirtioModule,
            name: $name,
            author: $author,
            description: $description,
            license: $license,
            alias: [$($alias),*],
        }
    };
}

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
pub(crate) enum Level {
    /// `dev_err`.
    Err,
    /// `dev_warn`.
    Warn,
    /// `dev_notice`.
    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    Notice,
    /// `dev_info`.
    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    Info,
}
