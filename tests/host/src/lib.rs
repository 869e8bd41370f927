// SPDX-License-Identifier: GPL-2.0

//! rvirtio's pure logic, built for the host so that `cargo test` can check
//! it. Each module is the very file the kernel modules compile.

#![no_std]

#[path = "../../../drivers/virtio/status.rs"]
pub mod status;

#[path = "../../../drivers/block/virtio_blk_proto.rs"]
pub mod virtio_blk_proto;

#[path = "../../../drivers/lib/recovery.rs"]
pub mod recovery;

// recovery.rs names the status decoder as the modules' crate roots do.
use status as virtio_status;

#[path = "../../../drivers/scsi/virtio_scsi_proto.rs"]
pub mod virtio_scsi_proto;
