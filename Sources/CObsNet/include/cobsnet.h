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

#endif
