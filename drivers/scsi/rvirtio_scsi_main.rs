// SPDX-License-Identifier: GPL-2.0

//! The `rvirtio_scsi` module: crate root. It joins the layers (each a
//! module of this crate, compiled from its own directory) and registers the
//! driver.

// The layers serve more than one driver; not every driver uses every item.
#[allow(dead_code, unused_imports, unreachable_pub)]
#[path = "../lib/mod.rs"]
mod lib;
#[path = "params.rs"]
mod params;
#[path = "rvirtio_scsi.rs"]
mod rvirtio_scsi;
#[allow(dead_code, unused_imports, unreachable_pub)]
#[path = "scsi/mod.rs"]
mod scsi;
#[allow(dead_code, unused_imports, unreachable_pub)]
#[path = "../virtio/mod.rs"]
mod virtio;
#[allow(dead_code, unreachable_pub)]
#[path = "virtio_scsi_proto.rs"]
mod virtio_scsi_proto;

// drivers/lib/recovery.rs names the status decoder this way in every crate.
use virtio::status as virtio_status;

use kernel::prelude::*;

module! {
    type: RvirtioScsiModule,
    name: "rvirtio_scsi",
    author: "rvirtio developers",
    description: "Virtio SCSI driver in Rust",
    license: "GPL",
    alias: ["virtio:d00000008v*"],
}

struct RvirtioScsiModule {
    // Field order is drop order: the driver goes (removing every host),
    // then the workqueue and debugfs root.
    _driver: Pin<KBox<virtio::Registration<rvirtio_scsi::RvirtioScsi>>>,
    _globals: Globals,
}

/// The driver's module-wide state, released after the last device.
struct Globals;

impl Drop for Globals {
    fn drop(&mut self) {
        rvirtio_scsi::module_exit();
    }
}

impl kernel::Module for RvirtioScsiModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if let Err(e) = rvirtio_scsi::module_init() {
            rvirtio_scsi::module_exit();
            return Err(e);
        }
        let globals = Globals;
        let driver = KBox::pin_init(virtio::Registration::new(), GFP_KERNEL)?;
        Ok(Self {
            _driver: driver,
            _globals: globals,
        })
    }
}
