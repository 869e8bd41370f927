// SPDX-License-Identifier: GPL-2.0

//! Tests of drivers/virtio/status.rs.

use proptest::prelude::*;
use rvirtio_host_tests::virtio::status::*;

#[test]
fn needs_reset_wins_over_driver_ok() {
    assert_eq!(health(DRIVER_OK | NEEDS_RESET), Health::NeedsReset);
    assert_eq!(
        health(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK),
        Health::Live
    );
    assert_eq!(health(0), Health::NotReady);
    assert_eq!(health(DRIVER_OK | FAILED), Health::NotReady);
}

proptest! {
    #[test]
    fn any_status_with_needs_reset_is_broken(s in any::<u8>()) {
        prop_assert_eq!(health(s | NEEDS_RESET), Health::NeedsReset);
    }

    #[test]
    fn live_needs_driver_ok(s in any::<u8>()) {
        if health(s) == Health::Live {
            prop_assert!(s & DRIVER_OK != 0);
            prop_assert!(s & (NEEDS_RESET | FAILED) == 0);
        }
    }
}
