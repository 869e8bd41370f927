// SPDX-License-Identifier: GPL-2.0

//! A value that C code carries as a `void *` for a while: a virtqueue's
//! token for a request in flight.
//!
//! The `kernel` crate has `ForeignOwnable` for this, but its shape changed
//! between 6.12 and 7.3 (7.3 made it an `unsafe trait` with an alignment
//! constant and mutable borrows, over `*mut c_void`). rvirtio needs only the
//! three operations below, so it keeps this trait of its own, which is the
//! same on every kernel.

use core::ffi::c_void;
use kernel::prelude::*;

/// A value that can travel through C as a pointer and come back.
pub(crate) trait Foreign: Sized {
    /// What [`Foreign::borrow`] gives while the value is away.
    type Borrowed<'a>;

    /// Turns the value into a pointer that C code holds. Nothing of the
    /// value is dropped until [`Foreign::from_foreign`] turns it back.
    fn into_foreign(self) -> *const c_void;

    /// Borrows the value that `ptr` stands for.
    ///
    /// # Safety
    ///
    /// `ptr` must have come from [`Foreign::into_foreign`] of this type and
    /// not have been passed to [`Foreign::from_foreign`] yet, nor may it be
    /// for as long as `'a` lasts.
    unsafe fn borrow<'a>(ptr: *const c_void) -> Self::Borrowed<'a>;

    /// Takes the value back.
    ///
    /// # Safety
    ///
    /// `ptr` must have come from [`Foreign::into_foreign`] of this type, and
    /// be passed here once; no borrow of it may outlive this call.
    unsafe fn from_foreign(ptr: *const c_void) -> Self;
}

impl<T: 'static> Foreign for KBox<T> {
    type Borrowed<'a> = &'a T;

    fn into_foreign(self) -> *const c_void {
        KBox::into_raw(self).cast_const().cast()
    }

    /// # Safety
    ///
    /// As for [`Foreign::borrow`].
    unsafe fn borrow<'a>(ptr: *const c_void) -> &'a T {
        // SAFETY: `ptr` came from `KBox::into_raw` and the box is not taken
        // back while the borrow lasts.
        unsafe { &*ptr.cast::<T>() }
    }

    /// # Safety
    ///
    /// As for [`Foreign::from_foreign`].
    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // SAFETY: `ptr` came from `KBox::into_raw` and is converted back once.
        unsafe { KBox::from_raw(ptr.cast_mut().cast()) }
    }
}
