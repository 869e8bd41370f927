// SPDX-License-Identifier: GPL-2.0
//! Feature bits and the virtio-blk configuration space.

use crate::args::Options;
use virtio_bindings::bindings::virtio_blk::*;
use virtio_bindings::bindings::virtio_config::VIRTIO_F_VERSION_1;
use virtio_bindings::bindings::virtio_ring::{
    VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC,
};

/// VHOST_USER_F_PROTOCOL_FEATURES: the backend speaks protocol features.
pub const VHOST_USER_F_PROTOCOL_FEATURES: u32 = 30;

/// The sector size of virtio-blk requests, whatever blk_size says.
pub const SECTOR: u64 = 512;

/// Size of struct virtio_blk_config up to the secure-erase fields.
pub const CONFIG_LEN: usize = 72;

/// Discard and write-zeroes limits offered with those features.
pub const MAX_DISCARD_SECTORS: u32 = 1 << 16;
pub const MAX_DISCARD_SEG: u32 = 32;

fn bit(b: u32) -> u64 {
    1u64 << b
}

fn topology(o: &Options) -> bool {
    o.physical_block_exp.is_some()
        || o.alignment_offset.is_some()
        || o.min_io_size.is_some()
        || o.opt_io_size.is_some()
}

/// The virtio feature bits the backend offers.
pub fn features(o: &Options) -> u64 {
    let mut f = bit(VIRTIO_F_VERSION_1)
        | bit(VHOST_USER_F_PROTOCOL_FEATURES)
        | bit(VIRTIO_BLK_F_SEG_MAX)
        | bit(VIRTIO_BLK_F_BLK_SIZE)
        | bit(VIRTIO_BLK_F_MQ);
    if o.event_idx {
        f |= bit(VIRTIO_RING_F_EVENT_IDX);
    }
    if o.indirect {
        f |= bit(VIRTIO_RING_F_INDIRECT_DESC);
    }
    if o.flush {
        f |= bit(VIRTIO_BLK_F_FLUSH);
    }
    if o.config_wce {
        f |= bit(VIRTIO_BLK_F_CONFIG_WCE);
    }
    if o.read_only {
        f |= bit(VIRTIO_BLK_F_RO);
    }
    if o.discard {
        f |= bit(VIRTIO_BLK_F_DISCARD);
    }
    if o.write_zeroes {
        f |= bit(VIRTIO_BLK_F_WRITE_ZEROES);
    }
    if o.size_max.is_some() {
        f |= bit(VIRTIO_BLK_F_SIZE_MAX);
    }
    if o.geometry.is_some() {
        f |= bit(VIRTIO_BLK_F_GEOMETRY);
    }
    if topology(o) {
        f |= bit(VIRTIO_BLK_F_TOPOLOGY);
    }
    f
}

/// The configuration space as the guest reads it (little endian), for a
/// backing store of `disk_bytes` bytes and write-cache mode `wce`.
pub fn config_space(o: &Options, disk_bytes: u64, wce: u8) -> [u8; CONFIG_LEN] {
    let mut c = [0u8; CONFIG_LEN];
    let mut put = |off: usize, bytes: &[u8]| c[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &o.capacity.unwrap_or(disk_bytes / SECTOR).to_le_bytes());
    put(8, &o.size_max.unwrap_or(0).to_le_bytes());
    put(12, &o.seg_max.to_le_bytes());
    if let Some((cyl, heads, sectors)) = o.geometry {
        put(16, &cyl.to_le_bytes());
        put(18, &[heads, sectors]);
    }
    put(20, &o.blk_size.to_le_bytes());
    put(
        24,
        &[
            o.physical_block_exp.unwrap_or(0),
            o.alignment_offset.unwrap_or(0),
        ],
    );
    put(26, &o.min_io_size.unwrap_or(0).to_le_bytes());
    put(28, &o.opt_io_size.unwrap_or(0).to_le_bytes());
    put(32, &[wce]);
    put(
        34,
        &o.config_num_queues.unwrap_or(o.num_queues).to_le_bytes(),
    );
    if o.discard {
        put(36, &MAX_DISCARD_SECTORS.to_le_bytes());
        put(40, &MAX_DISCARD_SEG.to_le_bytes());
        put(44, &1u32.to_le_bytes());
    }
    if o.write_zeroes {
        put(48, &MAX_DISCARD_SECTORS.to_le_bytes());
        put(52, &MAX_DISCARD_SEG.to_le_bytes());
        put(56, &[0]);
    }
    c
}

/// `size` bytes of the configuration space from `offset` (zeroes past its
/// end), as VHOST_USER_GET_CONFIG must answer exactly what was asked.
pub fn config_read(space: &[u8], offset: u32, size: u32) -> Vec<u8> {
    let mut out = vec![0u8; size as usize];
    let start = offset as usize;
    if start < space.len() {
        let n = (space.len() - start).min(out.len());
        out[..n].copy_from_slice(&space[start..start + n]);
    }
    out
}

/// Offset of the wce byte, the only field a driver writes.
pub const WCE_OFFSET: u32 = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            socket: "/s".into(),
            ..Default::default()
        }
    }

    #[test]
    fn default_features() {
        let f = features(&opts());
        for b in [32, 30, 2, 6, 9, 12, 28, 29] {
            assert_ne!(f & (1 << b), 0, "bit {b}");
        }
        for b in [1, 4, 5, 10, 11, 13, 14] {
            assert_eq!(f & (1 << b), 0, "bit {b}");
        }
        let o = Options {
            min_io_size: Some(8),
            event_idx: false,
            ..opts()
        };
        let f = features(&o);
        assert_ne!(f & (1 << 10), 0);
        assert_eq!(f & (1 << 29), 0);
    }

    #[test]
    fn layout() {
        let o = Options {
            capacity: Some(u64::MAX),
            seg_max: 0,
            blk_size: 3,
            physical_block_exp: Some(200),
            alignment_offset: Some(7),
            min_io_size: Some(0xffff),
            opt_io_size: Some(0xdead_beef),
            config_num_queues: Some(65535),
            geometry: Some((0x1234, 16, 63)),
            discard: true,
            ..opts()
        };
        let c = config_space(&o, 1 << 20, 1);
        assert_eq!(&c[0..8], &[0xff; 8]);
        assert_eq!(&c[12..16], &[0, 0, 0, 0]);
        assert_eq!(&c[16..20], &[0x34, 0x12, 16, 63]);
        assert_eq!(&c[20..24], &[3, 0, 0, 0]);
        assert_eq!(&c[24..28], &[200, 7, 0xff, 0xff]);
        assert_eq!(&c[28..32], &[0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(c[32], 1);
        assert_eq!(&c[34..36], &[0xff, 0xff]);
        assert_eq!(&c[36..40], &MAX_DISCARD_SECTORS.to_le_bytes());
        let c = config_space(&opts(), 1 << 20, 0);
        assert_eq!(u64::from_le_bytes(c[0..8].try_into().unwrap()), 2048);
        assert_eq!(&c[34..36], &[8, 0]);
    }

    #[test]
    fn reads() {
        let space = [1u8, 2, 3, 4];
        assert_eq!(config_read(&space, 0, 4), vec![1, 2, 3, 4]);
        assert_eq!(config_read(&space, 2, 4), vec![3, 4, 0, 0]);
        assert_eq!(config_read(&space, 9, 2), vec![0, 0]);
        assert_eq!(config_read(&space, u32::MAX, 1), vec![0]);
    }
}
