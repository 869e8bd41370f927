// SPDX-License-Identifier: GPL-2.0

//! Tests of drivers/block/virtio_blk_proto.rs.

use proptest::prelude::*;
use rvirtio_host_tests::virtio_blk_proto::*;

fn base_config() -> RawConfig {
    RawConfig {
        capacity: 2048,
        max_dma_size: u64::MAX,
        page_size: 4096,
        ..RawConfig::default()
    }
}

#[test]
fn header_layout_matches_the_spec() {
    assert_eq!(core::mem::size_of::<OutHdr>(), 16);
    let h = header_for(BlockOp::Write, 0x1122_3344_5566, 3).unwrap();
    // SAFETY-free view of the bytes the device reads.
    let bytes: [u8; 16] = unsafe { core::mem::transmute(h) };
    assert_eq!(&bytes[0..4], &1u32.to_le_bytes());
    assert_eq!(&bytes[4..8], &3u32.to_le_bytes());
    assert_eq!(&bytes[8..16], &0x1122_3344_5566u64.to_le_bytes());
}

#[test]
fn request_types() {
    assert_eq!(
        header_for(BlockOp::Read, 8, 0).unwrap().type_(),
        req_type::IN
    );
    assert_eq!(
        header_for(BlockOp::Write, 8, 0).unwrap().type_(),
        req_type::OUT
    );
    assert_eq!(
        header_for(BlockOp::GetId, 8, 0).unwrap().type_(),
        req_type::GET_ID
    );
    assert_eq!(header_for(BlockOp::Unsupported, 8, 0), None);
}

#[test]
fn flush_and_get_id_carry_sector_zero() {
    assert_eq!(header_for(BlockOp::Flush, 1234, 0).unwrap().sector(), 0);
    assert_eq!(header_for(BlockOp::GetId, 1234, 0).unwrap().sector(), 0);
    assert_eq!(header_for(BlockOp::Read, 1234, 0).unwrap().sector(), 1234);
}

#[test]
fn data_direction() {
    assert!(device_writes_data(req_type::IN));
    assert!(device_writes_data(req_type::GET_ID));
    assert!(!device_writes_data(req_type::OUT));
    assert!(!device_writes_data(req_type::FLUSH));
}

#[test]
fn status_mapping_matches_virtblk_result() {
    assert_eq!(outcome(0), Outcome::Ok);
    assert_eq!(outcome(1), Outcome::IoError);
    assert_eq!(outcome(2), Outcome::Unsupported);
    // Unknown statuses, and a status the device never wrote, are errors.
    assert_eq!(outcome(3), Outcome::IoError);
    assert_eq!(outcome(STATUS_UNSET), Outcome::IoError);
}

#[test]
fn default_shape() {
    let s = disk_shape(&base_config()).unwrap();
    assert_eq!(s.capacity, 2048);
    assert_eq!(s.logical_block_size, 512);
    assert_eq!(s.physical_block_size, 0);
    assert_eq!(s.max_segments, 1, "no SEG_MAX means one segment");
    assert_eq!(s.max_segment_size, u32::MAX);
    assert!(!s.read_only && !s.write_cache);
}

#[test]
fn seg_max_and_size_max() {
    let mut c = base_config();
    c.seg_max = Some(126);
    c.size_max = Some(65536);
    let s = disk_shape(&c).unwrap();
    assert_eq!(s.max_segments, 126);
    assert_eq!(s.max_segment_size, 65536);
    c.seg_max = Some(0);
    assert_eq!(disk_shape(&c).unwrap().max_segments, 1);
    c.seg_max = Some(u32::MAX);
    assert_eq!(
        u32::from(disk_shape(&c).unwrap().max_segments),
        MAX_SEGMENTS
    );
    c.max_dma_size = 4096;
    assert_eq!(disk_shape(&c).unwrap().max_segment_size, 4096);
}

#[test]
fn absurd_configs_are_clamped_or_refused() {
    // A capacity whose byte size overflows the block layer's is clamped.
    let mut c = base_config();
    c.capacity = 1 << 63;
    assert_eq!(disk_shape(&c).unwrap().capacity, MAX_CAPACITY);
    c.capacity = u64::MAX;
    assert_eq!(disk_shape(&c).unwrap().capacity, MAX_CAPACITY);
    assert!(MAX_CAPACITY
        .checked_mul(512)
        .is_some_and(|b| b <= i64::MAX as u64));
    // And logging it never overflows.
    assert_eq!(capacity_in_blocks(u64::MAX, 4096).1, u64::MAX);
    assert_eq!(capacity_in_blocks(2048, 4096), (256, 1 << 20));
    assert_eq!(capacity_in_blocks(2049, 512), (2049, 2049 * 512));
    // A segment smaller than a page is refused, not handed to the block
    // layer (which WARNs).
    let mut c = base_config();
    c.size_max = Some(4095);
    assert_eq!(disk_shape(&c), Err(ConfigError::SmallSegmentSize(4095)));
    // Zero is no limit, as in the C driver.
    c.size_max = Some(0);
    assert_eq!(disk_shape(&c).unwrap().max_segment_size, u32::MAX);
    c.size_max = Some(4096);
    assert!(disk_shape(&c).is_ok());
    // seg_max larger than the ring, without indirect descriptors: clamped
    // to what a request can use (ring less header and status).
    assert_eq!(segments_for_ring(126, 128, true), Ok(126));
    assert_eq!(segments_for_ring(1000, 128, false), Ok(126));
    assert_eq!(segments_for_ring(u16::MAX, 128, true), Ok(u16::MAX));
    assert_eq!(segments_for_ring(4, 3, false), Ok(1));
    assert_eq!(
        segments_for_ring(4, 2, false),
        Err(ConfigError::SmallRing(2))
    );
    assert_eq!(
        segments_for_ring(4, 0, false),
        Err(ConfigError::SmallRing(0))
    );
}

#[test]
fn block_sizes() {
    let mut c = base_config();
    for ok in [512, 1024, 2048, 4096] {
        c.blk_size = Some(ok);
        assert_eq!(disk_shape(&c).unwrap().logical_block_size, ok);
    }
    for bad in [0, 256, 513, 3000, 8192, u32::MAX] {
        c.blk_size = Some(bad);
        assert_eq!(disk_shape(&c), Err(ConfigError::BadBlockSize(bad)));
    }
}

#[test]
fn topology() {
    let mut c = base_config();
    c.blk_size = Some(512);
    c.topology = Some((3, 1, 8, 16));
    let s = disk_shape(&c).unwrap();
    assert_eq!(s.physical_block_size, 4096);
    assert_eq!(s.alignment_offset, 512);
    assert_eq!(s.io_min, 4096);
    assert_eq!(s.io_opt, 8192);
    c.topology = Some((40, 0, 0, 0));
    assert_eq!(disk_shape(&c), Err(ConfigError::BadPhysicalBlockExp(40)));
}

#[test]
fn request_queue_count() {
    assert_eq!(request_queues(None, 0, 8), Ok(1));
    assert_eq!(request_queues(Some(4), 0, 8), Ok(4));
    assert_eq!(
        request_queues(Some(4), 0, 2),
        Ok(2),
        "no more than the CPUs"
    );
    assert_eq!(
        request_queues(Some(4), 1, 8),
        Ok(1),
        "num_request_queues limits"
    );
    assert_eq!(request_queues(Some(4), 16, 8), Ok(4));
    assert_eq!(request_queues(Some(0), 0, 8), Err(ConfigError::ZeroQueues));
}

#[test]
fn poll_queue_count() {
    assert_eq!(poll_queues(0, 4), 0);
    assert_eq!(poll_queues(1, 4), 1);
    assert_eq!(poll_queues(8, 4), 3);
    assert_eq!(poll_queues(8, 1), 0);
    assert_eq!(poll_queues(8, 0), 0);
}

#[test]
fn depth() {
    assert_eq!(queue_depth(0, 256, true), 256);
    assert_eq!(queue_depth(0, 256, false), 128);
    assert_eq!(queue_depth(64, 256, false), 64);
    assert_eq!(queue_depth(0, 1, false), 1);
}

fn name(i: u32) -> String {
    let mut b = [0u8; 32];
    let n = disk_name(i, &mut b).unwrap();
    String::from_utf8(b[..n].to_vec()).unwrap()
}

#[test]
fn names_match_virtblk_name_format() {
    assert_eq!(name(0), "vda");
    assert_eq!(name(25), "vdz");
    assert_eq!(name(26), "vdaa");
    assert_eq!(name(27), "vdab");
    assert_eq!(name(701), "vdzz");
    assert_eq!(name(702), "vdaaa");
    assert_eq!(disk_name(0, &mut [0u8; 2]), None);
}

#[test]
fn id_strings() {
    assert_eq!(id_string(b"abc\0\0\0"), b"abc");
    assert_eq!(id_string(&[b'x'; 20]), &[b'x'; 20]);
    assert_eq!(id_string(&[b'y'; 25]).len(), 20);
    assert_eq!(id_string(b"\0abc"), b"");
}

/// The reference: `virtblk_name_format` of drivers/block/virtio_blk.c,
/// re-expressed over strings.
fn reference_name(mut index: i64) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (index % 26) as u8);
        index = index / 26 - 1;
        if index < 0 {
            break;
        }
    }
    s.reverse();
    format!("vd{}", String::from_utf8(s).unwrap())
}

#[test]
fn range_layout_matches_the_spec() {
    assert_eq!(core::mem::size_of::<Range>(), 16);
    let r = Range::new(0x0102_0304_0506, 77, true);
    assert_eq!(u64::from_le(r.sector_le), 0x0102_0304_0506);
    assert_eq!(u32::from_le(r.num_sectors_le), 77);
    assert_eq!(u32::from_le(r.flags_le), WRITE_ZEROES_FLAG_UNMAP);
    assert_eq!(Range::new(1, 2, false).flags_le, 0);
    for (op, t) in [
        (BlockOp::Discard, req_type::DISCARD),
        (BlockOp::WriteZeroes, req_type::WRITE_ZEROES),
        (BlockOp::SecureErase, req_type::SECURE_ERASE),
    ] {
        let h = header_for(op, 999, 0).unwrap();
        assert_eq!((h.type_(), h.sector()), (t, 0));
        assert!(!device_writes_data(t));
    }
}

#[test]
fn no_discard_limits_without_the_features() {
    let s = disk_shape(&base_config()).unwrap();
    assert_eq!(s.max_discard_sectors, 0);
    assert_eq!(s.max_discard_segments, 0);
    assert_eq!(s.discard_granularity, 0);
    assert_eq!(s.max_write_zeroes_sectors, 0);
    assert_eq!(s.max_secure_erase_sectors, 0);
}

#[test]
fn discard_limits_like_virtblk_read_limits() {
    // Zeroes mean "no limit" and "default granularity".
    let c = RawConfig {
        seg_max: Some(126),
        blk_size: Some(4096),
        discard: Some((0, 0, 0)),
        write_zeroes: Some(0),
        ..base_config()
    };
    let s = disk_shape(&c).unwrap();
    assert_eq!(s.max_discard_sectors, u32::MAX);
    assert_eq!(s.max_discard_segments, 126);
    assert_eq!(s.discard_granularity, 4096);
    assert_eq!(s.max_write_zeroes_sectors, u32::MAX);
    // QEMU's values.
    let c = RawConfig {
        seg_max: Some(126),
        discard: Some((0x3fff_ffff, 1, 8)),
        write_zeroes: Some(0x3fff_ffff),
        ..base_config()
    };
    let s = disk_shape(&c).unwrap();
    assert_eq!(s.max_discard_sectors, 0x3fff_ffff);
    assert_eq!(s.max_discard_segments, 1);
    assert_eq!(s.discard_granularity, 4096);
    assert_eq!(s.max_write_zeroes_sectors, 0x3fff_ffff);
    // More segments than the C driver's cap.
    let c = RawConfig {
        discard: Some((8, 100_000, 1)),
        ..base_config()
    };
    assert_eq!(disk_shape(&c).unwrap().max_discard_segments, 256);
}

#[test]
fn secure_erase_limits() {
    let c = RawConfig {
        discard: Some((1000, 8, 16)),
        secure_erase: Some((500, 4, 8)),
        ..base_config()
    };
    let s = disk_shape(&c).unwrap();
    assert_eq!(s.max_secure_erase_sectors, 500);
    assert_eq!(s.max_discard_sectors, 1000);
    assert_eq!(s.max_discard_segments, 4);
    assert_eq!(s.discard_granularity, 8 * 512);
    let bad = |se| {
        disk_shape(&RawConfig {
            secure_erase: Some(se),
            ..base_config()
        })
    };
    assert_eq!(bad((1, 1, 0)), Err(ConfigError::ZeroSecureEraseAlignment));
    assert_eq!(bad((0, 1, 1)), Err(ConfigError::ZeroSecureEraseSectors));
    assert_eq!(bad((1, 0, 1)), Err(ConfigError::ZeroSecureEraseSegments));
}

#[test]
fn config_errors_say_what_is_wrong() {
    assert_eq!(
        ConfigError::BadBlockSize(1000).to_string(),
        "blk_size 1000 is not a power of two between 512 and the page size"
    );
    assert!(ConfigError::ZeroQueues.to_string().contains("num_queues 0"));
}

#[test]
fn cache_modes() {
    assert!(!write_back(None, false));
    assert!(write_back(None, true));
    assert!(!write_back(Some(0), true));
    assert!(write_back(Some(1), false));
    // An absurd wce byte is write back, not a crash.
    assert!(write_back(Some(0xff), false));
    assert_eq!(parse_cache_type(b"write back"), Some(true));
    assert_eq!(parse_cache_type(b"write back\n"), Some(true));
    assert_eq!(parse_cache_type(b"write through\n"), Some(false));
    assert_eq!(parse_cache_type(b"write back\n\n"), None);
    assert_eq!(parse_cache_type(b"writeback"), None);
    assert_eq!(parse_cache_type(b""), None);
}

#[test]
fn geometry_defaults_like_sd() {
    assert_eq!(geometry(Some((100, 16, 63)), 1 << 30), (100, 16, 63));
    assert_eq!(geometry(None, 2048 * 100), (100, 64, 32));
    // The C driver truncates the cylinders to 16 bits.
    assert_eq!(geometry(None, (1u64 << 27) + 2048).0, 1);
}

proptest! {
    #[test]
    fn names_agree_with_reference(i in 0u32..1_000_000) {
        prop_assert_eq!(name(i), reference_name(i64::from(i)));
    }

    #[test]
    fn shape_never_exceeds_what_the_device_allows(
        seg in proptest::option::of(any::<u32>()),
        size in proptest::option::of(any::<u32>()),
        dma in any::<u64>(),
        blk_exp in 9u32..13,
    ) {
        let c = RawConfig {
            seg_max: seg,
            size_max: size,
            max_dma_size: dma,
            blk_size: Some(1 << blk_exp),
            ..base_config()
        };
        let largest = size
            .filter(|&v| v != 0)
            .map_or(dma, |v| dma.min(u64::from(v)));
        if largest < 4096 {
            prop_assert!(disk_shape(&c).is_err());
            return Ok(());
        }
        let s = disk_shape(&c).unwrap();
        prop_assert!(s.max_segments >= 1);
        if let Some(n) = seg.filter(|&n| n > 0) {
            prop_assert!(u32::from(s.max_segments) <= n);
        }
        if let Some(v) = size.filter(|&v| v != 0) {
            prop_assert!(s.max_segment_size <= v);
        }
        prop_assert!(u64::from(s.max_segment_size) <= dma.max(0));
    }

    #[test]
    fn headers_round_trip(sector in any::<u64>(), prio in any::<u16>()) {
        let h = header_for(BlockOp::Read, sector, prio).unwrap();
        prop_assert_eq!(h.sector(), sector);
        prop_assert_eq!(u32::from_le(h.ioprio_le), u32::from(prio));
    }
}
