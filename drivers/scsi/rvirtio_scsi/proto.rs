// SPDX-License-Identifier: GPL-2.0

//! The virtio-scsi protocol, as pure logic: feature bits, config offsets,
//! queues, response codes, events, LUN encoding, and the request, response
//! and event layouts; and, in [`answers`], what rvirtio_scsi makes of the
//! device's answers and config.
//!
//! No kernel dependencies: this file and `answers.rs` are built into the
//! module and into the host test crate (`tests/host`), where `cargo test`
//! checks them. Every layout is a byte array, so the sizes are the
//! specification's packed ones (a request header is 51 bytes, not 56).

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

#[path = "answers.rs"]
pub mod answers;
pub use answers::*;

#[cfg_attr(
    rvirtio_scsi,
    expect(dead_code, reason = "the specification's, not all of them used")
)]
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

#[cfg_attr(
    rvirtio_scsi,
    expect(dead_code, reason = "the specification's, not all of them used")
)]
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

#[cfg_attr(
    rvirtio_scsi,
    expect(dead_code, reason = "the specification's, not all of them used")
)]
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

#[cfg_attr(
    rvirtio_scsi,
    expect(dead_code, reason = "the specification's, not all of them used")
)]
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

#[cfg_attr(
    rvirtio_scsi,
    expect(dead_code, reason = "the specification's, not all of them used")
)]
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
    let [high, low] = lun.to_be_bytes();
    [1, target, high | 0x40, low, 0, 0, 0, 0]
}

/// The target and LUN of a command in the form the virtio-scsi LUN
/// encoding carries ([`encode_lun`]): a target below 256, and a LUN below
/// 0x8000 (flat-addressed LUNs, as Linux numbers them, have the 0x4000 bit
/// set; a higher one would read as another addressing method). `None` for
/// an address the encoding cannot carry.
pub fn address(target: u32, lun: u64) -> Option<(u8, u16)> {
    let target = u8::try_from(target).ok()?;
    let lun = u16::try_from(lun).ok().filter(|&l| l < 0x8000)?;
    Some((target, lun))
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
    /// Makes this the header for the CDB in the first `len` bytes of `cdb`
    /// to `target`/`lun` with `tag`, whatever it held before: it is built in
    /// place, as a command's header lives in its private area and is
    /// reused. `cdb` is the command's whole CDB buffer, and goes as it is
    /// (a fixed-size copy, where padding a CDB of any length would cost two
    /// calls per command): the bytes past the CDB are the midlayer's, which
    /// zeroes the buffer before building a CDB in it, and the device reads
    /// the CDB's length from its opcode. A `len` over [`CDB_SIZE`] is
    /// refused (the host's `max_cmd_len` prevents it): the header is left
    /// as it was, and `false` returned.
    pub fn set(
        &mut self,
        target: u8,
        lun: u16,
        tag: u64,
        cdb: &[u8; CDB_SIZE],
        len: usize,
    ) -> bool {
        if len > CDB_SIZE {
            return false;
        }
        self.lun = encode_lun(target, lun);
        self.tag = tag.to_le_bytes();
        self.task_attr = TASK_ATTR_SIMPLE;
        self.prio = 0;
        self.crn = 0;
        self.cdb = *cdb;
        true
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

#[cfg_attr(
    rvirtio_scsi,
    expect(
        dead_code,
        reason = "the host tests build responses; the driver reads bytes"
    )
)]
impl CmdResp {
    /// Its fields before the sense, which [`complete`] decodes.
    pub fn head(&self) -> RespHead {
        RespHead {
            sense_len: self.sense_len,
            resid: self.resid,
            status_qualifier: self.status_qualifier,
            status: self.status,
            response: self.response,
        }
    }
}

/// The size of a command response, in bytes.
pub const CMD_RESP_SIZE: usize = core::mem::size_of::<CmdResp>();

/// Where a command response's sense begins, and how many bytes come
/// before it (its [`RespHead`]).
pub const RESP_SENSE_OFFSET: usize = core::mem::offset_of!(CmdResp, sense);

/// A command response as bytes, as [`CmdResp::default`]: what a command's
/// response holds at first, so that an answer the device never wrote reads
/// as a failure, with no sense.
pub const UNANSWERED: [u8; CMD_RESP_SIZE] = {
    let mut b = [0; CMD_RESP_SIZE];
    b[core::mem::offset_of!(CmdResp, response)] = response::FAILURE;
    b
};

/// The head of [`UNANSWERED`]: written before each command is sent. The
/// sense after it is kept zero instead (see `io.rs`).
pub const UNANSWERED_HEAD: [u8; RESP_SENSE_OFFSET] = {
    let mut b = [0; RESP_SENSE_OFFSET];
    let mut i = 0;
    while i < RESP_SENSE_OFFSET {
        b[i] = UNANSWERED[i];
        i += 1;
    }
    b
};

/// The fields of a command response before its sense: all that a command
/// without sense needs read from the device's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RespHead {
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
}

impl RespHead {
    /// The head of a response whose first bytes are `b`.
    pub fn from_bytes(b: &[u8; RESP_SENSE_OFFSET]) -> Self {
        Self {
            sense_len: [b[0], b[1], b[2], b[3]],
            resid: [b[4], b[5], b[6], b[7]],
            status_qualifier: [b[8], b[9]],
            status: b[10],
            response: b[11],
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
