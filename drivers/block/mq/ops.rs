// SPDX-License-Identifier: GPL-2.0

//! The `struct blk_mq_ops` of an [`Operations`] type, and its C callbacks.

use super::disk::TagSet;
use super::request::{Batch, Completions, Owned, Pdu, Request};
use super::{Busy, Operations, TimeoutAction};
use crate::lib::queuemap::{self, QueueMap};
use core::marker::PhantomData;
use core::sync::atomic::Ordering;
use kernel::bindings;
use kernel::sync::ArcBorrow;

pub(super) struct OpsTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OpsTable<T> {
    const VTABLE: bindings::blk_mq_ops = bindings::blk_mq_ops {
        queue_rq: Some(queue_rq::<T>),
        queue_rqs: if T::HAS_QUEUE_RQS {
            Some(queue_rqs::<T>)
        } else {
            None
        },
        commit_rqs: Some(commit_rqs::<T>),
        get_budget: None,
        put_budget: None,
        set_rq_budget_token: None,
        get_rq_budget_token: None,
        #[cfg(not(rvirtio_no_timeout))]
        timeout: if T::HAS_TIMEOUT {
            Some(timeout::<T>)
        } else {
            None
        },
        // A benchmark build (`RVIRTIO_NO_TIMEOUT=1`): blk-mq re-arms the timer.
        #[cfg(rvirtio_no_timeout)]
        timeout: None,
        poll: if T::HAS_POLL { Some(poll::<T>) } else { None },
        complete: Some(complete::<T>),
        init_hctx: None,
        exit_hctx: None,
        init_request: Some(init_request::<T>),
        exit_request: Some(exit_request::<T>),
        cleanup_rq: None,
        busy: None,
        // Poll queues need the maps laid out, whether or not the driver
        // places its queues itself.
        map_queues: if T::HAS_MAP_QUEUES || T::HAS_POLL {
            Some(map_queues::<T>)
        } else {
            None
        },
        show_rq: None,
    };

    pub(super) const fn get() -> &'static bindings::blk_mq_ops {
        &Self::VTABLE
    }
}

/// # Safety
///
/// `q` must be the request queue of a disk created by [`super::Disk`] for `T`.
unsafe fn queue_data<'a, T: Operations>(
    q: *mut bindings::request_queue,
) -> ArcBorrow<'a, T::QueueData> {
    // SAFETY: `Disk` sets `queuedata` to its `Arc<T::QueueData>` (from
    // `Arc::into_raw`), which it holds until the disk and tag set are gone.
    unsafe { ArcBorrow::from_raw((*q).queuedata.cast::<T::QueueData>()) }
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq with a hardware context of a queue built by [`super::Disk`]
/// for `T` and dispatch data whose request is not yet started.
unsafe extern "C" fn queue_rq<T: Operations>(
    hctx: *mut bindings::blk_mq_hw_ctx,
    bd: *const bindings::blk_mq_queue_data,
) -> bindings::blk_status_t {
    // SAFETY: blk-mq passes a valid hardware context and dispatch data; the
    // request is ours until we end it or return an error.
    let (queue, rq, last) = unsafe {
        (
            queue_data::<T>((*hctx).queue),
            Owned::<T>::start((*bd).rq),
            (*bd).last,
        )
    };
    match T::queue_rq(queue, rq, last) {
        Ok(()) => super::Status::OK.0,
        Err(Busy::Device(mut rq)) => {
            rq.unmap_data();
            rq.into_raw();
            super::bindings::RVIRTIO_BLK_STS_DEV_RESOURCE
        }
        Err(Busy::Resource(mut rq)) => {
            rq.unmap_data();
            rq.into_raw();
            super::bindings::RVIRTIO_BLK_STS_RESOURCE
        }
    }
}

/// C callback: a plug list at once, handed to the driver run by run (one run
/// per hardware queue). What the driver leaves of a run stays at the head of
/// the list, which blk-mq then issues one by one through `queue_rq`.
///
/// # Safety
///
/// Called by blk-mq with a plug list of requests, not yet started, of queues
/// built by [`super::Disk`] for `T`.
unsafe extern "C" fn queue_rqs<T: Operations>(list: *mut bindings::rq_list) {
    // SAFETY: blk-mq passes a valid plug list of our requests.
    while let Some(mut batch) = unsafe { Batch::<T>::head(list) } {
        let hctx = batch.hctx();
        // SAFETY: The batch's hardware context is one of our queue's.
        let (queue, index) = unsafe { (queue_data::<T>((*hctx).queue), (*hctx).queue_num) };
        T::queue_rqs(queue, index, &mut batch);
        if batch.has_more() {
            break;
        }
    }
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq with a tag set built by [`super::Disk`] for `T`.
unsafe extern "C" fn map_queues<T: Operations>(set: *mut bindings::blk_mq_tag_set) {
    // SAFETY: `Disk` builds the tag set as the first field of a `TagSet`
    // (`repr(C)`) and sets `driver_data` to its `Arc<T::QueueData>`, alive
    // with the tag set.
    let (queue, poll, nr_maps, total) = unsafe {
        (
            ArcBorrow::from_raw((*set).driver_data.cast::<T::QueueData>().cast_const()),
            (*set.cast::<TagSet>()).poll_queues,
            (*set).nr_maps,
            (*set).nr_hw_queues,
        )
    };
    let map_of = |kind: u32| {
        // SAFETY: `kind` is below `HCTX_MAX_TYPES`; the maps live with the
        // tag set and blk-mq does not touch them while this runs.
        unsafe { QueueMap::from_raw(core::ptr::addr_of_mut!((*set).map[kind as usize])) }
    };
    // With one map, blk-mq set its `nr_queues` to every hardware queue.
    let others = (nr_maps > 1).then(|| {
        (
            map_of(bindings::hctx_type_HCTX_TYPE_READ),
            map_of(bindings::hctx_type_HCTX_TYPE_POLL),
        )
    });
    let mut default = map_of(bindings::hctx_type_HCTX_TYPE_DEFAULT);
    queuemap::layout(&mut default, others, total, poll, |map| {
        if T::HAS_MAP_QUEUES {
            T::map_queues(queue, map);
        } else {
            map.map_default();
        }
    });
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq with a poll hardware context of a queue built for `T`.
unsafe extern "C" fn poll<T: Operations>(
    hctx: *mut bindings::blk_mq_hw_ctx,
    iob: *mut bindings::io_comp_batch,
) -> core::ffi::c_int {
    // SAFETY: blk-mq passes a valid hardware context of our queue, and the
    // caller's batch (or null).
    let (queue, index, mut done) = unsafe {
        (
            queue_data::<T>((*hctx).queue),
            (*hctx).queue_num,
            Completions::<T>::from_raw(iob),
        )
    };
    core::ffi::c_int::try_from(T::poll(queue, index, &mut done)).unwrap_or(core::ffi::c_int::MAX)
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq with a hardware context of a queue built for `T`.
unsafe extern "C" fn commit_rqs<T: Operations>(hctx: *mut bindings::blk_mq_hw_ctx) {
    // SAFETY: blk-mq passes a valid hardware context of our queue.
    let (queue, index) = unsafe { (queue_data::<T>((*hctx).queue), (*hctx).queue_num) };
    T::commit_rqs(queue, index);
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq (or by `Owned::complete_polled`) once for a request of
/// a queue built for `T` that [`Owned::complete`] or
/// [`Owned::complete_polled`] gave up, and that nothing else ends.
pub(super) unsafe extern "C" fn complete<T: Operations>(rq: *mut bindings::request) {
    // SAFETY: Per the safety requirements we may recreate its unique handle.
    let (queue, rq) = unsafe { (queue_data::<T>((*rq).q), Owned::<T>::from_raw(rq)) };
    T::complete(queue, rq);
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq for an in-flight request of a queue built for `T`.
unsafe extern "C" fn timeout<T: Operations>(
    rq: *mut bindings::request,
) -> bindings::blk_eh_timer_return {
    // SAFETY: blk-mq passes an in-flight request of our queue.
    let (queue, pdu) = unsafe { (queue_data::<T>((*rq).q), Pdu::<T>::of(rq)) };
    if pdu.parked.swap(false, Ordering::AcqRel) {
        // A faked timeout: the device already returned this request.
        // SAFETY: The request was parked by `Owned::complete`, which gave up
        // its handle; completing it is the one way it ends.
        unsafe { bindings::blk_mq_complete_request(rq) };
        return bindings::blk_eh_timer_return_BLK_EH_DONE;
    }
    let expiries = pdu.expiries.fetch_add(1, Ordering::Relaxed) + 1;
    // SAFETY: The request is in flight while its timeout handler runs.
    let request = unsafe { Request::<T>::from_raw(rq) };
    match T::timeout(queue, request, expiries) {
        TimeoutAction::ResetTimer => bindings::blk_eh_timer_return_BLK_EH_RESET_TIMER,
        TimeoutAction::Done => bindings::blk_eh_timer_return_BLK_EH_DONE,
    }
}

/// The type of `init_request`'s NUMA node (7.3 made it signed).
#[cfg(rvirtio_7_3)]
type NumaNode = core::ffi::c_int;
/// The type of `init_request`'s NUMA node (7.3 made it signed).
#[cfg(not(rvirtio_7_3))]
type NumaNode = core::ffi::c_uint;

/// C callback.
///
/// # Safety
///
/// Called by blk-mq with a request of a tag set built for `T`, whose PDU is
/// `cmd_size` bytes and not yet initialised.
unsafe extern "C" fn init_request<T: Operations>(
    _set: *mut bindings::blk_mq_tag_set,
    rq: *mut bindings::request,
    _hctx_idx: core::ffi::c_uint,
    _numa_node: NumaNode,
) -> core::ffi::c_int {
    // SAFETY: The PDU is `cmd_size` bytes, sized and aligned for `Pdu<T>`
    // (checked when the tag set is built), and not yet initialised.
    unsafe { Pdu::<T>::ptr(rq).write(Pdu::default()) };
    0
}

/// C callback.
///
/// # Safety
///
/// Called by blk-mq for a request whose PDU `init_request` initialised,
/// when nothing uses it any more.
unsafe extern "C" fn exit_request<T: Operations>(
    _set: *mut bindings::blk_mq_tag_set,
    rq: *mut bindings::request,
    _hctx_idx: core::ffi::c_uint,
) {
    // SAFETY: `init_request` initialised the PDU; nothing uses it any more.
    unsafe { core::ptr::drop_in_place(Pdu::<T>::ptr(rq)) };
}
