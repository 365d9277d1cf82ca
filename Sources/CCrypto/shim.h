#ifndef OBS_CCRYPTO_SHIM_H
#define OBS_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, which libcurl and libpq load anyway: SHA-256 and HMAC-SHA-256 for SigV4.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
