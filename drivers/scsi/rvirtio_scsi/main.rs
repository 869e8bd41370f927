// SPDX-License-Identifier: GPL-2.0

//! The `rvirtio_scsi` module: crate root. It includes the layers it is built
//! on (each a module of this crate, compiled from its own directory) and
//! the driver's own files, and declares the module.
//!
//! - `device.rs`: the driver, its shared state, probe, remove and sleep;
//! - `io.rs`: the command path and the midlayer's callbacks;
//! - `eh.rs`: error handling (timeouts, task management, host reset);
//! - `events.rs`: LUN hot-plug and parameter-change events;
//! - `hooks.rs`: what the recovery engine asks of the driver;
//! - `proto.rs`: the virtio-scsi protocol (pure);
//! - `params.rs`: the module parameters.

mod device;
mod eh;
mod events;
mod hooks;
mod io;
mod params;
mod proto;

// The layers, each a directory of its own.
#[path = "../../lib/mod.rs"]
mod lib;
#[path = "../../recovery/mod.rs"]
mod recovery;
#[path = "../midlayer/mod.rs"]
mod scsi;
#[path = "../../virtio/mod.rs"]
mod virtio;

crate::module_virtio_driver! {
    type: device::RvirtioScsi,
    name: "rvirtio_scsi",
    author: "rvirtio developers",
    description: "Virtio SCSI driver in Rust",
    license: "GPL",
    alias: ["virtio:d00000008v*"],
}
