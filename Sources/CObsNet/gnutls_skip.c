// GnuTLS is loaded into the agent only as a dependency of libcurl's librtmp and of libldap (through
// libcurl and libpq); the agent uses OpenSSL for TLS and never calls GnuTLS. Its library constructor
// would still initialise it at load time (random state, system priority file, 0.7 MB resident).
// GnuTLS asks the program through this weak hook whether to skip that implicit initialisation; the
// executable's definition takes precedence over GnuTLS's own. A library that does use GnuTLS
// (libldap, librtmp) calls gnutls_global_init() itself first, so nothing is lost.
__attribute__((visibility("default"), used))
int _gnutls_global_init_skip(void) {
    return 1;
}
