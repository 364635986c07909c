/* SPDX-License-Identifier: MIT */
/*
 * icd.location.*: the unimem location a device is tied to. Run with
 * UNIMEM_CL_CPU_LOCATION set to argv[2]: the CPU device must report that
 * location, and a migration to the device must target it.
 */
#include "cltest.h"
#include "unimem.h"

int main(int argc, char **argv)
{
	struct cltest t;
	cltest_mode(argc, argv);
	REQUIRE(with_layer && argc >= 3);
	unimem_location_t want;
	REQUIRE(unimem_location_parse(argv[2], &want) == 0);
	cltest_setup(&t);

	unimem_location_t loc = UNIMEM_LOC_NONE;
	size_t size = 0;
	CHECK_ERR(clGetDeviceInfo(t.device, CL_DEVICE_UNIMEM_LOCATION, sizeof(loc), &loc,
				  &size), CL_SUCCESS);
	CHECK(size == sizeof(loc));
	CHECK(loc == want);
	/* Our values sit in the registry's never-allocated experimental range;
	 * 0x4F40, which earlier versions answered, is the driver's again. */
	CHECK(CL_DEVICE_UNIMEM_LOCATION >= 0x10000 && CL_DEVICE_UNIMEM_LOCATION <= 0x10FFF);
	CHECK(CL_MEM_ADVICE_DEFAULT_UNIMEM >= 0x10000 &&
	      CL_MEM_ADVICE_CLEAR_READ_MOSTLY_UNIMEM <= 0x10FFF);
	CHECK_ERR(clGetDeviceInfo(t.device, 0x4F40, sizeof(loc), &loc, NULL), CL_INVALID_VALUE);

	size_t bytes = 1 << 16;
	char *buf = clSVMAlloc(t.context, CL_MEM_READ_WRITE, bytes, 0);
	REQUIRE(buf);
	memset(buf, 1, bytes);
	const void *ptrs[1] = { buf };
	CHECK_ERR(clEnqueueSVMMigrateMem(t.queue, 1, ptrs, NULL, 0, 0, NULL, NULL), CL_SUCCESS);
	CHECK_ERR(clFinish(t.queue), CL_SUCCESS);
	unimem_location_t last = UNIMEM_LOC_NONE;
	CHECK(unimem_range_get_attr(buf, bytes, UNIMEM_ATTR_LAST_PREFETCH_LOCATION, &last,
				    sizeof(last)) == 0);
	CHECK(last == want);
	CHECK(buf[0] == 1 && buf[bytes - 1] == 1); /* contents survive */
	clSVMFree(t.context, buf);
	cltest_teardown(&t);
	return cltest_done("icd.location");
}
