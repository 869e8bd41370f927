// SPDX-License-Identifier: GPL-2.0

//! rvirtio's pure logic, built for the host so that `cargo test` can check
//! it. Each module is the very file the kernel modules compile, at the same
//! path within the crate (`crate::virtio::status`, `crate::recovery::...`),
//! so that the files name each other the same way in both.

#![no_std]

/// The virtio layer's pure part.
#[path = "../../../drivers/virtio"]
pub mod virtio {
    pub mod status;
}

/// The recovery engine's pure parts: the state machine, the policy, the
/// protocol and the counters.
#[path = "../../../drivers/recovery"]
pub mod recovery {
    pub mod machine;
    pub mod policy;
    pub mod protocol;
    pub mod stats;
}

#[path = "../../../drivers/block/rvirtio_blk/proto.rs"]
pub mod virtio_blk_proto;

#[path = "../../../drivers/scsi/rvirtio_scsi/proto.rs"]
pub mod virtio_scsi_proto;
