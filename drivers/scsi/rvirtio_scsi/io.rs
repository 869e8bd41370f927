// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi's command path: what a command looks like on the ring, how
//! it reaches its request queue and comes back (interrupt or poll), and the
//! midlayer's callbacks, whose error handlers are in `eh.rs`.

use crate::device::{RvirtioScsi, Shared};
use crate::lib::queuemap::QueueMap;
use crate::lib::ratelimit::{Held, RateLimit};
use crate::lib::time;
use crate::proto::{self, CmdReq, RespHead, CMD_RESP_SIZE, RESP_SENSE_OFFSET};
use crate::recovery::stats::bump;
use crate::recovery::{Reason, Recovery, Refused, State};
use crate::scsi::{Cmd, CmdInfo, Direction, EhResult, HostOps, OwnedCmd, ResetCmd, TimedOut};
use crate::virtio::{self, Chain, DeviceWritable, Mapped, Words};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

/// Per-command data: the request header the device reads and the response
/// it writes (aligned to 8 at most, as the private area requires).
pub(crate) struct ScsiCmd {
    /// The request header; it and the response keep their scatterlists
    /// (the private area does not move).
    req: Mapped<CmdReq>,
    /// A [`proto::CmdResp`] as bytes: most answers carry no sense, and
    /// only the head is then read, a word at a time.
    resp: Mapped<DeviceWritable<Words<CMD_RESP_SIZE>>>,
    /// Which way the data goes, and how much there is: read at
    /// `queuecommand`, kept for describing the command and finishing it.
    direction: Direction,
    bufflen: u32,
    /// Fault injection: send the command without its response buffer and
    /// data, which the device must treat as malformed.
    malformed: bool,
    /// Fault injection: take the answer as claiming 1000 sense bytes.
    bad_sense: bool,
    /// The sense area may hold sense of an earlier command: an answer
    /// claimed some, or a reset took the command back, after the device
    /// may have written some. The next `queuecommand` zeroes it.
    sense_dirty: AtomicBool,
    /// The request queue the command was given to: its hardware queue's,
    /// but an error handler's command on a poll queue goes to an
    /// interrupt-driven one, as nobody may poll for it.
    queue: u32,
}

impl Default for ScsiCmd {
    fn default() -> Self {
        Self {
            req: Mapped::default(),
            resp: Mapped::new(DeviceWritable::words(proto::UNANSWERED)),
            direction: Direction::None,
            bufflen: 0,
            malformed: false,
            bad_sense: false,
            sense_dirty: AtomicBool::new(false),
            queue: 0,
        }
    }
}

impl ScsiCmd {
    /// The request queue the command was last given to.
    pub(crate) fn queue(&self) -> u32 {
        self.queue
    }

    /// The device may have written sense that the next command, if the
    /// device claims sense without writing it, must not be given: the
    /// sense area is zeroed before the next command is sent. (A flag, not
    /// the zeroing itself: it is set where only a shared view is at hand.)
    pub(crate) fn sense_may_be_dirty(&self) {
        self.sense_dirty.store(true, Ordering::Relaxed);
    }
}

impl virtio::Token for OwnedCmd<RvirtioScsi> {
    /// Header, data out; response, data in. Inlined into `Virtqueue::add`,
    /// which runs it under the queue's lock.
    #[inline(always)]
    fn describe<'a>(cmd: &'a Cmd<RvirtioScsi>, chain: &mut Chain<'a>) {
        let d = cmd.data();
        chain.read_mapped(&d.req);
        if d.malformed {
            return;
        }
        let data = cmd.data_buffer();
        let direction = d.direction;
        if let (Direction::ToDevice, Some(list)) = (direction, data) {
            chain.sg_list(list, false);
        }
        chain.write_mapped(&d.resp);
        if let (Direction::FromDevice, Some(list)) = (direction, data) {
            chain.sg_list(list, true);
        }
    }
}

/// The device's answers that are logged (at most once per few seconds
/// each: a device can send them for every command, in interrupt context).
static UNKNOWN_RESPONSE: RateLimit = RateLimit::new();
static SENSE_OVERFLOW: RateLimit = RateLimit::new();

/// Finishes a command the device returned, as `virtscsi_complete_cmd` does.
pub(crate) fn complete(cmd: OwnedCmd<RvirtioScsi>) {
    let d = cmd.data();
    let resp = RespHead::from_bytes(&d.resp.bytes::<0, RESP_SENSE_OFFSET>());
    if !d.bad_sense {
        if let Some((status, resid)) = proto::complete_ok(&resp, d.bufflen) {
            cmd.finish(proto::did::OK, status, resid, &[]);
            return;
        }
    }
    complete_other(cmd, resp);
}

/// Finishes a command whose answer is not the usual one (see
/// [`proto::complete_ok`]).
#[cold]
#[inline(never)]
fn complete_other(cmd: OwnedCmd<RvirtioScsi>, mut resp: RespHead) {
    let d = cmd.data();
    if d.bad_sense {
        // Fault injection: the device claims far more sense than it can.
        resp.sense_len = 1000u32.to_le_bytes();
    }
    let c = proto::complete(&resp, d.bufflen);
    if c.unknown_response {
        if let Some(held) = UNKNOWN_RESPONSE.check() {
            pr_warn!("unknown response {}{}\n", resp.response, Held(held));
        }
    }
    if c.sense_overflow {
        if let Some(held) = SENSE_OVERFLOW.check() {
            pr_warn!(
                "device claims {} sense bytes, more than {}{}\n",
                u32::from_le_bytes(resp.sense_len),
                proto::SENSE_SIZE,
                Held(held)
            );
        }
    }
    if c.sense_len != 0 {
        finish_with_sense(cmd, &c);
    } else {
        cmd.finish(c.host, c.status, c.resid, &[]);
    }
}

/// Finishes a command whose answer claims sense: apart from [`complete_other`],
/// so that the usual answer, without sense, needs no room for it.
#[cold]
#[inline(never)]
fn finish_with_sense(cmd: OwnedCmd<RvirtioScsi>, c: &proto::Completion) {
    let d = cmd.data();
    let mut sense = [0u8; proto::SENSE_SIZE];
    let n = d.resp.copy_bytes(
        RESP_SENSE_OFFSET,
        &mut sense[..c.sense_len.min(proto::SENSE_SIZE)],
    );
    // Sense a device claims for a later command without writing it must
    // not be this command's (another LUN's, another user's).
    d.sense_may_be_dirty();
    cmd.finish(c.host, c.status, c.resid, &sense[..n]);
}

/// Writes the request header of `cmd` (whose id is `id`) in place; `false`
/// for an address the encoding cannot carry (the host's limits, clamped by
/// `host_shape`, keep the midlayer below them) or an oversized CDB.
fn set_request(req: &mut CmdReq, id: u64, info: &CmdInfo<'_>) -> bool {
    let (target, lun) = info.address();
    proto::address(target, lun)
        .is_some_and(|(target, lun)| req.set(target, lun, id, info.cdb(), info.cdb_len()))
}

/// A command arrived while the device has no queues. Only a device that
/// will never have queues again fails it: one given up (Dead) or taken down
/// (Deleting), states nothing leaves. Any other (a reset or a sleep going
/// on, or one that ended since the slot was found empty) has the midlayer
/// retry it later. So reading the state after dropping the slot's lock
/// cannot fail a healthy command: a reset that finished meanwhile left the
/// device Live, and the command is retried.
fn no_queues(shared: &Shared, cmd: OwnedCmd<RvirtioScsi>) -> Result<(), OwnedCmd<RvirtioScsi>> {
    let r = &shared.recovery;
    bump(&r.stats().extra.no_queue);
    // Fault injection: widen the window between finding the slot empty and
    // reading the state. Busy-waits: this may run in atomic context.
    time::delay_ms(r.fault_value(&r.stats().knobs.noqueue_delay_ms).min(1000));
    if matches!(r.state(), State::Dead | State::Deleting) {
        cmd.finish(proto::did::NO_CONNECT, 0, 0, &[]);
        Ok(())
    } else {
        Err(cmd)
    }
}

/// The device returned buffers on queue `index`.
pub(crate) fn vq_done(shared: ArcBorrow<'_, Shared>, index: u32) {
    if index >= proto::vq::FIRST_REQUEST {
        let r = &shared.recovery;
        if r.shot(&r.stats().knobs.drop_irqs) {
            // Fault injection: a lost interrupt. The responses stay on the
            // used ring until a timeout harvests them.
            return;
        }
        if shared
            .vqs
            .interrupt(index - proto::vq::FIRST_REQUEST, complete)
        {
            Recovery::schedule(shared, Reason::BrokenQueue);
        }
    } else if index == proto::vq::EVENT {
        crate::events::done(shared);
    } else {
        crate::eh::answered(&shared);
    }
}

#[vtable]
impl HostOps for RvirtioScsi {
    type HostData = Shared;
    type CmdData = ScsiCmd;

    fn queuecommand(
        shared: ArcBorrow<'_, Shared>,
        mut cmd: OwnedCmd<Self>,
    ) -> Result<(), OwnedCmd<Self>> {
        let id = cmd.id();
        // The data is as the command's last use left it: every field is
        // set here.
        let (info, d) = cmd.info_and_data_mut();
        if info.direction() == Direction::Bidirectional || !set_request(&mut d.req, id, &info) {
            // virtio-scsi without VIRTIO_SCSI_F_INOUT carries one direction.
            cmd.fail();
            return Ok(());
        }
        d.req.prepare();
        d.resp.prepare();
        d.direction = info.direction();
        d.bufflen = info.bufflen();
        let last = info.is_last();
        let hwq = info.hw_queue();
        let from_eh = info.sent_by_error_handler();
        let r = &shared.recovery;
        let knobs = &r.stats().knobs;
        // The head only: an answer the device never writes reads as a
        // failure. The sense after it is zero unless the device wrote some
        // it did not claim (claimed, or taken back: zeroed here).
        d.resp
            .set_bytes::<0, RESP_SENSE_OFFSET>(proto::UNANSWERED_HEAD);
        if *d.sense_dirty.get_mut() {
            d.resp
                .set_bytes::<RESP_SENSE_OFFSET, { proto::SENSE_SIZE }>([0; proto::SENSE_SIZE]);
            *d.sense_dirty.get_mut() = false;
        }
        d.malformed = r.shot(&knobs.inject_malformed);
        d.bad_sense = r.shot(&knobs.inject_sense_len);
        if r.shot(&knobs.inject_reset) {
            Recovery::schedule(shared, Reason::Injected);
        }
        let queue = if from_eh {
            shared.vqs.interrupt_queue(hwq)
        } else {
            hwq
        };
        cmd.data_mut().queue = queue;
        // Notified after the unlock, as virtio_scsi does.
        match shared.vqs.submit(queue, cmd, last) {
            Ok(()) => {
                if queue != hwq {
                    bump(&r.stats().extra.eh_rerouted);
                }
                Ok(())
            }
            Err(Refused::Full(cmd) | Refused::NoMemory(cmd)) => Err(cmd),
            Err(Refused::NoQueue(cmd)) => no_queues(&shared, cmd),
            // A broken queue is mended by a reset; the command waits for it
            // (host busy) rather than failing.
            Err(Refused::Broken(cmd)) => {
                Recovery::schedule(shared, Reason::BrokenQueue);
                Err(cmd)
            }
            Err(Refused::Invalid(cmd)) => {
                // As the C driver does for a command it cannot describe.
                cmd.finish(proto::did::BAD_TARGET, 0, 0, &[]);
                Ok(())
            }
        }
    }

    fn commit_rqs(shared: ArcBorrow<'_, Shared>, hwq: u32) {
        shared.vqs.commit(hwq);
    }

    /// A poll queue: take what the device finished.
    fn poll(shared: ArcBorrow<'_, Shared>, hwq: u32) -> u32 {
        let n = shared.vqs.drain(hwq, complete);
        shared.recovery.polled(n);
        n
    }

    /// Hardware queue `q` is request virtqueue `2 + q`: it serves the CPUs
    /// its interrupt is affine to, as `blk_mq_virtio_map_queues(map, vdev, 2)`
    /// does for the C driver.
    fn map_queues(shared: ArcBorrow<'_, Shared>, map: &mut QueueMap) {
        shared.vqs.map_queues(shared.recovery.dev(), map);
    }

    fn timed_out(shared: ArcBorrow<'_, Shared>, cmd: &Cmd<Self>) -> TimedOut {
        crate::eh::timed_out(shared, cmd)
    }

    fn abort(shared: ArcBorrow<'_, Shared>, cmd: &Cmd<Self>) -> EhResult {
        crate::eh::abort(shared, cmd)
    }

    fn device_reset(shared: ArcBorrow<'_, Shared>, cmd: &ResetCmd<Self>) -> EhResult {
        crate::eh::device_reset(shared, cmd)
    }

    fn host_reset(shared: ArcBorrow<'_, Shared>) -> EhResult {
        crate::eh::host_reset(shared)
    }
}
