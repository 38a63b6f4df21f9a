// SPDX-License-Identifier: MIT
/*
 * Guest side of test_vsock_qemu.py's SEQPACKET tests (built static for
 * aarch64 by the test): connect a SOCK_SEQPACKET vsock socket to CID PORT,
 * send one message of each SIZE (byte i of a message is (i * 7 + size) &
 * 0xff), and read as many back, printing "VB-MSG <len> <sum>" for each
 * (sum: the bytes added up; " TRUNC" when it did not fit, " EOR" when it
 * came with MSG_EOR). The last message is sent with MSG_EOR.
 *   vsock_seq CID PORT SIZE...
 * Or listen on PORT, accept one connection, read N messages (printing
 * each the same way) and send each non-empty one back as it came, with
 * MSG_EOR when it had it; then wait for the peer to close.
 *   vsock_seq -l PORT N
 */
#include <errno.h>
/* sys/socket.h first: linux/vm_sockets.h needs struct sockaddr. */
#include <sys/socket.h>

#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MSG_MAX (256 * 1024)

static unsigned char buf[MSG_MAX];

/* Receive one message, print it; its length and flags, or -1. */
static int get_one(int fd, int *flags)
{
	struct iovec v = {buf, sizeof(buf)};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
	unsigned long sum = 0;
	int n = (int)recvmsg(fd, &m, 0);

	if (n < 0) {
		printf("VB-SEQ-ERROR recv: %s\n", strerror(errno));
		return -1;
	}
	for (int k = 0; k < n; k++)
		sum += buf[k];
	printf("VB-MSG %d %lu%s%s\n", n, sum,
	       m.msg_flags & MSG_TRUNC ? " TRUNC" : "",
	       m.msg_flags & MSG_EOR ? " EOR" : "");
	fflush(stdout);
	*flags = m.msg_flags;
	return n;
}

static int serve(unsigned port, int count)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK,
				.svm_cid = VMADDR_CID_ANY,
				.svm_port = port};
	int l = socket(AF_VSOCK, SOCK_SEQPACKET, 0), fd, flags;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 1) < 0) {
		printf("VB-SEQ-ERROR listen: %s\n", strerror(errno));
		return 1;
	}
	printf("VB-SEQ-LISTENING %u\n", port);
	fflush(stdout);
	fd = accept(l, NULL, NULL);
	if (fd < 0) {
		printf("VB-SEQ-ERROR accept: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < count; i++) {
		int n = get_one(fd, &flags);

		if (n < 0)
			return 1;
		if (n > 0 && send(fd, buf, (size_t)n, flags & MSG_EOR) != n) {
			printf("VB-SEQ-ERROR send: %s\n", strerror(errno));
			return 1;
		}
	}
	/* The peer closes when it has its echoes: the end of the socket. */
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK};
	int fd, n, flags;

	if (argc == 4 && !strcmp(argv[1], "-l"))
		return serve((unsigned)strtoul(argv[2], NULL, 0),
			     atoi(argv[3]));
	if (argc < 4)
		return 2;
	a.svm_cid = (unsigned)strtoul(argv[1], NULL, 0);
	a.svm_port = (unsigned)strtoul(argv[2], NULL, 0);
	fd = socket(AF_VSOCK, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("VB-SEQ-ERROR connect: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		size_t size = strtoul(argv[i], NULL, 0);

		for (size_t k = 0; k < size; k++)
			buf[k] = (unsigned char)((k * 7 + size) & 0xff);
		if (send(fd, buf, size, i == argc - 1 ? MSG_EOR : 0) !=
		    (ssize_t)size) {
			printf("VB-SEQ-ERROR send: %s\n", strerror(errno));
			return 1;
		}
	}
	for (int i = 3; i < argc; i++) {
		n = get_one(fd, &flags);
		if (n < 0)
			return 1;
	}
	close(fd);
	return 0;
}
