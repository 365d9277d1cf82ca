#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "cobsnet.h"

enum { OBS_MAX_BATCH = 256 };

int obs_recv_batch(int fd, void *buffers, int count, size_t stride, size_t capacity, size_t *lengths) {
    struct mmsghdr headers[OBS_MAX_BATCH];
    struct iovec vectors[OBS_MAX_BATCH];
    if (count > OBS_MAX_BATCH) count = OBS_MAX_BATCH;
    memset(headers, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = (char *)buffers + (size_t)i * stride;
        vectors[i].iov_len = capacity;
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, headers, (unsigned int)count, MSG_WAITFORONE, NULL);
    if (n < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
    }
    for (int i = 0; i < n; i++) lengths[i] = headers[i].msg_len;
    return n;
}

#include <malloc.h>

int obs_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}
