// SPDX-License-Identifier: GPL-2.0

//! The virtio-scsi protocol and rvirtio_scsi's decisions about it, as pure
//! logic: request and response layouts, LUN encoding, the response to
//! host-byte mapping, sense and residual handling, event decoding, and
//! config validation.
//!
//! No kernel dependencies: this file is built into the host test crate
//! (`tests/host`), where `cargo test` checks it, and will be built into the
//! rvirtio_scsi module. Every layout is a byte array, so the sizes are the
//! specification's packed ones (a request header is 51 bytes, not 56).

/// Feature bits (VIRTIO 1.2, 5.6.3).
pub mod feature {
    /// A request may have both data-out and data-in buffers.
    pub const INOUT: u32 = 0;
    /// The device reports hot-plug and hot-unplug events.
    pub const HOTPLUG: u32 = 1;
    /// The device reports parameter changes.
    pub const CHANGE: u32 = 2;
    /// T10 protection information in the request header.
    pub const T10_PI: u32 = 3;
}

/// Offsets of `struct virtio_scsi_config` fields.
pub mod config {
    /// `le32 num_queues`: request queues.
    pub const NUM_QUEUES: u32 = 0;
    /// `le32 seg_max`.
    pub const SEG_MAX: u32 = 4;
    /// `le32 max_sectors`.
    pub const MAX_SECTORS: u32 = 8;
    /// `le32 cmd_per_lun`.
    pub const CMD_PER_LUN: u32 = 12;
    /// `le32 event_info_size`.
    pub const EVENT_INFO_SIZE: u32 = 16;
    /// `le32 sense_size` (the driver writes it).
    pub const SENSE_SIZE: u32 = 20;
    /// `le32 cdb_size` (the driver writes it).
    pub const CDB_SIZE: u32 = 24;
    /// `le16 max_channel`.
    pub const MAX_CHANNEL: u32 = 28;
    /// `le16 max_target`.
    pub const MAX_TARGET: u32 = 30;
    /// `le32 max_lun`.
    pub const MAX_LUN: u32 = 32;
}

/// Virtqueue indexes: the control queue, the event queue, then the request
/// queues.
pub mod vq {
    /// Task management requests.
    pub const CONTROL: u32 = 0;
    /// Event buffers the device fills.
    pub const EVENT: u32 = 1;
    /// The first request queue.
    pub const FIRST_REQUEST: u32 = 2;
}

/// The CDB bytes a request header carries.
pub const CDB_SIZE: usize = 32;
/// The sense bytes a response carries.
pub const SENSE_SIZE: usize = 96;
/// Event buffers kept posted, as in the C driver.
pub const EVENT_BUFFERS: usize = 8;

/// Response codes (`VIRTIO_SCSI_S_*`).
pub mod response {
    /// Success (also `FUNCTION_COMPLETE` for task management).
    pub const OK: u8 = 0;
    /// The data did not fit the buffers.
    pub const OVERRUN: u8 = 1;
    /// The request was aborted.
    pub const ABORTED: u8 = 2;
    /// No such target.
    pub const BAD_TARGET: u8 = 3;
    /// The request was cancelled by a reset.
    pub const RESET: u8 = 4;
    /// The device is busy.
    pub const BUSY: u8 = 5;
    /// A transport failure.
    pub const TRANSPORT_FAILURE: u8 = 6;
    /// The target failed.
    pub const TARGET_FAILURE: u8 = 7;
    /// The nexus failed (a reservation conflict).
    pub const NEXUS_FAILURE: u8 = 8;
    /// Any other failure.
    pub const FAILURE: u8 = 9;
    /// A task management function succeeded.
    pub const FUNCTION_SUCCEEDED: u8 = 10;
    /// A task management function was rejected.
    pub const FUNCTION_REJECTED: u8 = 11;
    /// A task management function named a bad LUN.
    pub const INCORRECT_LUN: u8 = 12;
}

/// `VIRTIO_SCSI_T_TMF`, the control request type of task management.
pub const T_TMF: u32 = 0;

/// Task management functions (`VIRTIO_SCSI_T_TMF_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Tmf {
    /// Abort one command (`eh_abort_handler`).
    AbortTask = 0,
    /// Reset a logical unit (`eh_device_reset_handler`).
    LogicalUnitReset = 5,
}

/// Event types (`VIRTIO_SCSI_T_*`).
pub mod event {
    /// An empty event buffer.
    pub const NO_EVENT: u32 = 0;
    /// A LUN appeared, disappeared or was reset.
    pub const TRANSPORT_RESET: u32 = 1;
    /// An asynchronous notification.
    pub const ASYNC_NOTIFY: u32 = 2;
    /// A LUN's parameters changed.
    pub const PARAM_CHANGE: u32 = 3;
    /// Flag: the device dropped events.
    pub const EVENTS_MISSED: u32 = 0x8000_0000;
    /// TRANSPORT_RESET reason: a hard reset.
    pub const RESET_HARD: u32 = 0;
    /// TRANSPORT_RESET reason: rescan (a LUN appeared).
    pub const RESET_RESCAN: u32 = 1;
    /// TRANSPORT_RESET reason: a LUN was removed.
    pub const RESET_REMOVED: u32 = 2;
}

/// `VIRTIO_SCSI_S_SIMPLE`, the only task attribute Linux sends.
pub const TASK_ATTR_SIMPLE: u8 = 0;

/// The 8-byte virtio-scsi LUN of `target`/`lun`, as the C driver builds it:
/// `1, target, 0x40 | lun >> 8, lun & 0xff` (single-level flat addressing).
pub fn encode_lun(target: u8, lun: u16) -> [u8; 8] {
    [1, target, (lun >> 8) as u8 | 0x40, lun as u8, 0, 0, 0, 0]
}

/// The target and LUN an event names, decoded as the C driver does:
/// `lun[1]` and `lun[2] << 8 | lun[3]` (so a flat-addressed LUN keeps its
/// 0x4000 bit, as Linux numbers such LUNs).
pub fn decode_event_lun(lun: &[u8; 8]) -> (u32, u32) {
    (
        u32::from(lun[1]),
        (u32::from(lun[2]) << 8) | u32::from(lun[3]),
    )
}

/// The command request header (`struct virtio_scsi_cmd_req`, 51 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdReq {
    /// The LUN, see [`encode_lun`].
    pub lun: [u8; 8],
    /// The command's tag, little-endian.
    pub tag: [u8; 8],
    /// Task attribute.
    pub task_attr: u8,
    /// Priority.
    pub prio: u8,
    /// Command reference number.
    pub crn: u8,
    /// The CDB, zero-padded.
    pub cdb: [u8; CDB_SIZE],
}

impl Default for CmdReq {
    fn default() -> Self {
        Self {
            lun: [0; 8],
            tag: [0; 8],
            task_attr: TASK_ATTR_SIMPLE,
            prio: 0,
            crn: 0,
            cdb: [0; CDB_SIZE],
        }
    }
}

impl CmdReq {
    /// A header for `cdb` to `target`/`lun` with `tag`. A CDB longer than
    /// [`CDB_SIZE`] is refused (the host's `max_cmd_len` prevents it).
    pub fn new(target: u8, lun: u16, tag: u64, cdb: &[u8]) -> Option<Self> {
        if cdb.len() > CDB_SIZE {
            return None;
        }
        let mut req = Self {
            lun: encode_lun(target, lun),
            tag: tag.to_le_bytes(),
            ..Self::default()
        };
        req.cdb[..cdb.len()].copy_from_slice(cdb);
        Some(req)
    }
}

/// The command response (`struct virtio_scsi_cmd_resp`, 108 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdResp {
    /// Sense bytes the device wrote, little-endian.
    pub sense_len: [u8; 4],
    /// Residual byte count, little-endian.
    pub resid: [u8; 4],
    /// Status qualifier, little-endian.
    pub status_qualifier: [u8; 2],
    /// SCSI status byte.
    pub status: u8,
    /// The virtio response code ([`response`]).
    pub response: u8,
    /// Sense data.
    pub sense: [u8; SENSE_SIZE],
}

impl Default for CmdResp {
    /// A response that reads as a failure if the device never wrote it.
    fn default() -> Self {
        Self {
            sense_len: [0; 4],
            resid: [0; 4],
            status_qualifier: [0; 2],
            status: 0,
            response: response::FAILURE,
            sense: [0; SENSE_SIZE],
        }
    }
}

/// A task management request (`struct virtio_scsi_ctrl_tmf_req`, 24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TmfReq {
    /// [`T_TMF`], little-endian.
    pub type_: [u8; 4],
    /// The function ([`Tmf`]), little-endian.
    pub subtype: [u8; 4],
    /// The LUN.
    pub lun: [u8; 8],
    /// The tag of the command to abort, little-endian.
    pub tag: [u8; 8],
}

impl TmfReq {
    /// A task management request for `tmf` on `target`/`lun`, about the
    /// command with `tag` (0 for a LUN reset).
    pub fn new(tmf: Tmf, target: u8, lun: u16, tag: u64) -> Self {
        Self {
            type_: T_TMF.to_le_bytes(),
            subtype: (tmf as u32).to_le_bytes(),
            lun: encode_lun(target, lun),
            tag: tag.to_le_bytes(),
        }
    }
}

/// A task management response (`struct virtio_scsi_ctrl_tmf_resp`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmfResp {
    /// The virtio response code ([`response`]).
    pub response: u8,
}

impl Default for TmfResp {
    /// A response that reads as a failure if the device never wrote it.
    fn default() -> Self {
        Self {
            response: response::FAILURE,
        }
    }
}

impl TmfResp {
    /// Whether the function was carried out, as the C driver decides:
    /// `FUNCTION_COMPLETE` (which is `OK`) or `FUNCTION_SUCCEEDED`.
    pub fn succeeded(&self) -> bool {
        matches!(self.response, response::OK | response::FUNCTION_SUCCEEDED)
    }
}

/// An event buffer (`struct virtio_scsi_event`, 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Event type, little-endian.
    pub event: [u8; 4],
    /// The LUN it is about.
    pub lun: [u8; 8],
    /// Reason, little-endian.
    pub reason: [u8; 4],
}

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
pub fn complete(resp: &CmdResp, bufflen: u32) -> Completion {
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
    let claimed = u32::from_le_bytes(resp.sense_len);
    let resid = u32::from_le_bytes(resp.resid);
    Completion {
        host,
        status,
        resid: resid.min(bufflen),
        sense_len: (claimed as usize).min(SENSE_SIZE),
        sense_overflow: claimed as usize > SENSE_SIZE,
        unknown_response,
    }
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

/// Derives the host's shape as the C driver's probe does: `num_queues`
/// (0 means 1) at most one per CPU; `seg_max` and `cmd_per_lun` (0 means
/// 1), the latter at most the request ring's `ring_size`; `max_sectors` (0
/// means 0xffff); `max_target + 1` targets; `max_lun + 1 + 0x4000` LUNs
/// (computed without overflow).
pub fn host_shape(cfg: &RawConfig, nr_cpus: u32, ring_size: u32) -> HostShape {
    let nonzero = |v: u32, default: u32| if v == 0 { default } else { v };
    HostShape {
        request_queues: nonzero(cfg.num_queues, 1).min(nr_cpus.max(1)),
        sg_tablesize: nonzero(cfg.seg_max, 1),
        can_queue: ring_size,
        max_sectors: nonzero(cfg.max_sectors, DEFAULT_MAX_SECTORS),
        cmd_per_lun: nonzero(cfg.cmd_per_lun, 1).min(ring_size),
        max_id: u32::from(cfg.max_target) + 1,
        max_lun: u64::from(cfg.max_lun) + 1 + FLAT_LUN_BASE,
    }
}
