/* config — reads the environment once at start-up. Every variable has a
 * documented default; a value that cannot be used stops the service with
 * one line naming the variable, so that a typo is never silently ignored.
 *
 * The settings are one table (config__settings below): the variable, the
 * field it fills, how it is parsed, its bounds, its default and its help.
 * Loading, the error lines and `medqa --help` all read that table, so the
 * three cannot drift apart. */
#include "medqa/config.h"

#include "medqa/base.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config__setting;

/* Parses `value` into cfg's field for setting s. Returns 0, 1 when the
 * value is not one the setting accepts, or -1 when out of memory. */
typedef int config__parse_fn(struct config *cfg,
                             const struct config__setting *s,
                             const char *value);

struct config__setting {
    const char *name;        /* the environment variable */
    config__parse_fn *parse; /* fills the field from a value */
    size_t field;            /* offsetof(struct config, the field) */
    /* Numbers: the bounds, and what the number counts ("seconds") and
     * what 0 means ("off") for the wording; CURSOR_SECRET: lo is the
     * least length. */
    unsigned long lo, hi;
    const char *unit, *zero;
    const char *const *choices; /* names in value order, NULL-terminated */
    const char *accepts; /* the wording when not derived from the above */
    const char *def;     /* the default, parsed like a value; NULL: unset */
    const char *shown;   /* what --help says when the default is not def */
    const char *help;    /* one sentence for --help */
};

#define CONFIG__FIELD(f) offsetof(struct config, f)

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

static void *config__at(struct config *cfg, const struct config__setting *s)
{
    return (char *)cfg + s->field;
}

static int config__string(struct config *cfg, const struct config__setting *s,
                          const char *value)
{
    char **field = config__at(cfg, s);

    *field = strdup(value);
    return *field != NULL ? 0 : -1;
}

/* A string of at least s->lo characters. */
static int config__secret(struct config *cfg, const struct config__setting *s,
                          const char *value)
{
    if (strlen(value) < s->lo)
        return 1;
    return config__string(cfg, s, value);
}

/* Base64 of exactly 32 bytes (a key); kept as the text. */
static int config__key32(struct config *cfg, const struct config__setting *s,
                         const char *value)
{
    unsigned char buf[64];
    size_t len = strlen(value);

    if (len != 44 || value[43] != '=' || value[42] == '=' ||
        EVP_DecodeBlock(buf, (const unsigned char *)value, 44) != 33)
        return 1;
    OPENSSL_cleanse(buf, sizeof(buf));
    return config__string(cfg, s, value);
}

static int config__unsigned(struct config *cfg, const struct config__setting *s,
                            const char *value)
{
    unsigned long v;

    if (config__ulong(value, s->lo, s->hi, &v) != 0)
        return 1;
    *(unsigned *)config__at(cfg, s) = (unsigned)v;
    return 0;
}

static int config__size(struct config *cfg, const struct config__setting *s,
                        const char *value)
{
    unsigned long v;

    if (config__ulong(value, s->lo, s->hi, &v) != 0)
        return 1;
    *(size_t *)config__at(cfg, s) = v;
    return 0;
}

/* The index of value among s->choices, or -1. */
static int config__choice(const struct config__setting *s, const char *value)
{
    for (int i = 0; s->choices[i] != NULL; i++)
        if (strcmp(value, s->choices[i]) == 0)
            return i;
    return -1;
}

static int config__level(struct config *cfg, const struct config__setting *s,
                         const char *value)
{
    int i = config__choice(s, value);

    if (i < 0)
        return 1;
    *(enum log_level *)config__at(cfg, s) = (enum log_level)i;
    return 0;
}

/* Two choices: the first sets the field false, the second true. */
static int config__flag(struct config *cfg, const struct config__setting *s,
                        const char *value)
{
    int i = config__choice(s, value);

    if (i < 0)
        return 1;
    *(bool *)config__at(cfg, s) = i == 1;
    return 0;
}

static int config__rate(struct config *cfg, const struct config__setting *s,
                        const char *value)
{
    return ratelimit_parse_rule(value, config__at(cfg, s)) != 0 ? 1 : 0;
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

static int config__url(struct config *cfg, const struct config__setting *s,
                       const char *value)
{
    char **field = config__at(cfg, s);
    size_t len = strlen(value);

    if (!config__valid_origin(value) &&
        !((strncmp(value, "http://", 7) == 0 ||
           strncmp(value, "https://", 8) == 0) &&
          strchr(value, ' ') == NULL))
        return 1;
    *field = strdup(value);
    if (*field == NULL)
        return -1;
    /* A trailing slash would double up when paths are appended. */
    while (len > 0 && (*field)[len - 1] == '/')
        (*field)[--len] = '\0';
    return 0;
}

/* content: a URL template with exactly one "{id}" (PUBLIC_WEB_URL). */
static int config__web_template(struct config *cfg,
                                const struct config__setting *s,
                                const char *value)
{
    const char *at = strstr(value, "{id}");

    if (at == NULL || strstr(at + 4, "{id}") != NULL ||
        strchr(value, ' ') != NULL ||
        (strncmp(value, "http://", 7) != 0 &&
         strncmp(value, "https://", 8) != 0))
        return 1;
    return config__string(cfg, s, value);
}

/* content: CSP source expressions for frame-ancestors: printable ASCII
 * without ';' or ',', which would end the directive or the header and
 * let a setting inject another policy. */
static int config__csp_sources(struct config *cfg,
                               const struct config__setting *s,
                               const char *value)
{
    for (const char *p = value; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == ';' || *p == ',')
            return 1;
    return config__string(cfg, s, value);
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

/* CORS_ORIGINS fills cors_origins and cors_count. */
static int config__origins(struct config *cfg, const struct config__setting *s,
                           const char *value)
{
    (void)s;
    cfg->cors_origins =
        calloc(config__count_items(value) + 1, sizeof(*cfg->cors_origins));
    if (cfg->cors_origins == NULL)
        return -1;
    return config__each_item(value, config__add_origin, cfg);
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

/* TRUSTED_PROXIES fills trusted_proxies and trusted_count. */
static int config__proxies(struct config *cfg, const struct config__setting *s,
                           const char *value)
{
    (void)s;
    cfg->trusted_proxies =
        calloc(config__count_items(value), sizeof(*cfg->trusted_proxies));
    if (cfg->trusted_proxies == NULL)
        return -1;
    return config__each_item(value, config__add_proxy, cfg);
}

/* WEBHOOK_SECRET_KEY: standard base64 of exactly 32 bytes, 44 characters
 * ending in one '=' (EVP_DecodeBlock counts the padding as zero bytes).
 * Fills webhook_key and sets webhook_key_set; the decoded copy on the
 * stack is wiped. */
static int config__webhook_key(struct config *cfg,
                               const struct config__setting *s,
                               const char *value)
{
    unsigned char buf[48];
    int rc = 1;

    (void)s;
    if (strlen(value) == 44 && value[43] == '=' && value[42] != '=' &&
        EVP_DecodeBlock(buf, (const unsigned char *)value, 44) == 33) {
        memcpy(cfg->webhook_key, buf, sizeof(cfg->webhook_key));
        cfg->webhook_key_set = true;
        rc = 0;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static const char *const config__levels[] = {[LOG_DEBUG] = "debug",
                                             [LOG_INFO] = "info",
                                             [LOG_WARN] = "warn",
                                             [LOG_ERROR] = "error",
                                             [LOG_ERROR + 1] = NULL};
/* "session" is what a direct connection or PgBouncer's session pooling
 * gives: prepared statements live as long as the connection. */
static const char *const config__pool_modes[] = {"session", "transaction",
                                                 NULL};
static const char *const config__off_on[] = {"0", "1", NULL};

#define CONFIG__RATE_ACCEPTS                                                   \
    "requests/window such as 60/60s, 100/1m or 5000/1h (1 to 1000000 "         \
    "requests, a window of 1s to 24h), or off"

/* Every setting, in the order they are read and listed by --help.
 *
 * To add one: a field in struct config (config.h), then a row here naming
 * the variable, its parser and field, its bounds or choices, its default
 * and a help sentence. A whole number is config__unsigned or config__size
 * with .lo/.hi (and .unit/.zero for the wording), a string config__string,
 * a fixed set of words config__flag or config__level with .choices; the
 * error line and --help follow from the row. A new kind of value needs a
 * parser (returning 1 for a value it refuses) and its .accepts wording. */
static const struct config__setting config__settings[] = {
    {.name = "DATABASE_URL",
     .parse = config__string,
     .field = CONFIG__FIELD(database_url),
     .accepts = "a PostgreSQL connection URI or key=value string",
     .help = "The database (needed by serve, migrate, keys and seed); "
             "never logged."},
    {.name = "DATABASE_READ_URL",
     .parse = config__string,
     .field = CONFIG__FIELD(database_read_url),
     .accepts = "a PostgreSQL connection URI or key=value string",
     .shown = "none",
     .help = "A read-only copy (a streaming replica) for anonymous and "
             "partner reads."},
    {.name = "DATABASE_POOL_MODE",
     .parse = config__flag,
     .field = CONFIG__FIELD(transaction_pooling),
     .choices = config__pool_modes,
     .def = "session",
     .help = "Set it to transaction behind PgBouncer's transaction "
             "pooling: statements are then sent unnamed instead of "
             "prepared."},
    {.name = "DATABASE_FAILOVER_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(db_failover_timeout_s),
     .lo = 0,
     .hi = 60,
     .unit = "seconds",
     .zero = "answer 503 at once",
     .def = "0",
     .help = "Seconds a request may wait for a primary after the first "
             "request found it missing (failover), before 503."},
    {.name = "DATABASE_CONNECT_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(db_connect_timeout_s),
     .lo = 2,
     .hi = 60,
     .unit = "seconds",
     .def = "2",
     .help = "Seconds each database host is given to answer a connection "
             "attempt (libpq's connect_timeout)."},
    {.name = "HOST",
     .parse = config__string,
     .field = CONFIG__FIELD(host),
     .accepts = "an IPv4 or IPv6 address",
     .shown = "every address",
     .help = "The address to listen on."},
    {.name = "MEDQA_SPEC_FILE",
     .parse = config__string,
     .field = CONFIG__FIELD(spec_file),
     .accepts = "the path of an OpenAPI file",
     .shown = "the embedded spec",
     .help = "Serve this OpenAPI file instead (development)."},
    {.name = "CURSOR_SECRET",
     .parse = config__secret,
     .field = CONFIG__FIELD(cursor_secret),
     .lo = 32,
     .accepts = "a random string of at least 32 characters",
     .help = "Seals pagination cursors; the same on every instance "
             "(needed by serve)."},
    {.name = "PORT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(port),
     .lo = 0,
     .hi = 65535,
     .def = "8080",
     .help = "The TCP port; 0 lets the kernel choose."},
    {.name = "WORKERS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(workers),
     .lo = 1,
     .hi = 256,
     .def = "4",
     .help = "HTTP worker threads, each with one database connection."},
    {.name = "MAX_BODY_BYTES",
     .parse = config__size,
     .field = CONFIG__FIELD(max_body_bytes),
     .lo = 1024,
     .hi = 64UL * 1024 * 1024,
     .unit = "bytes",
     .def = "1048576",
     .help = "Larger request bodies get 413."},
    {.name = "LOG_LEVEL",
     .parse = config__level,
     .field = CONFIG__FIELD(log_level),
     .choices = config__levels,
     .def = "info",
     .help = "The least severe log line written."},
    {.name = "PUBLIC_BASE_URL",
     .parse = config__url,
     .field = CONFIG__FIELD(public_base_url),
     .accepts = "an absolute http:// or https:// URL",
     .shown = "http://localhost:$PORT",
     .help = "The origin used in url, Location, Link and problem types; "
             "never taken from request headers."},
    /* content */
    {.name = "PUBLIC_WEB_URL",
     .parse = config__web_template,
     .field = CONFIG__FIELD(public_web_url),
     .accepts = "an http:// or https:// URL template with one {id}",
     .help = "The public web page of a question, e.g. "
             "https://qa.example.org/questions/{id}: canonical_url, the "
             "feeds' and JSON-LD's links. Unset: no canonical_url."},
    {.name = "CONTENT_LICENSE_NAME",
     .parse = config__string,
     .field = CONFIG__FIELD(license_name),
     .def = "CC BY-SA 4.0",
     .help = "The licence republished content is under (license.name)."},
    {.name = "CONTENT_LICENSE_URL",
     .parse = config__url,
     .field = CONFIG__FIELD(license_url),
     .accepts = "an absolute http:// or https:// URL",
     .def = "https://creativecommons.org/licenses/by-sa/4.0",
     .help = "The licence's text (license.url)."},
    {.name = "SITE_NAME",
     .parse = config__string,
     .field = CONFIG__FIELD(site_name),
     .def = "medqa",
     .help = "Whom republished content credits (attribution.text)."},
    {.name = "DISCLAIMER_TEXT",
     .parse = config__string,
     .field = CONFIG__FIELD(disclaimer_text),
     .def = "General information only, not medical advice.",
     .help = "The medical disclaimer shown with content (disclaimer.text)."},
    {.name = "DISCLAIMER_URL",
     .parse = config__url,
     .field = CONFIG__FIELD(disclaimer_url),
     .accepts = "an absolute http:// or https:// URL",
     .help = "The full disclaimer (disclaimer.url); unset for none."},
    {.name = "EMBED_FRAME_ANCESTORS",
     .parse = config__csp_sources,
     .field = CONFIG__FIELD(embed_frame_ancestors),
     .accepts = "CSP source expressions without ';' or ','",
     .def = "*",
     .help = "Who may frame the embed card (its CSP frame-ancestors)."},
    {.name = "IDF_REFRESH_INTERVAL",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(idf_refresh_s),
     .lo = 0,
     .hi = 7 * 86400,
     .unit = "seconds",
     .zero = "never",
     .def = "3600",
     .help = "Seconds between refreshes of the term statistics /related "
             "weighs words by."},
    {.name = "RELATED_MAX_STALENESS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(related_max_staleness_s),
     .lo = 1,
     .hi = 86400,
     .unit = "seconds",
     .def = "60",
     .help = "Longest a page's stored Similar Q&A may lag a change around "
             "it (a new or edited question close to it); older, it is "
             "computed live until the refresh worker catches up."},
    {.name = "RELATED_BACKFILL",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(related_backfill),
     .lo = 0,
     .hi = 100000,
     .unit = "questions",
     .zero = "never",
     .def = "5000",
     .help = "Questions the refresh worker looks at per idle pass for ones "
             "without a stored Similar Q&A (loaded without triggers)."},
    /* Privacy (issue 15). */
    {.name = "CONTACT_KEY",
     .parse = config__key32,
     .field = CONFIG__FIELD(contact_key),
     .accepts = "base64 of 32 random bytes (openssl rand -base64 32)",
     .shown = "unset (contact e-mails are refused)",
     .help = "Encrypts contact e-mails at rest (AES-256-GCM). Without it a "
             "question with contact_email gets a 422, and serve refuses to "
             "start while any contact is stored."},
    {.name = "CONTACT_KEY_PREVIOUS",
     .parse = config__key32,
     .field = CONFIG__FIELD(contact_key_previous),
     .accepts = "base64 of 32 bytes",
     .shown = "unset",
     .help = "The key before CONTACT_KEY, while `medqa contacts rekey` "
             "re-encrypts what it sealed."},
    {.name = "CONTACT_RETENTION_DAYS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(contact_retention_days),
     .lo = 1,
     .hi = 36500,
     .unit = "days",
     .def = "90",
     .help = "Days a contact e-mail is kept before the expiry worker "
             "deletes it."},
    {.name = "CONTACT_SWEEP_INTERVAL",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(contact_sweep_s),
     .lo = 0,
     .hi = 86400,
     .unit = "seconds",
     .zero = "never",
     .def = "3600",
     .help = "Seconds between the expiry worker's sweeps of contact "
             "e-mails older than CONTACT_RETENTION_DAYS."},
    {.name = "AUDIT_RETENTION_DAYS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(audit_retention_days),
     .lo = 1,
     .hi = 36500,
     .unit = "days",
     .def = "2555",
     .help = "Days an audit record is kept; `medqa audit prune` (a "
             "privileged maintenance command, never the service) deletes "
             "older ones."},
    {.name = "RATE_LIMIT_ANON",
     .parse = config__rate,
     .field = CONFIG__FIELD(rate_anon),
     .accepts = CONFIG__RATE_ACCEPTS,
     .def = "120/60s",
     .help = "Token bucket per client address for anonymous callers."},
    {.name = "RATE_LIMIT_PARTNER",
     .parse = config__rate,
     .field = CONFIG__FIELD(rate_partner),
     .accepts = CONFIG__RATE_ACCEPTS,
     .def = "6000/60s",
     .help = "Token bucket per API key of the partner role."},
    {.name = "RATE_LIMIT_APP",
     .parse = config__rate,
     .field = CONFIG__FIELD(rate_app),
     .accepts = CONFIG__RATE_ACCEPTS,
     .def = "3000/60s",
     .help = "Token bucket per API key of the app role."},
    {.name = "RATE_LIMIT_DOCTOR",
     .parse = config__rate,
     .field = CONFIG__FIELD(rate_doctor),
     .accepts = CONFIG__RATE_ACCEPTS,
     .def = "600/60s",
     .help = "Token bucket per API key of the doctor role."},
    {.name = "RATE_LIMIT_EDITOR",
     .parse = config__rate,
     .field = CONFIG__FIELD(rate_editor),
     .accepts = CONFIG__RATE_ACCEPTS,
     .def = "1200/60s",
     .help = "Token bucket per API key of the editor role."},
    {.name = "RATE_LIMIT_ENTRIES",
     .parse = config__size,
     .field = CONFIG__FIELD(rate_entries),
     .lo = 1024,
     .hi = 16UL * 1024 * 1024,
     .def = "65536",
     .help = "Rate-limit buckets kept in memory (the least recently used "
             "go first)."},
    {.name = "CONNECTION_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(conn_timeout_s),
     .lo = 1,
     .hi = 3600,
     .unit = "seconds",
     .def = "15",
     .help = "Seconds an idle or slow connection may hold a slot."},
    {.name = "HEADER_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(head_timeout_s),
     .lo = 0,
     .hi = 3600,
     .unit = "seconds",
     .zero = "off",
     .def = "10",
     .help = "Seconds from a request head's first byte to its end; a "
             "connection still sending its head then is closed."},
    {.name = "BODY_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(body_timeout_s),
     .lo = 0,
     .hi = 3600,
     .unit = "seconds",
     .zero = "off",
     .def = "30",
     .help = "Seconds from a request head's end to its body's end; a "
             "connection still sending its body then is closed."},
    {.name = "MAX_CONNECTIONS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(max_connections),
     .lo = 1,
     .hi = 65536,
     .def = "1024",
     .help = "Connections served at once."},
    {.name = "MAX_CONNECTIONS_PER_IP",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(max_conn_per_ip),
     .lo = 0,
     .hi = 65536,
     .zero = "no limit",
     .def = "64",
     .help = "Connections served at once from one address."},
    {.name = "MAX_HEADER_BYTES",
     .parse = config__size,
     .field = CONFIG__FIELD(max_header_bytes),
     .lo = 4096,
     .hi = 1024 * 1024,
     .unit = "bytes",
     .def = "32768",
     .help = "Larger request lines and headers get 431."},
    {.name = "TRUSTED_PROXIES",
     .parse = config__proxies,
     .field = CONFIG__FIELD(trusted_proxies),
     .accepts = "a comma-separated list of IPv4 or IPv6 addresses or "
                "networks such as 10.0.0.0/8",
     .shown = "none",
     .help = "Addresses whose X-Forwarded-For is believed when rate "
             "limiting by client address."},
    {.name = "CORS_ORIGINS",
     .parse = config__origins,
     .field = CONFIG__FIELD(cors_origins),
     .accepts = "a comma-separated list of origins such as "
                "https://www.example.org (no path, no '*')",
     .shown = "none",
     .help = "Origins allowed by CORS."},
    {.name = "WEBHOOK_SECRET_KEY",
     .parse = config__webhook_key,
     .field = CONFIG__FIELD(webhook_key),
     .accepts = "the base64 of 32 random bytes (openssl rand -base64 32)",
     .shown = "none",
     .help = "Seals the webhook endpoints' signing secrets in the database; "
             "the same on every instance; never logged. Without it no "
             "endpoint can be made and no delivery worker runs."},
    {.name = "WEBHOOK_ALLOW_HTTP",
     .parse = config__flag,
     .field = CONFIG__FIELD(webhook_allow_http),
     .choices = config__off_on,
     .def = "0",
     .help = "1 accepts http:// webhook URLs as well as https:// (tests)."},
    {.name = "WEBHOOK_ALLOW_PRIVATE",
     .parse = config__flag,
     .field = CONFIG__FIELD(webhook_allow_private),
     .choices = config__off_on,
     .def = "0",
     .help = "1 lets deliveries reach loopback, private, link-local and "
             "multicast addresses (tests)."},
    {.name = "WEBHOOK_CONNECT_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_connect_timeout_s),
     .lo = 1,
     .hi = 60,
     .unit = "seconds",
     .def = "5",
     .help = "Seconds a delivery may take to connect to its receiver."},
    {.name = "WEBHOOK_TIMEOUT",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_timeout_s),
     .lo = 1,
     .hi = 300,
     .unit = "seconds",
     .def = "15",
     .help = "Seconds a whole delivery attempt may take; a receiver that "
             "hangs longer is cut and the attempt counted as failed."},
    {.name = "WEBHOOK_RETRY_SCALE",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_retry_scale),
     .lo = 1,
     .hi = 1000000,
     .def = "1",
     .help = "Divides every delay of the retry schedule (5 s, 5 min, "
             "30 min, 2 h, 5 h, 10 h, 10 h), for tests."},
    {.name = "WEBHOOK_ROTATION_OVERLAP",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_rotation_overlap_s),
     .lo = 0,
     .hi = 30 * 86400,
     .unit = "seconds",
     .def = "86400",
     .help = "Seconds after a secret rotation during which deliveries are "
             "signed with both the new and the old secret."},
    {.name = "WEBHOOK_DISABLE_AFTER",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_disable_after_s),
     .lo = 1,
     .hi = 365 * 86400,
     .unit = "seconds",
     .def = "432000",
     .help = "Seconds an endpoint may fail every delivery before it is "
             "disabled (5 days)."},
    {.name = "WEBHOOK_RETENTION_DAYS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_retention_days),
     .lo = 1,
     .hi = 3650,
     .unit = "days",
     .def = "30",
     .help = "Days deliveries are kept (for the delivery log and replay) "
             "before the worker prunes them."},
    {.name = "WEBHOOK_POLL_INTERVAL_MS",
     .parse = config__unsigned,
     .field = CONFIG__FIELD(webhook_poll_ms),
     .lo = 10,
     .hi = 60000,
     .unit = "milliseconds",
     .def = "500",
     .help = "How long the delivery worker waits when it finds nothing "
             "to do."},
};

static bool config__is_number(const struct config__setting *s)
{
    return s->parse == config__unsigned || s->parse == config__size;
}

/* Writes what setting s accepts ("a whole number from 1 to 256"). */
static void config__accepts(const struct config__setting *s, char *buf,
                            size_t len)
{
    size_t n = 0;

    if (s->accepts != NULL) {
        snprintf(buf, len, "%s", s->accepts);
    } else if (config__is_number(s)) {
        snprintf(buf, len, "a whole number%s%s from %lu%s%s%s to %lu",
                 s->unit ? " of " : "", s->unit ? s->unit : "", s->lo,
                 s->zero ? " (" : "", s->zero ? s->zero : "",
                 s->zero ? ")" : "", s->hi);
    } else if (s->choices != NULL) {
        buf[0] = '\0';
        for (int i = 0; s->choices[i] != NULL && n < len; i++) {
            const char *sep = i == 0                      ? ""
                              : s->choices[i + 1] == NULL ? " or "
                                                          : ", ";
            n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, s->choices[i]);
        }
    } else {
        snprintf(buf, len, "a value");
    }
}

int config_load(struct config *cfg, char *errbuf, size_t errlen)
{
    char accepts[256];
    char buf[64];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < ARRAY_SIZE(config__settings); i++) {
        const struct config__setting *s = &config__settings[i];
        const char *v = getenv(s->name);
        /* An empty value is the same as none: `FOO= medqa` unsets. */
        if (v == NULL || *v == '\0')
            v = s->def;
        if (v == NULL)
            continue;
        int rc = s->parse(cfg, s, v);
        if (rc > 0) {
            config__accepts(s, accepts, sizeof(accepts));
            snprintf(errbuf, errlen, "%s: invalid value; accepts %s", s->name,
                     accepts);
            return -1;
        }
        if (rc < 0) {
            snprintf(errbuf, errlen, "%s: out of memory", s->name);
            return -1;
        }
    }
    /* Defaults that depend on other settings, or that are not a value. */
    if (cfg->public_base_url == NULL) {
        snprintf(buf, sizeof(buf), "http://localhost:%u", cfg->port);
        cfg->public_base_url = strdup(buf);
    }
    /* Never NULL, so that callers walk the list without a check. */
    if (cfg->cors_origins == NULL)
        cfg->cors_origins = calloc(1, sizeof(*cfg->cors_origins));
    if (cfg->public_base_url == NULL || cfg->cors_origins == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Writes text as lines of at most 79 columns, each indented by `indent`
 * spaces, breaking at spaces. */
static void config__wrap(FILE *f, const char *text, int indent)
{
    int col = 0;

    for (const char *w = text; *w != '\0';) {
        size_t len = strcspn(w, " ");
        if (col > indent && col + 1 + (int)len > 79) {
            fputc('\n', f);
            col = 0;
        }
        if (col == 0)
            col = fprintf(f, "%*s", indent, "");
        else
            col += fprintf(f, " ");
        col += fprintf(f, "%.*s", (int)len, w);
        w += len;
        while (*w == ' ')
            w++;
    }
    fputc('\n', f);
}

void config_help(FILE *f)
{
    char accepts[256], text[768];

    fprintf(f, "Configuration is read from the environment; an empty value "
               "is the same as\nnone:\n");
    for (size_t i = 0; i < ARRAY_SIZE(config__settings); i++) {
        const struct config__setting *s = &config__settings[i];
        config__accepts(s, accepts, sizeof(accepts));
        if (s->def != NULL)
            fprintf(f, "  %s (default: %s)\n", s->name, s->def);
        else if (s->shown != NULL)
            fprintf(f, "  %s (default: %s)\n", s->name, s->shown);
        else
            fprintf(f, "  %s\n", s->name);
        snprintf(text, sizeof(text), "%s Accepts %s.", s->help, accepts);
        config__wrap(f, text, 6);
    }
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
    free(cfg->contact_key);
    free(cfg->contact_key_previous);
    free(cfg->public_base_url);
    /* content */
    free(cfg->public_web_url);
    free(cfg->license_name);
    free(cfg->license_url);
    free(cfg->site_name);
    free(cfg->disclaimer_text);
    free(cfg->disclaimer_url);
    free(cfg->embed_frame_ancestors);
    if (cfg->cors_origins != NULL)
        for (size_t i = 0; i < cfg->cors_count; i++)
            free(cfg->cors_origins[i]);
    free(cfg->cors_origins);
    free(cfg->trusted_proxies);
    OPENSSL_cleanse(cfg->webhook_key, sizeof(cfg->webhook_key));
    memset(cfg, 0, sizeof(*cfg));
}
