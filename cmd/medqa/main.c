/* medqa — the medical Q&A API. One binary: `serve` runs the HTTP service,
 * `migrate` brings the schema up to date, `keys` manages API keys and
 * `seed` loads data. Configuration comes from the environment only. */
#include "medqa/assets.h"
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/contacts.h"
#include "medqa/db.h"
#include "medqa/handlers.h"
#include "medqa/http.h"
#include "medqa/log.h"
#include "medqa/metrics.h"
#include "medqa/migrate.h"
#include "medqa/related.h"
#include "medqa/spec.h"
#include "medqa/webhooks.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MEDQA_VERSION
#define MEDQA_VERSION "0.0.0-dev"
#endif

static void main__usage(FILE *f)
{
    fprintf(f, "usage: medqa <command> [options]\n"
               "\n"
               "commands:\n"
               "  serve                 run the HTTP API on HOST:PORT\n"
               "  migrate               apply the database migrations\n"
               "  keys create --role R [--doctor ID] --name N\n"
               "                        make an API key (printed once, last)\n"
               "  keys list             list API keys (never the secrets)\n"
               "  keys revoke ID        revoke an API key\n"
               "  keys create ... --expires 90d\n"
               "                        a key that stops working after 90 "
               "days\n"
               "  keys rotate ID [--grace 7d]\n"
               "                        issue a successor; the old key "
               "works for the grace period\n"
               "  audit prune           delete audit records older than "
               "AUDIT_RETENTION_DAYS\n"
               "  contacts show QUESTION_ID\n"
               "                        print a contact e-mail (audited)\n"
               "  contacts rekey        re-encrypt contact e-mails under "
               "CONTACT_KEY\n"
               "  seed --demo           load the demo questions (idempotent)\n"
               "  seed --synthetic N [--seed S] [--labels FILE]\n"
               "                        generate N plausible questions (COPY)\n"
               "  --help                show this text\n"
               "  --version             print the version\n"
               "\n");
    config_help(f);
}

/* Reads a whole file into a new buffer (for MEDQA_SPEC_FILE). */
static char *main__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)size + 1);
    if (buf == NULL)
        goto out;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
    *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

static int main__load_spec(const struct config *cfg, struct spec **out)
{
    char err[512];
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (cfg->spec_file != NULL) {
        text = main__read_file(cfg->spec_file, &len);
        if (text == NULL) {
            fprintf(stderr, "medqa: MEDQA_SPEC_FILE: cannot read %s\n",
                    cfg->spec_file);
            return -1;
        }
        rc = spec_load(text, len, out, err, sizeof(err));
    } else {
        rc = spec_load((const char *)assets_openapi_yaml.data,
                       assets_openapi_yaml.len, out, err, sizeof(err));
    }
    free(text);
    if (rc != 0) {
        fprintf(stderr, "medqa: openapi spec: %s\n", err);
        return -1;
    }
    if (handlers_bind(*out, err, sizeof(err)) != 0) {
        fprintf(stderr, "medqa: %s\n", err);
        spec_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int main__need_db(const struct config *cfg)
{
    if (cfg->database_url == NULL) {
        fprintf(stderr, "medqa: DATABASE_URL: not set; accepts a PostgreSQL "
                        "connection URI or key=value string\n");
        return -1;
    }
    return 0;
}

/* Without CONTACT_KEY the service must not start over stored contacts it
 * could neither seal again nor expire knowingly: returns 0 when none is
 * stored, -1 (with a message) when some are or the check failed. */
static int main__contacts_stored(const struct config *cfg)
{
    char err[512];
    PGconn *pg = db_connect_direct(cfg->database_url, err, sizeof(err));
    int rc = -1;

    if (pg == NULL) {
        fprintf(stderr, "medqa: cannot connect to the database: %s\n", err);
        return -1;
    }
    PGresult *res = PQexec(pg, "SELECT count(*)::text FROM question_contacts");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "medqa: cannot check stored contacts: %s",
                PQresultErrorMessage(res));
    else if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        fprintf(stderr,
                "medqa: CONTACT_KEY: not set, but %s contact e-mails are "
                "stored; set the key they were encrypted with\n",
                PQgetvalue(res, 0, 0));
    else
        rc = 0;
    PQclear(res);
    PQfinish(pg);
    return rc;
}

static int main__serve(struct config *cfg)
{
    struct spec *spec = NULL;
    struct http_server *srv = NULL;
    char err[512];
    char port[16];
    sigset_t sigs;
    int sig = 0;
    int rc = 1;

    if (main__need_db(cfg) != 0)
        return 1;
    if (cfg->cursor_secret == NULL) {
        fprintf(stderr, "medqa: CURSOR_SECRET: not set; accepts a random "
                        "string of at least 32 characters, the same on "
                        "every instance\n");
        return 2;
    }
    if (contacts_init(cfg) != 0) {
        fprintf(stderr, "medqa: CONTACT_KEY: not a 32-byte base64 key\n");
        return 2;
    }
    if (!contacts_configured() && main__contacts_stored(cfg) != 0)
        return 1;
    if (main__load_spec(cfg, &spec) != 0)
        return 1;
    if (db_init(cfg->database_url, cfg->database_read_url,
                cfg->transaction_pooling) != 0 ||
        handlers_register_statements() != 0 || metrics_init(spec) != 0 ||
        webhooks_http_init() != 0) {
        fprintf(stderr, "medqa: out of memory\n");
        goto out;
    }
    db_set_failover(cfg->db_failover_timeout_s, cfg->db_connect_timeout_s);
    /* Block the stop signals before any thread exists, so every thread
     * inherits the mask and only sigwait() below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (http_server_start(cfg, spec, &srv, err, sizeof(err)) != 0) {
        fprintf(stderr, "medqa: %s\n", err);
        goto out;
    }
    snprintf(port, sizeof(port), "%u", http_server_port(srv));
    if (cfg->port == 0 && getenv("PUBLIC_BASE_URL") == NULL) {
        /* PORT=0 (tests): the default origin names the port the kernel
         * chose. Set before "listening" is logged, which is what clients
         * wait for. */
        char origin[64];
        snprintf(origin, sizeof(origin), "http://localhost:%s", port);
        char *copy = strdup(origin);
        if (copy != NULL) {
            free(cfg->public_base_url);
            cfg->public_base_url = copy;
        }
    }
    /* After the stop signals are blocked, so the worker inherits the mask. */
    if (related_worker_start(cfg->idf_refresh_s) != 0)
        log_msg(LOG_WARN, "idf refresh worker did not start", LOG_END);
    if (related_store_worker_start(cfg->related_max_staleness_s,
                                   cfg->related_backfill) != 0)
        log_msg(LOG_WARN, "related refresh worker did not start", LOG_END);
    if (webhooks_worker_start(cfg) != 0)
        log_msg(LOG_WARN, "webhook delivery worker did not start", LOG_END);
    if (contacts_worker_start(cfg->contact_retention_days,
                              cfg->contact_sweep_s) != 0)
        log_msg(LOG_WARN, "contact expiry worker did not start", LOG_END);
    log_msg(LOG_INFO, "listening", "port", port, "version", MEDQA_VERSION,
            LOG_END);
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "stopping", "signal",
            sig == SIGINT ? "SIGINT" : "SIGTERM", LOG_END);
    related_worker_stop();
    related_store_worker_stop();
    /* Cuts deliveries in flight and puts them back as due, so the next
     * start (or another instance) retries them. */
    webhooks_worker_stop();
    contacts_worker_stop();
    http_server_stop(srv, 10000);
    log_msg(LOG_INFO, "stopped", LOG_END);
    rc = 0;
out:
    db_shutdown();
    webhooks_http_cleanup();
    metrics_free();
    spec_free(spec);
    return rc;
}

static int main__migrate(const struct config *cfg)
{
    char err[1024];
    int applied = 0;

    if (main__need_db(cfg) != 0)
        return 1;
    PGconn *pg = db_connect_direct(cfg->database_url, err, sizeof(err));
    if (pg == NULL) {
        fprintf(stderr, "medqa: cannot connect to the database: %s\n", err);
        return 1;
    }
    int rc = migrate_run(pg, &applied, err, sizeof(err));
    /* The data step of migration 0014 that SQL cannot do: encrypting the
     * contact e-mails stored in plain text needs CONTACT_KEY. */
    if (rc == 0 && contacts_init(cfg) != 0) {
        snprintf(err, sizeof(err), "CONTACT_KEY: not a 32-byte base64 key");
        rc = -1;
    }
    if (rc == 0) {
        int n = contacts_encrypt_plain(pg, err, sizeof(err));
        if (n < 0)
            rc = -1;
        else if (n > 0)
            fprintf(stderr, "medqa: migrate: encrypted %d contact e-mails\n",
                    n);
    }
    PQfinish(pg);
    if (rc != 0) {
        fprintf(stderr, "medqa: migrate: %s\n", err);
        return 1;
    }
    fprintf(stderr, "medqa: migrate: %d applied, %zu in total\n", applied,
            assets_nmigrations);
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    int rc = 1;

    if (argc < 2) {
        main__usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        main__usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("medqa %s\n", MEDQA_VERSION);
        return 0;
    }
    if (config_load(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "medqa: %s\n", err);
        config_cleanup(&cfg);
        return 2;
    }
    log_set_level(cfg.log_level);
    if (strcmp(argv[1], "serve") == 0) {
        rc = main__serve(&cfg);
    } else if (strcmp(argv[1], "migrate") == 0) {
        rc = main__migrate(&cfg);
    } else if (strcmp(argv[1], "seed") == 0) {
        rc = cli_seed(argc - 2, argv + 2, &cfg);
    } else if (strcmp(argv[1], "contacts") == 0) {
        rc = cli_contacts(argc - 2, argv + 2, &cfg);
    } else if (strcmp(argv[1], "audit") == 0) {
        rc = cli_audit(argc - 2, argv + 2, &cfg);
    } else if (strcmp(argv[1], "keys") == 0) {
        rc = cli_keys(argc - 2, argv + 2, &cfg);
    } else {
        fprintf(stderr, "medqa: unknown command '%s'\n", argv[1]);
        main__usage(stderr);
        rc = 2;
    }
    config_cleanup(&cfg);
    return rc;
}
