/* router — matches a method and path against the spec's path templates. */
#ifndef MEDQA_ROUTER_H
#define MEDQA_ROUTER_H

#include <stddef.h>

struct spec;
struct spec_operation;

#define ROUTER_MAX_SEGMENTS 16
#define ROUTER_MAX_PATH 2048

struct route_match {
    const struct spec_operation *op;
    /* Decoded values of the template's {param} segments, by name, pointing
     * into `buf`. */
    size_t nvalues;
    const char *names[ROUTER_MAX_SEGMENTS];
    const char *values[ROUTER_MAX_SEGMENTS];
    char buf[ROUTER_MAX_PATH];
    /* With ROUTER_METHOD_NOT_ALLOWED: the methods the path accepts, as an
     * `Allow` header value. */
    char allow[96];
};

enum {
    ROUTER_OK = 0,
    ROUTER_NOT_FOUND = -1,
    ROUTER_METHOD_NOT_ALLOWED = -2,
    ROUTER_BAD_PATH = -3, /* too long, too many segments or bad escapes */
    /* The path ends in a slash and names a template without it: answered
     * with a 308 to the path without the slash, never served as if the
     * slash were not there. */
    ROUTER_TRAILING_SLASH = -4
};

/* Finds the operation for `method` and `path` (the path without its query,
 * already percent-decoded by libmicrohttpd). A literal segment wins over a
 * "{param}" one, so /questions/search would beat /questions/{id}. HEAD
 * matches GET. A path ending in a slash matches nothing: it gives
 * ROUTER_TRAILING_SLASH when the path without the slash has a template,
 * else ROUTER_NOT_FOUND. Returns one of the ROUTER_ values and fills *m. */
int router_match(const struct spec *s, const char *method, const char *path,
                 struct route_match *m);

/* Does the path of a raw request target (before percent-decoding; the
 * query, from '?', is not looked at) hold a control character, U+0000 to
 * U+001F or U+007F, as a byte or as a %XX escape? libmicrohttpd decodes
 * %00 into a NUL that ends the path string, so "/questions/%00" would
 * otherwise route as "/questions/". 1 when it does, else 0. */
int router_target_has_control(const char *target);

#endif
