/* SPDX-License-Identifier: MIT */
/*
 * error.c - error codes and the per-thread detailed message.
 *
 * Every failure path in libunimem goes through um_error(), so that
 * unimem_last_error() can say what went wrong in words ("prefetch: no
 * unimem module loaded for unimem0"), not just -ENODEV.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define UM_ERROR_MSG_MAX 256

static _Thread_local char um_last_msg[UM_ERROR_MSG_MAX];

int um_error(int err, const char *fmt, ...)
{
	char msg[UM_ERROR_MSG_MAX];
	va_list ap;
	int saved_errno = errno; /* callers may still want the syscall's errno */

	/* Via a copy: callers may pass unimem_last_error() to wrap it. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(um_last_msg, msg, sizeof(msg));
	errno = saved_errno;
	return err;
}

const char *unimem_last_error(void)
{
	return um_last_msg[0] ? um_last_msg : "no error";
}

/* unimem's reading of the errno values it returns; the rest fall back to libc. */
static const struct {
	int err;
	const char *msg;
} um_messages[] = {
	{ EINVAL, "invalid argument (bad pointer, size, flags, advice or attribute)" },
	{ ENODEV, "no such location (unknown node or device, or no unimem module loaded)" },
	{ EFAULT, "address range is not mapped" },
	{ ENOMEM, "out of memory" },
	{ ENOTSUP, "operation not supported by this provider" },
	{ ENOENT, "not a unimem allocation" },
	{ EBUSY, "pages are busy and could not be moved" },
	{ EIO, "device or module I/O error" },
	{ ERANGE, "value out of range" },
	{ EAGAIN, "resource temporarily unavailable, try again" },
	{ EPERM, "operation not permitted" },
	{ ENOSPC, "not enough free memory at the target location" },
	{ ECANCELED, "canceled: queued work did not run (the process forked)" },
};

const char *unimem_strerror(int err)
{
	static _Thread_local char unknown[64];
	int e = err < 0 ? -err : err;

	if (err == 0)
		return "success";
	if (err > 0) {
		snprintf(unknown, sizeof(unknown), "not an error code: %d", err);
		return unknown;
	}
	for (size_t i = 0; i < sizeof(um_messages) / sizeof(um_messages[0]); i++)
		if (um_messages[i].err == e)
			return um_messages[i].msg;
	/* strerror_r (GNU) may return a static string or fill our buffer. */
	return strerror_r(e, unknown, sizeof(unknown));
}
