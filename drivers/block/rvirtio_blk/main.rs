// SPDX-License-Identifier: GPL-2.0

//! The `rvirtio_blk` module: crate root. It includes the layers it is built
//! on (each a module of this crate, compiled from its own directory) and
//! the driver's own files, and declares the module.
//!
//! - `device.rs`: the driver, its shared state, probe, remove and sleep;
//! - `io.rs`: the request path, completions, polling and timeouts;
//! - `hooks.rs`: what the recovery engine asks of the driver;
//! - `sysfs.rs`: `serial`, `cache_type` and `HDIO_GETGEO`;
//! - `proto.rs`: the virtio-blk protocol and config validation (pure);
//! - `params.rs`: the module parameters.

mod device;
mod hooks;
mod io;
mod params;
mod proto;
mod sysfs;

// The layers, each a directory of its own.
#[path = "../../lib/mod.rs"]
mod lib;
#[path = "../mq/mod.rs"]
mod mq;
#[path = "../../recovery/mod.rs"]
mod recovery;
#[path = "../../virtio/mod.rs"]
mod virtio;

crate::module_virtio_driver! {
    type: device::RvirtioBlk,
    name: "rvirtio_blk",
    author: "rvirtio developers",
    description: "Virtio block driver in Rust that recovers lost requests",
    license: "GPL",
    alias: ["virtio:d00000002v*"],
}
