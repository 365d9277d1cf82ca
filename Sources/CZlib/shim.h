#ifndef OBS_CZLIB_SHIM_H
#define OBS_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit2 is a macro, which Swift cannot call. windowBits 15 + 16 selects the gzip wrapper.
static inline int obs_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
// inflateInit2 likewise; 15 + 32 accepts gzip or zlib headers (used by tests to read bodies back).
static inline int obs_inflate_init_auto(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}
#endif
