/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvirtio: out-of-line wrappers for the static-inline helpers and macros of
 * the C virtio core, so that Rust can call them. Nothing here makes a
 * decision: each function is one call into the C API it names.
 */
#ifndef RVIRTIO_VIRTIO_SHIM_H
#define RVIRTIO_VIRTIO_SHIM_H

#include <linux/types.h>

struct virtio_device;
struct virtio_driver;
struct virtqueue;
struct virtqueue_info;
struct scatterlist;
struct device;
struct pci_dev;

int rvirtio_register_driver(struct virtio_driver *drv);
bool rvirtio_has_feature(const struct virtio_device *vdev, unsigned int fbit);
bool rvirtio_is_little_endian(struct virtio_device *vdev);
bool rvirtio_can_get_config(const struct virtio_device *vdev);
u32 rvirtio_config_generation(struct virtio_device *vdev);
void rvirtio_config_get(struct virtio_device *vdev, unsigned int offset, void *buf,
			unsigned int len);
void rvirtio_config_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
			unsigned int len);
u8 rvirtio_get_status(struct virtio_device *vdev);
void rvirtio_device_ready(struct virtio_device *vdev);
int rvirtio_restart(struct virtio_device *vdev);
int rvirtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		     struct virtqueue_info vqs_info[], unsigned int pre_vectors);
void rvirtio_del_vqs(struct virtio_device *vdev);
void rvirtio_synchronize_cbs(struct virtio_device *vdev);
const struct cpumask *rvirtio_vq_affinity(struct virtio_device *vdev, int index);
void rvirtio_sg_mark_end(struct scatterlist *sg);
struct virtio_device *rvirtio_vq_device(struct virtqueue *vq);
unsigned int rvirtio_vq_index(struct virtqueue *vq);
unsigned int rvirtio_vq_num_free(struct virtqueue *vq);
struct device *rvirtio_device_dev(struct virtio_device *vdev);
struct virtio_device *rvirtio_dev_to_virtio(struct device *dev);
/* The PCI function under a virtio-pci device; NULL for other transports. */
struct pci_dev *rvirtio_pci_dev(struct virtio_device *vdev);
bool rvirtio_pci_is_enabled(struct pci_dev *pdev);
void *rvirtio_get_priv(struct virtio_device *vdev);
void rvirtio_set_priv(struct virtio_device *vdev, void *priv);
struct virtio_driver *rvirtio_driver_of(struct virtio_device *vdev);
/* device_lock() and device_unlock() of the virtio device. */
void rvirtio_device_lock(struct virtio_device *vdev);
void rvirtio_device_unlock(struct virtio_device *vdev);
/* Whether the device is bound to the driver called NAME (under the device
 * lock). A bus has one driver of a name: driver_register() refuses a
 * second. */
bool rvirtio_bound_to(struct virtio_device *vdev, const char *name);
/* Waits for every function-level reset in progress on a virtio-pci
 * function (the virtio vendor's), each of which holds the function's lock
 * across both hooks: after a driver is unregistered, none can still be
 * about to call it (the virtio core reads the device's driver, and calls
 * its hooks, without the virtio device's lock). Functions not bound to
 * virtio-pci are skipped. */
void rvirtio_flr_barrier(void);

/* Whether the CPU may describe this memory to a device by its page: it is
 * in the kernel's linear map (virt_addr_valid), unlike vmalloc'd memory, a
 * vmapped stack or a module's static data. */
bool rvirtio_linear_map(const void *p);
/* virtqueue_kick_prepare under the held lock, unlock, notify, then restore
 * the flags the lock was taken with. */
void rvirtio_vq_kick_unlock(struct virtqueue *vq, void *lock, unsigned long flags);

#endif
