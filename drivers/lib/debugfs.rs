// SPDX-License-Identifier: GPL-2.0

//! debugfs directories of counters and fault-injection knobs.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;

extern "C" {
    fn rvirtio_debugfs_dir(name: *const u8, parent: *mut c_void) -> *mut c_void;
    fn rvirtio_debugfs_u64(name: *const u8, mode: u16, parent: *mut c_void, v: *mut u64);
    fn rvirtio_debugfs_u32(name: *const u8, mode: u16, parent: *mut c_void, v: *mut u32);
    fn rvirtio_debugfs_remove(d: *mut c_void);
}

/// A debugfs directory, removed (with everything in it) on drop. A directory
/// that could not be created is empty, and files added to it are ignored:
/// debugfs is for debugging, never a reason to fail.
pub struct Dir(*mut c_void);

// SAFETY: A dentry pointer may be used from any thread.
unsafe impl Send for Dir {}
// SAFETY: As above.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `name` under `parent` (the debugfs root if `None`).
    pub fn new(name: &CStr, parent: Option<&Dir>) -> Self {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.0);
        // SAFETY: `name` is NUL-terminated; `parent` is null or a live dir.
        Self(unsafe { rvirtio_debugfs_dir(name.as_char_ptr(), parent) })
    }

    /// Adds a read-only file showing `value`, which must outlive this
    /// directory (it is `'static` or owned with it, see [`Counters`]).
    ///
    /// # Safety
    ///
    /// `value` must stay valid until this directory is dropped.
    pub unsafe fn add_u64(&self, name: &'static CStr, value: &AtomicU64) {
        // SAFETY: `AtomicU64` has the layout of `u64`; the caller keeps it
        // alive as long as the file.
        unsafe { rvirtio_debugfs_u64(name.as_char_ptr(), 0o444, self.0, value.as_ptr()) };
    }

    /// Adds a file showing `value`, writable by root if `writable`.
    ///
    /// # Safety
    ///
    /// `value` must stay valid until this directory is dropped.
    pub unsafe fn add_u32(&self, name: &'static CStr, value: &AtomicU32, writable: bool) {
        let mode = if writable { 0o644 } else { 0o444 };
        // SAFETY: As in `add_u64`.
        unsafe { rvirtio_debugfs_u32(name.as_char_ptr(), mode, self.0, value.as_ptr()) };
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: Null or a directory we created; removal waits for open
        // files' readers to finish.
        unsafe { rvirtio_debugfs_remove(self.0) };
    }
}

/// A debugfs directory that owns the values its files show: the files are
/// removed before the values go.
pub struct Counters<T: 'static + Send + Sync> {
    // Declared first, so dropped first: the files go before their values.
    dir: Dir,
    values: kernel::sync::Arc<T>,
}

impl<T: 'static + Send + Sync> Counters<T> {
    /// Creates `name` under `parent`; `describe` adds the files, each backed
    /// by a field of `values`.
    pub fn new(
        name: &CStr,
        parent: Option<&Dir>,
        values: kernel::sync::Arc<T>,
        describe: impl FnOnce(&mut FileSet<'_>, &T),
    ) -> Self {
        let dir = Dir::new(name, parent);
        let mut set = FileSet { dir: &dir };
        describe(&mut set, &values);
        Self { dir, values }
    }

    /// The values.
    pub fn values(&self) -> &T {
        &self.values
    }
}

/// Adds files to a [`Counters`] directory.
pub struct FileSet<'a> {
    dir: &'a Dir,
}

impl FileSet<'_> {
    /// A read-only counter. `value` is a field of the values the
    /// [`Counters`] owns, so it outlives the file.
    pub fn u64(&mut self, name: &'static CStr, value: &AtomicU64) {
        // SAFETY: `Counters` keeps the values alive until after the
        // directory is removed.
        unsafe { self.dir.add_u64(name, value) };
    }

    /// A 32-bit value, writable by root if `writable`.
    pub fn u32(&mut self, name: &'static CStr, value: &AtomicU32, writable: bool) {
        // SAFETY: As above.
        unsafe { self.dir.add_u32(name, value, writable) };
    }
}

/// Takes a fault-injection knob's next shot (a count written to debugfs,
/// decremented as shots fire), if fault injection is `enabled`.
pub fn take_shot(enabled: bool, knob: &AtomicU32) -> bool {
    enabled
        && knob
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
}

/// A module-wide debugfs directory, set at module load and removed at
/// unload.
pub struct GlobalDir(AtomicPtr<c_void>);

impl GlobalDir {
    /// No directory yet.
    pub const fn new() -> Self {
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// Creates the directory `name` in the debugfs root.
    pub fn create(&self, name: &CStr) {
        let dir = Dir::new(name, None);
        let ptr = dir.0;
        core::mem::forget(dir);
        self.0.store(ptr, Ordering::Release);
    }

    /// Runs `f` with the directory (or an empty one).
    pub fn with<R>(&self, f: impl FnOnce(&Dir) -> R) -> R {
        let dir = core::mem::ManuallyDrop::new(Dir(self.0.load(Ordering::Acquire)));
        f(&dir)
    }

    /// Removes the directory; every per-device directory under it must be
    /// gone already.
    pub fn remove(&self) {
        drop(Dir(self.0.swap(core::ptr::null_mut(), Ordering::AcqRel)));
    }
}
