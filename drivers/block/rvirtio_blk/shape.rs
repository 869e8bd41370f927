// SPDX-License-Identifier: GPL-2.0

//! What rvirtio_blk makes of a virtio-blk device's config, as pure logic:
//! config validation and the disk's limits, the cache mode, the geometry,
//! queue counts and depth, disk naming and the id string. Part of
//! [`super`] (`proto.rs`), built into the module and the host tests.

use super::{ID_BYTES, MAX_DISCARD_SEGMENTS, MAX_SEGMENTS, SECTOR_SIZE};

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
    /// The `wce` byte (CONFIG_WCE): the cache mode, which the driver may
    /// change.
    pub wce: Option<u8>,
    /// `max_discard_sectors`, `max_discard_seg`, `discard_sector_alignment`
    /// (DISCARD).
    pub discard: Option<(u32, u32, u32)>,
    /// `max_write_zeroes_sectors` (WRITE_ZEROES).
    pub write_zeroes: Option<u32>,
    /// `max_secure_erase_sectors`, `max_secure_erase_seg`,
    /// `secure_erase_sector_alignment` (SECURE_ERASE).
    pub secure_erase: Option<(u32, u32, u32)>,
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
    /// Volatile write cache: see [`write_back`].
    pub write_cache: bool,
    /// Largest discard (and secure erase), in sectors; 0: no discard.
    pub max_discard_sectors: u32,
    /// Most ranges per discard or secure erase; 0 without either.
    pub max_discard_segments: u16,
    /// Discard granularity, in bytes; 0 without discard.
    pub discard_granularity: u32,
    /// Largest write-zeroes, in sectors; 0: no write-zeroes.
    pub max_write_zeroes_sectors: u32,
    /// Largest secure erase, in sectors; 0: no secure erase.
    pub max_secure_erase_sectors: u32,
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
    /// SECURE_ERASE with `secure_erase_sector_alignment` zero.
    ZeroSecureEraseAlignment,
    /// SECURE_ERASE with `max_secure_erase_sectors` zero.
    ZeroSecureEraseSectors,
    /// SECURE_ERASE with `max_secure_erase_seg` zero.
    ZeroSecureEraseSegments,
    /// `size_max` (or the transport's largest DMA segment) is smaller than a
    /// page: the block layer cannot build segments that small.
    SmallSegmentSize(u32),
    /// The virtqueue is too small to carry a request (header, one data
    /// segment and status) without indirect descriptors.
    SmallRing(u32),
}

impl core::fmt::Display for ConfigError {
    /// The reason, as a dmesg line says it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::BadBlockSize(b) => write!(
                f,
                "blk_size {} is not a power of two between 512 and the page size",
                b
            ),
            ConfigError::BadPhysicalBlockExp(e) => {
                write!(f, "physical_block_exp {} gives an impossible block size", e)
            }
            ConfigError::ZeroQueues => write!(f, "VIRTIO_BLK_F_MQ with num_queues 0"),
            ConfigError::ZeroSecureEraseAlignment => {
                write!(
                    f,
                    "VIRTIO_BLK_F_SECURE_ERASE with secure_erase_sector_alignment 0"
                )
            }
            ConfigError::ZeroSecureEraseSectors => {
                write!(
                    f,
                    "VIRTIO_BLK_F_SECURE_ERASE with max_secure_erase_sectors 0"
                )
            }
            ConfigError::ZeroSecureEraseSegments => {
                write!(f, "VIRTIO_BLK_F_SECURE_ERASE with max_secure_erase_seg 0")
            }
            ConfigError::SmallSegmentSize(v) => {
                write!(f, "largest segment {} is smaller than a page", v)
            }
            ConfigError::SmallRing(n) => write!(
                f,
                "a virtqueue of {} entries without indirect descriptors cannot carry a request",
                n
            ),
        }
    }
}

/// Whether the device caches writes: the `wce` byte with CONFIG_WCE (any
/// non-zero value is write back), else whether it offers FLUSH, as the C
/// driver's `virtblk_get_cache_mode` decides.
pub fn write_back(wce: Option<u8>, flush: bool) -> bool {
    match wce {
        Some(v) => v != 0,
        None => flush,
    }
}

/// The `cache_type` sysfs names, indexed by write back (1) or not (0).
pub const CACHE_TYPES: [&str; 2] = ["write through", "write back"];

/// Parses a write to `cache_type` the way `sysfs_match_string` does: one of
/// [`CACHE_TYPES`], with at most one trailing newline. Returns write back.
pub fn parse_cache_type(input: &[u8]) -> Option<bool> {
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    CACHE_TYPES
        .iter()
        .position(|t| t.as_bytes() == input)
        .map(|i| i == 1)
}

/// The legacy CHS geometry for `HDIO_GETGEO`: the device's with GEOMETRY,
/// otherwise 64 heads and 32 sectors, with the cylinder count truncated to
/// 16 bits as the C driver does. Returns (cylinders, heads, sectors).
pub fn geometry(device: Option<(u16, u8, u8)>, capacity: u64) -> (u16, u8, u8) {
    // The low 16 bits of the cylinder count, as the C driver's `u16` keeps.
    let cylinders = u16::try_from((capacity >> 11) & u64::from(u16::MAX)).unwrap_or(u16::MAX);
    device.unwrap_or((cylinders, 1 << 6, 1 << 5))
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

/// How many of `request_queues` queues are poll queues: the `poll_queues`
/// parameter, leaving at least one queue with interrupts, as in the C driver.
pub fn poll_queues(param: u32, request_queues: u32) -> u32 {
    param.min(request_queues.saturating_sub(1))
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
    let mut max_size = u32::try_from(cfg.max_dma_size).unwrap_or(u32::MAX);
    // A zero size_max means no limit, as the block layer takes a zero
    // max_segment_size in the C driver.
    if let Some(v) = cfg.size_max.filter(|&v| v != 0) {
        max_size = max_size.min(v);
    }
    // The block layer cannot make a segment smaller than a page (it would
    // WARN and refuse the disk).
    if max_size < cfg.page_size {
        return Err(ConfigError::SmallSegmentSize(max_size));
    }
    let lbs = match cfg.blk_size {
        None => SECTOR_SIZE,
        Some(b) if b.is_power_of_two() && (SECTOR_SIZE..=cfg.page_size).contains(&b) => b,
        Some(b) => return Err(ConfigError::BadBlockSize(b)),
    };
    let mut shape = DiskShape {
        capacity: clamp_capacity(cfg.capacity),
        logical_block_size: lbs,
        max_segments: u16::try_from(segs).unwrap_or(u16::MAX),
        max_segment_size: max_size,
        read_only: cfg.read_only,
        write_cache: write_back(cfg.wce, cfg.flush),
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
    discard_limits(cfg, segs, &mut shape)?;
    Ok(shape)
}

/// The largest capacity, in 512-byte sectors, whose size in bytes the block
/// layer can hold (`loff_t`).
pub const MAX_CAPACITY: u64 = (i64::MAX as u64) >> 9;

/// The capacity the disk gets for the device's `capacity`: at most
/// [`MAX_CAPACITY`] (a larger one would overflow the block device's size).
pub fn clamp_capacity(sectors: u64) -> u64 {
    sectors.min(MAX_CAPACITY)
}

/// The most data segments a request may have on a virtqueue of
/// `ring_size` entries: `segments`, or, without indirect descriptors (a
/// request then takes a descriptor per segment, plus its header and
/// status), what the ring holds. A ring too small for one segment is
/// refused.
pub fn segments_for_ring(
    segments: u16,
    ring_size: u32,
    indirect: bool,
) -> Result<u16, ConfigError> {
    if indirect {
        return Ok(segments);
    }
    let room = ring_size.saturating_sub(2);
    if room == 0 {
        return Err(ConfigError::SmallRing(ring_size));
    }
    Ok(segments.min(u16::try_from(room).unwrap_or(u16::MAX)))
}

/// The size of `sectors` 512-byte sectors in logical blocks of `lbs` bytes,
/// rounded up, and in bytes (saturating), for the log.
pub fn capacity_in_blocks(sectors: u64, lbs: u32) -> (u64, u64) {
    let per_block = u64::from((lbs / SECTOR_SIZE).max(1));
    let blocks = sectors.div_ceil(per_block);
    (blocks, blocks.saturating_mul(u64::from(lbs)))
}

/// The discard, write-zeroes and secure-erase limits, as the C driver's
/// `virtblk_read_limits` sets them: discard and secure erase share the
/// block layer's segment count and granularity, so the stricter of the two
/// wins; a zero maximum means "no limit".
fn discard_limits(
    cfg: &RawConfig,
    sg_elems: u32,
    shape: &mut DiskShape,
) -> Result<(), ConfigError> {
    let min_not_zero = |a: u32, b: u32| match (a, b) {
        (0, b) => b,
        (a, 0) => a,
        (a, b) => a.min(b),
    };
    let mut granularity = 0;
    let mut segments = 0;
    if let Some((max_sectors, max_seg, align)) = cfg.discard {
        granularity = align;
        shape.max_discard_sectors = if max_sectors == 0 {
            u32::MAX
        } else {
            max_sectors
        };
        segments = max_seg;
    }
    if let Some(max_sectors) = cfg.write_zeroes {
        shape.max_write_zeroes_sectors = if max_sectors == 0 {
            u32::MAX
        } else {
            max_sectors
        };
    }
    if let Some((max_sectors, max_seg, align)) = cfg.secure_erase {
        if align == 0 {
            return Err(ConfigError::ZeroSecureEraseAlignment);
        }
        if max_sectors == 0 {
            return Err(ConfigError::ZeroSecureEraseSectors);
        }
        if max_seg == 0 {
            return Err(ConfigError::ZeroSecureEraseSegments);
        }
        granularity = min_not_zero(granularity, align);
        shape.max_secure_erase_sectors = max_sectors;
        segments = min_not_zero(segments, max_seg);
    }
    if cfg.discard.is_some() || cfg.secure_erase.is_some() {
        if segments == 0 {
            segments = sg_elems;
        }
        shape.max_discard_segments =
            u16::try_from(segments.min(MAX_DISCARD_SEGMENTS)).unwrap_or(u16::MAX);
        shape.discard_granularity = if granularity == 0 {
            shape.logical_block_size
        } else {
            granularity.saturating_mul(SECTOR_SIZE)
        };
    }
    Ok(())
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
