/* Checks, from dom0, that the hypervisor serves IOREQ for a domain: create
 * a server, claim an MMIO range, enable it, map its ioreq page, destroy it.
 * Prints "IOREQ-PROBE: OK" or "IOREQ-PROBE: FAIL <step>: <error>". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
/* The libraries' headers define the types the raw xen/ headers use. */
/* clang-format off */
#include <xendevicemodel.h>
#include <xenforeignmemory.h>
#include <xen/hvm/dm_op.h>
#include <xen/memory.h>
/* clang-format on */

static int fail(const char *step)
{
	printf("IOREQ-PROBE: FAIL %s: %s (errno %d)\n", step, strerror(errno),
	       errno);
	return 1;
}

int main(int argc, char **argv)
{
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fmem;
	xenforeignmemory_resource_handle *res;
	ioservid_t id;
	void *page = NULL;
	domid_t domid;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DOMID\n", argv[0]);
		return 2;
	}
	domid = (domid_t)atoi(argv[1]);
	dm = xendevicemodel_open(NULL, 0);
	fmem = xenforeignmemory_open(NULL, 0);
	if (!dm || !fmem)
		return fail("open");
	if (xendevicemodel_create_ioreq_server(dm, domid,
					       HVM_IOREQSRV_BUFIOREQ_OFF, &id))
		return fail("create_ioreq_server");
	res = xenforeignmemory_map_resource(
		fmem, domid, XENMEM_resource_ioreq_server, id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &page,
		PROT_READ | PROT_WRITE, 0);
	if (!res)
		return fail("map_resource(ioreq page)");
	if (xendevicemodel_set_ioreq_server_state(dm, domid, id, 1))
		return fail("set_ioreq_server_state");
	if (xendevicemodel_map_io_range_to_ioreq_server(dm, domid, id, 1,
							0x2000000, 0x20001ff))
		return fail("map_io_range_to_ioreq_server");
	if (xendevicemodel_unmap_io_range_from_ioreq_server(
		    dm, domid, id, 1, 0x2000000, 0x20001ff))
		return fail("unmap_io_range_from_ioreq_server");
	xenforeignmemory_unmap_resource(fmem, res);
	if (xendevicemodel_destroy_ioreq_server(dm, domid, id))
		return fail("destroy_ioreq_server");
	printf("IOREQ-PROBE: OK (server %u for domain %u)\n", id, domid);
	return 0;
}
