// SPDX-License-Identifier: GPL-2.0
//! The device: vhost-user-backend's `VhostUserBackend`, the rings, and the
//! misbehaviours the control socket switches on.
//!
//! All ring work (kicks from the vring worker thread, the control socket's
//! threads, the slow-mode thread) happens under the one `State` lock, so
//! the rings see one thread at a time. The vhost-user thread (QEMU's
//! messages) only touches the rings through `Vring`, whose generation
//! counter changes whenever QEMU stops, disables or reprograms a ring:
//! a request held across that is dropped, never completed into the new
//! ring.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use vhost::vhost_user::message::VhostUserProtocolFeatures;
use vhost_user_backend::{
    VhostUserBackend, VringMutex, VringState, VringStateGuard, VringStateMutGuard, VringT,
};
use virtio_queue::{Error as QueueError, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestAddressSpace, GuestMemoryAtomic};
use vmm_sys_util::epoll::EventSet;

use crate::args::Options;
use crate::config;
use crate::control::{Cmd, Handler, Hostile, HELP};
use crate::disk::Disk;
use crate::request::{self, Caps, Desc, Mem, Request};

pub type GM = GuestMemoryAtomic<Mem>;

// ------------------------------------------------------------- the vrings --

/// Ring events seen on the vhost-user thread.
pub struct RingEvents {
    pub starts: AtomicU64,
    pub disables: AtomicU64,
}

pub static RING_EVENTS: RingEvents = RingEvents {
    starts: AtomicU64::new(0),
    disables: AtomicU64::new(0),
};

/// vhost-user-backend's `VringMutex`, plus a generation that changes
/// whenever the frontend stops, disables or reprograms the ring.
#[derive(Clone)]
pub struct Vring {
    inner: VringMutex<GM>,
    gen: Arc<AtomicU64>,
    index: usize,
}

/// Every vring the library made, by queue index (it makes them once, in
/// order, for the one daemon of this process).
static VRINGS: Mutex<Vec<Vring>> = Mutex::new(Vec::new());

fn vring(q: usize) -> Option<Vring> {
    VRINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(q)
        .cloned()
}

impl Vring {
    pub fn gen(&self) -> u64 {
        self.gen.load(Ordering::SeqCst)
    }

    fn bump(&self, why: &str) {
        let g = self.gen.fetch_add(1, Ordering::SeqCst) + 1;
        log::debug!("queue {}: {why} (generation {g})", self.index);
    }

    /// Ready (started) and enabled: the device may use it.
    pub fn running(&self) -> bool {
        let s = self.inner.get_ref();
        s.get_queue().ready() && s.is_enabled()
    }
}

impl<'a> VringStateGuard<'a, GM> for Vring {
    type G = MutexGuard<'a, VringState<GM>>;
}

impl<'a> VringStateMutGuard<'a, GM> for Vring {
    type G = MutexGuard<'a, VringState<GM>>;
}

impl VringT<GM> for Vring {
    fn new(mem: GM, max_queue_size: u16) -> Result<Self, QueueError> {
        let inner = VringMutex::new(mem, max_queue_size)?;
        let mut all = VRINGS.lock().unwrap_or_else(|e| e.into_inner());
        let v = Vring {
            inner,
            gen: Arc::new(AtomicU64::new(0)),
            index: all.len(),
        };
        all.push(v.clone());
        Ok(v)
    }

    fn get_ref(&self) -> <Self as VringStateGuard<'_, GM>>::G {
        self.inner.get_ref()
    }

    fn get_mut(&self) -> <Self as VringStateMutGuard<'_, GM>>::G {
        self.inner.get_mut()
    }

    fn add_used(&self, desc_index: u16, len: u32) -> Result<(), QueueError> {
        self.inner.add_used(desc_index, len)
    }

    fn signal_used_queue(&self) -> io::Result<()> {
        self.inner.signal_used_queue()
    }

    fn enable_notification(&self) -> Result<bool, QueueError> {
        self.inner.enable_notification()
    }

    fn disable_notification(&self) -> Result<(), QueueError> {
        self.inner.disable_notification()
    }

    fn needs_notification(&self) -> Result<bool, QueueError> {
        self.inner.needs_notification()
    }

    fn set_enabled(&self, enabled: bool) {
        if !enabled {
            RING_EVENTS.disables.fetch_add(1, Ordering::SeqCst);
            self.bump("disabled");
        }
        self.inner.set_enabled(enabled)
    }

    fn set_queue_info(&self, desc: u64, avail: u64, used: u64) -> Result<(), QueueError> {
        self.bump("new addresses");
        self.inner.set_queue_info(desc, avail, used)
    }

    fn queue_next_avail(&self) -> u16 {
        self.inner.queue_next_avail()
    }

    fn set_queue_next_avail(&self, base: u16) {
        self.bump("new base");
        self.inner.set_queue_next_avail(base)
    }

    fn set_queue_next_used(&self, idx: u16) {
        self.inner.set_queue_next_used(idx)
    }

    fn queue_used_idx(&self) -> Result<u16, QueueError> {
        self.inner.queue_used_idx()
    }

    fn set_queue_size(&self, num: u16) {
        self.bump("new size");
        self.inner.set_queue_size(num)
    }

    fn set_queue_event_idx(&self, enabled: bool) {
        self.inner.set_queue_event_idx(enabled)
    }

    fn set_queue_ready(&self, ready: bool) {
        if ready {
            if self.index == 0 {
                RING_EVENTS.starts.fetch_add(1, Ordering::SeqCst);
            }
        } else {
            self.bump("stopped");
        }
        self.inner.set_queue_ready(ready)
    }

    fn set_kick(&self, file: Option<File>) {
        self.inner.set_kick(file)
    }

    fn read_kick(&self) -> io::Result<bool> {
        self.inner.read_kick()
    }

    fn set_call(&self, file: Option<File>) {
        self.inner.set_call(file)
    }

    fn set_err(&self, file: Option<File>) {
        self.inner.set_err(file)
    }
}

// ------------------------------------------------------------- the state --

/// A request taken off a ring and not answered yet (hold, slow).
struct Deferred {
    queue: usize,
    gen: u64,
    req: Request,
}

#[derive(Default)]
struct Counters {
    kicks: u64,
    ignored_kicks: u64,
    taken: u64,
    completed: u64,
    notifies: u64,
    lost: u64,
    stops: u64,
    resets: u64,
    device_resets: u64,
    dropped: u64,
    held_at_reset: u64,
    ioerr: u64,
    unsupp: u64,
    malformed: u64,
    injected: u64,
}

struct State {
    mem: GM,
    disk: Disk,
    wce: u8,
    acked: u64,
    hold: bool,
    slow_ms: Option<u64>,
    deferred: VecDeque<Deferred>,
    lose: u64,
    ignore_kicks: u64,
    /// Armed for the next request(s): kind and how many more.
    hostile: Option<Hostile>,
    c: Counters,
}

pub struct Device {
    opts: Options,
    state: Mutex<State>,
}

impl Device {
    pub fn new(opts: Options, disk: Disk, mem: GM) -> Device {
        let wce = u8::from(opts.config_wce);
        Device {
            opts,
            state: Mutex::new(State {
                mem,
                disk,
                wce,
                acked: 0,
                hold: false,
                slow_ms: None,
                deferred: VecDeque::new(),
                lose: 0,
                ignore_kicks: 0,
                hostile: None,
                c: Counters::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn caps(&self) -> Caps<'_> {
        Caps {
            serial: &self.opts.serial,
            read_only: self.opts.read_only,
            flush: self.opts.flush,
            discard: self.opts.discard,
            write_zeroes: self.opts.write_zeroes,
        }
    }

    /// A kick on queue `q` (or the library's look at a ring it just
    /// enabled).
    fn kick(&self, q: usize) {
        let mut st = self.lock();
        st.c.kicks += 1;
        if st.ignore_kicks > 0 {
            // Not a look at the ring: neither the avail ring nor
            // avail_event is touched.
            st.ignore_kicks -= 1;
            st.c.ignored_kicks += 1;
            log::info!(
                "queue {q}: kick ignored ({} more to ignore)",
                st.ignore_kicks
            );
            return;
        }
        self.process_queue(&mut st, q);
    }

    /// Take every request off ring `q`'s avail ring; answer it now, or keep
    /// it (hold, slow).
    fn process_queue(&self, st: &mut State, q: usize) {
        let Some(vring) = vring(q) else {
            log::warn!("queue {q}: no such queue");
            return;
        };
        if !vring.running() {
            log::debug!("queue {q}: not running, not looked at");
            return;
        }
        let gm = st.mem.clone();
        let mem = gm.memory();
        let gen = vring.gen();
        let mut added = false;
        loop {
            if let Err(e) = vring.disable_notification() {
                log::warn!("queue {q}: disabling notifications: {e}");
            }
            loop {
                let chain = {
                    let mut vs = vring.get_mut();
                    vs.get_queue_mut().pop_descriptor_chain(&*mem)
                };
                let Some(chain) = chain else { break };
                let head = chain.head_index();
                let descs: Vec<Desc> = chain
                    .map(|d| (d.addr().0, d.len(), d.is_write_only()))
                    .collect();
                let req = request::parse(&mem, head, &descs);
                st.c.taken += 1;
                if self.opts.verbose {
                    log::debug!(
                        "queue {q}: head {head} {} sector {} out {} in {} {}",
                        request::kind_name(req.kind),
                        req.sector,
                        req.out.total(),
                        req.inb.total(),
                        req.error.as_deref().unwrap_or("")
                    );
                }
                if st.hold || st.slow_ms.is_some() {
                    st.deferred.push_back(Deferred { queue: q, gen, req });
                } else {
                    added |= self.complete(st, &vring, &mem, q, &req);
                }
            }
            match vring.enable_notification() {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    log::warn!("queue {q}: enabling notifications: {e}");
                    break;
                }
            }
        }
        if added {
            self.notify(st, &vring, q);
        }
    }

    /// Carry out `req` and put it on the used ring (with whatever hostile
    /// twist is armed). Whether a used entry was added.
    fn complete(&self, st: &mut State, vring: &Vring, mem: &Mem, q: usize, req: &Request) -> bool {
        let (status, why) = request::execute(mem, req, &mut st.disk, &self.caps());
        if let Some(why) = &why {
            log::warn!(
                "queue {q}: head {} {}: {why}: status {status}",
                req.head,
                request::kind_name(req.kind)
            );
        }
        if req.error.is_some() {
            st.c.malformed += 1;
        }
        match u32::from(status) {
            virtio_bindings::bindings::virtio_blk::VIRTIO_BLK_S_IOERR => st.c.ioerr += 1,
            virtio_bindings::bindings::virtio_blk::VIRTIO_BLK_S_UNSUPP => st.c.unsupp += 1,
            _ => {}
        }
        let twist = st.hostile.take();
        match (twist, req.status) {
            (Some(Hostile::NoStatus), _) => {
                log::warn!(
                    "hostile nostatus: head {} completed, status byte not written",
                    req.head
                )
            }
            (_, Some(at)) => {
                if let Err(e) = mem.write_obj(status, GuestAddress(at)) {
                    log::warn!(
                        "queue {q}: head {}: writing the status at {at:#x}: {e:?}",
                        req.head
                    );
                }
            }
            (_, None) => log::warn!("queue {q}: head {}: no status byte to write", req.head),
        }
        let mut len = req.writable;
        if twist == Some(Hostile::Len) {
            len = req.writable.saturating_add(4096);
            log::warn!(
                "hostile len: head {} used len {len} (buffers: {})",
                req.head,
                req.writable
            );
        }
        if let Err(e) = vring.add_used(req.head, len) {
            log::warn!("queue {q}: head {}: add_used: {e}", req.head);
            return false;
        }
        if twist == Some(Hostile::Dup) {
            log::warn!("hostile dup: head {} completed twice", req.head);
            if let Err(e) = vring.add_used(req.head, len) {
                log::warn!("queue {q}: head {}: second add_used: {e}", req.head);
            }
        }
        if let Some(t) = twist {
            if !t.immediate() {
                st.c.injected += 1;
            }
        }
        st.c.completed += 1;
        true
    }

    /// A used-buffer notification, if the driver wants one (EVENT_IDX), and
    /// unless it is to be lost.
    fn notify(&self, st: &mut State, vring: &Vring, q: usize) {
        match vring.needs_notification() {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => log::warn!("queue {q}: needs_notification: {e}"),
        }
        if st.lose > 0 {
            st.lose -= 1;
            st.c.lost += 1;
            log::info!("queue {q}: notification lost ({} more to lose)", st.lose);
            return;
        }
        match vring.signal_used_queue() {
            Ok(()) => st.c.notifies += 1,
            Err(e) => log::warn!("queue {q}: signalling: {e}"),
        }
    }

    /// Answer up to `limit` deferred requests, oldest first; those whose
    /// ring was stopped, disabled or reprogrammed since are dropped.
    fn release(&self, st: &mut State, limit: usize) -> (u64, u64) {
        let gm = st.mem.clone();
        let mem = gm.memory();
        let (mut done, mut dropped) = (0, 0);
        let mut touched: Vec<usize> = Vec::new();
        while (done + dropped) < limit as u64 {
            let Some(d) = st.deferred.pop_front() else {
                break;
            };
            match vring(d.queue) {
                Some(v) if v.running() && v.gen() == d.gen => {
                    if self.complete(st, &v, &mem, d.queue, &d.req) {
                        done += 1;
                        if !touched.contains(&d.queue) {
                            touched.push(d.queue);
                        }
                    }
                }
                _ => {
                    log::warn!(
                        "queue {}: head {} dropped: the ring was stopped or reset since",
                        d.queue,
                        d.req.head
                    );
                    st.c.dropped += 1;
                    dropped += 1;
                }
            }
        }
        for q in touched {
            if let Some(v) = vring(q) {
                self.notify(st, &v, q);
            }
        }
        (done, dropped)
    }

    /// Forget the deferred requests of queue `q` (all with None), as a
    /// device does at a reset.
    fn drop_deferred(&self, st: &mut State, q: Option<usize>, why: &str) {
        let before = st.deferred.len();
        st.deferred.retain(|d| q.is_some_and(|q| d.queue != q));
        let n = (before - st.deferred.len()) as u64;
        if n > 0 {
            log::warn!("{why}: dropped {n} held request(s)");
        }
        st.c.dropped += n;
    }

    /// Write a used entry {id, len} straight into ring `q`'s used ring and
    /// notify, whatever the id (hostile id-range, id-free).
    fn inject(&self, st: &mut State, q: usize, kind: Hostile) -> Result<String, String> {
        let v = vring(q).ok_or_else(|| format!("no queue {q}"))?;
        if !v.running() {
            return Err(format!("queue {q} is not running"));
        }
        let gm = st.mem.clone();
        let mem = gm.memory();
        let mut vs = v.get_mut();
        let queue = vs.get_queue_mut();
        let size = queue.size();
        let id = match kind {
            Hostile::IdRange => u32::from(size),
            _ => {
                // Heads in flight: held here, or on the avail ring not yet
                // taken.
                let mut busy: Vec<u16> = st
                    .deferred
                    .iter()
                    .filter(|d| d.queue == q)
                    .map(|d| d.req.head)
                    .collect();
                let avail = queue.avail_ring();
                let idx: u16 = mem
                    .read_obj(GuestAddress(avail + 2))
                    .map(u16::from_le)
                    .map_err(|e| format!("reading avail idx: {e:?}"))?;
                let mut i = queue.next_avail();
                while i != idx && busy.len() <= usize::from(size) * 2 {
                    let at = avail + 4 + 2 * u64::from(i % size);
                    if let Ok(h) = mem.read_obj::<u16>(GuestAddress(at)) {
                        busy.push(u16::from_le(h));
                    }
                    i = i.wrapping_add(1);
                }
                let free = (0..size)
                    .find(|h| !busy.contains(h))
                    .ok_or("every id is in flight")?;
                u32::from(free)
            }
        };
        let used = queue.used_ring();
        let next = queue.next_used();
        let at = used + 4 + 8 * u64::from(next % size);
        let w = |off: u64, val: u32| {
            mem.write_obj(val.to_le(), GuestAddress(at + off))
                .map_err(|e| format!("writing the used ring: {e:?}"))
        };
        w(0, id)?;
        w(4, 1)?;
        let new = next.wrapping_add(1);
        mem.store(new.to_le(), GuestAddress(used + 2), Ordering::Release)
            .map_err(|e| format!("writing used idx: {e:?}"))?;
        queue.set_next_used(new);
        drop(vs);
        st.c.injected += 1;
        let _ = v.signal_used_queue();
        log::warn!(
            "hostile {}: used id {id} len 1 at used idx {next} on queue {q}",
            kind.name()
        );
        Ok(format!(
            "injected {} id={id} len=1 used-idx={next} queue={q} size={size}",
            kind.name()
        ))
    }

    fn status(&self, st: &State) -> String {
        let c = &st.c;
        let mode = if st.hold {
            "hold".to_string()
        } else if let Some(ms) = st.slow_ms {
            format!("slow:{ms}")
        } else {
            "normal".into()
        };
        format!(
            "held={} completed={} lost={} ignored-kicks={} resets={} mode={mode} \
             lose-pending={} ignore-pending={} hostile={} kicks={} taken={} notifies={} \
             stops={} device-resets={} starts={} disables={} dropped={} held-at-reset={} \
             ioerr={} unsupp={} malformed={} injected={} wce={} features={:#x}",
            st.deferred.len(),
            c.completed,
            c.lost,
            c.ignored_kicks,
            c.resets,
            st.lose,
            st.ignore_kicks,
            st.hostile.map_or("none", Hostile::name),
            c.kicks,
            c.taken,
            c.notifies,
            c.stops,
            c.device_resets,
            RING_EVENTS.starts.load(Ordering::SeqCst),
            RING_EVENTS.disables.load(Ordering::SeqCst),
            c.dropped,
            c.held_at_reset,
            c.ioerr,
            c.unsupp,
            c.malformed,
            c.injected,
            st.wce,
            st.acked,
        )
    }

    /// Slow mode's clock: one deferred request answered every MS ms.
    pub fn start_slow_thread(self: &Arc<Self>) -> io::Result<()> {
        let dev = self.clone();
        thread::Builder::new()
            .name("slow".into())
            .spawn(move || loop {
                let ms = dev.lock().slow_ms;
                thread::sleep(Duration::from_millis(ms.unwrap_or(20)));
                let mut st = dev.lock();
                if ms.is_some() && st.slow_ms.is_some() && !st.hold && !st.deferred.is_empty() {
                    dev.release(&mut st, 1);
                }
            })?;
        Ok(())
    }
}

impl Handler for Device {
    fn control(&self, cmd: Cmd) -> Result<String, String> {
        let mut st = self.lock();
        match cmd {
            Cmd::Hold(true) => {
                st.hold = true;
                Ok("holding".into())
            }
            Cmd::Hold(false) => {
                st.hold = false;
                let (done, dropped) = if st.slow_ms.is_none() {
                    self.release(&mut st, usize::MAX)
                } else {
                    (0, 0)
                };
                Ok(format!("released {done} dropped {dropped}"))
            }
            Cmd::Lose(n) => {
                st.lose = n;
                Ok(format!("losing the next {n} notification(s)"))
            }
            Cmd::IgnoreKick(n) => {
                st.ignore_kicks = n;
                Ok(format!("ignoring the next {n} kick(s)"))
            }
            Cmd::Slow(Some(ms)) => {
                st.slow_ms = Some(ms);
                Ok(format!("one request every {ms} ms"))
            }
            Cmd::Slow(None) => {
                st.slow_ms = None;
                let (done, dropped) = if st.hold {
                    (0, 0)
                } else {
                    self.release(&mut st, usize::MAX)
                };
                Ok(format!("released {done} dropped {dropped}"))
            }
            Cmd::Hostile(kind, q) if kind.immediate() => self.inject(&mut st, usize::from(q), kind),
            Cmd::Hostile(kind, _) => {
                st.hostile = Some(kind);
                Ok(format!("armed {} for the next request", kind.name()))
            }
            Cmd::Kick(q) => {
                let before = st.c.completed;
                self.process_queue(&mut st, usize::from(q));
                Ok(format!("completed {}", st.c.completed - before))
            }
            Cmd::Notify(q) => {
                let v = vring(usize::from(q)).ok_or_else(|| format!("no queue {q}"))?;
                v.signal_used_queue()
                    .map_err(|e| format!("signalling: {e}"))?;
                st.c.notifies += 1;
                Ok("notified".into())
            }
            Cmd::Release => {
                let mut did = Vec::new();
                if st.hold {
                    did.push("hold off".to_string());
                }
                if st.slow_ms.is_some() {
                    did.push("slow off".into());
                }
                if st.lose > 0 {
                    did.push("lose 0".into());
                }
                if st.ignore_kicks > 0 {
                    did.push("ignore-kick 0".into());
                }
                if let Some(h) = st.hostile {
                    did.push(format!("hostile {} disarmed", h.name()));
                }
                st.hold = false;
                st.slow_ms = None;
                st.lose = 0;
                st.ignore_kicks = 0;
                st.hostile = None;
                let (done, dropped) = self.release(&mut st, usize::MAX);
                if done + dropped > 0 {
                    did.push(format!("released {done} dropped {dropped}"));
                }
                // Requests a kick was ignored for are still on the rings.
                let before = st.c.completed;
                for q in 0..usize::from(self.opts.num_queues) {
                    self.process_queue(&mut st, q);
                }
                if st.c.completed > before {
                    did.push(format!(
                        "completed {} left on the rings",
                        st.c.completed - before
                    ));
                }
                if did.is_empty() {
                    Ok("nothing".into())
                } else {
                    Ok(did.join(", "))
                }
            }
            Cmd::Status => Ok(self.status(&st)),
            Cmd::Vanish => Ok("vanishing".into()),
            Cmd::Help => Ok(HELP.into()),
        }
    }
}

impl VhostUserBackend for Device {
    type Bitmap = ();
    type Vring = Vring;

    fn num_queues(&self) -> usize {
        usize::from(self.opts.num_queues)
    }

    fn max_queue_size(&self) -> usize {
        usize::from(self.opts.queue_size)
    }

    fn features(&self) -> u64 {
        config::features(&self.opts)
    }

    fn acked_features(&self, features: u64) {
        log::info!("features acked: {features:#x}");
        self.lock().acked = features;
    }

    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        // Not INFLIGHT_SHMFD: at a reset, what was in flight is gone.
        VhostUserProtocolFeatures::CONFIG | VhostUserProtocolFeatures::MQ
    }

    fn reset_device(&self) {
        let mut st = self.lock();
        st.c.resets += 1;
        st.c.device_resets += 1;
        st.c.held_at_reset = st.deferred.len() as u64;
        log::info!("RESET_DEVICE (held {})", st.deferred.len());
        self.drop_deferred(&mut st, None, "device reset");
    }

    fn set_event_idx(&self, enabled: bool) {
        log::debug!("event idx {}", if enabled { "on" } else { "off" });
    }

    fn get_config(&self, offset: u32, size: u32) -> Vec<u8> {
        let st = self.lock();
        let space = config::config_space(&self.opts, st.disk.size(), st.wce);
        log::debug!("GET_CONFIG {offset}+{size}");
        config::config_read(&space, offset, size)
    }

    fn set_config(&self, offset: u32, buf: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        if offset == config::WCE_OFFSET && buf.len() == 1 && self.opts.config_wce {
            st.wce = buf[0];
            log::info!("write cache {}", if buf[0] != 0 { "on" } else { "off" });
            Ok(())
        } else {
            log::warn!("SET_CONFIG {offset}+{} refused", buf.len());
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "read-only field",
            ))
        }
    }

    fn update_memory(&self, mem: GM) -> io::Result<()> {
        log::info!("guest memory mapped");
        self.lock().mem = mem;
        Ok(())
    }

    fn queues_per_thread(&self) -> Vec<u64> {
        vec![u64::MAX]
    }

    fn stop_vring(&self, queue_index: u32) -> io::Result<()> {
        let mut st = self.lock();
        st.c.stops += 1;
        let q = queue_index as usize;
        let held = st.deferred.iter().filter(|d| d.queue == q).count() as u64;
        if q == 0 {
            // QEMU stops every queue, queue 0 first: one reset.
            st.c.resets += 1;
            st.c.held_at_reset = st.deferred.len() as u64;
        }
        log::info!("GET_VRING_BASE {q} (held {held})");
        self.drop_deferred(&mut st, Some(q), &format!("queue {q} stopped"));
        Ok(())
    }

    fn handle_event(
        &self,
        device_event: u16,
        evset: EventSet,
        _vrings: &[Vring],
        _thread_id: usize,
    ) -> io::Result<()> {
        if evset != EventSet::IN {
            log::warn!("event {device_event}: unexpected {evset:?}");
            return Ok(());
        }
        let q = usize::from(device_event);
        if q < usize::from(self.opts.num_queues) {
            self.kick(q);
        } else {
            log::warn!("event {device_event}: not a queue");
        }
        Ok(())
    }
}
