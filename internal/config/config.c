/* config — reads the environment once at start-up. Every variable has a
 * documented default; a value that cannot be used stops the service with
 * one line naming the variable, so that a typo is never silently ignored. */
#include "medqa/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int config__bad(char *errbuf, size_t errlen, const char *name,
                       const char *accepts)
{
    snprintf(errbuf, errlen, "%s: invalid value; accepts %s", name, accepts);
    return -1;
}

/* Parses a whole decimal number in [lo, hi]; anything else is an error. */
static int config__ulong(const char *s, unsigned long lo, unsigned long hi,
                         unsigned long *out)
{
    char *end = NULL;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static char *config__dup_env(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? strdup(v) : NULL;
}

/* An origin is scheme://host[:port] with no path, as browsers send it. */
static int config__valid_origin(const char *o)
{
    const char *rest;

    if (strncmp(o, "http://", 7) == 0)
        rest = o + 7;
    else if (strncmp(o, "https://", 8) == 0)
        rest = o + 8;
    else
        return 0;
    if (*rest == '\0' || strchr(rest, '/') != NULL)
        return 0;
    for (const char *p = rest; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == ',' || *p == '*')
            return 0;
    return 1;
}

/* The number of comma-separated items `v` can hold at most. */
static size_t config__count_items(const char *v)
{
    size_t n = 1;

    for (const char *p = v; *p; p++)
        if (*p == ',')
            n++;
    return n;
}

/* Calls fn for each comma-separated item of `v`, trimmed of spaces;
 * empty items are skipped. Stops at the first non-zero return of fn and
 * returns it (-1 when out of memory). */
static int config__each_item(const char *v, int (*fn)(char *item, void *cls),
                             void *cls)
{
    char *save = NULL;
    char *copy = strdup(v);
    int rc = 0;

    if (copy == NULL)
        return -1;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (len > 0)
            rc = fn(tok, cls);
    }
    free(copy);
    return rc;
}

/* Returns 1 for an item that is not an origin, -1 out of memory. */
static int config__add_origin(char *item, void *cls)
{
    struct config *cfg = cls;

    if (!config__valid_origin(item))
        return 1;
    cfg->cors_origins[cfg->cors_count] = strdup(item);
    if (cfg->cors_origins[cfg->cors_count] == NULL)
        return -1;
    cfg->cors_count++;
    return 0;
}

static int config__load_cors(struct config *cfg, char *errbuf, size_t errlen)
{
    const char *v = getenv("CORS_ORIGINS");
    size_t n = (v != NULL && *v != '\0') ? config__count_items(v) : 0;
    int rc;

    cfg->cors_origins = calloc(n + 1, sizeof(char *));
    if (cfg->cors_origins == NULL)
        return -1;
    if (n == 0)
        return 0;
    rc = config__each_item(v, config__add_origin, cfg);
    if (rc > 0)
        return config__bad(errbuf, errlen, "CORS_ORIGINS",
                           "a comma-separated list of origins such as "
                           "https://www.example.org (no path, no '*')");
    return rc;
}

/* Returns 1 for an item that is not an address or network. */
static int config__add_proxy(char *item, void *cls)
{
    struct config *cfg = cls;

    if (ratelimit_parse_net(item, &cfg->trusted_proxies[cfg->trusted_count]) !=
        0)
        return 1;
    cfg->trusted_count++;
    return 0;
}

/* TRUSTED_PROXIES: the addresses (or networks) whose X-Forwarded-For is
 * believed when rate limiting by client address. */
static int config__load_proxies(struct config *cfg, char *errbuf, size_t errlen)
{
    const char *v = getenv("TRUSTED_PROXIES");
    int rc;

    if (v == NULL || *v == '\0')
        return 0;
    cfg->trusted_proxies =
        calloc(config__count_items(v), sizeof(*cfg->trusted_proxies));
    if (cfg->trusted_proxies == NULL)
        return -1;
    rc = config__each_item(v, config__add_proxy, cfg);
    if (rc > 0)
        return config__bad(errbuf, errlen, "TRUSTED_PROXIES",
                           "a comma-separated list of IPv4 or IPv6 "
                           "addresses or networks such as 10.0.0.0/8");
    return rc;
}

/* RATE_LIMIT_<ROLE>: "<requests>/<window>" or "off". */
static int config__rate(const char *name, struct ratelimit_rule *rule,
                        char *errbuf, size_t errlen)
{
    const char *s = getenv(name);

    if (s == NULL || *s == '\0')
        return 0;
    if (ratelimit_parse_rule(s, rule) != 0)
        return config__bad(errbuf, errlen, name,
                           "requests/window such as 60/60s, 100/1m or "
                           "5000/1h (1 to 1000000 requests, a window of 1s "
                           "to 24h), or off");
    return 0;
}

/* The limits that keep one client or a slow one from exhausting the
 * server: rate limits, connections, time and header sizes. */
static int config__load_limits(struct config *cfg, char *errbuf, size_t errlen)
{
    unsigned long v;
    const char *s;

    cfg->rate_anon = (struct ratelimit_rule){120, 60};
    cfg->rate_partner = (struct ratelimit_rule){6000, 60};
    cfg->rate_app = (struct ratelimit_rule){3000, 60};
    cfg->rate_doctor = (struct ratelimit_rule){600, 60};
    cfg->rate_editor = (struct ratelimit_rule){1200, 60};
    cfg->rate_entries = 65536;
    cfg->conn_timeout_s = 15;
    cfg->head_timeout_s = 10;
    cfg->body_timeout_s = 30;
    cfg->max_connections = 1024;
    cfg->max_conn_per_ip = 64;
    cfg->max_header_bytes = 32768;
    if (config__rate("RATE_LIMIT_ANON", &cfg->rate_anon, errbuf, errlen) ||
        config__rate("RATE_LIMIT_PARTNER", &cfg->rate_partner, errbuf,
                     errlen) ||
        config__rate("RATE_LIMIT_APP", &cfg->rate_app, errbuf, errlen) ||
        config__rate("RATE_LIMIT_DOCTOR", &cfg->rate_doctor, errbuf, errlen) ||
        config__rate("RATE_LIMIT_EDITOR", &cfg->rate_editor, errbuf, errlen))
        return -1;
    if ((s = getenv("RATE_LIMIT_ENTRIES")) != NULL && *s) {
        if (config__ulong(s, 1024, 16UL * 1024 * 1024, &v) != 0)
            return config__bad(errbuf, errlen, "RATE_LIMIT_ENTRIES",
                               "a whole number from 1024 to 16777216");
        cfg->rate_entries = v;
    }
    if ((s = getenv("CONNECTION_TIMEOUT")) != NULL && *s) {
        if (config__ulong(s, 1, 3600, &v) != 0)
            return config__bad(errbuf, errlen, "CONNECTION_TIMEOUT",
                               "a whole number of seconds from 1 to 3600");
        cfg->conn_timeout_s = (unsigned)v;
    }
    if ((s = getenv("HEADER_TIMEOUT")) != NULL && *s) {
        if (config__ulong(s, 0, 3600, &v) != 0)
            return config__bad(errbuf, errlen, "HEADER_TIMEOUT",
                               "a whole number of seconds from 0 (off) to "
                               "3600");
        cfg->head_timeout_s = (unsigned)v;
    }
    if ((s = getenv("BODY_TIMEOUT")) != NULL && *s) {
        if (config__ulong(s, 0, 3600, &v) != 0)
            return config__bad(errbuf, errlen, "BODY_TIMEOUT",
                               "a whole number of seconds from 0 (off) to "
                               "3600");
        cfg->body_timeout_s = (unsigned)v;
    }
    if ((s = getenv("MAX_CONNECTIONS")) != NULL && *s) {
        if (config__ulong(s, 1, 65536, &v) != 0)
            return config__bad(errbuf, errlen, "MAX_CONNECTIONS",
                               "a whole number from 1 to 65536");
        cfg->max_connections = (unsigned)v;
    }
    if ((s = getenv("MAX_CONNECTIONS_PER_IP")) != NULL && *s) {
        if (config__ulong(s, 0, 65536, &v) != 0)
            return config__bad(errbuf, errlen, "MAX_CONNECTIONS_PER_IP",
                               "a whole number from 0 (no limit) to 65536");
        cfg->max_conn_per_ip = (unsigned)v;
    }
    if ((s = getenv("MAX_HEADER_BYTES")) != NULL && *s) {
        if (config__ulong(s, 4096, 1024 * 1024, &v) != 0)
            return config__bad(errbuf, errlen, "MAX_HEADER_BYTES",
                               "a whole number of bytes from 4096 to "
                               "1048576");
        cfg->max_header_bytes = v;
    }
    return config__load_proxies(cfg, errbuf, errlen);
}

int config_load(struct config *cfg, char *errbuf, size_t errlen)
{
    unsigned long v;
    const char *s;
    char buf[64];

    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 8080;
    cfg->workers = 4;
    cfg->log_level = LOG_INFO;
    cfg->max_body_bytes = 1024 * 1024;

    cfg->database_url = config__dup_env("DATABASE_URL");
    cfg->database_read_url = config__dup_env("DATABASE_READ_URL");
    if ((s = getenv("DATABASE_POOL_MODE")) != NULL && *s) {
        /* "session" is what a direct connection or PgBouncer's session
         * pooling gives: prepared statements live as long as the
         * connection. */
        if (strcmp(s, "transaction") == 0)
            cfg->transaction_pooling = true;
        else if (strcmp(s, "session") != 0)
            return config__bad(errbuf, errlen, "DATABASE_POOL_MODE",
                               "session or transaction");
    }
    /* failover */
    cfg->db_failover_timeout_s = 0;
    if ((s = getenv("DATABASE_FAILOVER_TIMEOUT")) != NULL && *s) {
        if (config__ulong(s, 0, 60, &v) != 0)
            return config__bad(errbuf, errlen, "DATABASE_FAILOVER_TIMEOUT",
                               "a whole number of seconds from 0 (answer "
                               "503 at once) to 60");
        cfg->db_failover_timeout_s = (unsigned)v;
    }
    /* failover */
    cfg->db_connect_timeout_s = 2;
    if ((s = getenv("DATABASE_CONNECT_TIMEOUT")) != NULL && *s) {
        if (config__ulong(s, 2, 60, &v) != 0)
            return config__bad(errbuf, errlen, "DATABASE_CONNECT_TIMEOUT",
                               "a whole number of seconds from 2 to 60");
        cfg->db_connect_timeout_s = (unsigned)v;
    }
    cfg->host = config__dup_env("HOST");
    cfg->spec_file = config__dup_env("MEDQA_SPEC_FILE");
    cfg->cursor_secret = config__dup_env("CURSOR_SECRET");
    if (cfg->cursor_secret != NULL && strlen(cfg->cursor_secret) < 32)
        return config__bad(errbuf, errlen, "CURSOR_SECRET",
                           "a random string of at least 32 characters");

    if ((s = getenv("PORT")) != NULL && *s) {
        if (config__ulong(s, 0, 65535, &v) != 0)
            return config__bad(errbuf, errlen, "PORT",
                               "a whole number from 0 to 65535");
        cfg->port = (unsigned)v;
    }
    if ((s = getenv("WORKERS")) != NULL && *s) {
        if (config__ulong(s, 1, 256, &v) != 0)
            return config__bad(errbuf, errlen, "WORKERS",
                               "a whole number from 1 to 256");
        cfg->workers = (unsigned)v;
    }
    if ((s = getenv("MAX_BODY_BYTES")) != NULL && *s) {
        if (config__ulong(s, 1024, 64UL * 1024 * 1024, &v) != 0)
            return config__bad(errbuf, errlen, "MAX_BODY_BYTES",
                               "a whole number of bytes from 1024 to "
                               "67108864");
        cfg->max_body_bytes = v;
    }
    if ((s = getenv("LOG_LEVEL")) != NULL && *s) {
        if (strcmp(s, "debug") == 0)
            cfg->log_level = LOG_DEBUG;
        else if (strcmp(s, "info") == 0)
            cfg->log_level = LOG_INFO;
        else if (strcmp(s, "warn") == 0)
            cfg->log_level = LOG_WARN;
        else if (strcmp(s, "error") == 0)
            cfg->log_level = LOG_ERROR;
        else
            return config__bad(errbuf, errlen, "LOG_LEVEL",
                               "debug, info, warn or error");
    }
    if ((s = getenv("PUBLIC_BASE_URL")) != NULL && *s) {
        size_t len = strlen(s);
        if (!config__valid_origin(s) && !((strncmp(s, "http://", 7) == 0 ||
                                           strncmp(s, "https://", 8) == 0) &&
                                          strchr(s, ' ') == NULL))
            return config__bad(errbuf, errlen, "PUBLIC_BASE_URL",
                               "an absolute http:// or https:// URL");
        cfg->public_base_url = strdup(s);
        if (cfg->public_base_url == NULL)
            return -1;
        /* A trailing slash would double up when paths are appended. */
        while (len > 0 && cfg->public_base_url[len - 1] == '/')
            cfg->public_base_url[--len] = '\0';
    } else {
        snprintf(buf, sizeof(buf), "http://localhost:%u", cfg->port);
        cfg->public_base_url = strdup(buf);
        if (cfg->public_base_url == NULL)
            return -1;
    }
    cfg->idf_refresh_s = 3600;
    if ((s = getenv("IDF_REFRESH_INTERVAL")) != NULL && *s) {
        if (config__ulong(s, 0, 7 * 86400, &v) != 0)
            return config__bad(errbuf, errlen, "IDF_REFRESH_INTERVAL",
                               "a whole number of seconds from 0 (never) "
                               "to 604800");
        cfg->idf_refresh_s = (unsigned)v;
    }
    if (config__load_limits(cfg, errbuf, errlen) != 0)
        return -1;
    return config__load_cors(cfg, errbuf, errlen);
}

void config_cleanup(struct config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->database_url);
    free(cfg->database_read_url);
    free(cfg->host);
    free(cfg->spec_file);
    free(cfg->cursor_secret);
    free(cfg->public_base_url);
    if (cfg->cors_origins != NULL)
        for (size_t i = 0; i < cfg->cors_count; i++)
            free(cfg->cors_origins[i]);
    free(cfg->cors_origins);
    free(cfg->trusted_proxies);
    memset(cfg, 0, sizeof(*cfg));
}
