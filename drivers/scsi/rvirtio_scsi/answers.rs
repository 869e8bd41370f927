// SPDX-License-Identifier: GPL-2.0

//! What rvirtio_scsi makes of the device's answers and config, as pure
//! logic: the response to host-byte mapping with sense and residual
//! clamping, event decoding, and the host's shape. Part of [`super`]
//! (`proto.rs`), built into the module and the host tests.

use super::{decode_event_lun, event, response, Event, RespHead, SENSE_SIZE};

/// What the midlayer is told about a command the device answered: the
/// `scsi_cmnd` result as `(host byte, status byte)`, as the C driver's
/// `virtscsi_complete_cmd` sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The host byte (`DID_*`).
    pub host: u8,
    /// The SCSI status byte.
    pub status: u8,
    /// The residual to report: the device's, at most the buffer length; 0
    /// leaves the midlayer's untouched.
    pub resid: u32,
    /// How many sense bytes to copy.
    pub sense_len: usize,
    /// The device claimed more sense than a response holds (a misbehaving
    /// device; the C driver WARNs, rvirtio clamps and logs).
    pub sense_overflow: bool,
    /// The response code is not one the specification defines (treated as
    /// FAILURE, and logged).
    pub unknown_response: bool,
}

/// `DID_*` host bytes (`enum scsi_host_status`).
pub mod did {
    /// No error.
    pub const OK: u8 = 0x00;
    /// No connection: the device is gone; not retried.
    pub const NO_CONNECT: u8 = 0x01;
    /// Bus stayed busy.
    pub const BUS_BUSY: u8 = 0x02;
    /// Bad target.
    pub const BAD_TARGET: u8 = 0x04;
    /// Aborted.
    pub const ABORT: u8 = 0x05;
    /// Internal error.
    pub const ERROR: u8 = 0x07;
    /// Reset by somebody.
    pub const RESET: u8 = 0x08;
    /// Transport disrupted: retried without counting.
    pub const TRANSPORT_DISRUPTED: u8 = 0x0e;
}

/// `SAM_STAT_RESERVATION_CONFLICT`.
pub const SAM_STAT_RESERVATION_CONFLICT: u8 = 0x18;

/// Decodes a command response for a buffer of `bufflen` bytes.
pub fn complete(resp: &RespHead, bufflen: u32) -> Completion {
    let mut status = resp.status;
    let mut unknown_response = false;
    let host = match resp.response {
        response::OK => did::OK,
        response::OVERRUN => did::ERROR,
        response::ABORTED => did::ABORT,
        response::BAD_TARGET => did::BAD_TARGET,
        response::RESET => did::RESET,
        response::BUSY => did::BUS_BUSY,
        response::TRANSPORT_FAILURE => did::TRANSPORT_DISRUPTED,
        // As the C driver: a failed target is reported as a bad one.
        response::TARGET_FAILURE => did::BAD_TARGET,
        response::NEXUS_FAILURE => {
            status = SAM_STAT_RESERVATION_CONFLICT;
            did::OK
        }
        response::FAILURE => did::ERROR,
        _ => {
            unknown_response = true;
            did::ERROR
        }
    };
    let claimed = usize::try_from(u32::from_le_bytes(resp.sense_len)).unwrap_or(usize::MAX);
    let resid = u32::from_le_bytes(resp.resid);
    Completion {
        host,
        status,
        resid: resid.min(bufflen),
        sense_len: claimed.min(SENSE_SIZE),
        sense_overflow: claimed > SENSE_SIZE,
        unknown_response,
    }
}

/// The usual answer, decoded with less work than [`complete`] does: a
/// response of OK that claims no sense. `Some((status, resid))` for it,
/// which is what [`complete`] makes of it (host byte OK, no sense, nothing
/// to log); `None` for any other answer, for [`complete`] to decode.
#[inline(always)]
pub fn complete_ok(resp: &RespHead, bufflen: u32) -> Option<(u8, u32)> {
    (resp.response == response::OK && resp.sense_len == [0; 4])
        .then(|| (resp.status, u32::from_le_bytes(resp.resid).min(bufflen)))
}

/// What an event asks the driver to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventAction {
    /// Nothing (an empty buffer).
    None,
    /// Scan a whole target (a rescan event for LUN 0).
    ScanTarget {
        /// The target.
        target: u32,
    },
    /// Add one LUN.
    AddLun {
        /// The target.
        target: u32,
        /// The LUN.
        lun: u32,
    },
    /// Remove one LUN.
    RemoveLun {
        /// The target.
        target: u32,
        /// The LUN.
        lun: u32,
    },
    /// Rescan a LUN's parameters (capacity, mode pages).
    RescanLun {
        /// The target.
        target: u32,
        /// The LUN.
        lun: u32,
    },
    /// A reason or event type the driver does not handle (logged).
    Unsupported {
        /// The event type, without the EVENTS_MISSED flag.
        event: u32,
        /// The reason.
        reason: u32,
    },
}

/// Decodes an event the device wrote, as the C driver's
/// `virtscsi_handle_event` does. The first value says whether the device
/// missed events, in which case the whole host is rescanned (after checking
/// which LUNs are gone) before the action is carried out.
pub fn decode_event(ev: &Event) -> (bool, EventAction) {
    let raw = u32::from_le_bytes(ev.event);
    let missed = raw & event::EVENTS_MISSED != 0;
    let kind = raw & !event::EVENTS_MISSED;
    let reason = u32::from_le_bytes(ev.reason);
    let (target, lun) = decode_event_lun(&ev.lun);
    let action = match kind {
        event::NO_EVENT => EventAction::None,
        event::TRANSPORT_RESET => match reason {
            event::RESET_RESCAN if lun == 0 => EventAction::ScanTarget { target },
            event::RESET_RESCAN => EventAction::AddLun { target, lun },
            event::RESET_REMOVED => EventAction::RemoveLun { target, lun },
            _ => EventAction::Unsupported {
                event: kind,
                reason,
            },
        },
        event::PARAM_CHANGE => {
            // "Parameters changed", "Mode parameters changed" and "Capacity
            // data has changed": ASC 0x2a with ASCQ 0x00, 0x01 or 0x09.
            let asc = reason & 0xff;
            let ascq = (reason >> 8) & 0xff;
            if asc == 0x2a && matches!(ascq, 0x00 | 0x01 | 0x09) {
                EventAction::RescanLun { target, lun }
            } else {
                EventAction::None
            }
        }
        _ => EventAction::Unsupported {
            event: kind,
            reason,
        },
    };
    (missed, action)
}

/// `ev` without its `EVENTS_MISSED` flag: what is left to handle once the
/// rescan the flag demands is done.
pub fn event_without_missed(ev: &Event) -> Event {
    let raw = u32::from_le_bytes(ev.event) & !event::EVENTS_MISSED;
    Event {
        event: raw.to_le_bytes(),
        ..*ev
    }
}

/// The host's shape, from the device's config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostShape {
    /// Request queues to use.
    pub request_queues: u32,
    /// Scatter-gather entries per command.
    pub sg_tablesize: u32,
    /// Commands the host queues (the request ring's size).
    pub can_queue: u32,
    /// Largest command, in 512-byte sectors.
    pub max_sectors: u32,
    /// Commands per LUN.
    pub cmd_per_lun: u32,
    /// Target ids are below this (`shost->max_id`).
    pub max_id: u32,
    /// LUNs are below this (`shost->max_lun`).
    pub max_lun: u64,
}

/// The config fields rvirtio_scsi reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// `num_queues`.
    pub num_queues: u32,
    /// `seg_max`.
    pub seg_max: u32,
    /// `max_sectors`.
    pub max_sectors: u32,
    /// `cmd_per_lun`.
    pub cmd_per_lun: u32,
    /// `max_target`.
    pub max_target: u16,
    /// `max_lun`.
    pub max_lun: u32,
}

/// Where LUNs of 256 and up land in Linux's numbering: they are reported in
/// flat format (`0x40` in the first byte), so they go in 16640-32767.
pub const FLAT_LUN_BASE: u64 = 0x4000;
/// `shost->max_sectors` when the device says 0.
pub const DEFAULT_MAX_SECTORS: u32 = 0xffff;

/// Targets the request header can address (its target is one byte).
pub const MAX_TARGETS: u32 = 256;
/// The highest LUN the request header carries (flat format: 14 bits).
pub const MAX_LUN: u32 = 0x3fff;
/// The fewest descriptors a request ring needs: header, response and one
/// data segment.
pub const MIN_RING: u32 = 3;

/// Derives the host's shape as the C driver's probe does: `num_queues`
/// (0 means 1) at most one per CPU; `seg_max` and `cmd_per_lun` (0 means
/// 1), the latter at most the request ring's `ring_size`; `max_sectors` (0
/// means 0xffff); `max_target + 1` targets; `max_lun + 1 + 0x4000` LUNs
/// (computed without overflow). Unlike the C driver it clamps what the
/// device says to what works: `seg_max` to the ring less the header and
/// the response (a chain is never longer than the ring, VIRTIO 2.7.5.3.1,
/// indirect or not) and to the host template's `unsigned short`;
/// `cmd_per_lun` to its `short`; targets to [`MAX_TARGETS`]; LUNs to
/// [`MAX_LUN`]. See [`clamped`] for which of them the device overstated.
pub fn host_shape(cfg: &RawConfig, nr_cpus: u32, ring_size: u32) -> HostShape {
    let nonzero = |v: u32, default: u32| if v == 0 { default } else { v };
    HostShape {
        request_queues: nonzero(cfg.num_queues, 1).min(nr_cpus.max(1)),
        sg_tablesize: nonzero(cfg.seg_max, 1)
            .min(u32::from(u16::MAX))
            .min(ring_size.saturating_sub(2).max(1)),
        can_queue: ring_size,
        max_sectors: nonzero(cfg.max_sectors, DEFAULT_MAX_SECTORS),
        cmd_per_lun: nonzero(cfg.cmd_per_lun, 1)
            .min(ring_size)
            .min(i16::MAX.unsigned_abs().into()),
        max_id: (u32::from(cfg.max_target) + 1).min(MAX_TARGETS),
        max_lun: u64::from(cfg.max_lun.min(MAX_LUN)) + 1 + FLAT_LUN_BASE,
    }
}

/// The config fields that [`host_shape`] clamped, as `(name, what the
/// device said, what is used)`: each is logged once at probe. (`cmd_per_lun`
/// above the ring is not among them: the C driver takes the ring's size
/// there too.)
pub fn clamped(cfg: &RawConfig, shape: &HostShape) -> [Option<(&'static str, u64, u64)>; 3] {
    let over = |name, said: u64, used: u64| (said > used).then_some((name, said, used));
    [
        over(
            "seg_max",
            u64::from(cfg.seg_max),
            u64::from(shape.sg_tablesize),
        ),
        over(
            "max_target",
            u64::from(cfg.max_target),
            u64::from(shape.max_id) - 1,
        ),
        over(
            "max_lun",
            u64::from(cfg.max_lun),
            shape.max_lun - 1 - FLAT_LUN_BASE,
        ),
    ]
}

/// How many targets one run of the event work rescans, at most: a scan of
/// a whole host (256 targets, each probed with an INQUIRY through a new
/// device) runs for seconds, and a system going to sleep waits for the
/// event work's run (it is on a freezable workqueue) only up to its freeze
/// timeout. The rest of the rescan waits for the next run, after the thaw.
pub const SCAN_CHUNK: u32 = 8;

/// What the event work does next ([`EventFifo::next`]).
#[derive(Debug, PartialEq, Eq)]
pub enum NextEvent<T> {
    /// Handle this event, the oldest not handled yet.
    Event(T),
    /// Do what `EVENTS_MISSED` demands (the device may have dropped events
    /// since the last one handled here) for `targets`: check that each of
    /// their LUNs is still there, then scan them. A rescan is one of these
    /// for each chunk of targets, in order; `ends` on its last.
    Rescan {
        /// The targets of this chunk.
        targets: core::ops::Range<u32>,
        /// Whether the rescan is done with this chunk.
        ends: bool,
    },
    /// Nothing to do.
    Idle,
}

/// A rescan under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Scan {
    /// The next target to rescan.
    next: u32,
    /// How many targets are left, from `next` on, round to target 0.
    left: u32,
}

/// The events the device filled, handled first in, first out, and the
/// rescans a reset or a resume asks for, in their place among them: a
/// rescan begins after every event the device had returned when it was
/// asked for. An event handled after the rescan would undo it if it were
/// older (a removal of a LUN plugged again during the reset); a newer one
/// may come before it (when a later request moved it), as the rescan then
/// is newer still. A rescan under way, which takes several runs of the
/// work ([`SCAN_CHUNK`]), goes on before anything else.
pub struct EventFifo<T, const N: usize> {
    items: [Option<T>; N],
    /// The slot of the oldest event.
    head: usize,
    /// How many events are queued.
    len: usize,
    /// How many queued events come before the rescan, if one is asked for
    /// and not begun.
    rescan_after: Option<usize>,
    /// The rescan under way, if one is.
    scan: Option<Scan>,
}

impl<T, const N: usize> Default for EventFifo<T, N> {
    fn default() -> Self {
        Self {
            items: core::array::from_fn(|_| None),
            head: 0,
            len: 0,
            rescan_after: None,
            scan: None,
        }
    }
}

impl<T, const N: usize> EventFifo<T, N> {
    /// Queues `item` after every other; gives it back if all `N` places
    /// are taken.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.len == N {
            return Err(item);
        }
        let slot = (self.head + self.len) % N;
        self.items[slot] = Some(item);
        self.len += 1;
        Ok(())
    }

    /// Asks for a rescan after every event queued now. One asked for
    /// earlier and not begun yet moves here: this one covers it. One under
    /// way, when no event is queued (nothing lies between), goes on round
    /// to where it is now, so that it covers every target after the
    /// request; otherwise this one follows it.
    pub fn rescan(&mut self) {
        match self.scan.as_mut() {
            Some(scan) if self.len == 0 => {
                scan.left = u32::MAX;
                self.rescan_after = None;
            }
            _ => self.rescan_after = Some(self.len),
        }
    }

    /// Puts `item`, the event [`Self::next`] just gave, back in front, with
    /// a rescan before it: the device says it missed events before this
    /// one. A rescan asked for after other events stays after them. Gives
    /// `item` back if all `N` places are taken.
    pub fn rescan_before(&mut self, item: T) -> Result<(), T> {
        if self.len == N {
            return Err(item);
        }
        self.head = (self.head + N - 1) % N;
        self.items[self.head] = Some(item);
        self.len += 1;
        if let Some(n) = self.rescan_after.as_mut() {
            *n += 1;
        }
        if self.scan.is_none() {
            self.scan = Some(Scan {
                next: 0,
                left: u32::MAX,
            });
        } else if let Some(scan) = self.scan.as_mut() {
            scan.left = u32::MAX;
        }
        Ok(())
    }

    /// Takes what comes next, for a host of `targets` targets.
    pub fn next(&mut self, targets: u32) -> NextEvent<T> {
        if self.scan.is_none() && self.rescan_after == Some(0) {
            self.rescan_after = None;
            self.scan = Some(Scan {
                next: 0,
                left: u32::MAX,
            });
        }
        if let Some(scan) = self.scan {
            // `left` is at most all of them (also for a host with fewer
            // targets than before, or none, while it goes away).
            let left = scan.left.min(targets);
            let from = if scan.next < targets { scan.next } else { 0 };
            let to = from.saturating_add(SCAN_CHUNK.min(left)).min(targets);
            let left = left - (to - from);
            self.scan = (left > 0).then_some(Scan {
                next: if to == targets { 0 } else { to },
                left,
            });
            return NextEvent::Rescan {
                targets: from..to,
                ends: left == 0,
            };
        }
        if self.len == 0 {
            return NextEvent::Idle;
        }
        let Some(item) = self.items[self.head].take() else {
            return NextEvent::Idle;
        };
        self.head = (self.head + 1) % N;
        self.len -= 1;
        if let Some(n) = self.rescan_after.as_mut() {
            *n = n.saturating_sub(1);
        }
        NextEvent::Event(item)
    }

    /// Whether [`Self::next`] has something.
    pub fn is_pending(&self) -> bool {
        self.len != 0 || self.rescan_after.is_some() || self.scan.is_some()
    }
}
