// SPDX-License-Identifier: MIT
/*
 * A Linux I2C adapter through i2c-dev (/dev/i2c-N) behind the i2c_bus seam.
 *
 * An adapter that is a real I2C master (I2C_FUNC_I2C) gets each transaction
 * as one I2C_RDWR: the kernel issues repeated starts and one stop, which is
 * what a virtio-i2c FAIL_NEXT run means. An SMBus-only controller cannot
 * express arbitrary transactions, so a transaction is mapped onto the one
 * SMBus call with the same bytes on the wire (i2c_hostdev_smbus_plan);
 * anything else is refused with -EOPNOTSUPP, which the guest sees as an
 * error rather than as a silently different bus cycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "i2c_bus.h"
#include "virtio_dev.h" /* container_of */

struct hostdev {
	struct i2c_bus bus;
	int fd;
	unsigned long funcs;
	struct i2c_msg kmsgs[I2C_BUS_MSGS_MAX];
};

static struct hostdev *to_hostdev(struct i2c_bus *b)
{
	return container_of(b, struct hostdev, bus);
}

/*
 * I2C_SLAVE (not _FORCE) fails with EBUSY for an address a host driver has
 * claimed: such a chip is not handed to a guest behind the driver's back.
 * Asked on every transaction, on both paths (I2C_RDWR itself checks
 * nothing), since a driver may bind at any time; a syscall is nothing
 * beside a bus transfer.
 */
static int check_unclaimed(struct hostdev *h, uint16_t addr)
{
	return ioctl(h->fd, I2C_SLAVE, (unsigned long)addr) < 0 ? -errno : 0;
}

static int rdwr_xfer(struct hostdev *h, struct i2c_bus_msg *msgs, unsigned n)
{
	struct i2c_rdwr_ioctl_data rdwr = {.msgs = h->kmsgs, .nmsgs = n};
	int ret;

	for (unsigned i = 0; i < n; i++) {
		if (msgs[i].len > UINT16_MAX)
			return -EINVAL;
		if (i == 0 || msgs[i].addr != msgs[i - 1].addr) {
			ret = check_unclaimed(h, msgs[i].addr);
			if (ret)
				return ret;
		}
		h->kmsgs[i] = (struct i2c_msg){
			.addr = msgs[i].addr,
			.flags = (msgs[i].flags & I2C_BUS_M_RD) ? I2C_M_RD : 0,
			.len = (uint16_t)msgs[i].len,
			.buf = msgs[i].buf,
		};
	}
	ret = ioctl(h->fd, I2C_RDWR, &rdwr);
	if (ret < 0)
		return -errno;
	/* Some adapters (virtio-i2c among them) report a failed message by
	 * returning how many went through before it, not an error. */
	return (unsigned)ret == n ? 0 : -EIO;
}

static int smbus_xfer(struct hostdev *h, struct i2c_bus_msg *msgs, unsigned n)
{
	struct i2c_smbus_plan plan;
	struct i2c_smbus_ioctl_data args;
	int ret = i2c_hostdev_smbus_plan(h->funcs, msgs, n, &plan);

	if (ret)
		return ret;
	ret = check_unclaimed(h, plan.addr);
	if (ret)
		return ret;
	args = (struct i2c_smbus_ioctl_data){
		.read_write = plan.read_write,
		.command = plan.command,
		.size = plan.size,
		.data = plan.size == I2C_SMBUS_QUICK ? NULL : &plan.data,
	};
	if (ioctl(h->fd, I2C_SMBUS, &args) < 0)
		return -errno;
	return i2c_hostdev_smbus_unpack(&plan, msgs, n);
}

static int hostdev_xfer(struct i2c_bus *b, struct i2c_bus_msg *msgs, unsigned n)
{
	struct hostdev *h = to_hostdev(b);

	if (n == 0 || n > I2C_BUS_MSGS_MAX)
		return -EINVAL;
	if (h->funcs & I2C_FUNC_I2C)
		return rdwr_xfer(h, msgs, n);
	return smbus_xfer(h, msgs, n);
}

static void hostdev_destroy(struct i2c_bus *b)
{
	struct hostdev *h = to_hostdev(b);

	close(h->fd);
	free(h);
}

static const struct i2c_bus_ops hostdev_ops = {
	.kind = "hostdev",
	.xfer = hostdev_xfer,
	.destroy = hostdev_destroy,
};

#define SMBUS_ANY                                              \
	(I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_BYTE |          \
	 I2C_FUNC_SMBUS_BYTE_DATA | I2C_FUNC_SMBUS_WORD_DATA | \
	 I2C_FUNC_SMBUS_I2C_BLOCK)

int i2c_hostdev_open(struct i2c_bus **out, const char *path)
{
	struct hostdev *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return -ENOMEM;
	h->fd = open(path, O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		ret = -errno;
		goto err_free;
	}
	if (ioctl(h->fd, I2C_FUNCS, &h->funcs) < 0) {
		ret = -errno;
		goto err_close;
	}
	if (!(h->funcs & (I2C_FUNC_I2C | SMBUS_ANY))) {
		ret = -ENOTSUP;
		goto err_close;
	}
	h->bus.ops = &hostdev_ops;
	*out = &h->bus;
	return 0;

err_close:
	close(h->fd);
err_free:
	free(h);
	return ret;
}

unsigned long i2c_hostdev_funcs(const struct i2c_bus *b)
{
	if (b->ops != &hostdev_ops)
		return 0;
	return container_of(b, const struct hostdev, bus)->funcs;
}

/* ---- SMBus mapping: pure functions, unit-tested ---- */

static bool is_rd(const struct i2c_bus_msg *m)
{
	return m->flags & I2C_BUS_M_RD;
}

static void plan_set(struct i2c_smbus_plan *p, uint8_t rw, uint32_t size,
		     uint8_t command, uint8_t data_len)
{
	p->read_write = rw;
	p->size = size;
	p->command = command;
	p->data_len = data_len;
}

/* One write message of len bytes: buf[0] is the command byte. */
static int plan_write(unsigned long funcs, const struct i2c_bus_msg *m,
		      struct i2c_smbus_plan *p)
{
	uint32_t len = m->len;
	uint8_t w = I2C_SMBUS_WRITE;

	if (len == 0 && (funcs & I2C_FUNC_SMBUS_QUICK)) {
		plan_set(p, w, I2C_SMBUS_QUICK, 0, 0);
		return 0;
	}
	if (len == 1 && (funcs & I2C_FUNC_SMBUS_WRITE_BYTE)) {
		plan_set(p, w, I2C_SMBUS_BYTE, m->buf[0], 0);
		return 0;
	}
	if (len == 2 && (funcs & I2C_FUNC_SMBUS_WRITE_BYTE_DATA)) {
		plan_set(p, w, I2C_SMBUS_BYTE_DATA, m->buf[0], 1);
		p->data.byte = m->buf[1];
		return 0;
	}
	if (len == 3 && (funcs & I2C_FUNC_SMBUS_WRITE_WORD_DATA)) {
		plan_set(p, w, I2C_SMBUS_WORD_DATA, m->buf[0], 2);
		/* SMBus words go low byte first, as the guest wrote them. */
		p->data.word = (uint16_t)(m->buf[1] | m->buf[2] << 8);
		return 0;
	}
	if (len >= 2 && len <= I2C_SMBUS_BLOCK_MAX + 1 &&
	    (funcs & I2C_FUNC_SMBUS_WRITE_I2C_BLOCK)) {
		plan_set(p, w, I2C_SMBUS_I2C_BLOCK_DATA, m->buf[0],
			 (uint8_t)(len - 1));
		p->data.block[0] = (uint8_t)(len - 1);
		memcpy(&p->data.block[1], &m->buf[1], len - 1);
		return 0;
	}
	return -EOPNOTSUPP;
}

/* A single read message: quick read or receive byte. */
static int plan_read(unsigned long funcs, const struct i2c_bus_msg *m,
		     struct i2c_smbus_plan *p)
{
	if (m->len == 0 && (funcs & I2C_FUNC_SMBUS_QUICK)) {
		plan_set(p, I2C_SMBUS_READ, I2C_SMBUS_QUICK, 0, 0);
		return 0;
	}
	if (m->len == 1 && (funcs & I2C_FUNC_SMBUS_READ_BYTE)) {
		plan_set(p, I2C_SMBUS_READ, I2C_SMBUS_BYTE, 0, 1);
		return 0;
	}
	return -EOPNOTSUPP;
}

/* Write of one command byte, then a read of r->len bytes. */
static int plan_cmd_read(unsigned long funcs, uint8_t cmd,
			 const struct i2c_bus_msg *r, struct i2c_smbus_plan *p)
{
	uint32_t len = r->len;
	uint8_t rd = I2C_SMBUS_READ;

	if (len == 1 && (funcs & I2C_FUNC_SMBUS_READ_BYTE_DATA)) {
		plan_set(p, rd, I2C_SMBUS_BYTE_DATA, cmd, 1);
		return 0;
	}
	if (len == 2 && (funcs & I2C_FUNC_SMBUS_READ_WORD_DATA)) {
		plan_set(p, rd, I2C_SMBUS_WORD_DATA, cmd, 2);
		return 0;
	}
	if (len >= 1 && len <= I2C_SMBUS_BLOCK_MAX &&
	    (funcs & I2C_FUNC_SMBUS_READ_I2C_BLOCK)) {
		plan_set(p, rd, I2C_SMBUS_I2C_BLOCK_DATA, cmd, (uint8_t)len);
		p->data.block[0] = (uint8_t)len; /* how many to read */
		return 0;
	}
	return -EOPNOTSUPP;
}

int i2c_hostdev_smbus_plan(unsigned long funcs, const struct i2c_bus_msg *msgs,
			   unsigned n, struct i2c_smbus_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (n == 0)
		return -EOPNOTSUPP;
	plan->addr = (uint8_t)msgs[0].addr;
	if (n == 1)
		return is_rd(&msgs[0]) ? plan_read(funcs, &msgs[0], plan)
				       : plan_write(funcs, &msgs[0], plan);
	if (n == 2 && !is_rd(&msgs[0]) && msgs[0].len == 1 && is_rd(&msgs[1]) &&
	    msgs[0].addr == msgs[1].addr)
		return plan_cmd_read(funcs, msgs[0].buf[0], &msgs[1], plan);
	return -EOPNOTSUPP;
}

int i2c_hostdev_smbus_unpack(const struct i2c_smbus_plan *plan,
			     struct i2c_bus_msg *msgs, unsigned n)
{
	struct i2c_bus_msg *r = &msgs[n - 1];

	if (plan->read_write != I2C_SMBUS_READ || plan->data_len == 0)
		return 0;
	switch (plan->size) {
	case I2C_SMBUS_BYTE:
	case I2C_SMBUS_BYTE_DATA:
		r->buf[0] = plan->data.byte;
		return 0;
	case I2C_SMBUS_WORD_DATA:
		r->buf[0] = (uint8_t)(plan->data.word & 0xff);
		r->buf[1] = (uint8_t)(plan->data.word >> 8);
		return 0;
	case I2C_SMBUS_I2C_BLOCK_DATA:
		if (plan->data.block[0] < plan->data_len)
			return -EIO;
		memcpy(r->buf, &plan->data.block[1], plan->data_len);
		return 0;
	}
	return -EINVAL;
}
