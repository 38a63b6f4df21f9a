/* SPDX-License-Identifier: MIT */
/*
 * Board file loader: reads a libconfig file (docs/board-file.md), validates
 * every key, and produces a plain description of the board - guests, their
 * transport, their devices and the host resources each device uses. It
 * opens nothing; board/ builds the running objects from this description.
 *
 * Every error names the file, the line and the key at fault, as
 *     FILE:LINE: KEY: message
 * where KEY is the setting's path, e.g. guests[0].devices[1].addresses[2].
 * Loading stops at the first error.
 *
 * Threading: none; call from one thread at start-up.
 */
#ifndef VIRTIOBOX_CONFIG_BOARD_CONFIG_H
#define VIRTIOBOX_CONFIG_BOARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Valid 7-bit addresses: 0x00-0x02 and 0x78-0x7f are reserved by I2C. */
#define BOARD_I2C_ADDR_MIN	       0x03
#define BOARD_I2C_ADDR_MAX	       0x77
#define BOARD_I2C_MAX_TRANSFER_DEFAULT 4096
#define BOARD_I2C_MAX_TRANSFER_LIMIT   65535
#define BOARD_CHIP_SIZE_MAX	       256
#define BOARD_GPIO_LINES_MAX	       256   /* lines one gpio device gives */
#define BOARD_GPIO_OFFSET_MAX	       65535 /* host line offsets */
#define BOARD_GPIO_NAME_MAX	       63
#define BOARD_VSOCK_CID_MIN	       3 /* 0-2: hypervisor, local, host */
#define BOARD_VSOCK_CID_MAX	       0xfffffffe /* 32-bit, not ANY */
#define BOARD_VSOCK_CONNS_DEFAULT      64
#define BOARD_VSOCK_CONNS_MAX	       4096
#define BOARD_VSOCK_BUF_DEFAULT	       (256 * 1024)
#define BOARD_VSOCK_BUF_MIN	       4096
#define BOARD_VSOCK_BUF_MAX	       (64 * 1024 * 1024)
/* Xen on Arm gives a guest's virtio-mmio devices SPIs 33..43. */
#define BOARD_XEN_MMIO_DEVICES_MAX 11
#define BOARD_DOMID_MAX		   0x7fef /* below DOMID_FIRST_RESERVED */
/* Foreign mappings kept per device of a xen-mmio guest (grant_usage=0). */
#define BOARD_XEN_FOREIGN_CACHE_MAX 4096

/* Where a setting was written, for messages about it after loading. */
struct board_src {
	const char *file; /* owned by the struct board_config */
	unsigned line;
};

enum board_transport {
	BOARD_TRANSPORT_VHOST_USER,
	BOARD_TRANSPORT_XEN_MMIO,
};

enum board_chip_kind {
	BOARD_CHIP_24C02,
	BOARD_CHIP_REGS,
};

struct board_chip {
	enum board_chip_kind kind;
	uint8_t address;
	uint16_t size; /* 256 for a 24c02, the register count for regs */
	uint16_t ninit;
	uint8_t init[BOARD_CHIP_SIZE_MAX];
	struct board_src src;
};

struct board_i2c {
	char *bus;   /* "sim" or the host adapter's path */
	bool is_sim; /* bus == "sim" */
	/* The adapter's device number when bus could be stat()ed (0 else):
	 * two paths to one adapter (a udev symlink) are one bus. */
	dev_t bus_rdev;
	bool shared; /* the host bus may be given to other devices too */
	uint32_t max_transfer;
	unsigned naddresses;
	uint8_t addresses[BOARD_I2C_ADDR_MAX + 1]; /* allow-list, as written */
	unsigned nchips;
	struct board_chip *chips; /* sim only */
	struct board_src bus_src;
	struct board_src addresses_src;
};

struct board_gpio {
	char *chip;  /* "sim", or a host chip: path, name, number or label */
	bool is_sim; /* chip == "sim" */
	bool irq;    /* offer VIRTIO_GPIO_F_IRQ (irq = true, the default) */
	unsigned nlines;
	unsigned offsets[BOARD_GPIO_LINES_MAX]; /* host chips: line offsets */
	char *names[BOARD_GPIO_LINES_MAX];	/* NULL: the host's name */
	uint8_t outputs[BOARD_GPIO_LINES_MAX];	/* sim: 1 = starts as output */
	uint8_t values[BOARD_GPIO_LINES_MAX];	/* sim: initial level */
	char *control;	 /* sim: control socket path (resolved), or NULL */
	dev_t chip_rdev; /* the chip node's device number; 0 when unknown */
	struct board_src chip_src;
	struct board_src lines_src;
	struct board_src control_src;
};

struct board_vsock {
	uint64_t cid;
	char *uds;     /* host listener path (resolved) */
	char *uds_seq; /* SOCK_SEQPACKET listener (resolved); default uds
			* ".seqpacket" */
	char *group;   /* sibling group, or NULL */
	unsigned max_conns;
	uint32_t buf_size; /* per connection and direction */
	struct board_src cid_src;
	struct board_src uds_src;
	struct board_src uds_seq_src; /* uds_src when defaulted */
	bool uds_seq_given;	      /* uds_seqpacket was written */
};

struct board_device {
	char *type;	      /* "i2c", "gpio", "vsock" */
	char *name;	      /* unique in its guest; default <type><n> */
	char *socket;	      /* vhost-user: resolved socket path; else NULL */
	bool packed;	      /* offer VIRTIO_F_RING_PACKED */
	struct board_i2c i2c; /* type "i2c" */
	struct board_gpio gpio;	  /* type "gpio" */
	struct board_vsock vsock; /* type "vsock" */
	struct board_src src;
	struct board_src socket_src;
};

struct board_guest {
	char *domain; /* name; NULL when only domid was given */
	int domid;    /* -1 when not given */
	/* xen-mmio: foreign mapping cache slots per device; 0 = default */
	unsigned foreign_cache;
	enum board_transport transport;
	unsigned ndevices;
	struct board_device *devices;
	struct board_src src;
};

struct board_config {
	char *file; /* the path loaded (or the name given for a string) */
	char *name; /* the board's name = ...; NULL when absent */
	/* The sandbox entered once the board is open (board/sandbox.h). */
	bool seccomp; /* seccomp = ...; default true */
	char *user;   /* user = "name" or "uid"; NULL: keep the current */
	char *group;  /* group = ...; NULL: the user's primary group */
	unsigned nguests;
	struct board_guest *guests;
	/* private: interned source file names */
	unsigned nfiles;
	char **files;
};

struct board_config_opts {
	/* Relative socket paths are joined to this directory; NULL keeps
	 * them relative to the working directory. */
	const char *runtime_dir;
	/* Check that host resources exist (a bus path is a character
	 * device). Off for fuzzing. */
	bool check_host;
};

/*
 * Load and validate path. Returns 0 and sets *out (free with
 * board_config_free), or -EINVAL with the message in err (always
 * NUL-terminated, truncated to errlen), -ENOENT / -EACCES / ... when the
 * file cannot be read, -ENOMEM.
 */
int board_config_load(struct board_config **out, const char *path,
		      const struct board_config_opts *opts, char *err,
		      size_t errlen);

/*
 * As board_config_load, from text; name stands for the file in messages.
 * @include directives are resolved against the working directory.
 */
int board_config_load_string(struct board_config **out, const char *text,
			     const char *name,
			     const struct board_config_opts *opts, char *err,
			     size_t errlen);

/* NULL is accepted. */
void board_config_free(struct board_config *c);

/* "vhost-user" / "xen-mmio". */
const char *board_transport_name(enum board_transport t);
/* "24c02" / "regs". */
const char *board_chip_kind_name(enum board_chip_kind k);

#endif
