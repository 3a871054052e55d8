# `authctl popbase serve` checks client certificates with GnuTLS, the TLS library inside
# libmicrohttpd (gnutls_certificate_verify_peers on MHD's session), so it links it itself.
LDLIBS += $(shell pkg-config --libs gnutls 2>/dev/null)
