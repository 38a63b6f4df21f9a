// SPDX-License-Identifier: MIT
/*
 * Guest side of test_vsock_qemu.py's SEQPACKET test (built static for
 * aarch64 by the test): connect a SOCK_SEQPACKET vsock socket to CID PORT,
 * send one message of each SIZE (byte i of a message is (i * 7 + size) &
 * 0xff), and read as many back, printing "VB-MSG <len> <sum>" for each
 * (sum: the bytes added up; " TRUNC" when it did not fit). The last
 * message is sent with MSG_EOR.
 *   vsock_seq CID PORT SIZE...
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

int main(int argc, char **argv)
{
	struct sockaddr_vm a = {.svm_family = AF_VSOCK};
	int fd, n;

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
		struct iovec v = {buf, sizeof(buf)};
		struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
		unsigned long sum = 0;

		n = (int)recvmsg(fd, &m, 0);
		if (n < 0) {
			printf("VB-SEQ-ERROR recv: %s\n", strerror(errno));
			return 1;
		}
		for (int k = 0; k < n; k++)
			sum += buf[k];
		printf("VB-MSG %d %lu%s\n", n, sum,
		       m.msg_flags & MSG_TRUNC ? " TRUNC" : "");
	}
	close(fd);
	return 0;
}
