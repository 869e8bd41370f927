// SPDX-License-Identifier: GPL-2.0

//! The `rvirtio_blk` module: crate root. It joins the layers (each a module
//! of this crate, compiled from its own directory) and registers the driver.

// The layers serve more than one driver; not every driver uses every item.
#[allow(dead_code, unused_imports, unreachable_pub)]
#[path = "../lib/mod.rs"]
mod lib;
#[allow(dead_code, unused_imports, unreachable_pub)]
#[path = "mq/mod.rs"]
mod mq;
#[path = "params.rs"]
mod params;
#[path = "rvirtio_blk.rs"]
mod rvirtio_blk;
#[allow(dead_code, unused_imports, unreachable_pub)]
#[path = "../virtio/mod.rs"]
mod virtio;
#[allow(dead_code, unreachable_pub)]
#[path = "virtio_blk_proto.rs"]
mod virtio_blk_proto;

// drivers/lib/recovery.rs names the status decoder this way in every crate.
use virtio::status as virtio_status;

use kernel::c_str;
use kernel::prelude::*;

module! {
    type: RvirtioBlkModule,
    name: "rvirtio_blk",
    author: "rvirtio developers",
    description: "Virtio block driver in Rust that recovers lost requests",
    license: "GPL",
    alias: ["virtio:d00000002v*"],
}

struct RvirtioBlkModule {
    // Field order is drop order: the driver goes (removing every disk),
    // then the workqueue and debugfs root, then the major.
    _driver: Pin<KBox<virtio::Registration<rvirtio_blk::RvirtioBlk>>>,
    _globals: Globals,
    _major: mq::Major,
}

/// The driver's module-wide state, released after the last device.
struct Globals;

impl Drop for Globals {
    fn drop(&mut self) {
        rvirtio_blk::module_exit();
    }
}

impl kernel::Module for RvirtioBlkModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let major = mq::Major::register(c_str!("rvirtblk"))?;
        if let Err(e) = rvirtio_blk::module_init(major.number()) {
            rvirtio_blk::module_exit();
            return Err(e);
        }
        let globals = Globals;
        let driver = KBox::pin_init(virtio::Registration::new(), GFP_KERNEL)?;
        Ok(Self {
            _driver: driver,
            _globals: globals,
            _major: major,
        })
    }
}
