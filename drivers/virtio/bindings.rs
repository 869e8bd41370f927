// SPDX-License-Identifier: GPL-2.0

//! Raw bindings to the C virtio core and the virtio uapi headers, generated
//! by bindgen from `bindings_helper.h` at build time. Types that
//! `kernel::bindings` already has are re-used from there.

#![allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    missing_docs,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    // What 7.3 asks for on the command line, which generated code breaks.
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr
)]

include!("bindings_generated.rs");
