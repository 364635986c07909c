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

/*
 * cl_khr_unified_svm, experimental revision 0.9.0, which the layer offers
 * on the platforms it serves. Khronos' headers declare it only behind
 * CL_ENABLE_BETA_EXTENSIONS, and Debian's (2023.02, 2025.07) not at all;
 * where they do not, these are its enums and types, with the values of
 * the Khronos registry (cl.xml, extension cl_khr_unified_svm revision
 * 0.9.0, and OpenCL-Headers' CL/cl_ext.h). Identical redefinitions, should
 * newer headers come after this one, are harmless.
 */
#if !defined(cl_khr_unified_svm)
#define cl_khr_unified_svm 1
#define CL_KHR_UNIFIED_SVM_EXTENSION_NAME "cl_khr_unified_svm"
#define CL_KHR_UNIFIED_SVM_EXTENSION_VERSION CL_MAKE_VERSION(0, 9, 0)

/* cl_platform_info */
#define CL_PLATFORM_SVM_TYPE_CAPABILITIES_KHR               0x0909
/* cl_device_info */
#define CL_DEVICE_SVM_TYPE_CAPABILITIES_KHR                 0x1077

typedef cl_bitfield cl_svm_capabilities_khr;
#define CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR          (1 << 0)
#define CL_SVM_CAPABILITY_SYSTEM_ALLOCATED_KHR              (1 << 1)
#define CL_SVM_CAPABILITY_DEVICE_OWNED_KHR                  (1 << 2)
#define CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR           (1 << 3)
#define CL_SVM_CAPABILITY_CONTEXT_ACCESS_KHR                (1 << 4)
#define CL_SVM_CAPABILITY_HOST_OWNED_KHR                    (1 << 5)
#define CL_SVM_CAPABILITY_HOST_READ_KHR                     (1 << 6)
#define CL_SVM_CAPABILITY_HOST_WRITE_KHR                    (1 << 7)
#define CL_SVM_CAPABILITY_HOST_MAP_KHR                      (1 << 8)
#define CL_SVM_CAPABILITY_DEVICE_READ_KHR                   (1 << 9)
#define CL_SVM_CAPABILITY_DEVICE_WRITE_KHR                  (1 << 10)
#define CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR          (1 << 11)
#define CL_SVM_CAPABILITY_CONCURRENT_ACCESS_KHR             (1 << 12)
#define CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR      (1 << 13)
#define CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR               (1 << 14)

typedef cl_properties cl_svm_alloc_properties_khr;
typedef cl_bitfield cl_svm_alloc_access_flags_khr;
typedef cl_properties cl_svm_free_properties_khr;
typedef cl_bitfield cl_svm_free_flags_khr;
typedef cl_uint cl_svm_pointer_info_khr;

/* cl_svm_alloc_properties_khr */
#define CL_SVM_ALLOC_ASSOCIATED_DEVICE_HANDLE_KHR           0x2078
#define CL_SVM_ALLOC_ACCESS_FLAGS_KHR                       0x2079
#define CL_SVM_ALLOC_ALIGNMENT_KHR                          0x207A
/* cl_svm_alloc_access_flags_khr */
#define CL_SVM_ALLOC_ACCESS_HOST_NOREAD_KHR                 (1 << 0)
#define CL_SVM_ALLOC_ACCESS_HOST_NOWRITE_KHR                (1 << 1)
#define CL_SVM_ALLOC_ACCESS_DEVICE_NOREAD_KHR               (1 << 8)
#define CL_SVM_ALLOC_ACCESS_DEVICE_NOWRITE_KHR              (1 << 9)
/* cl_svm_pointer_info_khr */
#define CL_SVM_INFO_TYPE_INDEX_KHR                          0x2088
#define CL_SVM_INFO_CAPABILITIES_KHR                        0x2089
#define CL_SVM_INFO_PROPERTIES_KHR                          0x208A
#define CL_SVM_INFO_ACCESS_FLAGS_KHR                        0x208B
#define CL_SVM_INFO_BASE_PTR_KHR                            0x419B
#define CL_SVM_INFO_SIZE_KHR                                0x419C
#define CL_SVM_INFO_ASSOCIATED_DEVICE_HANDLE_KHR            0x419D
/* cl_kernel_exec_info */
#define CL_KERNEL_EXEC_INFO_SVM_INDIRECT_ACCESS_KHR         0x11BB

/* SVM type convenience macros */
#define CL_SVM_TYPE_MACRO_COARSE_GRAIN_BUFFER_KHR \
	(CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR | \
	 CL_SVM_CAPABILITY_CONTEXT_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_HOST_MAP_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_READ_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_WRITE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR)
#define CL_SVM_TYPE_MACRO_FINE_GRAIN_BUFFER_KHR \
	(CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR | \
	 CL_SVM_CAPABILITY_CONTEXT_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_HOST_READ_KHR | \
	 CL_SVM_CAPABILITY_HOST_WRITE_KHR | \
	 CL_SVM_CAPABILITY_HOST_MAP_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_READ_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_WRITE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_CONCURRENT_ACCESS_KHR)
#define CL_SVM_TYPE_MACRO_DEVICE_KHR \
	(CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_OWNED_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_READ_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_WRITE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR)
#define CL_SVM_TYPE_MACRO_HOST_KHR \
	(CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR | \
	 CL_SVM_CAPABILITY_CONTEXT_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_HOST_OWNED_KHR | \
	 CL_SVM_CAPABILITY_HOST_READ_KHR | \
	 CL_SVM_CAPABILITY_HOST_WRITE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_READ_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_WRITE_KHR | \
	 CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR)
#define CL_SVM_TYPE_MACRO_SINGLE_DEVICE_SHARED_KHR \
	(CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR | \
	 CL_SVM_CAPABILITY_HOST_READ_KHR | \
	 CL_SVM_CAPABILITY_HOST_WRITE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_READ_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_WRITE_KHR | \
	 CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR)
#define CL_SVM_TYPE_MACRO_SYSTEM_KHR \
	(CL_SVM_CAPABILITY_SINGLE_ADDRESS_SPACE_KHR | \
	 CL_SVM_CAPABILITY_SYSTEM_ALLOCATED_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_UNASSOCIATED_KHR | \
	 CL_SVM_CAPABILITY_CONTEXT_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_HOST_READ_KHR | \
	 CL_SVM_CAPABILITY_HOST_WRITE_KHR | \
	 CL_SVM_CAPABILITY_HOST_MAP_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_READ_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_WRITE_KHR | \
	 CL_SVM_CAPABILITY_DEVICE_ATOMIC_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_CONCURRENT_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_CONCURRENT_ATOMIC_ACCESS_KHR | \
	 CL_SVM_CAPABILITY_INDIRECT_ACCESS_KHR)

typedef void *(CL_API_CALL *clSVMAllocWithPropertiesKHR_fn)(
	cl_context context, const cl_svm_alloc_properties_khr *properties,
	cl_uint svm_type_index, size_t size, cl_int *errcode_ret);
typedef cl_int(CL_API_CALL *clSVMFreeWithPropertiesKHR_fn)(
	cl_context context, const cl_svm_free_properties_khr *properties,
	cl_svm_free_flags_khr flags, void *ptr);
typedef cl_int(CL_API_CALL *clGetSVMPointerInfoKHR_fn)(
	cl_context context, cl_device_id device, const void *ptr,
	cl_svm_pointer_info_khr param_name, size_t param_value_size, void *param_value,
	size_t *param_value_size_ret);
typedef cl_int(CL_API_CALL *clGetSVMSuggestedTypeIndexKHR_fn)(
	cl_context context, cl_svm_capabilities_khr required_capabilities,
	cl_svm_capabilities_khr desired_capabilities,
	const cl_svm_alloc_properties_khr *properties, size_t size,
	cl_uint *suggested_svm_type_index);
#endif /* !cl_khr_unified_svm */

/*
 * The SVM types the layer offers with cl_khr_unified_svm, in the order of
 * CL_PLATFORM_SVM_TYPE_CAPABILITIES_KHR: an SVM type index is one of
 * these. What each maps onto in unimem is in docs/opencl.md.
 */
enum unimem_cl_svm_type_index {
	UNIMEM_CL_SVM_TYPE_COARSE_GRAIN_BUFFER = 0,
	UNIMEM_CL_SVM_TYPE_FINE_GRAIN_BUFFER = 1,
	UNIMEM_CL_SVM_TYPE_DEVICE = 2,
	UNIMEM_CL_SVM_TYPE_HOST = 3,
	UNIMEM_CL_SVM_TYPE_SINGLE_DEVICE_SHARED = 4,
	UNIMEM_CL_SVM_TYPE_SYSTEM = 5,
	UNIMEM_CL_SVM_TYPES = 6
};

#endif /* UNIMEM_CL_H */
