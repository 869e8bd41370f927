// SPDX-License-Identifier: GPL-2.0

//! debugfs directories of counters and knobs.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU32, AtomicU64};
use kernel::prelude::*;
use kernel::sync::Arc;

extern "C" {
    fn rvirtio_debugfs_dir(name: *const u8, parent: *mut c_void) -> *mut c_void;
    fn rvirtio_debugfs_u64(name: *const u8, mode: u16, parent: *mut c_void, v: *mut u64);
    fn rvirtio_debugfs_u32(name: *const u8, mode: u16, parent: *mut c_void, v: *mut u32);
    fn rvirtio_debugfs_remove(d: *mut c_void);
}

/// A debugfs directory, removed (with everything in it) on drop. A directory
/// that could not be created is empty, and files added to it are ignored:
/// debugfs is for debugging, never a reason to fail.
///
/// # Invariants
///
/// `dentry` is null or a directory this value created and alone removes; a
/// subdirectory keeps its parent alive (`_parent`), so it is removed first.
pub(crate) struct Dir {
    dentry: *mut c_void,
    _parent: Option<Arc<Dir>>,
}

// SAFETY: A dentry pointer may be used from any thread.
unsafe impl Send for Dir {}
// SAFETY: As above.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `name` in the debugfs root.
    pub(crate) fn root(name: &CStr) -> Result<Arc<Self>> {
        // SAFETY: `name` is NUL-terminated; a null parent is the root.
        let dentry = unsafe { rvirtio_debugfs_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        // INVARIANT: Created here (or null).
        Ok(Arc::new(
            Self {
                dentry,
                _parent: None,
            },
            GFP_KERNEL,
        )?)
    }

    /// Creates `name` under `parent`, which stays alive as long as this.
    pub(crate) fn child(name: &CStr, parent: &Arc<Dir>) -> Self {
        // SAFETY: `name` is NUL-terminated; `parent` is null or a live
        // directory (type invariant), kept alive by the new directory.
        let dentry = unsafe { rvirtio_debugfs_dir(name.as_char_ptr(), parent.dentry) };
        // INVARIANT: Created here (or null); the parent outlives it.
        Self {
            dentry,
            _parent: Some(parent.clone()),
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: Null or a directory we created, whose parent is still
        // there; removal waits for open files' readers to finish.
        unsafe { rvirtio_debugfs_remove(self.dentry) };
    }
}

/// A debugfs directory that owns the values its files show: the files are
/// removed before the values go.
pub(crate) struct Counters<T: 'static + Send + Sync> {
    // Declared first, so dropped first: the files go before their values.
    _dir: Dir,
    _values: Arc<T>,
}

impl<T: 'static + Send + Sync> Counters<T> {
    /// Creates `name` under `parent`; `describe` adds the files, each backed
    /// by a field of `values`: the files can only show what `values` holds
    /// (or what is `'static`), and `values` outlives them.
    pub(crate) fn new(
        name: &CStr,
        parent: &Arc<Dir>,
        values: Arc<T>,
        describe: impl for<'a> FnOnce(&mut FileSet<'a>, &'a T),
    ) -> Self {
        let dir = Dir::child(name, parent);
        // INVARIANT: The directory is dropped before `values`, which holds
        // everything the closure can borrow for `'a` (or it is `'static`).
        let mut set = FileSet {
            dir: dir.dentry,
            _values: PhantomData,
        };
        describe(&mut set, &values);
        Self {
            _dir: dir,
            _values: values,
        }
    }
}

/// Adds files to a [`Counters`] directory, each showing a value that lives
/// at least for `'a`, as long as the directory.
///
/// # Invariants
///
/// `dir` is null or a directory that is removed before anything borrowed
/// for `'a` goes away.
pub(crate) struct FileSet<'a> {
    dir: *mut c_void,
    _values: PhantomData<&'a ()>,
}

impl<'a> FileSet<'a> {
    /// A read-only counter.
    pub(crate) fn u64(&mut self, name: &'static CStr, value: &'a AtomicU64) {
        // SAFETY: `AtomicU64` has the layout of `u64`; `value` lives for
        // `'a`, longer than the file (type invariant).
        unsafe { rvirtio_debugfs_u64(name.as_char_ptr(), 0o444, self.dir, value.as_ptr()) };
    }

    /// A 32-bit value, writable by root if `writable`.
    pub(crate) fn u32(&mut self, name: &'static CStr, value: &'a AtomicU32, writable: bool) {
        let mode = if writable { 0o644 } else { 0o444 };
        // SAFETY: As above.
        unsafe { rvirtio_debugfs_u32(name.as_char_ptr(), mode, self.dir, value.as_ptr()) };
    }
}
