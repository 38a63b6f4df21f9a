// SPDX-License-Identifier: MIT
/*
 * A vhost-user front-end for the Xen system tests, run in dom0, speaking
 * XEN_MMAP. It builds a split or packed ring and virtio-i2c requests in
 * Xen-shared memory, kicks, and checks virtiobox's answers, which
 * virtiobox writes through its own Xen mappings:
 *
 *   vhu_xen_fe SOCKET split|packed foreign DOMID RAM_BASE RAM_MB
 *     a real (paused) domU's RAM bank is one FOREIGN region; the rings and
 *     requests live in that RAM, written through this program's own
 *     foreign mapping;
 *   vhu_xen_fe SOCKET split|packed grant DOMID [revoke]
 *     this program grants pages to domain DOMID (the one virtiobox runs
 *     in) with /dev/xen/gntalloc, the request headers and written data
 *     read-only; one GRANT region (map-on-demand) covers every grant
 *     address (bit 63 | gref << 12). With revoke, a fifth request's data
 *     sits in a page whose grant was ended before the kick: that request
 *     must come back with nothing written, the four others served.
 *
 * Written from the vhost-user, virtio 1.2 and virtio-i2c specs,
 * independent of virtiobox's headers. The board must serve a virtio-i2c
 * device at SOCKET with a simulated 24c02 at 0x50 and nothing at 0x51.
 * Prints "VHU-XEN-FE: OK <memory> <ring>" and exits 0, or "VHU-XEN-FE:
 * FAIL <why>" and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

/* vhost-user (docs/interop/vhost-user.rst) */
enum {
	GET_FEATURES = 1,
	SET_FEATURES = 2,
	SET_OWNER = 3,
	SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8,
	SET_VRING_ADDR = 9,
	SET_VRING_BASE = 10,
	GET_VRING_BASE = 11,
	SET_VRING_KICK = 12,
	SET_VRING_CALL = 13,
	GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16,
	SET_VRING_ENABLE = 18,
};
#define VERSION	      0x1u
#define F_REPLY	      0x4u
#define F_NEED_REPLY  0x8u
#define PF_REPLY_ACK  3
#define PF_XEN_MMAP   17
#define XEN_FOREIGN   0x1u
#define XEN_GRANT     0x2u
#define XEN_ON_DEMAND 0x8u /* as rust-vmm sends it */

/* virtio */
#define VIRTIO_F_VERSION_1	 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED	 34
#define F_PROTOCOL_FEATURES	 30
#define I2C_F_ZERO_LENGTH	 0
#define DESC_F_NEXT		 1
#define DESC_F_WRITE		 2
#define PACKED_F_AVAIL		 (1u << 7)
#define PACKED_F_USED		 (1u << 15)
#define I2C_FAIL_NEXT		 1u
#define I2C_M_RD		 2u

#define BIT(n)	 (1ULL << (n))
#define PAGE	 4096u
#define NUM	 16 /* queue size */
#define NREQ_MAX 5

struct hdr {
	uint32_t request, flags, size;
} __attribute__((packed));

struct xen_region {
	uint64_t gpa, size, uva, mmap_offset;
	uint32_t xen_mmap_flags, domid;
};

struct vring_addr {
	uint32_t index, flags;
	uint64_t desc, used, avail, log;
};

struct desc { /* split */
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct pdesc { /* packed */
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
};

static int sock = -1;
static const char *ring_kind, *mem_kind = "setup";

static void die(const char *fmt, ...)
{
	va_list ap;

	printf("VHU-XEN-FE: FAIL %s %s: ", mem_kind,
	       ring_kind ? ring_kind : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static void send_msg(uint32_t req, uint32_t flags, const void *p, uint32_t len,
		     const int *fds, int nfds)
{
	struct hdr h = {req, VERSION | flags, len};
	char buf[12 + 512];
	char ctl[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = {buf, 12 + len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	memcpy(buf, &h, 12);
	memcpy(buf + 12, p, len);
	if (nfds) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &m, 0) != (ssize_t)(12 + len))
		die("sendmsg request %u: %s", req, strerror(errno));
}

static void recv_reply(uint32_t req, void *p, uint32_t len)
{
	struct hdr h;

	if (recv(sock, &h, 12, MSG_WAITALL) != 12)
		die("no reply to request %u", req);
	if (h.request != req || !(h.flags & F_REPLY) || h.size != len)
		die("bad reply to request %u (request %u flags 0x%x size %u)",
		    req, h.request, h.flags, h.size);
	if (recv(sock, p, len, MSG_WAITALL) != (ssize_t)len)
		die("short reply to request %u", req);
}

static uint64_t get_u64(uint32_t req)
{
	uint64_t v;

	send_msg(req, 0, NULL, 0, NULL, 0);
	recv_reply(req, &v, 8);
	return v;
}

/* A request with REPLY_ACK: the back-end's answer must be 0. */
static void acked(uint32_t req, const void *p, uint32_t len, const int *fds,
		  int nfds)
{
	uint64_t v;

	send_msg(req, F_NEED_REPLY, p, len, fds, nfds);
	recv_reply(req, &v, 8);
	if (v)
		die("request %u refused (%llu)", req, (unsigned long long)v);
}

/*
 * The shared memory, as this front-end maps it: three pages, for the rings
 * (read-write), what the device reads (request headers and written data)
 * and what it writes (read data and status bytes).
 */
enum { P_RING, P_RO, P_RW, NMAPPED, P_GONE = NMAPPED, NPAGES };
static uint8_t *page[NPAGES];	 /* NULL: not mapped (P_GONE) */
static uint64_t page_ga[NPAGES]; /* guest address of each page */

static void *ga(uint64_t gaddr)
{
	for (int i = 0; i < NPAGES; i++)
		if (page[i] && gaddr - page_ga[i] < PAGE)
			return page[i] + (gaddr - page_ga[i]);
	die("address 0x%llx is not one of ours", (unsigned long long)gaddr);
	return NULL;
}

static void fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- the rings ---- */

static int packed;
static uint16_t avail_idx, used_seen;
static uint16_t p_next, p_used; /* packed: next slot, next used slot */
static int p_wrap = 1, p_used_wrap = 1;

#define RING   (page_ga[P_RING])
#define DRIVER (page_ga[P_RING] + 0x400)
#define DEVICE (page_ga[P_RING] + 0x800)

struct seg {
	uint64_t addr;
	uint32_t len;
	int write;
};

/* Make a chain available; returns its id (split: head, packed: id). */
static uint16_t add_chain(const struct seg *s, int n, uint16_t id)
{
	if (!packed) {
		struct desc *d = ga(RING);
		uint16_t head = (uint16_t)(id * 3);
		uint16_t *ring = ga(DRIVER + 4);

		for (int i = 0; i < n; i++)
			d[head + i] = (struct desc){
				s[i].addr, s[i].len,
				(uint16_t)((i < n - 1 ? DESC_F_NEXT : 0) |
					   (s[i].write ? DESC_F_WRITE : 0)),
				(uint16_t)(head + i + 1)};
		ring[avail_idx % NUM] = head;
		fence(); /* descriptors and ring entry before idx */
		avail_idx++;
		*(volatile uint16_t *)ga(DRIVER + 2) = avail_idx;
		return head;
	}
	struct pdesc *pd = ga(RING);
	uint16_t first = p_next, first_flags = 0;

	for (int i = 0; i < n; i++) {
		uint16_t f =
			(uint16_t)((i < n - 1 ? DESC_F_NEXT : 0) |
				   (s[i].write ? DESC_F_WRITE : 0) |
				   (p_wrap ? PACKED_F_AVAIL : PACKED_F_USED));
		struct pdesc *x = &pd[p_next];

		x->addr = s[i].addr;
		x->len = s[i].len;
		x->id = id;
		if (i == 0)
			first_flags = f;
		else
			x->flags = f;
		if (++p_next == NUM) {
			p_next = 0;
			p_wrap = !p_wrap;
		}
	}
	fence(); /* the chain before its head's flags */
	*(volatile uint16_t *)&pd[first].flags = first_flags;
	return id;
}

/* 1 and the used (id, len) if one is there, else 0. */
static int get_used(uint16_t *id, uint32_t *len, uint16_t ndesc)
{
	if (!packed) {
		volatile uint16_t *idx = ga(DEVICE + 2);
		uint32_t *e;

		if (*idx == used_seen)
			return 0;
		fence();
		e = ga(DEVICE + 4 + 8 * (used_seen % NUM));
		*id = (uint16_t)e[0];
		*len = e[1];
		used_seen++;
		return 1;
	}
	struct pdesc *d = ga(RING);
	uint16_t f = *(volatile uint16_t *)&d[p_used].flags;
	int a = !!(f & PACKED_F_AVAIL), u = !!(f & PACKED_F_USED);

	if (a != u || a != p_used_wrap)
		return 0;
	fence();
	*id = d[p_used].id;
	*len = d[p_used].len;
	p_used = (uint16_t)(p_used + ndesc);
	if (p_used >= NUM) {
		p_used -= NUM;
		p_used_wrap = !p_used_wrap;
	}
	return 1;
}

/* ---- virtio-i2c requests ---- */

struct i2c_req {
	uint64_t hdr, buf, status;
	uint32_t len;
	int rd;
};

/* Request i: header and written data in the read-only page, read data and
 * status in the read-write one. */
static struct i2c_req make_req(int i, uint8_t addr, uint32_t flags,
			       const uint8_t *data, uint32_t len)
{
	uint64_t ro = page_ga[P_RO] + (uint64_t)i * 0x40;
	uint64_t rw = page_ga[P_RW] + (uint64_t)i * 0x40;
	int rd = !!(flags & I2C_M_RD);
	struct i2c_req r = {ro, rd ? rw : ro + 0x10, rw + 0x20, len, rd};
	uint8_t *h = ga(ro);

	memset(h, 0, 0x40);
	memset(ga(rw), 0, 0x40);
	h[0] = (uint8_t)(addr << 1); /* le16 addr, le16 padding, le32 flags */
	h[4] = (uint8_t)flags;
	if (data)
		memcpy(ga(r.buf), data, len);
	*(uint8_t *)ga(r.status) = 0xee;
	return r;
}

static void post(const struct i2c_req *r, uint16_t id)
{
	struct seg s[3] = {
		{r->hdr, 8, 0}, {r->buf, r->len, r->rd}, {r->status, 1, 1}};

	add_chain(s, 3, id);
}

/* FOREIGN: three pages in the middle of the domU's RAM bank. */
static void setup_foreign(uint32_t domid, uint64_t base, uint64_t size,
			  struct xen_region *reg)
{
	xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
	xen_pfn_t frames[NMAPPED];
	int err[NMAPPED];
	uint8_t *work;

	if (!fm)
		die("xenforeignmemory_open: %s", strerror(errno));
	for (int i = 0; i < NMAPPED; i++) {
		page_ga[i] = base + size / 2 + (uint64_t)i * PAGE;
		frames[i] = page_ga[i] >> 12;
	}
	work = xenforeignmemory_map(fm, domid, PROT_READ | PROT_WRITE, NMAPPED,
				    frames, err);
	if (!work)
		die("xenforeignmemory_map of domain %u: %s", domid,
		    strerror(errno));
	for (int i = 0; i < NMAPPED; i++) {
		if (err[i])
			die("frame 0x%llx of domain %u: error %d",
			    (unsigned long long)frames[i], domid, err[i]);
		page[i] = work + (size_t)i * PAGE;
	}
	*reg = (struct xen_region){base, size,	      0x100000000000ull,
				   0,	 XEN_FOREIGN, domid};
}

/*
 * GRANT: three pages granted to domid, the device-read one read-only; with
 * revoke, a fourth whose grant is ended at once.
 */
static void setup_grant(uint32_t domid, int revoke, struct xen_region *reg)
{
	xengntshr_handle *gs = xengntshr_open(NULL, 0);

	if (!gs)
		die("xengntshr_open (/dev/xen/gntalloc): %s", strerror(errno));
	for (int i = 0; i < (revoke ? NPAGES : NMAPPED); i++) {
		uint32_t ref;

		page[i] = xengntshr_share_pages(gs, domid, 1, &ref, i != P_RO);
		if (!page[i])
			die("sharing a page with domain %u: %s", domid,
			    strerror(errno));
		memset(page[i], 0, PAGE);
		page_ga[i] = (1ull << 63) | (uint64_t)ref << 12;
		printf("grant ref %u: %s page\n", ref,
		       i == P_GONE ? "revoked"
		       : i == P_RO ? "read-only"
				   : "read-write");
	}
	if (revoke) {
		if (xengntshr_unshare(gs, page[P_GONE], 1) < 0)
			die("ending a grant: %s", strerror(errno));
		page[P_GONE] = NULL;
	}
	*reg = (struct xen_region){1ull << 63,
				   1ull << 44,
				   0x200000000000ull,
				   0,
				   XEN_GRANT | XEN_ON_DEMAND,
				   domid};
}

int main(int argc, char **argv)
{
	static const uint8_t wr[2] = {0x10, 0xab}, off[1] = {0x10}, zero[1];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xen_region reg;
	uint64_t features, proto;
	int kick, call, memfd;
	struct i2c_req r[NREQ_MAX];
	uint32_t lens[NREQ_MAX] = {0};
	int got = 0, seen[NREQ_MAX] = {0}, revoke = 0, nreq = 4;

	if (argc < 5 ||
	    (strcmp(argv[3], "foreign") && strcmp(argv[3], "grant")))
		die("usage: %s SOCKET split|packed foreign DOMID RAM_BASE "
		    "RAM_MB, or SOCKET split|packed grant DOMID [revoke]",
		    argv[0]);
	packed = !strcmp(argv[2], "packed");
	mem_kind = argv[3];
	ring_kind = packed ? "packed" : "split";
	if (!strcmp(argv[3], "foreign")) {
		if (argc != 7)
			die("foreign needs DOMID RAM_BASE RAM_MB");
		setup_foreign((uint32_t)strtoul(argv[4], NULL, 0),
			      strtoull(argv[5], NULL, 0),
			      strtoull(argv[6], NULL, 0) << 20, &reg);
	} else {
		revoke = argc == 6 && !strcmp(argv[5], "revoke");
		nreq = revoke ? 5 : 4;
		setup_grant((uint32_t)strtoul(argv[4], NULL, 0), revoke, &reg);
	}
	memset(page[P_RING], 0, PAGE);

	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect %s: %s", argv[1], strerror(errno));
	features = get_u64(GET_FEATURES);
	if (!(features & BIT(VIRTIO_F_ACCESS_PLATFORM)) ||
	    !(features & BIT(F_PROTOCOL_FEATURES)) ||
	    !(features & BIT(VIRTIO_F_VERSION_1)))
		die("features 0x%llx lack VERSION_1, ACCESS_PLATFORM or "
		    "PROTOCOL_FEATURES",
		    (unsigned long long)features);
	if (packed && !(features & BIT(VIRTIO_F_RING_PACKED)))
		die("RING_PACKED not offered");
	proto = get_u64(GET_PROTOCOL_FEATURES);
	if (!(proto & BIT(PF_XEN_MMAP)) || !(proto & BIT(PF_REPLY_ACK)))
		die("protocol features 0x%llx lack XEN_MMAP or REPLY_ACK",
		    (unsigned long long)proto);
	proto = BIT(PF_XEN_MMAP) | BIT(PF_REPLY_ACK);
	send_msg(SET_PROTOCOL_FEATURES, 0, &proto, 8, NULL, 0);
	send_msg(SET_OWNER, 0, NULL, 0, NULL, 0);
	features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ACCESS_PLATFORM) |
		   BIT(F_PROTOCOL_FEATURES) | BIT(I2C_F_ZERO_LENGTH) |
		   (packed ? BIT(VIRTIO_F_RING_PACKED) : 0);
	acked(SET_FEATURES, &features, 8, NULL, 0);

	/* One Xen region. The message needs an fd; virtiobox maps through
	 * its own gntdev / privcmd handles. */
	{
		struct {
			uint32_t n, pad;
			struct xen_region r;
		} t = {1, 0, reg};

		memfd = open("/dev/null", O_RDWR);
		acked(SET_MEM_TABLE, &t, sizeof(t), &memfd, 1);
	}
	kick = eventfd(0, 0);
	call = eventfd(0, EFD_NONBLOCK);
	{
		uint32_t num[2] = {0, NUM}, b[2] = {0, packed ? 0x8000 : 0};
		struct vring_addr a = {0, 0, RING, DEVICE, DRIVER, 0};
		uint64_t idx = 0;
		uint32_t en[2] = {0, 1};

		acked(SET_VRING_CALL, &idx, 8, &call, 1);
		acked(SET_VRING_NUM, num, 8, NULL, 0);
		acked(SET_VRING_BASE, b, 8, NULL, 0);
		acked(SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
		acked(SET_VRING_KICK, &idx, 8, &kick, 1);
		acked(SET_VRING_ENABLE, en, 8, NULL, 0);
	}

	/* Write 0xab at 0x10; read it back in a two-message transaction;
	 * 0x51 is not on the guest's allow-list. One kick for all. */
	r[0] = make_req(0, 0x50, 0, wr, 2);
	r[1] = make_req(1, 0x50, I2C_FAIL_NEXT, off, 1);
	r[2] = make_req(2, 0x50, I2C_M_RD, NULL, 1);
	r[3] = make_req(3, 0x51, 0, zero, 1);
	if (revoke) {
		/* A write whose data the guest no longer grants. */
		r[4] = make_req(4, 0x50, 0, NULL, 1);
		r[4].buf = page_ga[P_GONE] + 0x10;
	}
	for (int i = 0; i < nreq; i++)
		post(&r[i], (uint16_t)i);
	if (eventfd_write(kick, 1) < 0)
		die("kick: %s", strerror(errno));

	for (int tries = 0; got < nreq && tries < 100; tries++) {
		struct pollfd p = {call, POLLIN, 0};
		uint16_t id;
		uint32_t len;
		eventfd_t v;

		poll(&p, 1, 100);
		if (p.revents & POLLIN)
			eventfd_read(call, &v);
		while (got < nreq && get_used(&id, &len, 3)) {
			int i = packed ? id : id / 3;

			if (i < 0 || i >= nreq || seen[i])
				die("used id %u unexpected", id);
			seen[i] = 1;
			lens[i] = len;
			got++;
		}
	}
	if (got < nreq)
		die("%d of %d requests answered", got, nreq);
	for (int i = 0; i < 3; i++)
		if (*(uint8_t *)ga(r[i].status) != 0)
			die("request %d status %u, expected OK", i,
			    *(uint8_t *)ga(r[i].status));
	if (*(uint8_t *)ga(r[2].buf) != 0xab)
		die("read back 0x%02x at 0x10, expected 0xab",
		    *(uint8_t *)ga(r[2].buf));
	if (lens[2] != 2)
		die("read request used length %u, expected 2", lens[2]);
	if (*(uint8_t *)ga(r[3].status) != 1)
		die("request to 0x51 status %u, expected ERR",
		    *(uint8_t *)ga(r[3].status));
	if (revoke && (lens[4] != 0 || *(uint8_t *)ga(r[4].status) != 0xee))
		die("the request with revoked data came back with length %u, "
		    "status 0x%02x (expected 0, untouched 0xee)",
		    lens[4], *(uint8_t *)ga(r[4].status));
	{
		uint32_t q[2] = {0, 0};

		send_msg(GET_VRING_BASE, 0, q, 8, NULL, 0);
		recv_reply(GET_VRING_BASE, q, 8);
	}
	close(sock);
	printf("VHU-XEN-FE: OK %s %s%s: 4 i2c requests (0xab read back, 0x51 "
	       "refused)%s\n",
	       mem_kind, ring_kind, revoke ? " revoke" : "",
	       revoke ? ", the one with revoked data returned unused" : "");
	return 0;
}
