/* SPDX-License-Identifier: MIT */
/*
 * Internals of the vhost-user server, shared by core/vhost_user.c
 * (socket, connection lifecycle, dispatch), core/vhost_user_dev.c
 * (device-level requests), core/vhost_user_vring.c (per-queue requests)
 * and core/vhost_user_mem.c (memory tables), and
 * visible to their unit tests. Not an API for anything else.
 *
 * Threading: everything on the control thread. Fields the data path reads
 * (call/err fds, the live memory table, the device) change only between
 * dev_thread_pause() and dev_thread_resume().
 */
#ifndef VIRTIOBOX_CORE_VHOST_USER_INT_H
#define VIRTIOBOX_CORE_VHOST_USER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "dev_thread.h"
#include "gmem_mmap.h"
#include "log.h"
#include "loop.h"
#include "vhost_user.h"
#include "vhost_user_msg.h"

struct vhu_queue {
	unsigned index;
	uint32_t num;  /* SET_VRING_NUM; 0: not set */
	uint32_t base; /* SET_VRING_BASE, or where the ring stopped */
	bool addr_set;
	struct vhu_vring_addr addr; /* as received */
	int kick_fd;		    /* owned, -1: none */
	int call_fd;		    /* owned, -1: none (data path reads it) */
	int err_fd;		    /* owned, -1: none (data path reads it) */
	bool kick_nofd;		    /* VRING_NOFD kick: poll the ring */
	bool enable_set;	    /* SET_VRING_ENABLE received ... */
	bool enabled;		    /* ... with this value */
	bool started;		    /* the device queue runs */
};

struct vhu_reply {
	uint32_t size;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		uint8_t bytes[VHU_PAYLOAD_MAX];
	} p;
};

/* A front-end-caused line, limited per server. */
#define vhu_log(s, level, ...) \
	log_msg_ratelimited(&(s)->log_rl, (level), __VA_ARGS__)

struct vhu_server {
	struct virtio_transport tp;
	char name[64];
	/* Per server, so one front-end's noise never silences another's:
	 * what it sends, and its connects and disconnects. */
	struct log_ratelimit log_rl, conn_rl;
	unsigned pause_deadline_ms;
	bool stuck;	       /* the data path missed a pause deadline */
	bool teardown_pending; /* a disconnect found it stuck: clean up later */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool offer_xen_mmap;
	struct vhu_region_mapper *mapper;
	struct loop *ctl;
	struct virtio_dev *dev;
	struct dev_thread *dt;
	struct loop_source listen; /* fd -1 without a socket path */
	struct loop_source conn;   /* fd -1 when no front-end */

	/* Per connection, cleared on disconnect. */
	uint64_t acked_features; /* SET_FEATURES as received */
	uint64_t protocol;	 /* negotiated protocol features */
	bool owner;
	struct gmem_mmap mem;	  /* live table, the device's memory */
	struct gmem_mmap staging; /* SET_MEM_TABLE builds here */
	struct vhu_queue *queues; /* dev->ops->num_queues */

	struct vhu_msg msg;   /* being received, then handled */
	struct vhu_msg_rx rx; /* how much of msg has come */
	struct vhu_reply reply;
};

/*
 * A handler gets the validated message, the queue it names (NULL when the
 * request names none) and the reply to fill for requests with an explicit
 * reply. Fds it keeps are set to -1 in m->fds; the rest are closed after.
 * Returns 0 or -errno (reported to the front-end when it asked for a
 * reply); -ECONNRESET closes the connection after the reply.
 */
typedef int vhu_handler(struct vhu_server *s, struct vhu_msg *m,
			struct vhu_queue *q, struct vhu_reply *r);

/* vhost_user_dev.c */
vhu_handler vhu_get_features, vhu_set_features, vhu_get_protocol_features,
	vhu_set_protocol_features, vhu_set_owner, vhu_reset_owner,
	vhu_get_queue_num, vhu_get_max_mem_slots, vhu_get_config,
	vhu_set_config, vhu_set_status, vhu_get_status, vhu_reset_device;
/* The protocol features this server offers. */
uint64_t vhu_protocol_offered(const struct vhu_server *s);
/* Data path paused: stop every ring (keeping its base), reset the device. */
void vhu_device_reset(struct vhu_server *s);

/* vhost_user_vring.c */
vhu_handler vhu_set_vring_num, vhu_set_vring_addr, vhu_set_vring_base,
	vhu_get_vring_base, vhu_set_vring_kick, vhu_set_vring_call,
	vhu_set_vring_err, vhu_set_vring_enable;
/* Stop q if started, saving its base (data path paused). */
void vhu_queue_stop(struct vhu_server *s, struct vhu_queue *q);
/* Start q on the current memory table (data path paused). 0 or -errno. */
int vhu_queue_start(struct vhu_server *s, struct vhu_queue *q);
/* Poll q's kick fd, or stop, per its started/enabled state (paused). */
void vhu_queue_arm(struct vhu_server *s, struct vhu_queue *q);
/* Forget everything about q, closing its fds (data path paused). */
void vhu_queue_clear(struct vhu_server *s, struct vhu_queue *q,
		     bool keep_notify_fds);

/* vhost_user_mem.c */
vhu_handler vhu_set_mem_table, vhu_add_mem_reg, vhu_rem_mem_reg;
/*
 * Check one region as received: size, wrap-around, and the XEN_MMAP flags.
 * Returns 0, -EINVAL or -EOVERFLOW with *why set.
 */
int vhu_region_check(const struct vhu_mem_region *r, const char **why);
/* Release a region of either kind (control thread, not in the table). */
void vhu_region_release(struct vhu_server *s, struct gmem_mmap_region *r);
/* Release every region of m and empty it. */
void vhu_mem_release_all(struct vhu_server *s, struct gmem_mmap *m);

#endif
