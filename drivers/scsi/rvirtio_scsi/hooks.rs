// SPDX-License-Identifier: GPL-2.0

//! What the recovery engine asks of rvirtio_scsi: the midlayer needs no
//! quiescing (while the request queues are gone, `queuecommand` reports
//! the host busy); what the device held comes back with `DID_RESET` for the
//! midlayer to retry (`DID_NO_CONNECT` when giving up), task management
//! comes back unanswered, and the event buffers are kept; the queues come
//! back with the sense and CDB sizes written again and the event buffers
//! posted again; giving up takes every LUN offline.

use crate::device::{self, RvirtioScsi, ScsiStats, Shared};
use crate::events;
use crate::lib::debugfs::FileSet;
use crate::proto;
use crate::recovery::Hooks;
use crate::virtio::{Device, DeviceReset};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

impl Hooks for Shared {
    type Driver = RvirtioScsi;
    type Extra = ScsiStats;
    const GIVE_UP: &'static str = "its LUNs go offline, all I/O fails";

    /// The offline work a giving-up reset queued. (Not the event work: it
    /// runs on a freezable queue, frozen by the time the devices sleep.)
    fn flush_work(&self) {
        self.flush_offline_work();
    }

    fn harvest(&self) {
        self.vqs.harvest(crate::io::complete);
    }

    fn take_back(
        this: ArcBorrow<'_, Self>,
        reset: &mut DeviceReset<'_, RvirtioScsi>,
        give_up: bool,
    ) {
        let host = if give_up {
            proto::did::NO_CONNECT
        } else {
            proto::did::RESET
        };
        let returned = this.vqs.take_back(reset, crate::io::complete, |cmd| {
            this.recovery.reclaimed(!give_up);
            // The device may have written sense for it before the reset.
            cmd.data().sense_may_be_dirty();
            cmd.finish(host, 0, 0, &[]);
        });
        this.recovery.reset_harvested(returned);
        let ctrl = this.ctrl.lock().take();
        if let Some(mut vq) = ctrl {
            crate::eh::answer_all(&mut vq);
            crate::eh::reset_all(&mut vq, reset);
            reset.retire(vq);
        }
        events::take_back(this, reset);
    }

    fn bring_up(this: &Arc<Self>, dev: &Device<RvirtioScsi>) -> Result {
        device::create_vqs(dev, this)?;
        device::check_ctrl_ring(dev, this)?;
        device::write_sizes(dev);
        Ok(())
    }

    fn queues_untouched(&self) -> bool {
        self.vqs.is_untouched()
            && self.ctrl.lock().is_untouched()
            && self.events.lock().vq.is_untouched()
    }

    /// The queues open; the event buffers go back to the device; and as
    /// the device may have dropped events without a trace meanwhile, the
    /// event work checks every LUN and scans the host (when the device
    /// sends hot-plug events at all).
    fn publish(this: ArcBorrow<'_, Self>, dev: &Device<RvirtioScsi>) {
        this.open_queues();
        events::repost_idle(&this);
        if dev.has_feature(proto::feature::HOTPLUG) {
            events::lost_events(this);
        }
    }

    /// The request queues are gone, so every command fails; now the LUNs go
    /// offline (in their own work item), so that I/O fails before it
    /// reaches the driver.
    fn give_up(this: ArcBorrow<'_, Self>) {
        Shared::queue_offline_work(this);
    }

    fn extra_files<'a>(extra: &'a ScsiStats, f: &mut FileSet<'a>) {
        f.u64(c_str!("aborts"), &extra.aborts);
        f.u64(c_str!("lun_resets"), &extra.lun_resets);
        f.u64(c_str!("tmf_timeouts"), &extra.tmf_timeouts);
        f.u64(c_str!("tmf_from_reserve"), &extra.tmf_from_reserve);
        f.u64(c_str!("host_resets"), &extra.host_resets);
        f.u64(c_str!("no_queue"), &extra.no_queue);
        f.u64(c_str!("eh_rerouted"), &extra.eh_rerouted);
        f.u64(c_str!("rescans"), &extra.rescans);
    }
}
