/* http — the libmicrohttpd server: an epoll thread pool whose threads each
 * own one database connection. */
#ifndef MEDQA_HTTP_H
#define MEDQA_HTTP_H

#include <stddef.h>

struct config;
struct spec;
struct http_server;

/* Starts serving `spec` with `cfg` (both must outlive the server). Returns
 * 0 and the server in *out, or -1 with a one-line reason in errbuf. */
int http_server_start(const struct config *cfg, const struct spec *spec,
                      struct http_server **out, char *errbuf, size_t errlen);

/* The TCP port actually bound (useful with PORT=0). */
unsigned http_server_port(const struct http_server *s);

/* Refuses new connections, answers the requests in flight and those
 * already sent on open connections (each with Connection: close) until
 * none has run for a moment or grace_ms pass, then stops every thread and
 * frees the server. A request that never started is never run. */
void http_server_stop(struct http_server *s, unsigned grace_ms);

#endif
