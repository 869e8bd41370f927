// SPDX-License-Identifier: GPL-2.0

//! A reserve of pinned, reference-counted values, allocated up front, for a
//! path that must not fail for want of memory (a C `mempool`, for values
//! shared through an [`Arc`]): a value taken from it is initialised again in
//! place, and a value is put back once its user is done with it, to be
//! reused once nobody else holds it any more.

use core::pin::Pin;
use kernel::prelude::*;
use kernel::sync::{new_spinlock, Arc, SpinLock, UniqueArc};

/// Up to `N` spare values.
#[pin_data]
pub(crate) struct Reserve<T, const N: usize> {
    /// The spares; an empty slot is one taken and not given back yet.
    #[pin]
    spares: SpinLock<[Option<Arc<T>>; N]>,
}

impl<T, const N: usize> Reserve<T, N> {
    /// A reserve of `N` values, each from `init`, allocated now.
    pub(crate) fn new<I>(init: impl Fn() -> I) -> Result<impl PinInit<Self, Error>>
    where
        I: PinInit<T>,
    {
        let mut spares = [const { None }; N];
        for s in spares.iter_mut() {
            *s = Some(Arc::pin_init(init(), GFP_KERNEL)?);
        }
        Ok(try_pin_init!(Self {
            spares <- new_spinlock!(spares, "rvirtio::reserve"),
        }? Error))
    }

    /// A spare, initialised again with `init`, if the reserve has one that
    /// nobody else holds any more. One still held elsewhere leaves the
    /// reserve (its last holder frees it).
    pub(crate) fn take(&self, init: impl PinInit<T>) -> Option<Arc<T>> {
        loop {
            let spare = self.spares.lock().iter_mut().find_map(Option::take)?;
            if let Some(mut unique) = Arc::into_unique_or_drop(spare) {
                reinit(&mut unique, init);
                return Some(unique.into());
            }
        }
    }

    /// Gives `value` back: it becomes a spare if the reserve lacks one, or
    /// is dropped.
    pub(crate) fn put(&self, value: Arc<T>) {
        let mut spares = self.spares.lock();
        if let Some(empty) = spares.iter_mut().find(|s| s.is_none()) {
            *empty = Some(value);
            return;
        }
        drop(spares);
        drop(value);
    }
}

/// Drops the value `this` holds and initialises it again, in place, with
/// `init`.
fn reinit<T>(this: &mut Pin<UniqueArc<T>>, init: impl PinInit<T>) {
    // SAFETY: The value is not moved out: its address goes to `drop_in_place`
    // and to `init`, which initialise and leave it where it is.
    let slot: *mut T = unsafe { Pin::get_unchecked_mut(this.as_mut()) };
    // SAFETY: `slot` is valid and initialised, and `this` holds the only
    // reference to it, so nothing uses the value after it is dropped here
    // (until `init` has written the new one). Dropping it before its memory
    // is reused keeps `Pin`'s drop guarantee.
    unsafe { core::ptr::drop_in_place(slot) };
    #[cfg(not(rvirtio_7_3))]
    // SAFETY: `slot` is valid for writes and pinned; the value there was
    // dropped, so it is initialised afresh. `init` cannot fail, so `slot`
    // holds a valid value afterwards, as `this` requires.
    let result = unsafe { init.__pinned_init(slot) };
    #[cfg(rvirtio_7_3)]
    // SAFETY: As above (7.3's pin-init crate calls the method `__init`).
    let result = unsafe { init.__init(slot) };
    match result {
        Ok(()) => {}
        Err(never) => match never {},
    }
}
