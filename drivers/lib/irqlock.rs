// SPDX-License-Identifier: GPL-2.0

//! A spinlock taken with local interrupts disabled (`spin_lock_irqsave`).
//!
//! The 6.12 `kernel::sync::SpinLock` leaves interrupts enabled, so a lock
//! that a hard-interrupt handler also takes would deadlock against itself,
//! and lockdep says so. Virtqueue locks need this variant.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A spinlock protecting `T`, taken with interrupts disabled.
///
/// # Invariants
///
/// `lock` is an initialised `spinlock_t`; `data` is only accessed while it is
/// held.
#[pin_data]
pub(crate) struct IrqSpinLock<T> {
    #[pin]
    lock: Opaque<bindings::spinlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: The lock serialises all access to `data`, so it may move between
// threads as long as `T` may.
unsafe impl<T: Send> Send for IrqSpinLock<T> {}
// SAFETY: As above: shared access goes through the lock.
unsafe impl<T: Send> Sync for IrqSpinLock<T> {}

impl<T> IrqSpinLock<T> {
    /// Returns an initialiser for a lock named `name` in lockdep class `key`.
    pub(crate) fn new(data: T, name: &'static CStr, key: super::LockKey) -> impl PinInit<Self> {
        // INVARIANT: The lock is initialised before the value is used, and
        // `data` is reached only through `lock()`'s guard.
        pin_init!(Self {
            data: UnsafeCell::new(data),
            // SAFETY: `__spin_lock_init` initialises the lock in place; `name`
            // and `key` are static.
            lock <- Opaque::ffi_init(|slot| unsafe {
                bindings::__spin_lock_init(slot, name.as_char_ptr(), super::lock_class_ptr(key))
            }),
        })
    }

    /// Takes the lock with interrupts disabled; they are restored on drop.
    pub(crate) fn lock(&self) -> IrqGuard<'_, T> {
        // SAFETY: `spinlock_t` starts with its `raw_spinlock_t` (the union's
        // first member), and the lock is initialised per the type invariant.
        let flags = unsafe { bindings::_raw_spin_lock_irqsave(self.raw()) };
        // INVARIANT: The lock is held, with interrupts off on this CPU since
        // `flags` were saved.
        IrqGuard {
            lock: self,
            flags,
            _not_send: PhantomData,
        }
    }

    fn raw(&self) -> *mut bindings::raw_spinlock_t {
        self.lock.get().cast()
    }
}

/// Proof that an [`IrqSpinLock`] is held; gives access to its data.
///
/// # Invariants
///
/// The lock is held, and interrupts have been off on this CPU since `flags`
/// were saved. The guard is neither `Send` nor `Sync`: it must be released
/// on the CPU that took it, as the lock guards of the `kernel` crate are.
pub(crate) struct IrqGuard<'a, T> {
    lock: &'a IrqSpinLock<T>,
    flags: kernel::ffi::c_ulong,
    _not_send: PhantomData<*mut ()>,
}

impl<'a, T> IrqGuard<'a, T> {
    /// Gives up the guard without releasing the lock, for C code to release
    /// it: returns the lock (a `raw_spinlock_t`) and the flags it was taken
    /// with.
    ///
    /// # Safety
    ///
    /// The caller must have the lock released exactly once
    /// (`raw_spin_unlock`, on this CPU, while the `IrqSpinLock` lives), and
    /// then the flags restored exactly once (`local_irq_restore(flags)`, on
    /// this CPU), with interrupts not enabled in between.
    pub(crate) unsafe fn into_raw(self) -> (*mut core::ffi::c_void, kernel::ffi::c_ulong) {
        let (raw, flags) = (self.lock.raw(), self.flags);
        core::mem::forget(self);
        (raw.cast(), flags)
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The guard exists only while the lock is held.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The guard exists only while the lock is held, and it is
        // borrowed mutably, so this is the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: We hold the lock and restore the flags saved when taking it.
        unsafe { bindings::_raw_spin_unlock_irqrestore(self.lock.raw(), self.flags) };
    }
}
