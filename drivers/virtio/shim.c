// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio: out-of-line wrappers for the C virtio core's inline helpers, and
 * the kick, in one call.
 *
 * Each module that uses the Rust virtio layer links its own copy of this
 * file (through a one-line wrapper in its directory), so that THIS_MODULE
 * names that module.
 */
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "shim.h"

/*
 * Virtqueue::kick_unlocked in one call, as the C drivers kick: decide under
 * the queue's lock whether the device wants a notification, drop the lock
 * (a raw_spinlock_t, taken with _raw_spin_lock_irqsave: flags), notify with
 * interrupts still off (the queue cannot be freed before they are back on:
 * see kick_unlocked), then restore them. Preemption stays off until then,
 * so that a reschedule asked for meanwhile is not missed.
 */
void rvirtio_vq_kick_unlock(struct virtqueue *vq, void *lock, unsigned long flags)
{
	raw_spinlock_t *l = lock;

	if (!virtqueue_kick_prepare(vq)) {
		raw_spin_unlock_irqrestore(l, flags);
		return;
	}
	preempt_disable();
	raw_spin_unlock(l);
	virtqueue_notify(vq);
	local_irq_restore(flags);
	preempt_enable();
}

bool rvirtio_linear_map(const void *p)
{
	return virt_addr_valid(p);
}

int rvirtio_register_driver(struct virtio_driver *drv)
{
	return register_virtio_driver(drv);
}

bool rvirtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

bool rvirtio_is_little_endian(struct virtio_device *vdev)
{
	return virtio_is_little_endian(vdev);
}

bool rvirtio_can_get_config(const struct virtio_device *vdev)
{
	return vdev->config->get != NULL;
}

u32 rvirtio_config_generation(struct virtio_device *vdev)
{
	return vdev->config->generation ? vdev->config->generation(vdev) : 0;
}

void rvirtio_config_get(struct virtio_device *vdev, unsigned int offset, void *buf,
			unsigned int len)
{
	vdev->config->get(vdev, offset, buf, len);
}

void rvirtio_config_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
			unsigned int len)
{
	vdev->config->set(vdev, offset, buf, len);
}

u8 rvirtio_get_status(struct virtio_device *vdev)
{
	return vdev->config->get_status(vdev);
}

void rvirtio_device_ready(struct virtio_device *vdev)
{
	virtio_device_ready(vdev);
}

/*
 * After virtio_reset_device(): acknowledge the device again and renegotiate
 * the features it already has (vdev->features), as virtio_device_restore()
 * does, without involving the driver's PM callbacks.
 */
int rvirtio_restart(struct virtio_device *vdev)
{
	int ret;

	virtio_add_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_add_status(vdev, VIRTIO_CONFIG_S_DRIVER);
	ret = vdev->config->finalize_features(vdev);
	if (ret)
		goto fail;
	if (virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		virtio_add_status(vdev, VIRTIO_CONFIG_S_FEATURES_OK);
		if (!(vdev->config->get_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK)) {
			ret = -ENODEV;
			goto fail;
		}
	}
	return 0;
fail:
	virtio_add_status(vdev, VIRTIO_CONFIG_S_FAILED);
	return ret;
}

int rvirtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
		     struct virtqueue_info vqs_info[], unsigned int pre_vectors)
{
	struct irq_affinity desc = { .pre_vectors = pre_vectors };

	return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, &desc);
}

void rvirtio_del_vqs(struct virtio_device *vdev)
{
	vdev->config->del_vqs(vdev);
}

const struct cpumask *rvirtio_vq_affinity(struct virtio_device *vdev, int index)
{
	if (!vdev->config->get_vq_affinity)
		return NULL;
	return vdev->config->get_vq_affinity(vdev, index);
}

void rvirtio_synchronize_cbs(struct virtio_device *vdev)
{
	virtio_synchronize_cbs(vdev);
}

void rvirtio_sg_mark_end(struct scatterlist *sg)
{
	sg_mark_end(sg);
}

struct virtio_device *rvirtio_vq_device(struct virtqueue *vq)
{
	return vq->vdev;
}

unsigned int rvirtio_vq_index(struct virtqueue *vq)
{
	return vq->index;
}

unsigned int rvirtio_vq_num_free(struct virtqueue *vq)
{
	return vq->num_free;
}

struct device *rvirtio_device_dev(struct virtio_device *vdev)
{
	return &vdev->dev;
}

struct virtio_device *rvirtio_dev_to_virtio(struct device *dev)
{
	return dev_to_virtio(dev);
}

bool rvirtio_pci_is_enabled(struct pci_dev *pdev)
{
	return pci_is_enabled(pdev);
}

struct pci_dev *rvirtio_pci_dev(struct virtio_device *vdev)
{
	struct device *parent = vdev->dev.parent;

	return parent && dev_is_pci(parent) ? to_pci_dev(parent) : NULL;
}

void *rvirtio_get_priv(struct virtio_device *vdev)
{
	return vdev->priv;
}

void rvirtio_set_priv(struct virtio_device *vdev, void *priv)
{
	vdev->priv = priv;
}

struct virtio_driver *rvirtio_driver_of(struct virtio_device *vdev)
{
	return drv_to_virtio(vdev->dev.driver);
}

void rvirtio_device_lock(struct virtio_device *vdev)
{
	device_lock(&vdev->dev);
}

void rvirtio_device_unlock(struct virtio_device *vdev)
{
	device_unlock(&vdev->dev);
}

void rvirtio_flr_barrier(void)
{
	struct pci_dev *pdev = NULL;

	while ((pdev = pci_get_device(PCI_VENDOR_ID_REDHAT_QUMRANET, PCI_ANY_ID, pdev))) {
		/* Only virtio-pci calls a virtio driver's reset hooks; other
		 * functions of the vendor are not waited for. */
		if (!pdev->driver || strcmp(pdev->driver->name, "virtio-pci"))
			continue;
		device_lock(&pdev->dev);
		device_unlock(&pdev->dev);
	}
}

bool rvirtio_bound_to(struct virtio_device *vdev, const char *name)
{
	const struct device_driver *drv = vdev->dev.driver;

	return drv && !strcmp(drv->name, name);
}
