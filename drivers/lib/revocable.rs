// SPDX-License-Identifier: GPL-2.0

//! A value that its owner can revoke, waiting for every user to finish.
//!
//! Work items and timeout handlers outlive the driver callbacks that set
//! them up; the device or queue they use must not. They reach it through a
//! [`Revocable`]; the owner revokes it before tearing the object down, which
//! waits for a user that is inside [`Revocable::with`]. Users may sleep.

use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// A shared, revocable `T`.
#[pin_data]
pub(crate) struct Revocable<T: Send> {
    #[pin]
    value: Mutex<Option<T>>,
}

impl<T: Send> Revocable<T> {
    /// Shares `value` until [`Self::revoke`]. Each kind of revocable needs
    /// its own lockdep class (`name`, `key`), since one may be used inside
    /// another's [`Self::with`].
    pub(crate) fn new(value: T, name: &'static CStr, key: super::LockKey) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                value <- Mutex::new(Some(value), name, key),
            }),
            GFP_KERNEL,
        )
    }

    /// Runs `f` with the value, unless it was revoked. Revocation waits until
    /// `f` returns. Must not be nested for the same `Revocable`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let guard = self.value.lock();
        guard.as_ref().map(f)
    }

    /// Revokes the value, waiting for a running [`Self::with`]; returns it.
    pub(crate) fn revoke(&self) -> Option<T>
    where
        T: Unpin,
    {
        self.value.lock().take()
    }
}
