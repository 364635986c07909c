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
 * Where our values sit. The Khronos registry (cl.xml) hands out enum
 * blocks to vendors; the layer has none. 0x10000-0x10FFF is the one range
 * the registry reserves as "Experimental range for internal development
 * only. Do not allocate": Khronos will never assign a value there, so no
 * registered enum, today's or a future one, can collide with ours. (The
 * values 0x4208-0x420F and 0x4F40 of earlier versions sat in Intel's block
 * and in the unallocated vendor range; the layer no longer answers them.)
 * Should the project register a vendor block, these move there.
 */
#define UNIMEM_CL_ENUM_FIRST 0x10F40
#define UNIMEM_CL_ENUM_LAST  0x10F4F

/*
 * clGetDeviceInfo(): the unimem location (a unimem_location_t, uint32_t)
 * this device's kernels use, UNIMEM_LOC_NONE if the layer does not manage
 * the device. Only answered when the layer is loaded.
 */
#define CL_DEVICE_UNIMEM_LOCATION 0x10F40

/*
 * cl_mem_advice_intel values for clEnqueueMemAdviseINTEL (the USM spec
 * leaves advice values to the implementation). "DEVICE" is the device of
 * the command queue the advice is enqueued on; "HOST" is the NUMA node of
 * the CPU the calling thread runs on. Each maps onto one unimem_advise()
 * call (enum unimem_advice in unimem.h).
 */
#define CL_MEM_ADVICE_DEFAULT_UNIMEM                     0x10F48 /* undo all below */
#define CL_MEM_ADVICE_SET_PREFERRED_LOCATION_UNIMEM      0x10F49 /* device */
#define CL_MEM_ADVICE_SET_PREFERRED_LOCATION_HOST_UNIMEM 0x10F4A
#define CL_MEM_ADVICE_CLEAR_PREFERRED_LOCATION_UNIMEM    0x10F4B
#define CL_MEM_ADVICE_SET_ACCESSED_BY_UNIMEM             0x10F4C /* device */
#define CL_MEM_ADVICE_CLEAR_ACCESSED_BY_UNIMEM           0x10F4D /* device */
#define CL_MEM_ADVICE_SET_READ_MOSTLY_UNIMEM             0x10F4E
#define CL_MEM_ADVICE_CLEAR_READ_MOSTLY_UNIMEM           0x10F4F

#endif /* UNIMEM_CL_H */
