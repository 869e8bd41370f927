// SPDX-License-Identifier: GPL-2.0

//! Tests of drivers/scsi/virtio_scsi_proto.rs.

use core::mem::size_of;
use proptest::prelude::*;
use rvirtio_host_tests::virtio_scsi_proto::*;

#[test]
fn layouts_are_the_packed_spec_sizes() {
    assert_eq!(size_of::<CmdReq>(), 51);
    assert_eq!(size_of::<CmdResp>(), 108);
    assert_eq!(size_of::<TmfReq>(), 24);
    assert_eq!(size_of::<Event>(), 16);
    assert_eq!(size_of::<TmfResp>(), 1);
}

/// A response as the device lays it out in memory, field by field.
fn resp_bytes(r: &CmdResp) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&r.sense_len);
    b.extend_from_slice(&r.resid);
    b.extend_from_slice(&r.status_qualifier);
    b.push(r.status);
    b.push(r.response);
    b.extend_from_slice(&r.sense);
    b
}

#[test]
fn a_response_head_is_read_from_its_first_bytes() {
    let r = CmdResp {
        sense_len: [1, 2, 3, 4],
        resid: [5, 6, 7, 8],
        status_qualifier: [9, 10],
        status: 11,
        response: 12,
        sense: [0xee; SENSE_SIZE],
    };
    let b = resp_bytes(&r);
    assert_eq!(b.len(), CMD_RESP_SIZE);
    assert_eq!(RESP_SENSE_OFFSET, 12);
    assert_eq!(&b[RESP_SENSE_OFFSET..], &r.sense[..]);
    let head: [u8; RESP_SENSE_OFFSET] = b[..RESP_SENSE_OFFSET].try_into().unwrap();
    assert_eq!(RespHead::from_bytes(&head), r.head());
    // A response nobody wrote reads as a failure, as CmdResp::default().
    assert_eq!(UNANSWERED.to_vec(), resp_bytes(&CmdResp::default()));
    let unanswered: [u8; RESP_SENSE_OFFSET] = UNANSWERED[..RESP_SENSE_OFFSET].try_into().unwrap();
    assert_eq!(unanswered, UNANSWERED_HEAD);
    assert!(UNANSWERED[RESP_SENSE_OFFSET..].iter().all(|&b| b == 0));
    assert_eq!(
        complete(&RespHead::from_bytes(&unanswered), 0).host,
        did::ERROR
    );
}

#[test]
fn lun_encoding_matches_virtio_scsi_init_hdr() {
    assert_eq!(encode_lun(3, 0), [1, 3, 0x40, 0, 0, 0, 0, 0]);
    assert_eq!(encode_lun(0, 0x1234), [1, 0, 0x52, 0x34, 0, 0, 0, 0]);
}

#[test]
fn addresses_the_encoding_carries() {
    assert_eq!(address(0, 0), Some((0, 0)));
    assert_eq!(address(255, 0x3fff), Some((255, 0x3fff)));
    // Flat-addressed LUNs as Linux numbers them (0x4000 | lun).
    assert_eq!(address(1, 0x4123), Some((1, 0x4123)));
    assert_eq!(encode_lun(1, 0x4123), encode_lun(1, 0x0123));
    // Beyond the encoding: a target past 255 would alias another one, a LUN
    // with 0x8000 set another addressing method.
    assert_eq!(address(256, 0), None);
    assert_eq!(address(0, 0x8000), None);
    assert_eq!(address(0, 1 << 32), None);
}

/// A CDB buffer holding `cdb`, zeroed after it as the midlayer leaves it.
fn cdb_buf(cdb: &[u8]) -> [u8; CDB_SIZE] {
    let mut b = [0; CDB_SIZE];
    b[..cdb.len()].copy_from_slice(cdb);
    b
}

#[test]
fn request_header() {
    let mut r = CmdReq::default();
    assert!(r.set(2, 5, 0x1122_3344_5566_7788, &cdb_buf(&[0x28, 0, 1, 2]), 4));
    assert_eq!(r.lun, encode_lun(2, 5));
    assert_eq!(u64::from_le_bytes(r.tag), 0x1122_3344_5566_7788);
    assert_eq!(r.task_attr, TASK_ATTR_SIMPLE);
    assert_eq!(&r.cdb[..4], &[0x28, 0, 1, 2]);
    assert!(r.cdb[4..].iter().all(|&b| b == 0));
    let before = r;
    assert!(!r.set(0, 0, 0, &[0; 32], 33));
    assert_eq!(r, before);
    assert!(r.set(0, 0, 0, &[0; 32], 32));
}

proptest! {
    /// A header built in place over any earlier one holds nothing of it:
    /// it is the header built over a fresh one.
    #[test]
    fn request_header_in_place(
        old in any::<[u8; 51]>(),
        target in any::<u8>(),
        lun in 0u16..0x8000,
        tag in any::<u64>(),
        cdb in proptest::collection::vec(any::<u8>(), 0..=32),
        len in 0usize..=40,
    ) {
        let buf = cdb_buf(&cdb);
        let mut reused = CmdReq {
            lun: old[0..8].try_into().unwrap(),
            tag: old[8..16].try_into().unwrap(),
            task_attr: old[16],
            prio: old[17],
            crn: old[18],
            cdb: old[19..51].try_into().unwrap(),
        };
        let before = reused;
        let mut fresh = CmdReq::default();
        let ok = fresh.set(target, lun, tag, &buf, len);
        prop_assert_eq!(reused.set(target, lun, tag, &buf, len), ok);
        prop_assert_eq!(ok, len <= 32);
        prop_assert_eq!(reused, if ok { fresh } else { before });
        if ok {
            prop_assert_eq!(reused.cdb, buf);
        }
    }
}

#[test]
fn tmf_request() {
    let t = TmfReq::new(Tmf::AbortTask, 1, 2, 99);
    assert_eq!(u32::from_le_bytes(t.type_), T_TMF);
    assert_eq!(u32::from_le_bytes(t.subtype), 0);
    assert_eq!(u64::from_le_bytes(t.tag), 99);
    let t = TmfReq::new(Tmf::LogicalUnitReset, 1, 2, 0);
    assert_eq!(u32::from_le_bytes(t.subtype), 5);
}

#[test]
fn tmf_response_succeeds_like_virtscsi_tmf() {
    for r in 0..=u8::MAX {
        let ok = r == response::OK || r == response::FUNCTION_SUCCEEDED;
        assert_eq!(TmfResp { response: r }.succeeded(), ok, "response {r}");
    }
    assert!(!TmfResp::default().succeeded(), "unwritten means failed");
}

fn resp(response: u8, status: u8) -> CmdResp {
    CmdResp {
        response,
        status,
        ..CmdResp::default()
    }
}

#[test]
fn responses_map_like_virtscsi_complete_cmd() {
    let cases = [
        (response::OK, did::OK),
        (response::OVERRUN, did::ERROR),
        (response::ABORTED, did::ABORT),
        (response::BAD_TARGET, did::BAD_TARGET),
        (response::RESET, did::RESET),
        (response::BUSY, did::BUS_BUSY),
        (response::TRANSPORT_FAILURE, did::TRANSPORT_DISRUPTED),
        (response::TARGET_FAILURE, did::BAD_TARGET),
        (response::FAILURE, did::ERROR),
    ];
    for (r, host) in cases {
        let c = complete(&resp(r, 2).head(), 512);
        assert_eq!(
            (c.host, c.status, c.unknown_response),
            (host, 2, false),
            "{r}"
        );
    }
    let c = complete(&resp(response::NEXUS_FAILURE, 0).head(), 512);
    assert_eq!((c.host, c.status), (did::OK, SAM_STAT_RESERVATION_CONFLICT));
    let c = complete(&resp(200, 0).head(), 512);
    assert_eq!((c.host, c.unknown_response), (did::ERROR, true));
    // An unwritten response is a failure.
    assert_eq!(complete(&CmdResp::default().head(), 0).host, did::ERROR);
}

#[test]
fn sense_and_resid_are_clamped() {
    let mut r = resp(response::OK, 2);
    r.sense_len = 18u32.to_le_bytes();
    r.resid = 100u32.to_le_bytes();
    let c = complete(&r.head(), 4096);
    assert_eq!((c.sense_len, c.sense_overflow, c.resid), (18, false, 100));
    r.sense_len = 1000u32.to_le_bytes();
    r.resid = 10_000u32.to_le_bytes();
    let c = complete(&r.head(), 4096);
    assert_eq!(
        (c.sense_len, c.sense_overflow, c.resid),
        (SENSE_SIZE, true, 4096)
    );
}

fn ev(kind: u32, target: u8, lun: [u8; 2], reason: u32) -> Event {
    Event {
        event: kind.to_le_bytes(),
        lun: [1, target, lun[0], lun[1], 0, 0, 0, 0],
        reason: reason.to_le_bytes(),
    }
}

#[test]
fn events_decode_like_virtscsi_handle_event() {
    use event::*;
    assert_eq!(decode_event(&Event::default()), (false, EventAction::None));
    assert_eq!(
        decode_event(&ev(TRANSPORT_RESET, 2, [0, 0], RESET_RESCAN)),
        (false, EventAction::ScanTarget { target: 2 })
    );
    assert_eq!(
        decode_event(&ev(TRANSPORT_RESET, 2, [0, 3], RESET_RESCAN)),
        (false, EventAction::AddLun { target: 2, lun: 3 })
    );
    assert_eq!(
        decode_event(&ev(TRANSPORT_RESET, 2, [0, 3], RESET_REMOVED)),
        (false, EventAction::RemoveLun { target: 2, lun: 3 })
    );
    // QEMU flags LUNs from 256 up; Linux numbers them with the flag.
    assert_eq!(
        decode_event(&ev(TRANSPORT_RESET, 0, [0x41, 0x02], RESET_REMOVED)),
        (
            false,
            EventAction::RemoveLun {
                target: 0,
                lun: 0x4102
            }
        )
    );
    for ascq in [0x00, 0x01, 0x09] {
        assert_eq!(
            decode_event(&ev(PARAM_CHANGE, 1, [0, 0], 0x2a | (ascq << 8))),
            (false, EventAction::RescanLun { target: 1, lun: 0 })
        );
    }
    assert_eq!(
        decode_event(&ev(PARAM_CHANGE, 1, [0, 0], 0x2a | (0x02 << 8))),
        (false, EventAction::None)
    );
    assert_eq!(
        decode_event(&ev(TRANSPORT_RESET | EVENTS_MISSED, 0, [0, 0], RESET_HARD)),
        (
            true,
            EventAction::Unsupported {
                event: TRANSPORT_RESET,
                reason: RESET_HARD
            }
        )
    );
    assert_eq!(
        decode_event(&ev(EVENTS_MISSED, 0, [0, 0], 0)),
        (true, EventAction::None)
    );
    // Once its rescan is done, the same event without the flag.
    let missed = ev(TRANSPORT_RESET | EVENTS_MISSED, 2, [0, 3], RESET_REMOVED);
    assert_eq!(
        decode_event(&event_without_missed(&missed)),
        (false, EventAction::RemoveLun { target: 2, lun: 3 })
    );
    assert_eq!(
        event_without_missed(&missed),
        ev(TRANSPORT_RESET, 2, [0, 3], RESET_REMOVED)
    );
}

#[test]
fn host_shape_like_virtscsi_probe() {
    let qemu = RawConfig {
        num_queues: 2,
        seg_max: 126,
        max_sectors: 0xffff,
        cmd_per_lun: 128,
        max_target: 255,
        max_lun: 16383,
    };
    let s = host_shape(&qemu, 2, 256);
    assert_eq!(s.request_queues, 2);
    assert_eq!(s.sg_tablesize, 126);
    assert_eq!(s.can_queue, 256);
    assert_eq!(s.cmd_per_lun, 128);
    assert_eq!(s.max_id, 256);
    assert_eq!(s.max_lun, 16384 + 0x4000);
    assert_eq!(clamped(&qemu, &s), [None, None, None]);
    // Absurd values: clamped to what the ring and the encoding carry.
    let absurd = RawConfig {
        num_queues: 1,
        seg_max: 1000,
        max_sectors: 0,
        cmd_per_lun: u32::MAX,
        max_target: u16::MAX,
        max_lun: u32::MAX,
    };
    let s = host_shape(&absurd, 2, 4);
    assert_eq!(
        (s.sg_tablesize, s.cmd_per_lun, s.max_id, s.max_lun),
        (2, 4, 256, 0x8000)
    );
    assert_eq!(
        clamped(&absurd, &s),
        [
            Some(("seg_max", 1000, 2)),
            Some(("max_target", 65535, 255)),
            Some(("max_lun", u64::from(u32::MAX), 0x3fff))
        ]
    );
    assert_eq!(host_shape(&absurd, 2, 1 << 20).cmd_per_lun, 32767);
    // Zeroes, and more queues than CPUs.
    let s = host_shape(
        &RawConfig {
            num_queues: 16,
            ..RawConfig::default()
        },
        4,
        64,
    );
    assert_eq!(
        (
            s.request_queues,
            s.sg_tablesize,
            s.max_sectors,
            s.cmd_per_lun,
            s.max_id,
            s.max_lun
        ),
        (4, 1, DEFAULT_MAX_SECTORS, 1, 1, 1 + 0x4000)
    );
}

proptest! {
    #[test]
    fn completion_never_exceeds_the_buffers(
        response in any::<u8>(),
        sense_len in any::<u32>(),
        resid in any::<u32>(),
        bufflen in any::<u32>(),
    ) {
        let r = CmdResp {
            response,
            sense_len: sense_len.to_le_bytes(),
            resid: resid.to_le_bytes(),
            ..CmdResp::default()
        };
        let c = complete(&r.head(), bufflen);
        prop_assert!(c.sense_len <= SENSE_SIZE);
        prop_assert!(c.resid <= bufflen);
        prop_assert_eq!(c.unknown_response, response > response::FAILURE);
    }

    #[test]
    fn the_fast_path_decodes_as_complete_does(
        response in prop_oneof![Just(response::OK), any::<u8>()],
        sense_len in prop_oneof![Just(0u32), any::<u32>()],
        resid in any::<u32>(),
        status in any::<u8>(),
        bufflen in any::<u32>(),
    ) {
        let r = CmdResp {
            response,
            status,
            sense_len: sense_len.to_le_bytes(),
            resid: resid.to_le_bytes(),
            ..CmdResp::default()
        };
        let c = complete(&r.head(), bufflen);
        match complete_ok(&r.head(), bufflen) {
            Some((s, resid)) => {
                prop_assert_eq!(
                    c,
                    Completion {
                        host: did::OK,
                        status: s,
                        resid,
                        sense_len: 0,
                        sense_overflow: false,
                        unknown_response: false,
                    }
                );
            }
            None => prop_assert!(response != response::OK || sense_len != 0),
        }
    }

    #[test]
    fn host_shape_is_sane(
        num_queues in any::<u32>(),
        seg_max in any::<u32>(),
        cmd_per_lun in any::<u32>(),
        max_target in any::<u16>(),
        max_lun in any::<u32>(),
        cpus in 1u32..512,
        ring in 1u32..32768,
    ) {
        let s = host_shape(
            &RawConfig { num_queues, seg_max, cmd_per_lun, max_target, max_lun, ..RawConfig::default() },
            cpus,
            ring,
        );
        prop_assert!(s.request_queues >= 1 && s.request_queues <= cpus);
        prop_assert!(s.sg_tablesize >= 1 && s.sg_tablesize <= u32::from(u16::MAX));
        // A command (header, response, data) fits the ring.
        prop_assert!(ring < MIN_RING || s.sg_tablesize + 2 <= ring);
        prop_assert!(s.cmd_per_lun >= 1 && s.cmd_per_lun <= ring);
        prop_assert!(i16::try_from(s.cmd_per_lun).is_ok());
        // Every target, and every LUN below max_lun, can be addressed (the
        // REPORT LUNS scan may also try max_lun itself, which the driver
        // fails, as the C driver does).
        prop_assert!(s.max_id >= 1 && s.max_id <= 256);
        prop_assert!(s.max_lun > 0x4000 && s.max_lun <= 0x8000);
        prop_assert!(address(s.max_id - 1, s.max_lun - 1).is_some());
        // What was clamped is said, and only that.
        let said = clamped(
            &RawConfig { num_queues, seg_max, cmd_per_lun, max_target, max_lun, ..RawConfig::default() },
            &s,
        );
        prop_assert_eq!(said[0].is_some(), seg_max > s.sg_tablesize);
        prop_assert_eq!(said[1].is_some(), u32::from(max_target) >= s.max_id);
        prop_assert_eq!(said[2].is_some(), max_lun > MAX_LUN);
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// The device returned an event.
    Push,
    /// A reset or resume asks for a rescan.
    Rescan,
    /// The event work takes one. If it is an event and `missed` is set,
    /// the device says it missed events before it, and the work puts it
    /// back (`rescan_before`), after `between` happened meanwhile (the
    /// work drops the lock in between).
    Next {
        missed: bool,
        between: Option<Box<Op>>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let between = prop_oneof![
        Just(None),
        Just(Some(Box::new(Op::Push))),
        Just(Some(Box::new(Op::Rescan)))
    ];
    prop_oneof![
        Just(Op::Push),
        Just(Op::Rescan),
        Just(Op::Next {
            missed: false,
            between: None
        }),
        Just(Op::Next {
            missed: false,
            between: None
        }),
        between.prop_map(|between| Op::Next {
            missed: true,
            between
        }),
    ]
}

/// Takes a whole rescan from `f`: chunks of at most [`SCAN_CHUNK`]
/// targets, in order from `start`, round to it; `ends` on the last.
fn rescan_all(f: &mut EventFifo<u32, 3>, targets: u32, start: u32) {
    let mut at = start;
    let mut seen = 0;
    loop {
        match f.next(targets) {
            NextEvent::Rescan { targets: r, ends } => {
                assert_eq!(r.start, at);
                assert!(r.end - r.start <= SCAN_CHUNK);
                assert!(r.end > r.start || targets == 0);
                seen += r.end - r.start;
                at = if r.end == targets { 0 } else { r.end };
                assert_eq!(ends, seen == targets);
                if ends {
                    return;
                }
            }
            other => panic!("expected the rescan to go on at {at}, got {other:?}"),
        }
    }
}

fn chunk(targets: core::ops::Range<u32>, ends: bool) -> NextEvent<u32> {
    NextEvent::Rescan { targets, ends }
}

#[test]
fn events_come_out_in_order_with_the_rescan_in_its_place() {
    const T: u32 = 20;
    let mut f = EventFifo::<u32, 3>::default();
    assert_eq!(f.next(T), NextEvent::Idle);
    f.push(1).unwrap();
    f.push(2).unwrap();
    f.rescan();
    f.push(3).unwrap();
    assert_eq!(f.push(4), Err(4));
    assert_eq!(f.next(T), NextEvent::Event(1));
    f.push(4).unwrap();
    assert_eq!(f.next(T), NextEvent::Event(2));
    assert_eq!(f.next(T), chunk(0..8, false));
    // A rescan asked for while one is under way, after events: it follows
    // them.
    f.rescan();
    assert_eq!(f.next(T), chunk(8..16, false));
    assert_eq!(f.next(T), chunk(16..20, true));
    assert_eq!(f.next(T), NextEvent::Event(3));
    assert_eq!(f.next(T), NextEvent::Event(4));
    rescan_all(&mut f, T, 0);
    assert_eq!(f.next(T), NextEvent::Idle);
    assert!(!f.is_pending());
    // Asked for while one is under way and no event is queued, again and
    // again: the one under way goes on round to where it was each time, so
    // every target still gets its turn.
    f.rescan();
    assert_eq!(f.next(T), chunk(0..8, false));
    f.rescan();
    assert_eq!(f.next(T), chunk(8..16, false));
    f.rescan();
    assert_eq!(f.next(T), chunk(16..20, false));
    assert_eq!(f.next(T), chunk(0..8, false));
    assert_eq!(f.next(T), chunk(8..16, true));
    assert_eq!(f.next(T), NextEvent::Idle);
    // A host of one target, and one of none.
    f.rescan();
    assert!(f.is_pending());
    assert_eq!(f.next(1), chunk(0..1, true));
    assert_eq!(f.next(1), NextEvent::Idle);
    f.rescan();
    assert_eq!(f.next(0), chunk(0..0, true));
    assert_eq!(f.next(0), NextEvent::Idle);
    assert!(!f.is_pending());
}

#[test]
fn an_event_that_says_events_were_missed_comes_after_its_rescan() {
    const T: u32 = 9;
    let mut f = EventFifo::<u32, 3>::default();
    f.push(1).unwrap();
    f.push(2).unwrap();
    f.rescan();
    f.push(3).unwrap();
    // Event 1 says the device missed events before it.
    assert_eq!(f.next(T), NextEvent::Event(1));
    f.rescan_before(1).unwrap();
    rescan_all(&mut f, T, 0);
    assert_eq!(f.next(T), NextEvent::Event(1));
    assert_eq!(f.next(T), NextEvent::Event(2));
    // The reset's rescan keeps its place, after event 2.
    rescan_all(&mut f, T, 0);
    assert_eq!(f.next(T), NextEvent::Event(3));
    f.push(4).unwrap();
    f.push(5).unwrap();
    f.push(6).unwrap();
    assert_eq!(f.push(7), Err(7));
    assert_eq!(f.next(T), NextEvent::Event(4));
    f.rescan_before(4).unwrap();
    assert_eq!(f.rescan_before(7), Err(7));
    rescan_all(&mut f, T, 0);
    assert_eq!(f.next(T), NextEvent::Event(4));
    assert_eq!(f.next(T), NextEvent::Event(5));
    assert_eq!(f.next(T), NextEvent::Event(6));
    assert_eq!(f.next(T), NextEvent::Idle);
    assert!(!f.is_pending());
}

/// A rescan the model waits for: asked for when `before` events had been
/// pushed (only targets rescanned once those are out count for it), and
/// the targets rescanned since; for an event put back, that event, which
/// must not come out before.
struct Asked {
    before: u32,
    holds: Option<u32>,
    covered: std::collections::BTreeSet<u32>,
}

proptest! {
    /// Against a model of what the FIFO promises, not of how: every event
    /// comes out once, in the order pushed (none lost while there was
    /// room); after each rescan request, every target is rescanned once
    /// every event pushed before the request is out (so no such event comes
    /// out after); an event put back with `rescan_before` is such a request,
    /// made just before it, and comes out only after; chunks are at most
    /// `SCAN_CHUNK` targets, and a rescan ends after at most as many targets
    /// as the host has since it began or was last asked for.
    #[test]
    fn the_event_fifo_keeps_order_and_rescans_after_what_came_before(
        ops in proptest::collection::vec(op(), 0..200),
        targets in 0u32..40,
    ) {
        const N: usize = 4;
        let mut f = EventFifo::<u32, N>::default();
        let mut pushed = 0u32;
        let mut queued = 0usize;
        let mut out = Vec::new();
        let mut asked: Vec<Asked> = Vec::new();
        // Targets scanned by the rescan under way since it began or was
        // last asked for again.
        let mut scanned = 0u32;
        let push = |f: &mut EventFifo<u32, N>, pushed: &mut u32, queued: &mut usize| {
            let r = f.push(*pushed);
            assert_eq!(r.is_ok(), *queued < N);
            if r.is_ok() {
                *pushed += 1;
                *queued += 1;
            }
        };
        let ask = |f: &mut EventFifo<u32, N>, asked: &mut Vec<Asked>, pushed: u32| {
            f.rescan();
            asked.push(Asked { before: pushed, holds: None, covered: Default::default() });
        };
        let drain = (2 * N + 2) * (3 + 2 * targets as usize / SCAN_CHUNK as usize) * 3;
        let tail = core::iter::repeat_n(Op::Next { missed: false, between: None }, drain);
        for op in ops.into_iter().chain(tail) {
            match op {
                Op::Push => push(&mut f, &mut pushed, &mut queued),
                Op::Rescan => {
                    ask(&mut f, &mut asked, pushed);
                    scanned = 0;
                }
                Op::Next { missed, between } => match f.next(targets) {
                    NextEvent::Event(n) => {
                        queued -= 1;
                        for a in &asked {
                            prop_assert!(a.holds != Some(n), "event {} came out before its rescan", n);
                        }
                        if missed {
                            match between.as_deref() {
                                // One buffer is in the work's hand: the
                                // device can fill only the others.
                                Some(Op::Push) if queued < N - 1 => push(&mut f, &mut pushed, &mut queued),
                                Some(Op::Rescan) => {
                                    ask(&mut f, &mut asked, pushed);
                                    scanned = 0;
                                }
                                _ => {}
                            }
                            prop_assert!(f.rescan_before(n).is_ok());
                            queued += 1;
                            asked.push(Asked { before: n, holds: Some(n), covered: Default::default() });
                        } else {
                            out.push(n);
                        }
                    }
                    NextEvent::Rescan { targets: r, ends } => {
                        prop_assert!(r.end <= targets);
                        prop_assert!(r.end - r.start <= SCAN_CHUNK);
                        prop_assert!(r.end > r.start || targets == 0);
                        scanned += r.end - r.start;
                        prop_assert!(scanned <= targets);
                        let n_out = out.len() as u32;
                        for a in asked.iter_mut() {
                            if n_out >= a.before {
                                a.covered.extend(r.clone());
                            }
                        }
                        asked.retain(|a| a.covered.len() as u32 != targets || n_out < a.before);
                        if ends {
                            scanned = 0;
                        }
                    }
                    NextEvent::Idle => {
                        prop_assert_eq!(queued, 0);
                        prop_assert!(asked.is_empty(), "idle with a rescan owed");
                        prop_assert_eq!(scanned, 0);
                    }
                },
            }
        }
        prop_assert!(!f.is_pending());
        prop_assert!(asked.is_empty(), "a rescan asked for never ran");
        prop_assert_eq!(out, (0..pushed).collect::<Vec<_>>());
    }
}
