// SPDX-License-Identifier: GPL-2.0

//! The virtio device status field (VIRTIO 1.2, section 2.1), decoded.
//!
//! Pure logic: no kernel dependencies, built into the modules and into the
//! host test crate.

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

/// `ACKNOWLEDGE`: the guest has noticed the device.
#[cfg_attr(
    any(rvirtio_blk, rvirtio_scsi),
    expect(dead_code, reason = "the host tests use it")
)]
pub const ACKNOWLEDGE: u8 = 1;
/// `DRIVER`: the guest knows how to drive the device.
#[cfg_attr(
    any(rvirtio_blk, rvirtio_scsi),
    expect(dead_code, reason = "the host tests use it")
)]
pub const DRIVER: u8 = 2;
/// `DRIVER_OK`: the driver is set up and ready to drive the device.
pub const DRIVER_OK: u8 = 4;
/// `FEATURES_OK`: feature negotiation is complete.
#[cfg_attr(
    any(rvirtio_blk, rvirtio_scsi),
    expect(dead_code, reason = "the host tests use it")
)]
pub const FEATURES_OK: u8 = 8;
/// `DEVICE_NEEDS_RESET`: the device has hit an error it cannot recover from.
pub const NEEDS_RESET: u8 = 64;
/// `FAILED`: the guest has given up on the device.
pub const FAILED: u8 = 128;

/// What a status byte says about the device's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// DRIVER_OK is set and nothing says the device is broken.
    Live,
    /// The device set NEEDS_RESET: it is broken whatever else is set.
    NeedsReset,
    /// DRIVER_OK is clear (the device was reset under us) or FAILED is set.
    NotReady,
}

/// Decodes a status byte. NEEDS_RESET is checked before DRIVER_OK: the
/// VIRTIO specification (2.1.1) says a device that sets it is not working,
/// whatever DRIVER_OK says.
pub fn health(status: u8) -> Health {
    if status & NEEDS_RESET != 0 {
        Health::NeedsReset
    } else if status & DRIVER_OK == 0 || status & FAILED != 0 {
        Health::NotReady
    } else {
        Health::Live
    }
}
