#ifndef OBS_CLIBPQ_SHIM_H
#define OBS_CLIBPQ_SHIM_H
// libpq, found through pkg-config (libpq.pc adds /usr/include/postgresql).
#include <libpq-fe.h>
#endif
