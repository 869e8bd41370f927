// SPDX-License-Identifier: GPL-2.0

//! What the recovery engine asks of rvirtio_blk: the disk's queue is
//! quiesced around a reset and frozen (for a bounded time) at sleep and
//! remove; what the device held is requeued through blk-mq, up to
//! `request_retries` resets per request; the queues come back with the
//! cache mode the user chose; giving up marks the disk dead.

use crate::device::{self, RvirtioBlk, Shared, WCE_UNSET};
use crate::lib::time;
use crate::mq::{Owned, QueueCtl, Status};
use crate::params;
use crate::proto::{self, feature};
use crate::recovery::policy::{self, Reclaim};
use crate::recovery::{Drain, Hooks};
use crate::virtio::{Device, DeviceReset};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The longest sleep and remove wait for requests in flight, in seconds.
const DRAIN_SECS: u32 = 10;

impl Shared {
    /// Runs `f` with the disk's queue, if there is a disk.
    fn with_queue(&self, f: impl FnOnce(&QueueCtl<'_>)) {
        let queue = self.queue.lock().clone();
        if let Some(queue) = queue {
            queue.with(f);
        }
    }
}

impl Hooks for Shared {
    type Driver = RvirtioBlk;
    type Extra = ();
    const GIVE_UP: &'static str = "the disk is dead, all I/O fails";

    fn quiesce(&self) {
        self.with_queue(|q| q.quiesce());
    }

    fn unquiesce(&self) {
        let kick = self.requeued.swap(false, Ordering::Relaxed);
        self.with_queue(|q| {
            q.unquiesce();
            if kick {
                q.kick_requeue_list();
            }
        });
    }

    /// Freezes the queue for at most `min(io_timeout, 10)` seconds, so that
    /// requests in flight usually end normally, then quiesces it and ends
    /// the freeze, all inside one [`QueueRef::with`]: the `QueueRef`'s
    /// mutex is never taken while the queue is frozen (on 7.3 lockdep
    /// counts a freeze as a lock, and the capacity update allocates memory
    /// under that mutex).
    ///
    /// [`QueueRef::with`]: crate::mq::QueueRef::with
    fn drain_and_quiesce(&self, _why: Drain) -> bool {
        let bound = time::secs_to_jiffies(params::io_timeout().min(DRAIN_SECS));
        let mut drained = true;
        self.with_queue(|q| drained = q.drain_and_quiesce(bound));
        drained
    }

    fn flush_work(&self) {
        self.flush_config_work();
    }

    fn harvest(&self) {
        self.vqs.harvest(Owned::complete);
    }

    /// Completes what the device returned during the reset; requeues what
    /// it still held, or fails it when giving up or once it went through
    /// `request_retries` resets.
    fn take_back(
        this: ArcBorrow<'_, Self>,
        reset: &mut DeviceReset<'_, RvirtioBlk>,
        give_up: bool,
    ) {
        let retries = params::request_retries();
        let returned = this.vqs.take_back(reset, Owned::complete, |rq| {
            let requeue = policy::reclaim(give_up, rq.requeues(), retries) == Reclaim::Requeue;
            this.recovery.reclaimed(requeue);
            if requeue {
                this.requeued.store(true, Ordering::Relaxed);
                rq.requeue();
            } else {
                rq.end(Status::IO_ERROR);
            }
        });
        this.recovery.reset_harvested(returned);
    }

    /// Creates the queues again and writes the cache mode the user chose
    /// through `cache_type`: a reset device starts from its default.
    fn bring_up(this: &Arc<Self>, dev: &Device<RvirtioBlk>) -> Result {
        device::create_vqs(dev, this)?;
        let wce = this.wce.load(Ordering::Relaxed);
        if wce != WCE_UNSET && dev.has_feature(feature::CONFIG_WCE) {
            dev.write_u8(proto::config::WRITEBACK, u8::from(wce != 0));
        }
        Ok(())
    }

    fn queues_untouched(&self) -> bool {
        self.vqs.is_untouched()
    }

    fn publish(this: ArcBorrow<'_, Self>, _dev: &Device<RvirtioBlk>) {
        this.vqs.publish();
    }

    /// Marks the disk dead. Its queues are gone, so every request, requeued
    /// or new, already ends with an I/O error; now new I/O fails before it
    /// is even queued.
    fn give_up(this: ArcBorrow<'_, Self>) {
        this.with_queue(|q| q.mark_dead());
    }
}
