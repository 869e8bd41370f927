// SPDX-License-Identifier: GPL-2.0

//! CPU masks: iterating the CPUs of a `struct cpumask`.

use kernel::bindings;

extern "C" {
    fn rvirtio_cpumask_next(n: i32, mask: *const bindings::cpumask) -> u32;
    fn rvirtio_nr_cpu_ids() -> u32;
}

/// The number of possible CPU ids.
pub(crate) fn nr_cpu_ids() -> u32 {
    // SAFETY: Reads a kernel constant.
    unsafe { rvirtio_nr_cpu_ids() }
}

/// A CPU mask the kernel owns, borrowed.
///
/// # Invariants
///
/// `mask` points to a valid `struct cpumask` for `'a`.
pub(crate) struct CpuMask<'a> {
    mask: *const bindings::cpumask,
    _p: core::marker::PhantomData<&'a ()>,
}

impl<'a> CpuMask<'a> {
    /// # Safety
    ///
    /// `mask` must point to a valid cpumask for `'a`.
    pub(crate) unsafe fn from_raw(mask: *const bindings::cpumask) -> Self {
        // INVARIANT: Per the safety requirements.
        Self {
            mask,
            _p: core::marker::PhantomData,
        }
    }

    /// The CPUs in the mask, in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut n: i32 = -1;
        let limit = nr_cpu_ids();
        core::iter::from_fn(move || {
            // SAFETY: The mask is valid per the type invariant.
            let next = unsafe { rvirtio_cpumask_next(n, self.mask) };
            if next >= limit {
                None
            } else {
                n = next as i32;
                Some(next)
            }
        })
    }
}
