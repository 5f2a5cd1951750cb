/* webhooks/ssrf — which URLs an endpoint may have and which addresses a
 * delivery may connect to. An endpoint URL is a partner's input that makes
 * medqa open connections, so without this a partner key could reach the
 * database, the cloud metadata service (169.254.169.254) or anything else
 * on the private network. The URL is parsed by libcurl's own parser (the
 * one that will use it), and the address is checked again at delivery
 * time, after resolution, and pinned (deliver.c), so a name that resolves
 * elsewhere later (DNS rebinding) cannot slip past. */
#include "medqa/webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* IPv4 ranges no delivery goes to (host byte order). */
static const struct {
    uint32_t net;
    unsigned bits;
} webhooks__v4_refused[] = {
    {0x00000000u, 8},  /* 0.0.0.0/8 "this network", unspecified */
    {0x0a000000u, 8},  /* 10/8 private */
    {0x64400000u, 10}, /* 100.64/10 shared (carrier-grade NAT) */
    {0x7f000000u, 8},  /* 127/8 loopback */
    {0xa9fe0000u, 16}, /* 169.254/16 link-local, cloud metadata */
    {0xac100000u, 12}, /* 172.16/12 private */
    {0xc0000000u, 24}, /* 192.0.0/24 protocol assignments */
    {0xc0000200u, 24}, /* 192.0.2/24 documentation */
    {0xc6336400u, 24}, /* 198.51.100/24 documentation */
    {0xcb007100u, 24}, /* 203.0.113/24 documentation */
    {0xc0a80000u, 16}, /* 192.168/16 private */
    {0xc6120000u, 15}, /* 198.18/15 benchmarking */
    {0xe0000000u, 4},  /* 224/4 multicast */
    {0xf0000000u, 4},  /* 240/4 reserved, broadcast */
};

static bool webhooks__v4_forbidden(uint32_t a)
{
    for (size_t i = 0;
         i < sizeof(webhooks__v4_refused) / sizeof(webhooks__v4_refused[0]);
         i++) {
        uint32_t mask = 0xffffffffu << (32 - webhooks__v4_refused[i].bits);
        if ((a & mask) == webhooks__v4_refused[i].net)
            return true;
    }
    return false;
}

static bool webhooks__v6_forbidden(const unsigned char *b)
{
    static const unsigned char zero[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};

    /* ::ffff:a.b.c.d and 64:ff9b::a.b.c.d reach an IPv4 address: judge
     * that one. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
        uint32_t a = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) |
                     ((uint32_t)b[14] << 8) | b[15];
        return webhooks__v4_forbidden(a);
    }
    /* ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated
     * IPv4-compatible form: none is a public destination. */
    if (memcmp(b, zero, 12) == 0)
        return true;
    if (b[0] == 0xff) /* ff00::/8 multicast */
        return true;
    if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
        return true;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
        return true;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 site-local */
        return true;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return true; /* 2001:db8::/32 documentation */
    return false;
}

bool webhooks_addr_forbidden(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in =
            (const struct sockaddr_in *)(const void *)sa;
        return webhooks__v4_forbidden(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 =
            (const struct sockaddr_in6 *)(const void *)sa;
        return webhooks__v6_forbidden(in6->sin6_addr.s6_addr);
    }
    return true;
}

/* Parses an IP literal into a socket address; false when `host` is a
 * name. */
static bool webhooks__literal(const char *host, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

static int webhooks__say(char *reason, size_t len, const char *text)
{
    snprintf(reason, len, "%s", text);
    return -1;
}

int webhooks_url_check(const char *url, bool allow_http, bool allow_private,
                       struct webhooks_target *t, char *reason, size_t len)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *frag = NULL;
    struct sockaddr_storage ss;
    int rc = -1;

    memset(t, 0, sizeof(*t));
    if (u == NULL)
        return webhooks__say(reason, len, "The URL could not be checked.");
    /* No CURLU_GUESS_SCHEME and no CURLU_DEFAULT_SCHEME: the scheme must
     * be written. CURLU_NON_SUPPORT_SCHEME lets ftp:// parse, so that it
     * gets the clearer refusal below. */
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
            CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        webhooks__say(reason, len, "The URL is not an absolute URL.");
        goto out;
    }
    if (strcasecmp(scheme, "https") == 0) {
        t->https = true;
    } else if (strcasecmp(scheme, "http") == 0 && allow_http) {
        t->https = false;
    } else {
        webhooks__say(reason, len,
                      "The URL must start with https:// (deliveries are "
                      "sent only over TLS).");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        webhooks__say(reason, len,
                      "The URL must not carry a user name or password; "
                      "deliveries are authenticated by their signature.");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
        webhooks__say(reason, len, "The URL must not have a fragment (#…).");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
        CURLUE_OK) {
        webhooks__say(reason, len, "The URL has no usable port.");
        goto out;
    }
    t->port = (unsigned)strtoul(port, NULL, 10);
    /* libcurl keeps the brackets of an IPv6 literal, and may keep a zone
     * id (%eth0) after it: a zone only exists for link-local addresses,
     * which are refused anyway. */
    size_t hl = strlen(host);
    const char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        h = host + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(t->host) || memchr(h, '%', hl) != NULL) {
        webhooks__say(reason, len, "The URL's host is not usable.");
        goto out;
    }
    memcpy(t->host, h, hl);
    t->host[hl] = '\0';
    t->literal = webhooks__literal(t->host, &ss);
    if (t->literal && !allow_private &&
        webhooks_addr_forbidden((const struct sockaddr *)&ss)) {
        webhooks__say(reason, len,
                      "The URL's address is loopback, private, link-local, "
                      "multicast or otherwise not public.");
        goto out;
    }
    if (!t->literal && !allow_private &&
        (strcasecmp(t->host, "localhost") == 0 ||
         (hl > 10 && strcasecmp(t->host + hl - 10, ".localhost") == 0))) {
        webhooks__say(reason, len, "The URL's host is this machine.");
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(frag);
    curl_url_cleanup(u);
    return rc;
}

int webhooks_resolve(const struct webhooks_target *t, bool allow_private,
                     char *addr, size_t addrlen, char *reason, size_t len)
{
    struct addrinfo hints, *list = NULL;
    char text[INET6_ADDRSTRLEN];
    int rc = -1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(t->host, NULL, &hints, &list) != 0 || list == NULL) {
        snprintf(reason, len, "the host name does not resolve");
        return -1;
    }
    rc = 1;
    snprintf(reason, len, "the host resolves only to refused addresses");
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        if (!allow_private && webhooks_addr_forbidden(ai->ai_addr))
            continue;
        const void *src =
            ai->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)
                      ->sin_addr
                : (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)
                      ->sin6_addr;
        if (inet_ntop(ai->ai_family, src, text, sizeof(text)) == NULL)
            continue;
        snprintf(addr, addrlen, ai->ai_family == AF_INET6 ? "[%s]" : "%s",
                 text);
        reason[0] = '\0';
        rc = 0;
        break;
    }
    freeaddrinfo(list);
    return rc;
}
