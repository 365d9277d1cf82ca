#ifndef OBS_COBSNET_H
#define OBS_COBSNET_H
#include <stddef.h>

/// Batched UDP receive for the X-Ray source: recvmmsg needs _GNU_SOURCE and its mmsghdr, which
/// Swift's Glibc module does not expose. Reads up to `count` datagrams into `buffers` (`count`
/// slots of `capacity` bytes each), waiting for the first only (MSG_WAITFORONE, bounded by the
/// socket's SO_RCVTIMEO); stores each datagram's length in `lengths`. Slot i starts at
/// `buffers + i * stride` (stride >= capacity). Returns the number read, 0 on timeout, or -errno.
int obs_recv_batch(int fd, void *buffers, int count, size_t stride, size_t capacity, size_t *lengths);

/// mallopt(M_MMAP_THRESHOLD, bytes), which Swift's Glibc module does not expose: allocations of
/// `bytes` and more are mapped on their own and unmapped when freed (and the threshold no longer
/// moves). Returns mallopt's result (1 on success).
int obs_set_mmap_threshold(int bytes);

/// The next mapping of this process at or after `address` that is shared and backed by a file,
/// through the PROCMAP_QUERY ioctl on an open /proc/self/maps (`maps_fd`; Linux 6.11 and later):
/// one call per such mapping instead of formatting every mapping as text. Stores its range and
/// its path (NUL-terminated; empty when longer than `name_size`). Returns 0, -ENOENT when there is none, or
/// another -errno (-ENOTTY or -EINVAL on a kernel without the ioctl).
int obs_next_shared_file_mapping(int maps_fd, unsigned long long address, unsigned long long *start,
                                 unsigned long long *end, char *name, unsigned int name_size);

/// Catches signal `signo` from this call on: the handler (installed with sigaction before this
/// returns, for the whole process) writes the signal's number as one byte to a pipe made on the
/// first call, and this returns that pipe's read end (the same on every call), or -errno. The
/// handler stays installed; a caller that no longer wants a signal ignores its bytes. A blocking
/// read of the pipe, on a thread of its own, sees every signal caught after this returned.
int obs_signal_catch(int signo);

#endif
