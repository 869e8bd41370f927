// SPDX-License-Identifier: GPL-2.0

//! Scatter-gather tables.
//!
//! A [`SgTable`] is a chained `struct sg_table` whose first chunk lives inline,
//! so that the common case needs no allocation. Whoever fills it (the blk-mq
//! glue, from a request's bios) vouches for the memory it describes; whoever
//! reads it (the virtio layer, building a descriptor chain) relies on that.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use kernel::bindings;

/// Number of scatterlist entries kept inline in an [`SgTable`]; larger lists
/// are chained from the kernel's sg pool, as the C drivers do.
pub(crate) const INLINE_ENTRIES: usize = 2;

/// A chained scatter-gather table with an inline first chunk.
///
/// # Invariants
///
/// When [`SgTable::nents`] is non-zero, `table.sgl` points to `nents` valid,
/// end-marked entries describing memory that stays valid, and is not reused,
/// for as long as the table is not remapped or unmapped. Only the code that
/// filled the table (through [`SgTable::raw_table`]) can break this, and it
/// must uphold it.
#[repr(C)]
pub(crate) struct SgTable {
    table: UnsafeCell<bindings::sg_table>,
    chunk: UnsafeCell<[bindings::scatterlist; INLINE_ENTRIES]>,
}

// SAFETY: The table is plain data describing memory; it is only changed
// through `&mut self` or by its filler, which holds exclusive access.
unsafe impl Send for SgTable {}
// SAFETY: Shared access only reads the table.
unsafe impl Sync for SgTable {}

impl Default for SgTable {
    fn default() -> Self {
        Self {
            // SAFETY: An all-zero `sg_table` is an empty table.
            table: UnsafeCell::new(unsafe { core::mem::zeroed() }),
            // SAFETY: All-zero scatterlist entries are unused entries.
            chunk: UnsafeCell::new(unsafe { core::mem::zeroed() }),
        }
    }
}

#[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
impl SgTable {
    /// Number of mapped entries; zero when nothing is mapped.
    pub(crate) fn nents(&self) -> u32 {
        // SAFETY: Reading a field of the table we own; writers hold `&mut self`
        // or exclusive access per the type invariant.
        unsafe { (*self.table.get()).nents }
    }

    /// Forgets the mapping if it fits the inline chunk, where nothing was
    /// allocated to free (`sg_free_table_chained` would do nothing); returns
    /// whether it did. Saves a call for every small request.
    pub(crate) fn forget_if_inline(&mut self) -> bool {
        let t = self.table.get_mut();
        if t.orig_nents as usize > INLINE_ENTRIES {
            return false;
        }
        t.nents = 0;
        t.orig_nents = 0;
        true
    }

    /// The first entry of the mapped list, or `None` when nothing is mapped.
    pub(crate) fn first(&self) -> Option<*mut bindings::scatterlist> {
        if self.nents() == 0 {
            None
        } else {
            // SAFETY: As in `nents`.
            Some(unsafe { (*self.table.get()).sgl })
        }
    }

    /// The raw table and its inline chunk, for the code that fills or frees it.
    ///
    /// # Safety
    ///
    /// The caller must have exclusive access to the table (no descriptor chain
    /// built from it may still be owned by a device) and must leave it
    /// satisfying the type invariant.
    pub(crate) unsafe fn raw_table(&self) -> (*mut bindings::sg_table, *mut bindings::scatterlist) {
        (self.table.get(), self.chunk.get().cast())
    }
}

/// A borrowed, already mapped scatterlist that someone else owns (a SCSI
/// command's data buffer, mapped by the midlayer).
///
/// # Invariants
///
/// `first` points to valid, end-marked entries describing memory that
/// stays valid for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct SgList<'a> {
    first: *mut bindings::scatterlist,
    _p: PhantomData<&'a ()>,
}

#[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
impl<'a> SgList<'a> {
    /// # Safety
    ///
    /// `first` must point to `nents` valid, end-marked entries whose memory
    /// stays valid, and is not remapped, for `'a`.
    pub(crate) unsafe fn from_raw(first: *mut bindings::scatterlist, nents: u32) -> Option<Self> {
        if first.is_null() || nents == 0 {
            None
        } else {
            // INVARIANT: Per the safety requirements.
            Some(Self {
                first,
                _p: PhantomData,
            })
        }
    }

    /// The first entry.
    pub(crate) fn first(&self) -> *mut bindings::scatterlist {
        self.first
    }
}
