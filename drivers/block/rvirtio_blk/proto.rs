// SPDX-License-Identifier: GPL-2.0

//! The virtio-blk protocol, as pure logic: feature bits, config offsets,
//! request types, the request header and ranges, status mapping; and, in
//! [`shape`], what rvirtio_blk makes of a device's config.
//!
//! No kernel dependencies: this file and `shape.rs` are built into the
//! module and into the host test crate (`tests/host`), where `cargo test`
//! checks them.

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

#[path = "shape.rs"]
pub mod shape;
pub use shape::*;

/// Feature bits (VIRTIO 1.2, 5.2.3) and the ring feature rvirtio looks at.
pub mod feature {
    /// `size_max` is valid.
    pub const SIZE_MAX: u32 = 1;
    /// `seg_max` is valid.
    pub const SEG_MAX: u32 = 2;
    /// `geometry` is valid.
    pub const GEOMETRY: u32 = 4;
    /// The device is read-only.
    pub const RO: u32 = 5;
    /// `blk_size` is valid.
    pub const BLK_SIZE: u32 = 6;
    /// Cache flush command support.
    pub const FLUSH: u32 = 9;
    /// Topology fields are valid.
    pub const TOPOLOGY: u32 = 10;
    /// The write-cache mode can be changed in config space.
    pub const CONFIG_WCE: u32 = 11;
    /// Several request queues.
    pub const MQ: u32 = 12;
    /// Discard command support.
    pub const DISCARD: u32 = 13;
    /// Write-zeroes command support.
    pub const WRITE_ZEROES: u32 = 14;
    /// Secure-erase command support.
    pub const SECURE_ERASE: u32 = 16;
    /// Zoned device (not offered).
    #[cfg_attr(
        rvirtio_blk,
        expect(dead_code, reason = "the driver does not offer it")
    )]
    pub const ZONED: u32 = 17;
    /// Indirect descriptors (a ring feature).
    pub const RING_INDIRECT_DESC: u32 = 28;
}

/// Offsets of `struct virtio_blk_config` fields.
pub mod config {
    /// `le64 capacity`, in 512-byte sectors.
    pub const CAPACITY: u32 = 0;
    /// `le32 size_max`.
    pub const SIZE_MAX: u32 = 8;
    /// `le32 seg_max`.
    pub const SEG_MAX: u32 = 12;
    /// `le16 geometry.cylinders`.
    pub const GEOMETRY_CYLINDERS: u32 = 16;
    /// `u8 geometry.heads`.
    pub const GEOMETRY_HEADS: u32 = 18;
    /// `u8 geometry.sectors`.
    pub const GEOMETRY_SECTORS: u32 = 19;
    /// `le32 blk_size`.
    pub const BLK_SIZE: u32 = 20;
    /// `u8 physical_block_exp`.
    pub const PHYSICAL_BLOCK_EXP: u32 = 24;
    /// `u8 alignment_offset`.
    pub const ALIGNMENT_OFFSET: u32 = 25;
    /// `le16 min_io_size`.
    pub const MIN_IO_SIZE: u32 = 26;
    /// `le32 opt_io_size`.
    pub const OPT_IO_SIZE: u32 = 28;
    /// `u8 writeback`.
    pub const WRITEBACK: u32 = 32;
    /// `le16 num_queues`.
    pub const NUM_QUEUES: u32 = 34;
    /// `le32 max_discard_sectors`.
    pub const MAX_DISCARD_SECTORS: u32 = 36;
    /// `le32 max_discard_seg`.
    pub const MAX_DISCARD_SEG: u32 = 40;
    /// `le32 discard_sector_alignment`.
    pub const DISCARD_SECTOR_ALIGNMENT: u32 = 44;
    /// `le32 max_write_zeroes_sectors`.
    pub const MAX_WRITE_ZEROES_SECTORS: u32 = 48;
    /// `le32 max_secure_erase_sectors`.
    pub const MAX_SECURE_ERASE_SECTORS: u32 = 60;
    /// `le32 max_secure_erase_seg`.
    pub const MAX_SECURE_ERASE_SEG: u32 = 64;
    /// `le32 secure_erase_sector_alignment`.
    pub const SECURE_ERASE_SECTOR_ALIGNMENT: u32 = 68;
}

/// Request types (VIRTIO 1.2, 5.2.6).
pub mod req_type {
    /// Read.
    pub const IN: u32 = 0;
    /// Write.
    pub const OUT: u32 = 1;
    /// Flush.
    pub const FLUSH: u32 = 4;
    /// Get the device id string (serial).
    pub const GET_ID: u32 = 8;
    /// Discard.
    pub const DISCARD: u32 = 11;
    /// Write zeroes.
    pub const WRITE_ZEROES: u32 = 13;
    /// Secure erase.
    pub const SECURE_ERASE: u32 = 14;
}

/// Length of the id string `GET_ID` returns.
pub const ID_BYTES: usize = 20;
/// Sector size of the protocol, in bytes.
pub const SECTOR_SIZE: u32 = 512;
/// The most scatter-gather entries a request may have, as in the C driver
/// (`VIRTIO_BLK_MAX_SG_ELEMS`, less the two headers).
pub const MAX_SEGMENTS: u32 = 32768 - 2;
/// Minors per disk: the disk and 15 partitions, as the C driver has.
pub const MINORS: u32 = 16;
/// The most ranges one discard or secure erase carries, as in the C driver.
pub const MAX_DISCARD_SEGMENTS: u32 = 256;
/// `VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP`: the device may deallocate the
/// zeroed range.
pub const WRITE_ZEROES_FLAG_UNMAP: u32 = 1;

/// The request header the device reads first (`struct virtio_blk_outhdr`),
/// already in the device's (little-endian) byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutHdr {
    /// Request type, little-endian.
    pub type_le: u32,
    /// I/O priority, little-endian.
    pub ioprio_le: u32,
    /// First sector, little-endian.
    pub sector_le: u64,
}

impl OutHdr {
    /// A header for `type_` at `sector` with priority `ioprio`.
    pub fn new(type_: u32, ioprio: u32, sector: u64) -> Self {
        Self {
            type_le: type_.to_le(),
            ioprio_le: ioprio.to_le(),
            sector_le: sector.to_le(),
        }
    }

    /// The request type.
    pub fn type_(&self) -> u32 {
        u32::from_le(self.type_le)
    }

    /// The sector.
    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "the host tests use it"))]
    pub fn sector(&self) -> u64 {
        u64::from_le(self.sector_le)
    }
}

/// One range of a discard, write-zeroes or secure-erase request
/// (`struct virtio_blk_discard_write_zeroes`), in the device's byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// First sector, little-endian.
    pub sector_le: u64,
    /// Sectors, little-endian.
    pub num_sectors_le: u32,
    /// Flags ([`WRITE_ZEROES_FLAG_UNMAP`]), little-endian.
    pub flags_le: u32,
}

impl Range {
    /// A range of `sectors` sectors at `sector`; `unmap` lets the device
    /// deallocate a write-zeroes range.
    pub fn new(sector: u64, sectors: u32, unmap: bool) -> Self {
        let flags = if unmap { WRITE_ZEROES_FLAG_UNMAP } else { 0 };
        Self {
            sector_le: sector.to_le(),
            num_sectors_le: sectors.to_le(),
            flags_le: flags.to_le(),
        }
    }
}

/// A block operation, as the driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOp {
    /// Read data.
    Read,
    /// Write data.
    Write,
    /// Flush the write cache.
    Flush,
    /// Read the device id (serial).
    GetId,
    /// Discard ranges.
    Discard,
    /// Write zeroes to ranges (the unmap flag is in each range).
    WriteZeroes,
    /// Securely erase ranges.
    SecureErase,
    /// Anything rvirtio_blk does not support.
    Unsupported,
}

/// Builds the header for `op` at `sector`; `None` for an unsupported op.
/// A flush, and the range commands, carry sector 0, as the C driver sends
/// them.
pub fn header_for(op: BlockOp, sector: u64, ioprio: u16) -> Option<OutHdr> {
    let (type_, sector) = match op {
        BlockOp::Read => (req_type::IN, sector),
        BlockOp::Write => (req_type::OUT, sector),
        BlockOp::Flush => (req_type::FLUSH, 0),
        BlockOp::GetId => (req_type::GET_ID, 0),
        // The ranges say where; the header's sector is zero.
        BlockOp::Discard => (req_type::DISCARD, 0),
        BlockOp::WriteZeroes => (req_type::WRITE_ZEROES, 0),
        BlockOp::SecureErase => (req_type::SECURE_ERASE, 0),
        BlockOp::Unsupported => return None,
    };
    Some(OutHdr::new(type_, u32::from(ioprio), sector))
}

/// Whether the device writes the data buffers of a request of this type.
pub fn device_writes_data(type_: u32) -> bool {
    type_ == req_type::IN || type_ == req_type::GET_ID
}

/// What a device status byte means for the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `VIRTIO_BLK_S_OK`.
    Ok,
    /// `VIRTIO_BLK_S_UNSUPP`: the device does not support the request.
    Unsupported,
    /// `VIRTIO_BLK_S_IOERR`, or any status the driver does not know.
    IoError,
}

/// Maps the status byte, as the C driver's `virtblk_result` does.
pub fn outcome(status: u8) -> Outcome {
    match status {
        0 => Outcome::Ok,
        2 => Outcome::Unsupported,
        _ => Outcome::IoError,
    }
}

/// The status byte a request starts with, so that a request the device
/// never wrote reads as an error rather than success.
pub const STATUS_UNSET: u8 = 0xff;
