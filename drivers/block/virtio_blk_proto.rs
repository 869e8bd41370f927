// SPDX-License-Identifier: GPL-2.0

//! The virtio-blk protocol and rvirtio_blk's decisions about it, as pure
//! logic: request header encoding, status mapping, config validation and
//! limits, queue depth, disk naming.
//!
//! No kernel dependencies: this file is built into the module and into the
//! host test crate (`tests/host`), where `cargo test` checks it.

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
    /// Zoned device.
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
    pub fn sector(&self) -> u64 {
        u64::from_le(self.sector_le)
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
    /// Anything rvirtio_blk does not support.
    Unsupported,
}

/// Builds the header for `op` at `sector`; `None` for an unsupported op.
/// A flush carries sector 0, as the specification asks.
pub fn header_for(op: BlockOp, sector: u64, ioprio: u16) -> Option<OutHdr> {
    let (type_, sector) = match op {
        BlockOp::Read => (req_type::IN, sector),
        BlockOp::Write => (req_type::OUT, sector),
        BlockOp::Flush => (req_type::FLUSH, 0),
        BlockOp::GetId => (req_type::GET_ID, 0),
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

/// The config fields rvirtio reads, each `None` when its feature bit was not
/// negotiated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// Capacity in 512-byte sectors.
    pub capacity: u64,
    /// `size_max` (SIZE_MAX).
    pub size_max: Option<u32>,
    /// `seg_max` (SEG_MAX).
    pub seg_max: Option<u32>,
    /// `blk_size` (BLK_SIZE).
    pub blk_size: Option<u32>,
    /// `physical_block_exp`, `alignment_offset`, `min_io_size`,
    /// `opt_io_size` (TOPOLOGY).
    pub topology: Option<(u8, u8, u16, u32)>,
    /// The device is read-only (RO).
    pub read_only: bool,
    /// The device has a write cache that needs flushing (FLUSH).
    pub flush: bool,
    /// The transport's largest DMA segment.
    pub max_dma_size: u64,
    /// The page size.
    pub page_size: u32,
}

/// The disk shape rvirtio derives from a device's config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskShape {
    /// Capacity in 512-byte sectors.
    pub capacity: u64,
    /// Logical block size in bytes.
    pub logical_block_size: u32,
    /// Physical block size in bytes (0: same as logical).
    pub physical_block_size: u32,
    /// Alignment offset in bytes.
    pub alignment_offset: u32,
    /// Minimum I/O size in bytes (0: default).
    pub io_min: u32,
    /// Optimal I/O size in bytes (0: default).
    pub io_opt: u32,
    /// Most segments per request.
    pub max_segments: u16,
    /// Largest segment in bytes.
    pub max_segment_size: u32,
    /// Read-only.
    pub read_only: bool,
    /// Volatile write cache (FLUSH negotiated).
    pub write_cache: bool,
}

/// Why a device's config is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `blk_size` is not a power of two between 512 and the page size.
    BadBlockSize(u32),
    /// The physical block size (`blk_size << physical_block_exp`) overflows.
    BadPhysicalBlockExp(u8),
    /// The device offers MQ but reports zero queues.
    ZeroQueues,
}

/// How many request queues to use, as the C driver decides: the device's
/// `num_queues` (1 without MQ), at most the `num_request_queues` parameter
/// (0: no limit) and at most the number of CPUs.
pub fn request_queues(
    num_queues: Option<u16>,
    param: u32,
    nr_cpus: u32,
) -> Result<u32, ConfigError> {
    let offered = match num_queues {
        None => 1,
        Some(0) => return Err(ConfigError::ZeroQueues),
        Some(n) => u32::from(n),
    };
    let limit = if param == 0 {
        nr_cpus
    } else {
        param.min(nr_cpus)
    };
    Ok(offered.min(limit).max(1))
}

/// Validates a device's config and derives the disk's shape from it, the
/// way the C driver's `virtblk_read_limits` does, except that a value the
/// block layer would refuse is refused here, with a reason.
pub fn disk_shape(cfg: &RawConfig) -> Result<DiskShape, ConfigError> {
    // A zero or absent seg_max means one segment, as in the C driver.
    let segs = match cfg.seg_max {
        Some(n) if n > 0 => n.min(MAX_SEGMENTS),
        _ => 1,
    };
    let mut max_size = cfg.max_dma_size.min(u64::from(u32::MAX)) as u32;
    if let Some(v) = cfg.size_max {
        max_size = max_size.min(v);
    }
    let lbs = match cfg.blk_size {
        None => SECTOR_SIZE,
        Some(b) if b.is_power_of_two() && (SECTOR_SIZE..=cfg.page_size).contains(&b) => b,
        Some(b) => return Err(ConfigError::BadBlockSize(b)),
    };
    let mut shape = DiskShape {
        capacity: cfg.capacity,
        logical_block_size: lbs,
        max_segments: segs.min(u32::from(u16::MAX)) as u16,
        max_segment_size: max_size,
        read_only: cfg.read_only,
        write_cache: cfg.flush,
        ..DiskShape::default()
    };
    if let Some((pexp, align, min_io, opt_io)) = cfg.topology {
        if pexp != 0 {
            shape.physical_block_size = 1u32
                .checked_shl(u32::from(pexp))
                .and_then(|m| lbs.checked_mul(m))
                .ok_or(ConfigError::BadPhysicalBlockExp(pexp))?;
        }
        shape.alignment_offset = lbs.saturating_mul(u32::from(align));
        shape.io_min = lbs.saturating_mul(u32::from(min_io));
        shape.io_opt = lbs.saturating_mul(opt_io);
    }
    Ok(shape)
}

/// The tag-set queue depth: the `queue_depth` parameter if set, otherwise
/// what the ring holds (half of it without indirect descriptors, since each
/// request then takes at least two descriptors), as in the C driver.
pub fn queue_depth(param: u32, ring_free: u32, indirect: bool) -> u32 {
    if param != 0 {
        param
    } else if indirect {
        ring_free.max(1)
    } else {
        (ring_free / 2).max(1)
    }
}

/// Writes the C driver's legacy name for disk `index` (`vda`, ..., `vdz`,
/// `vdaa`, ...) into `buf`; returns its length, or `None` if it does not fit.
pub fn disk_name(index: u32, buf: &mut [u8]) -> Option<usize> {
    const PREFIX: &[u8] = b"vd";
    let mut letters = [0u8; 8];
    let mut n = 0;
    let mut i = i64::from(index);
    loop {
        if n == letters.len() {
            return None;
        }
        letters[n] = b'a' + (i % 26) as u8;
        n += 1;
        i = i / 26 - 1;
        if i < 0 {
            break;
        }
    }
    let len = PREFIX.len() + n;
    if len > buf.len() {
        return None;
    }
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    for (k, b) in letters[..n].iter().rev().enumerate() {
        buf[PREFIX.len() + k] = *b;
    }
    Some(len)
}

/// The printable part of a `GET_ID` answer: up to the first NUL, at most
/// [`ID_BYTES`] bytes.
pub fn id_string(raw: &[u8]) -> &[u8] {
    let raw = &raw[..raw.len().min(ID_BYTES)];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    &raw[..end]
}
