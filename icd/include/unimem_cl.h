/* SPDX-License-Identifier: MIT */
/*
 * unimem_cl.h - what the unimem OpenCL layer (libunimem-cl-layer.so) adds
 * to the OpenCL API beyond the Khronos headers: the advice values of
 * clEnqueueMemAdviseINTEL, which the cl_intel_unified_shared_memory spec
 * leaves to the implementation, and a device query that names the unimem
 * location a device is tied to. See docs/opencl.md.
 */
#ifndef UNIMEM_CL_H
#define UNIMEM_CL_H

#include <CL/cl_ext.h>

/*
 * cl_mem_advice_intel values for clEnqueueMemAdviseINTEL. "DEVICE" is the
 * device of the command queue the advice is enqueued on; "HOST" is the
 * NUMA node of the CPU the calling thread runs on. Each maps onto one
 * unimem_advise() call (enum unimem_advice in unimem.h).
 */
#define CL_MEM_ADVICE_DEFAULT_UNIMEM                     0x4208 /* undo all below */
#define CL_MEM_ADVICE_SET_PREFERRED_LOCATION_UNIMEM      0x4209 /* device */
#define CL_MEM_ADVICE_SET_PREFERRED_LOCATION_HOST_UNIMEM 0x420A
#define CL_MEM_ADVICE_CLEAR_PREFERRED_LOCATION_UNIMEM    0x420B
#define CL_MEM_ADVICE_SET_ACCESSED_BY_UNIMEM             0x420C /* device */
#define CL_MEM_ADVICE_CLEAR_ACCESSED_BY_UNIMEM           0x420D /* device */
#define CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM             0x420E
#define CL_MEM_ADVICE_CLEAR_READ_MOSTLY_UNIMEM           0x420F

/*
 * clGetDeviceInfo(): the unimem location (a unimem_location_t, uint32_t)
 * this device's kernels use, UNIMEM_LOC_NONE if the layer does not manage
 * the device. Only answered when the layer is loaded.
 */
#define CL_DEVICE_UNIMEM_LOCATION 0x4F40

#endif /* UNIMEM_CL_H */
