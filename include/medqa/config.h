/* config — the service's settings, read once from the environment. */
#ifndef MEDQA_CONFIG_H
#define MEDQA_CONFIG_H

#include "medqa/log.h"
#include "medqa/ratelimit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config {
    char *database_url;       /* libpq conninfo or URI; never logged */
    char *database_read_url;  /* DATABASE_READ_URL: a read-only copy (a
                                 streaming replica) for anonymous and
                                 partner reads; NULL for none */
    bool transaction_pooling; /* DATABASE_POOL_MODE=transaction: behind
                                 PgBouncer's transaction pooling, so no
                                 prepared statements */
    /* failover */
    unsigned db_failover_timeout_s; /* DATABASE_FAILOVER_TIMEOUT: seconds
                                       a request waits for a primary to
                                       appear before its 503; 0 = none */
    unsigned db_connect_timeout_s;  /* DATABASE_CONNECT_TIMEOUT: seconds
                                       per host to connect */
    char *host;       /* address to bind; NULL means every address */
    unsigned port;    /* 0 lets the kernel choose (tests use it) */
    unsigned workers; /* libmicrohttpd pool threads = DB connections */
    enum log_level log_level;
    size_t max_body_bytes; /* request bodies above this get a 413 */
    char *public_base_url; /* origin used in `url`, `Location`, `Link` */
    char **cors_origins;   /* NULL-terminated list, may be empty */
    size_t cors_count;
    char *cursor_secret; /* CURSOR_SECRET: seals pagination cursors; the
                            same on every instance */
    char *spec_file;     /* MEDQA_SPEC_FILE: load this instead of the
                            embedded spec (development and tests) */

    /* Rate limits (RATE_LIMIT_<ROLE>): anonymous callers per address,
     * key holders per key. */
    struct ratelimit_rule rate_anon, rate_partner, rate_app, rate_doctor,
        rate_editor;
    size_t rate_entries; /* RATE_LIMIT_ENTRIES: buckets kept in memory */
    struct ratelimit_net *trusted_proxies; /* TRUSTED_PROXIES */
    size_t trusted_count;

    /* Connection limits (libmicrohttpd). */
    unsigned conn_timeout_s;  /* CONNECTION_TIMEOUT: idle seconds */
    unsigned head_timeout_s;  /* HEADER_TIMEOUT: seconds from a request
                                 head's first byte to its end; 0 = off */
    unsigned body_timeout_s;  /* BODY_TIMEOUT: seconds from a request
                                 head's end to its body's end; 0 = off */
    unsigned max_connections; /* MAX_CONNECTIONS */
    unsigned max_conn_per_ip; /* MAX_CONNECTIONS_PER_IP; 0 = no limit */
    size_t max_header_bytes;  /* MAX_HEADER_BYTES: request line + headers */

    /* IDF_REFRESH_INTERVAL: seconds between refreshes of /related's term
     * statistics by the background worker (medqa/related.h); 0 = never. */
    unsigned idf_refresh_s;
    /* RELATED_MAX_STALENESS: how long a stored Similar Q&A may lag a
     * change around it (sql/related_store.sql). */
    unsigned related_max_staleness_s;
    /* RELATED_BACKFILL: ids per idle pass of the worker's walk for
     * questions without a stored result; 0 = no walk. */
    unsigned related_backfill;

    /* webhooks (medqa/webhooks.h) */
    bool webhook_key_set;                /* WEBHOOK_SECRET_KEY is set: without
                                            it endpoints cannot be made and no
                                            worker runs */
    unsigned char webhook_key[32];       /* its 32 bytes (base64 in the
                                            environment): seals the endpoints'
                                            signing secrets; never logged */
    bool webhook_allow_http;             /* WEBHOOK_ALLOW_HTTP=1: http://
                                            endpoint URLs too (tests) */
    bool webhook_allow_private;          /* WEBHOOK_ALLOW_PRIVATE=1: loopback
                                            and private addresses too (tests) */
    unsigned webhook_connect_timeout_s;  /* WEBHOOK_CONNECT_TIMEOUT (5) */
    unsigned webhook_timeout_s;          /* WEBHOOK_TIMEOUT: a whole attempt
                                            (15) */
    unsigned webhook_retry_scale;        /* WEBHOOK_RETRY_SCALE: divides every
                                            retry delay (1; tests) */
    unsigned webhook_rotation_overlap_s; /* WEBHOOK_ROTATION_OVERLAP: both
                                            secrets sign for this long after
                                            a rotation (86400) */
    unsigned webhook_disable_after_s;    /* WEBHOOK_DISABLE_AFTER: an endpoint
                                            failing this long is disabled
                                            (432000 = 5 days) */
    unsigned webhook_retention_days;     /* WEBHOOK_RETENTION_DAYS (30) */
    unsigned webhook_poll_ms;            /* WEBHOOK_POLL_INTERVAL_MS: the
                                            worker's idle wait (500) */
    /* content: what a republisher needs (issue 14). */
    char *public_web_url;  /* PUBLIC_WEB_URL: the public page of a question,
                              a template with one "{id}"; NULL: no
                              canonical_url anywhere */
    char *license_name;    /* CONTENT_LICENSE_NAME */
    char *license_url;     /* CONTENT_LICENSE_URL */
    char *site_name;       /* SITE_NAME: whom attribution names */
    char *disclaimer_text; /* DISCLAIMER_TEXT */
    char *disclaimer_url;  /* DISCLAIMER_URL; NULL for none */
    char *embed_frame_ancestors; /* EMBED_FRAME_ANCESTORS: the CSP
                                    frame-ancestors sources of the embed
                                    card */
    /* Privacy (issue 15). AUDIT_RETENTION_DAYS: what `medqa audit prune`
     * keeps. */
    unsigned audit_retention_days;
    /* CONTACT_KEY, CONTACT_KEY_PREVIOUS: base64 of 32 bytes (checked
     * here, used by medqa/contacts.h); NULL when unset. Never logged. */
    char *contact_key;
    char *contact_key_previous;
    unsigned contact_retention_days; /* CONTACT_RETENTION_DAYS */
    unsigned contact_sweep_s;        /* CONTACT_SWEEP_INTERVAL; 0 = never */
};

/* Fills `cfg` from the environment. On a bad value it writes one line naming
 * the variable and what it accepts into errbuf and returns -1; the caller
 * prints it and stops. On success the caller owns cfg's strings and frees
 * them with config_cleanup(). */
int config_load(struct config *cfg, char *errbuf, size_t errlen);

void config_cleanup(struct config *cfg);

/* Writes every setting to f for `medqa --help`: its variable, default,
 * what it accepts and what it is for (the same table config_load reads). */
void config_help(FILE *f);

#endif
