#include "cobsnet.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

// struct procmap_query and its constants, from Linux's uapi <linux/fs.h> (6.11); Debian 12's
// kernel headers predate it.
struct obs_procmap_query {
    uint64_t size;
    uint64_t query_flags;
    uint64_t query_addr;
    uint64_t vma_start;
    uint64_t vma_end;
    uint64_t vma_flags;
    uint64_t vma_page_size;
    uint64_t vma_offset;
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t vma_name_size;
    uint32_t build_id_size;
    uint64_t vma_name_addr;
    uint64_t build_id_addr;
};
_Static_assert(sizeof(struct obs_procmap_query) == 104, "struct procmap_query is 104 bytes");
_Static_assert(_IOWR('f', 17, struct obs_procmap_query) == 0xC0686611, "PROCMAP_QUERY");

#define OBS_PROCMAP_QUERY _IOWR('f', 17, struct obs_procmap_query)
#define OBS_PROCMAP_QUERY_VMA_SHARED 0x08
#define OBS_PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define OBS_PROCMAP_QUERY_FILE_BACKED_VMA 0x20

int obs_next_shared_file_mapping(int maps_fd, unsigned long long address, unsigned long long *start,
                                 unsigned long long *end, char *name, unsigned int name_size) {
    struct obs_procmap_query query;
    memset(&query, 0, sizeof query);
    query.size = sizeof query;
    query.query_flags = OBS_PROCMAP_QUERY_VMA_SHARED | OBS_PROCMAP_QUERY_COVERING_OR_NEXT_VMA
                        | OBS_PROCMAP_QUERY_FILE_BACKED_VMA;
    query.query_addr = address;
    query.vma_name_addr = (uint64_t)(uintptr_t)name;
    query.vma_name_size = name_size;
    if (ioctl(maps_fd, OBS_PROCMAP_QUERY, &query) != 0) {
        if (errno != ENAMETOOLONG) return -errno;
        // A path longer than `name`: the range alone, with no name.
        query.vma_name_addr = 0;
        query.vma_name_size = 0;
        if (ioctl(maps_fd, OBS_PROCMAP_QUERY, &query) != 0) return -errno;
        if (name_size > 0) name[0] = 0;
    }
    *start = query.vma_start;
    *end = query.vma_end;
    return 0;
}
