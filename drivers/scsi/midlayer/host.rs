// SPDX-License-Identifier: GPL-2.0

//! [`Host`]: a `Scsi_Host` from allocation to `scsi_remove_host`, and the C
//! callbacks of its template.

use super::bindings as sb;
use super::cmd::{cmd_priv, Cmd, CmdPriv, OwnedCmd, ResetCmd};
use super::{EhResult, HostOps, TimedOut};
use crate::lib::queuemap::{self, QueueMap};
use crate::lib::revocable::Revocable;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::AtomicBool;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The host's limits, set before it is added.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HostConfig {
    /// Commands in flight per hardware queue.
    pub(crate) can_queue: u32,
    /// Commands per LUN.
    pub(crate) cmd_per_lun: u32,
    /// Scatter-gather entries per command.
    pub(crate) sg_tablesize: u32,
    /// Largest command, in 512-byte sectors.
    pub(crate) max_sectors: u32,
    /// Target ids are below this.
    pub(crate) max_id: u32,
    /// LUNs are below this.
    pub(crate) max_lun: u64,
    /// Longest CDB.
    pub(crate) max_cmd_len: u32,
    /// Hardware queues, poll queues included.
    pub(crate) nr_hw_queues: u32,
    /// How many of them (the last ones) are poll queues.
    pub(crate) poll_queues: u32,
}

/// What the host's private area (`shost_priv`) holds.
#[repr(C)]
struct Priv {
    /// From `Arc::into_raw`; released when the host is dropped.
    data: *const core::ffi::c_void,
    poll_queues: u32,
}

/// A SCSI host of driver `T`.
///
/// # Invariants
///
/// `shost` was allocated by [`Host::new`] for `T`, with a [`Priv`] whose
/// `data` is an `Arc<T::HostData>` this host holds; `added` says whether
/// `scsi_add_host` succeeded.
pub(crate) struct Host<T: HostOps> {
    shost: NonNull<sb::Scsi_Host>,
    added: bool,
    host_ref: Option<HostRef>,
    _p: PhantomData<T>,
}

/// The host pointer a [`HostRef`] shares.
struct RawHost(*mut sb::Scsi_Host);

// SAFETY: A Scsi_Host may be used from any thread.
unsafe impl Send for RawHost {}

/// A handle on an added host for work items (event handling), revoked when
/// the [`Host`] is dropped, before the host is removed.
#[derive(Clone)]
pub(crate) struct HostRef(Arc<Revocable<RawHost>>);

impl HostRef {
    /// Runs `f` with the host unless it is being removed or the module is
    /// being unloaded; removal waits for `f`, and the module cannot be
    /// unloaded meanwhile (`rmmod` says it is in use): once the module is
    /// going, the midlayer finds none of the host's LUNs (`scsi_device_get`
    /// fails), and a scan would add them again. `f` may sleep; it must not
    /// call `with` again.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&HostCtl) -> R) -> Option<R> {
        // SAFETY: Takes a reference on this module, if it is not going.
        if !unsafe { sb::rvirtio_scsi_module_get() } {
            return None;
        }
        let r = self.0.with(|raw| f(&HostCtl(raw.0)));
        // SAFETY: Drops the reference taken above.
        unsafe { sb::rvirtio_scsi_module_put() };
        r
    }
}

/// What event handling may do to an added host: scan and remove LUNs.
pub(crate) struct HostCtl(*mut sb::Scsi_Host);

impl HostCtl {
    /// How many targets the host has: a scan of the whole host (after the
    /// device missed events) is one of each of `0..max_id()`
    /// ([`Self::scan_target`]), as `scsi_scan_host` does (the host has one
    /// channel, and no id of its own).
    pub(crate) fn max_id(&self) -> u32 {
        // SAFETY: The host is added and not being removed (`HostRef`).
        unsafe { sb::rvirtio_scsi_max_id(self.0) }
    }

    /// Sends every LUN of `targets` an INQUIRY and removes those the
    /// device says are gone (peripheral qualifier not 0, or
    /// `DID_BAD_TARGET`); returns how many. Waits for the commands.
    pub(crate) fn remove_gone_luns(&self, targets: core::ops::Range<u32>) -> u32 {
        // SAFETY: The host is added and not being removed (`HostRef`).
        unsafe { sb::rvirtio_scsi_remove_gone_luns(self.0, targets.start, targets.end) }
    }

    /// Scans every LUN of `target`.
    pub(crate) fn scan_target(&self, target: u32) {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_scan_target(self.0, target) };
    }

    /// Adds LUN `lun` of `target`.
    pub(crate) fn add_lun(&self, target: u32, lun: u64) -> Result {
        // SAFETY: As above.
        to_result(unsafe { sb::rvirtio_scsi_add_lun(self.0, target, lun) })
    }

    /// Removes LUN `lun` of `target`; false if there is no such LUN.
    pub(crate) fn remove_lun(&self, target: u32, lun: u64) -> bool {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_remove_lun(self.0, target, lun) }
    }

    /// Re-reads LUN `lun` of `target` (capacity, mode pages); false if there
    /// is no such LUN.
    pub(crate) fn rescan_lun(&self, target: u32, lun: u64) -> bool {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_rescan_lun(self.0, target, lun) }
    }

    /// The host number.
    pub(crate) fn number(&self) -> u32 {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_host_no(self.0) }
    }

    /// Takes every LUN offline: their I/O fails at once (the device is
    /// gone for good).
    pub(crate) fn offline_all(&self) {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_offline_all(self.0) };
    }
}

// SAFETY: A Scsi_Host may be used and released from any thread.
unsafe impl<T: HostOps> Send for Host<T> {}
// SAFETY: Shared access only calls thread-safe midlayer functions.
unsafe impl<T: HostOps> Sync for Host<T> {}

impl<T: HostOps> Host<T> {
    /// Allocates a host with `data` and the limits of `cfg` (not yet
    /// visible: see [`Self::add`]).
    pub(crate) fn new(data: Arc<T::HostData>, cfg: &HostConfig) -> Result<Self> {
        build_assert!(core::mem::align_of::<CmdPriv<T::CmdData>>() <= 8);
        build_assert!(!core::mem::needs_drop::<T::CmdData>());
        if cfg.poll_queues >= cfg.nr_hw_queues || (cfg.poll_queues != 0 && !T::HAS_POLL) {
            return Err(EINVAL);
        }
        // SAFETY: Plain allocation. The template is the shim's, bound to the
        // first table of callbacks and command size it gets; it refuses
        // (`EINVAL`) those of another type, so every host of the template
        // runs `T`'s callbacks, which the static table keeps.
        let shost = unsafe {
            sb::rvirtio_scsi_host_alloc(
                core::mem::size_of::<Priv>() as u32,
                core::mem::size_of::<CmdPriv<T::CmdData>>() as u32,
                OpsTable::<T>::get(),
            )
        };
        let shost = NonNull::new(kernel::error::from_err_ptr(shost)?).ok_or(ENOMEM)?;
        let raw = sb::rvirtio_scsi_host_config {
            can_queue: cfg.can_queue,
            cmd_per_lun: cfg.cmd_per_lun,
            sg_tablesize: cfg.sg_tablesize,
            max_sectors: cfg.max_sectors,
            max_id: cfg.max_id,
            max_lun: cfg.max_lun,
            max_cmd_len: cfg.max_cmd_len,
            nr_hw_queues: cfg.nr_hw_queues,
            nr_poll_queues: cfg.poll_queues,
        };
        // SAFETY: The host is ours and not yet added; its private area is
        // `size_of::<Priv>()` bytes, aligned to `long`, which suffices.
        unsafe {
            sb::rvirtio_scsi_host_priv(shost.as_ptr())
                .cast::<Priv>()
                .write(Priv {
                    data: Arc::into_raw(data).cast(),
                    poll_queues: cfg.poll_queues,
                });
            sb::rvirtio_scsi_host_configure(shost.as_ptr(), &raw);
        }
        // INVARIANT: Allocated for `T` just now, its `Priv` holding the data's
        // `Arc`; not added yet.
        Ok(Self {
            shost,
            added: false,
            host_ref: None,
            _p: PhantomData,
        })
    }

    /// Adds the host under `parent`: from now on the midlayer may call the
    /// driver.
    pub(crate) fn add(&mut self, parent: &kernel::device::Device) -> Result {
        if self.added {
            return Err(EINVAL);
        }
        // `Device` is a transparent wrapper of `struct device`.
        let parent = core::ptr::from_ref(parent)
            .cast_mut()
            .cast::<kernel::bindings::device>();
        // SAFETY: The host is allocated and not added; `parent` is a live
        // device (the borrow), which the driver core keeps referenced while
        // the host is its child.
        to_result(unsafe { sb::rvirtio_scsi_add_host(self.shost.as_ptr(), parent) })?;
        self.added = true;
        self.host_ref = Some(HostRef(Revocable::new(
            RawHost(self.shost.as_ptr()),
            kernel::c_str!("rvirtio::HostRef"),
            kernel::static_lock_class!(),
        )?));
        Ok(())
    }

    /// Scans the host for LUNs (synchronously).
    pub(crate) fn scan(&self) {
        if self.added {
            // SAFETY: The host is added.
            unsafe { sb::scsi_scan_host(self.shost.as_ptr()) };
        }
    }

    /// A handle for work items; `None` until the host is added.
    pub(crate) fn host_ref(&self) -> Option<HostRef> {
        self.host_ref.clone()
    }

    /// The host number (`hostN` in sysfs).
    pub(crate) fn number(&self) -> u32 {
        // SAFETY: The host is allocated.
        unsafe { sb::rvirtio_scsi_host_no(self.shost.as_ptr()) }
    }
}

impl<T: HostOps> Drop for Host<T> {
    /// Removes the host (every LUN goes, and the midlayer waits for their
    /// commands), then releases the driver's data and the host.
    fn drop(&mut self) {
        // Work items lose the host first, waiting if one is using it.
        if let Some(r) = self.host_ref.take() {
            r.0.revoke();
        }
        // SAFETY: Per the type invariant. After `scsi_remove_host` the
        // midlayer calls none of the template's callbacks, so nothing uses
        // the data any more when it is released.
        unsafe {
            if self.added {
                sb::scsi_remove_host(self.shost.as_ptr());
            }
            let p = sb::rvirtio_scsi_host_priv(self.shost.as_ptr()).cast::<Priv>();
            drop(Arc::from_raw((*p).data.cast::<T::HostData>()));
            sb::scsi_host_put(self.shost.as_ptr());
        }
    }
}

/// The template callbacks of driver `T`, as the shim takes them: the
/// optional ones only when `T` provides them.
struct OpsTable<T: HostOps>(PhantomData<T>);

impl<T: HostOps> OpsTable<T> {
    const OPS: sb::rvirtio_scsi_ops = sb::rvirtio_scsi_ops {
        init_cmd_priv: Some(callbacks::init_cmd_priv::<T>),
        queuecommand: Some(callbacks::queuecommand::<T>),
        commit_rqs: Some(callbacks::commit_rqs::<T>),
        mq_poll: if T::HAS_POLL {
            Some(callbacks::mq_poll::<T>)
        } else {
            None
        },
        // Poll queues need the maps laid out.
        map_queues: if T::HAS_MAP_QUEUES || T::HAS_POLL {
            Some(callbacks::map_queues::<T>)
        } else {
            None
        },
        #[cfg(not(rvirtio_no_timeout))]
        eh_timed_out: if T::HAS_TIMED_OUT {
            Some(callbacks::timed_out::<T>)
        } else {
            None
        },
        // A benchmark build (`RVIRTIO_NO_TIMEOUT=1`): the midlayer's own
        // timeout handling (an abort) runs.
        #[cfg(rvirtio_no_timeout)]
        eh_timed_out: None,
        eh_abort_handler: if T::HAS_ABORT {
            Some(callbacks::abort::<T>)
        } else {
            None
        },
        eh_device_reset_handler: if T::HAS_DEVICE_RESET {
            Some(callbacks::device_reset::<T>)
        } else {
            None
        },
        eh_host_reset_handler: if T::HAS_HOST_RESET {
            Some(callbacks::host_reset::<T>)
        } else {
            None
        },
    };

    fn get() -> &'static sb::rvirtio_scsi_ops {
        &Self::OPS
    }
}

/// The C callbacks of the host template.
mod callbacks {
    use super::*;

    /// # Safety
    ///
    /// `shost` must be a host created by [`Host::new`] for `T` and not yet
    /// dropped.
    unsafe fn priv_of<'a, T: HostOps>(
        shost: *mut sb::Scsi_Host,
    ) -> (ArcBorrow<'a, T::HostData>, u32) {
        // `shost_priv`, found without a call on every command: the private
        // area is the host's trailing `hostdata`.
        let area = shost
            .cast::<u8>()
            .wrapping_add(sb::RVIRTIO_SCSI_HOSTDATA_OFFSET);
        // SAFETY: Per the safety requirements, the private area holds a
        // `Priv` whose `data` came from `Arc::into_raw` and is alive.
        unsafe {
            let p = &*area.cast::<Priv>();
            (
                ArcBorrow::from_raw(p.data.cast::<T::HostData>()),
                p.poll_queues,
            )
        }
    }

    /// `init_cmd_priv`: a request of the host's tag set is allocated; its
    /// private area gets a command's initial `CmdPriv` once, which the
    /// commands that use the request then change in place (the midlayer
    /// does not clear the area of a host whose template has this hook).
    ///
    /// # Safety
    ///
    /// Called by the midlayer with a host of `T` and a newly allocated
    /// command, not yet in use.
    pub(super) unsafe extern "C" fn init_cmd_priv<T: HostOps>(
        _shost: *mut sb::Scsi_Host,
        sc: *mut sb::scsi_cmnd,
    ) -> core::ffi::c_int {
        // SAFETY: The command is allocated with a private area of
        // `size_of::<CmdPriv<T::CmdData>>()` bytes (the template's
        // `cmd_size`, from `Host::new`) right after it, aligned to 8, which
        // suffices (checked there); nobody else uses it yet, and what it
        // held before needs no dropping.
        unsafe {
            cmd_priv::<T>(sc).write(CmdPriv {
                held: AtomicBool::new(false),
                data: T::CmdData::default(),
            })
        };
        0
    }

    /// `queuecommand`.
    ///
    /// # Safety
    ///
    /// Called by the midlayer with a host of `T` and a command to queue.
    pub(super) unsafe extern "C" fn queuecommand<T: HostOps>(
        shost: *mut sb::Scsi_Host,
        sc: *mut sb::scsi_cmnd,
    ) -> sb::rvirtio_scsi_qc_t {
        // SAFETY: The host is `T`'s; the command is ours until we finish it
        // or return busy. Its private area holds the `CmdPriv` that
        // `init_cmd_priv` wrote, as the command's last use left it.
        let (host, cmd) = unsafe { (priv_of::<T>(shost).0, OwnedCmd::<T>::from_raw(sc)) };
        match T::queuecommand(host, cmd) {
            Ok(()) => sb::RVIRTIO_SCSI_QC_OK,
            Err(cmd) => {
                cmd.into_raw();
                sb::RVIRTIO_SCSI_MLQUEUE_HOST_BUSY
            }
        }
    }

    /// `commit_rqs`.
    ///
    /// # Safety
    ///
    /// Called by the midlayer with a host of `T`.
    pub(super) unsafe extern "C" fn commit_rqs<T: HostOps>(shost: *mut sb::Scsi_Host, hwq: u16) {
        // SAFETY: The host is `T`'s.
        let (host, _) = unsafe { priv_of::<T>(shost) };
        T::commit_rqs(host, u32::from(hwq));
    }

    /// `mq_poll`.
    ///
    /// # Safety
    ///
    /// Called by the midlayer with a host of `T`.
    pub(super) unsafe extern "C" fn mq_poll<T: HostOps>(
        shost: *mut sb::Scsi_Host,
        hwq: u32,
    ) -> core::ffi::c_int {
        // SAFETY: The host is `T`'s.
        let (host, _) = unsafe { priv_of::<T>(shost) };
        core::ffi::c_int::try_from(T::poll(host, hwq)).unwrap_or(core::ffi::c_int::MAX)
    }

    /// `map_queues`: the interrupt-driven queues first (the driver places
    /// them), no read queues, then the poll queues, spread evenly.
    ///
    /// # Safety
    ///
    /// Called by the midlayer with a host of `T` while it builds its tag set.
    pub(super) unsafe extern "C" fn map_queues<T: HostOps>(shost: *mut sb::Scsi_Host) {
        // SAFETY: The host is `T`'s; its tag set's maps are ours to fill
        // while this runs, and `type` is below the number of maps.
        unsafe {
            let (host, poll) = priv_of::<T>(shost);
            let total = sb::rvirtio_scsi_host_nr_hw_queues(shost);
            let map_of =
                |kind: u32| QueueMap::from_raw(sb::rvirtio_scsi_host_map(shost, kind).cast());
            let others = (sb::rvirtio_scsi_host_nr_maps(shost) > 1).then(|| {
                (
                    map_of(sb::RVIRTIO_HCTX_TYPE_READ),
                    map_of(sb::RVIRTIO_HCTX_TYPE_POLL),
                )
            });
            let mut default = map_of(sb::RVIRTIO_HCTX_TYPE_DEFAULT);
            // The SCSI midlayer leaves one map's `nr_queues` to the driver.
            default.configure(total, 0);
            queuemap::layout(&mut default, others, total, poll, |map| {
                if T::HAS_MAP_QUEUES {
                    T::map_queues(host, map);
                } else {
                    map.map_default();
                }
            });
        }
    }

    /// `eh_timed_out`.
    ///
    /// # Safety
    ///
    /// Called by the midlayer for an in-flight command of a host of `T`.
    pub(super) unsafe extern "C" fn timed_out<T: HostOps>(
        sc: *mut sb::scsi_cmnd,
    ) -> core::ffi::c_int {
        // SAFETY: The command is in flight on a host of `T` while its
        // timeout handler runs.
        let (host, cmd) = unsafe {
            (
                priv_of::<T>(sb::rvirtio_scsi_cmd_host(sc)).0,
                Cmd::<T>::from_raw(sc),
            )
        };
        match T::timed_out(host, cmd) {
            TimedOut::ResetTimer => sb::RVIRTIO_SCSI_EH_RESET_TIMER,
            TimedOut::Done => sb::RVIRTIO_SCSI_EH_DONE,
            TimedOut::NotHandled => sb::RVIRTIO_SCSI_EH_NOT_HANDLED,
        }
    }

    fn disposition(r: EhResult) -> core::ffi::c_int {
        match r {
            EhResult::Success => sb::RVIRTIO_SCSI_SUCCESS,
            EhResult::Failed => sb::RVIRTIO_SCSI_FAILED,
        }
    }

    /// `eh_abort_handler`.
    ///
    /// # Safety
    ///
    /// Called by the midlayer for a timed-out command of a host of `T`.
    pub(super) unsafe extern "C" fn abort<T: HostOps>(sc: *mut sb::scsi_cmnd) -> core::ffi::c_int {
        // SAFETY: The command is in flight (timed out, not finished) on a
        // host of `T` while its abort handler runs.
        let (host, cmd) = unsafe {
            (
                priv_of::<T>(sb::rvirtio_scsi_cmd_host(sc)).0,
                Cmd::<T>::from_raw(sc),
            )
        };
        disposition(T::abort(host, cmd))
    }

    /// `eh_device_reset_handler`.
    ///
    /// # Safety
    ///
    /// Called by the midlayer with a command (maybe a dummy) of a live
    /// device of a host of `T`.
    pub(super) unsafe extern "C" fn device_reset<T: HostOps>(
        sc: *mut sb::scsi_cmnd,
    ) -> core::ffi::c_int {
        // SAFETY: The command's device and host are alive while the handler
        // runs; only they are looked at.
        let (host, cmd) = unsafe {
            (
                priv_of::<T>(sb::rvirtio_scsi_cmd_host(sc)).0,
                ResetCmd::<T>::from_raw(sc),
            )
        };
        disposition(T::device_reset(host, cmd))
    }

    /// `eh_host_reset_handler`.
    ///
    /// # Safety
    ///
    /// As for [`device_reset`].
    pub(super) unsafe extern "C" fn host_reset<T: HostOps>(
        sc: *mut sb::scsi_cmnd,
    ) -> core::ffi::c_int {
        // SAFETY: As above.
        let host = unsafe { priv_of::<T>(sb::rvirtio_scsi_cmd_host(sc)).0 };
        disposition(T::host_reset(host))
    }
}
