// SPDX-License-Identifier: GPL-2.0

//! The disk's attributes: sysfs `serial` (GET_ID) and `cache_type` (the
//! device's write cache, writable with CONFIG_WCE), and the geometry
//! `HDIO_GETGEO` reports.

use crate::device::{RvirtioBlk, Shared};
use crate::mq::{self, DiskAttr, DiskRef, Status};
use crate::proto::{self, feature, OutHdr};
use crate::virtio::Device;
use core::sync::atomic::Ordering;
use kernel::c_str;
use kernel::prelude::*;

/// sysfs `serial`: the device id string, read with GET_ID.
pub(crate) const SERIAL_ATTR: DiskAttr<RvirtioBlk> = DiskAttr {
    name: c_str!("serial"),
    show: serial_show,
    store: None,
};

/// sysfs `cache_type`, writable when the device offers CONFIG_WCE.
pub(crate) const CACHE_TYPE_RW: DiskAttr<RvirtioBlk> = DiskAttr {
    name: c_str!("cache_type"),
    show: cache_type_show,
    store: Some(cache_type_store),
};

/// sysfs `cache_type`, read-only without CONFIG_WCE.
pub(crate) const CACHE_TYPE_RO: DiskAttr<RvirtioBlk> = DiskAttr {
    name: c_str!("cache_type"),
    show: cache_type_show,
    store: None,
};

/// The device's cache mode, read from config space as the C driver does.
fn cache_mode(dev: &Device<RvirtioBlk>) -> bool {
    let wce = dev
        .has_feature(feature::CONFIG_WCE)
        .then(|| dev.read_u8(proto::config::WRITEBACK));
    proto::write_back(wce, dev.has_feature(feature::FLUSH))
}

fn cache_type_show(disk: &DiskRef<RvirtioBlk>, page: &mut [u8]) -> Result<usize> {
    let back = disk
        .queue_data()
        .recovery
        .dev()
        .with(cache_mode)
        .ok_or(ENXIO)?;
    let text = proto::CACHE_TYPES[usize::from(back)].as_bytes();
    let len = (text.len() + 1).min(page.len());
    page[..len - 1].copy_from_slice(&text[..len - 1]);
    page[len - 1] = b'\n';
    Ok(len)
}

/// Writes the cache mode to the device, then sets the queue's write-cache
/// flag from what the device reports back.
fn cache_type_store(disk: &DiskRef<RvirtioBlk>, input: &[u8]) -> Result {
    let back = proto::parse_cache_type(input).ok_or(EINVAL)?;
    let shared = disk.queue_data();
    // The device handle is released before the queue is frozen: a reset
    // needs it to finish the requests the freeze waits for.
    let now = shared
        .recovery
        .dev()
        .with(|dev| {
            dev.write_u8(proto::config::WRITEBACK, u8::from(back));
            shared.wce.store(u32::from(back), Ordering::Relaxed);
            cache_mode(dev)
        })
        .ok_or(ENXIO)?;
    disk.set_write_cache(now)
}

/// The device id string, or the error of the GET_ID request.
fn serial_show(disk: &DiskRef<RvirtioBlk>, page: &mut [u8]) -> Result<usize> {
    let mut id = [0u8; proto::ID_BYTES];
    let status = disk.execute_driver_in(&mut id, |d| {
        *d.hdr = OutHdr::new(proto::req_type::GET_ID, 0, 0);
    })?;
    if status != Status::OK {
        return Err(Error::from_errno(status.to_errno()));
    }
    let id = proto::id_string(&id);
    let len = id.len().min(page.len());
    page[..len].copy_from_slice(&id[..len]);
    Ok(len)
}

/// `HDIO_GETGEO`: the device's geometry, or the C driver's made-up one.
pub(crate) fn geometry(shared: &Shared, capacity: u64) -> Result<mq::Geometry> {
    use proto::config as off;
    let (cylinders, heads, sectors) = shared
        .recovery
        .dev()
        .with(|dev| {
            let chs = dev.has_feature(feature::GEOMETRY).then(|| {
                (
                    dev.read_u16(off::GEOMETRY_CYLINDERS),
                    dev.read_u8(off::GEOMETRY_HEADS),
                    dev.read_u8(off::GEOMETRY_SECTORS),
                )
            });
            proto::geometry(chs, capacity)
        })
        .ok_or(ENXIO)?;
    Ok(mq::Geometry {
        cylinders,
        heads,
        sectors,
    })
}
