/* bench/static_server — the HTTP ceiling for `make bench`.
 *
 * A minimal libmicrohttpd server that answers every request with one
 * static body of a given size, configured exactly like medqa's daemon
 * (internal/http/server.c): internal polling thread, epoll, a thread pool
 * of WORKERS threads, the same timeout, connection and memory limits. The
 * response carries the same headers medqa sends on a 200 read, so the
 * bytes on the wire match too. It is built once and reused for every
 * request, and queued on the second call of the access handler (see
 * STYLE.md: queued on the first, libmicrohttpd 0.9.75 closes keep-alive
 * connections).
 *
 *   static_server PORT THREADS BODY_BYTES
 *
 * Binds 127.0.0.1 only. Runs until SIGINT or SIGTERM. Built by
 * scripts/bench.sh, never part of medqa. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **ctx)
{
    static int first_call_marker;
    struct MHD_Response *resp = cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;

    if (*ctx == NULL) {
        *ctx = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, resp);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: static_server PORT THREADS BODY_BYTES\n");
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned threads = (unsigned)strtoul(argv[2], NULL, 10);
    size_t size = (size_t)strtoull(argv[3], NULL, 10);
    char *body = malloc(size + 1);

    if (body == NULL || threads == 0 || port == 0 || port > 65535)
        return 2;
    /* A JSON-looking body: the content does not matter to the server. */
    memset(body, 'x', size);
    if (size >= 2) {
        body[0] = '{';
        body[size - 1] = '}';
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        size, body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return 1;
    /* The headers medqa adds to a 200 GET (http/respond.c), with values of
     * the same length. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG,
                            "\"0123456789abcdef0123456789abcdef\"");
    MHD_add_response_header(resp, "X-Request-Id",
                            "01234567-89ab-cdef-0123-456789abcdef");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "Cache-Control", "public, max-age=60");

    struct sockaddr_in a4;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
            MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_access, resp,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&a4, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "static_server: cannot listen on 127.0.0.1:%u\n",
                port);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    free(body);
    return 0;
}
