/* SPDX-License-Identifier: MIT */
/*
 * vhost-user wire format (QEMU docs/interop/vhost-user.rst), native byte
 * order. Every struct here is exactly what travels on the socket; sizes
 * are asserted. File descriptors travel beside a message (SCM_RIGHTS), in
 * struct vhu_msg, never inside these structs.
 */
#ifndef VIRTIOBOX_CORE_VHOST_USER_WIRE_H
#define VIRTIOBOX_CORE_VHOST_USER_WIRE_H

#include <stdint.h>

/* Front-end requests. */
enum vhu_request {
	VHU_NONE = 0,
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SEND_RARP = 19,
	VHU_NET_SET_MTU = 20,
	VHU_SET_BACKEND_REQ_FD = 21,
	VHU_IOTLB_MSG = 22,
	VHU_SET_VRING_ENDIAN = 23,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
	VHU_CREATE_CRYPTO_SESSION = 26,
	VHU_CLOSE_CRYPTO_SESSION = 27,
	VHU_POSTCOPY_ADVISE = 28,
	VHU_POSTCOPY_LISTEN = 29,
	VHU_POSTCOPY_END = 30,
	VHU_GET_INFLIGHT_FD = 31,
	VHU_SET_INFLIGHT_FD = 32,
	VHU_GPU_SET_SOCKET = 33,
	VHU_RESET_DEVICE = 34,
	VHU_VRING_KICK = 35,
	VHU_GET_MAX_MEM_SLOTS = 36,
	VHU_ADD_MEM_REG = 37,
	VHU_REM_MEM_REG = 38,
	VHU_SET_STATUS = 39,
	VHU_GET_STATUS = 40,
	VHU_REQUEST_MAX
};

/* Header flags. */
#define VHU_FLAG_VERSION_MASK 0x3u
#define VHU_VERSION	      0x1u
#define VHU_FLAG_REPLY	      (1u << 2)
#define VHU_FLAG_NEED_REPLY   (1u << 3)

/* Virtio feature bit 30, reused by vhost-user for protocol features. */
#define VHU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
#define VHU_PROTOCOL_F_MQ		    0
#define VHU_PROTOCOL_F_LOG_SHMFD	    1
#define VHU_PROTOCOL_F_RARP		    2
#define VHU_PROTOCOL_F_REPLY_ACK	    3
#define VHU_PROTOCOL_F_MTU		    4
#define VHU_PROTOCOL_F_BACKEND_REQ	    5
#define VHU_PROTOCOL_F_CROSS_ENDIAN	    6
#define VHU_PROTOCOL_F_CRYPTO_SESSION	    7
#define VHU_PROTOCOL_F_PAGEFAULT	    8
#define VHU_PROTOCOL_F_CONFIG		    9
#define VHU_PROTOCOL_F_BACKEND_SEND_FD	    10
#define VHU_PROTOCOL_F_HOST_NOTIFIER	    11
#define VHU_PROTOCOL_F_INFLIGHT_SHMFD	    12
#define VHU_PROTOCOL_F_RESET_DEVICE	    13
#define VHU_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS  15
#define VHU_PROTOCOL_F_STATUS		    16
#define VHU_PROTOCOL_F_XEN_MMAP		    17

/* SET_VRING_KICK/CALL/ERR u64 payload. */
#define VHU_VRING_INDEX_MASK 0xffu
#define VHU_VRING_NOFD_MASK  (1u << 8)

/* SET_VRING_ADDR flags. */
#define VHU_VRING_F_LOG 0x1u

/* SET_MEM_TABLE carries at most this many regions (and fds). */
#define VHU_MEM_REGIONS_MAX 8
/* Most fds any message carries. */
#define VHU_FDS_MAX VHU_MEM_REGIONS_MAX
/* GET/SET_CONFIG payload bytes. */
#define VHU_CONFIG_SIZE_MAX 256

/* XEN_MMAP region flags. */
#define VHU_XEN_MMAP_FOREIGN 0x1u
#define VHU_XEN_MMAP_GRANT   0x2u
/* "Map on demand": bit 8 per the spec text; rust-vmm's vhost and
 * xen-vhost-frontend send 0x8, so both are accepted. */
#define VHU_XEN_MMAP_MAP_ON_DEMAND	0x100u
#define VHU_XEN_MMAP_MAP_ON_DEMAND_RUST 0x8u

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes after this header */
};
_Static_assert(sizeof(struct vhu_hdr) == 12, "vhost-user header");

struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
};
_Static_assert(sizeof(struct vhu_vring_state) == 8, "vring state");

struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc; /* front-end virtual addresses (IOVAs with */
	uint64_t used; /* VIRTIO_F_ACCESS_PLATFORM) */
	uint64_t avail;
	uint64_t log;
};
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "vring address");

/* One memory region; the XEN_MMAP form adds two fields at the end. */
struct vhu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};
_Static_assert(sizeof(struct vhu_region) == 32, "memory region");

struct vhu_region_xen {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
	uint32_t xen_mmap_flags;
	uint32_t domid;
};
_Static_assert(sizeof(struct vhu_region_xen) == 40, "Xen memory region");

/* SET_MEM_TABLE: this header, then nregions regions of either form. */
struct vhu_mem_hdr {
	uint32_t nregions;
	uint32_t padding;
};
_Static_assert(sizeof(struct vhu_mem_hdr) == 8, "memory table header");

/* ADD_MEM_REG / REM_MEM_REG: 64-bit padding, then one region. */
struct vhu_mem_single_hdr {
	uint64_t padding;
};
_Static_assert(sizeof(struct vhu_mem_single_hdr) == 8, "single region header");

/* GET/SET_CONFIG: this header, then size bytes of config space. */
struct vhu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags; /* 0: writable fields, 1: live migration */
};
_Static_assert(sizeof(struct vhu_config_hdr) == 12, "config header");

#define VHU_CONFIG_F_WRITABLE  0u
#define VHU_CONFIG_F_MIGRATION 1u

/* Largest payload any message we handle carries: a full Xen memory table. */
#define VHU_PAYLOAD_MAX               \
	(sizeof(struct vhu_mem_hdr) + \
	 VHU_MEM_REGIONS_MAX * sizeof(struct vhu_region_xen))
_Static_assert(VHU_PAYLOAD_MAX == 328, "largest payload");
_Static_assert(VHU_PAYLOAD_MAX >=
		       sizeof(struct vhu_config_hdr) + VHU_CONFIG_SIZE_MAX,
	       "config fits");

#endif
