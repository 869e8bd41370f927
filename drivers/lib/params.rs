// SPDX-License-Identifier: GPL-2.0

//! Reading the module parameters `params.h` defines in C.

/// Defines `pub(crate) fn NAME() -> u32`, reading the parameter through its
/// C getter `rvirtio_param_PARAM` (from `RVIRTIO_PARAM_UINT`).
#[macro_export]
macro_rules! param_getter {
    ($(#[$m:meta])* $name:ident, $c:ident) => {
        $(#[$m])*
        pub(crate) fn $name() -> u32 {
            extern "C" {
                fn $c() -> u32;
            }
            // SAFETY: The C getter reads the parameter with READ_ONCE.
            unsafe { $c() }
        }
    };
}
