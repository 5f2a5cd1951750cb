/* Unit tests for config (internal/config/config.c): the defaults, the
 * bounds of every number, the exact error lines (operators grep for them
 * and the integration suites match them), and that --help names every
 * variable. The environment is the input, so each test sets what it needs
 * and clears every variable first. */
/* cmocka needs these before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medqa/base.h"
#include "medqa/config.h"

/* Every variable medqa reads: --help must list each one. */
static const char *const all_names[] = {
    "DATABASE_URL",
    "DATABASE_READ_URL",
    "DATABASE_POOL_MODE",
    "HOST",
    "MEDQA_SPEC_FILE",
    "CURSOR_SECRET",
    "PORT",
    "WORKERS",
    "MAX_BODY_BYTES",
    "LOG_LEVEL",
    "PUBLIC_BASE_URL",
    "IDF_REFRESH_INTERVAL",
    "RELATED_MAX_STALENESS",
    "RELATED_BACKFILL",
    "RATE_LIMIT_ANON",
    "RATE_LIMIT_PARTNER",
    "RATE_LIMIT_APP",
    "RATE_LIMIT_DOCTOR",
    "RATE_LIMIT_EDITOR",
    "RATE_LIMIT_ENTRIES",
    "CONNECTION_TIMEOUT",
    "HEADER_TIMEOUT",
    "BODY_TIMEOUT",
    "MAX_CONNECTIONS",
    "MAX_CONNECTIONS_PER_IP",
    "MAX_HEADER_BYTES",
    "TRUSTED_PROXIES",
    "CORS_ORIGINS",
    "DATABASE_FAILOVER_TIMEOUT",
    "DATABASE_CONNECT_TIMEOUT",
    "WEBHOOK_SECRET_KEY",
    "WEBHOOK_ALLOW_HTTP",
    "WEBHOOK_ALLOW_PRIVATE",
    "WEBHOOK_CONNECT_TIMEOUT",
    "WEBHOOK_TIMEOUT",
    "WEBHOOK_RETRY_SCALE",
    "WEBHOOK_ROTATION_OVERLAP",
    "WEBHOOK_DISABLE_AFTER",
    "WEBHOOK_RETENTION_DAYS",
    "WEBHOOK_POLL_INTERVAL_MS",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(all_names); i++)
        unsetenv(all_names[i]);
    return 0;
}

/* Loads with name=value set; returns config_load's result and leaves the
 * error line in err. */
static int load_with(struct config *cfg, const char *name, const char *value,
                     char *err, size_t errlen)
{
    err[0] = '\0';
    setenv(name, value, 1);
    int rc = config_load(cfg, err, errlen);
    unsetenv(name);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];

    assert_int_equal(config_load(&cfg, err, sizeof(err)), 0);
    assert_null(cfg.database_url);
    assert_null(cfg.database_read_url);
    assert_false(cfg.transaction_pooling);
    assert_null(cfg.host);
    assert_null(cfg.cursor_secret);
    assert_null(cfg.spec_file);
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.max_body_bytes, 1048576);
    assert_string_equal(cfg.public_base_url, "http://localhost:8080");
    assert_non_null(cfg.cors_origins);
    assert_null(cfg.cors_origins[0]);
    assert_int_equal(cfg.cors_count, 0);
    assert_int_equal(cfg.rate_anon.limit, 120);
    assert_int_equal(cfg.rate_anon.window_s, 60);
    assert_int_equal(cfg.rate_partner.limit, 6000);
    assert_int_equal(cfg.rate_app.limit, 3000);
    assert_int_equal(cfg.rate_doctor.limit, 600);
    assert_int_equal(cfg.rate_editor.limit, 1200);
    assert_int_equal(cfg.rate_editor.window_s, 60);
    assert_int_equal(cfg.rate_entries, 65536);
    assert_null(cfg.trusted_proxies);
    assert_int_equal(cfg.trusted_count, 0);
    assert_int_equal(cfg.conn_timeout_s, 15);
    assert_int_equal(cfg.head_timeout_s, 10);
    assert_int_equal(cfg.body_timeout_s, 30);
    assert_int_equal(cfg.max_connections, 1024);
    assert_int_equal(cfg.max_conn_per_ip, 64);
    assert_int_equal(cfg.max_header_bytes, 32768);
    assert_int_equal(cfg.idf_refresh_s, 3600);
    assert_false(cfg.webhook_key_set);
    assert_false(cfg.webhook_allow_http);
    assert_false(cfg.webhook_allow_private);
    assert_int_equal(cfg.webhook_connect_timeout_s, 5);
    assert_int_equal(cfg.webhook_timeout_s, 15);
    assert_int_equal(cfg.webhook_retry_scale, 1);
    assert_int_equal(cfg.webhook_rotation_overlap_s, 86400);
    assert_int_equal(cfg.webhook_disable_after_s, 5 * 86400);
    assert_int_equal(cfg.webhook_retention_days, 30);
    assert_int_equal(cfg.webhook_poll_ms, 500);
    config_cleanup(&cfg);
}

/* An empty value is the same as none. */
static void test_empty_is_unset(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];

    assert_int_equal(load_with(&cfg, "PORT", "", err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 8080);
    config_cleanup(&cfg);
    assert_int_equal(load_with(&cfg, "DATABASE_URL", "", err, sizeof(err)), 0);
    assert_null(cfg.database_url);
    config_cleanup(&cfg);
}

/* Each number: both bounds are accepted, one past either is refused with
 * exactly today's line. */
static void test_number_bounds_and_wording(void **state)
{
    (void)state;
    static const struct {
        const char *name, *lo, *hi, *below, *above, *line;
    } cases[] = {
        {"PORT", "0", "65535", NULL, "65536",
         "PORT: invalid value; accepts a whole number from 0 to 65535"},
        {"WORKERS", "1", "256", "0", "257",
         "WORKERS: invalid value; accepts a whole number from 1 to 256"},
        {"MAX_BODY_BYTES", "1024", "67108864", "1023", "67108865",
         "MAX_BODY_BYTES: invalid value; accepts a whole number of bytes "
         "from 1024 to 67108864"},
        {"IDF_REFRESH_INTERVAL", "0", "604800", NULL, "604801",
         "IDF_REFRESH_INTERVAL: invalid value; accepts a whole number of "
         "seconds from 0 (never) to 604800"},
        {"RATE_LIMIT_ENTRIES", "1024", "16777216", "1023", "16777217",
         "RATE_LIMIT_ENTRIES: invalid value; accepts a whole number from "
         "1024 to 16777216"},
        {"CONNECTION_TIMEOUT", "1", "3600", "0", "3601",
         "CONNECTION_TIMEOUT: invalid value; accepts a whole number of "
         "seconds from 1 to 3600"},
        {"HEADER_TIMEOUT", "0", "3600", NULL, "3601",
         "HEADER_TIMEOUT: invalid value; accepts a whole number of seconds "
         "from 0 (off) to 3600"},
        {"BODY_TIMEOUT", "0", "3600", NULL, "3601",
         "BODY_TIMEOUT: invalid value; accepts a whole number of seconds "
         "from 0 (off) to 3600"},
        {"MAX_CONNECTIONS", "1", "65536", "0", "65537",
         "MAX_CONNECTIONS: invalid value; accepts a whole number from 1 to "
         "65536"},
        {"MAX_CONNECTIONS_PER_IP", "0", "65536", NULL, "65537",
         "MAX_CONNECTIONS_PER_IP: invalid value; accepts a whole number "
         "from 0 (no limit) to 65536"},
        {"MAX_HEADER_BYTES", "4096", "1048576", "4095", "1048577",
         "MAX_HEADER_BYTES: invalid value; accepts a whole number of bytes "
         "from 4096 to 1048576"},
        {"WEBHOOK_CONNECT_TIMEOUT", "1", "60", "0", "61",
         "WEBHOOK_CONNECT_TIMEOUT: invalid value; accepts a whole number of "
         "seconds from 1 to 60"},
        {"WEBHOOK_TIMEOUT", "1", "300", "0", "301",
         "WEBHOOK_TIMEOUT: invalid value; accepts a whole number of seconds "
         "from 1 to 300"},
        {"WEBHOOK_RETRY_SCALE", "1", "1000000", "0", "1000001",
         "WEBHOOK_RETRY_SCALE: invalid value; accepts a whole number from 1 "
         "to 1000000"},
        {"WEBHOOK_ROTATION_OVERLAP", "0", "2592000", NULL, "2592001",
         "WEBHOOK_ROTATION_OVERLAP: invalid value; accepts a whole number of "
         "seconds from 0 to 2592000"},
        {"WEBHOOK_DISABLE_AFTER", "1", "31536000", "0", "31536001",
         "WEBHOOK_DISABLE_AFTER: invalid value; accepts a whole number of "
         "seconds from 1 to 31536000"},
        {"WEBHOOK_RETENTION_DAYS", "1", "3650", "0", "3651",
         "WEBHOOK_RETENTION_DAYS: invalid value; accepts a whole number of "
         "days from 1 to 3650"},
        {"WEBHOOK_POLL_INTERVAL_MS", "10", "60000", "9", "60001",
         "WEBHOOK_POLL_INTERVAL_MS: invalid value; accepts a whole number of "
         "milliseconds from 10 to 60000"},
    };
    struct config cfg;
    char err[512];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *bad[] = {cases[i].below, cases[i].above, "-1", "+1", "12x"};
        assert_int_equal(
            load_with(&cfg, cases[i].name, cases[i].lo, err, sizeof(err)), 0);
        config_cleanup(&cfg);
        assert_int_equal(
            load_with(&cfg, cases[i].name, cases[i].hi, err, sizeof(err)), 0);
        config_cleanup(&cfg);
        for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
            if (bad[k] == NULL)
                continue;
            assert_int_equal(
                load_with(&cfg, cases[i].name, bad[k], err, sizeof(err)), -1);
            assert_string_equal(err, cases[i].line);
            config_cleanup(&cfg);
        }
    }
}

static void test_values_land_in_their_fields(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];

    assert_int_equal(load_with(&cfg, "LOG_LEVEL", "warn", err, sizeof(err)), 0);
    assert_int_equal(cfg.log_level, LOG_WARN);
    config_cleanup(&cfg);
    assert_int_equal(
        load_with(&cfg, "DATABASE_POOL_MODE", "transaction", err, sizeof(err)),
        0);
    assert_true(cfg.transaction_pooling);
    config_cleanup(&cfg);
    assert_int_equal(
        load_with(&cfg, "RATE_LIMIT_DOCTOR", "5/1h", err, sizeof(err)), 0);
    assert_int_equal(cfg.rate_doctor.limit, 5);
    assert_int_equal(cfg.rate_doctor.window_s, 3600);
    assert_int_equal(cfg.rate_anon.limit, 120);
    config_cleanup(&cfg);
    assert_int_equal(
        load_with(&cfg, "MAX_HEADER_BYTES", "8192", err, sizeof(err)), 0);
    assert_int_equal(cfg.max_header_bytes, 8192);
    config_cleanup(&cfg);

    /* PUBLIC_BASE_URL loses its trailing slashes; without it, the default
     * follows PORT. */
    assert_int_equal(load_with(&cfg, "PUBLIC_BASE_URL",
                               "https://qa.example.org/api//", err,
                               sizeof(err)),
                     0);
    assert_string_equal(cfg.public_base_url, "https://qa.example.org/api");
    config_cleanup(&cfg);
    assert_int_equal(load_with(&cfg, "PORT", "9090", err, sizeof(err)), 0);
    assert_string_equal(cfg.public_base_url, "http://localhost:9090");
    config_cleanup(&cfg);

    assert_int_equal(load_with(&cfg, "CORS_ORIGINS",
                               " https://a.example , ,http://b.example:8080",
                               err, sizeof(err)),
                     0);
    assert_int_equal(cfg.cors_count, 2);
    assert_string_equal(cfg.cors_origins[0], "https://a.example");
    assert_string_equal(cfg.cors_origins[1], "http://b.example:8080");
    assert_null(cfg.cors_origins[2]);
    config_cleanup(&cfg);
    assert_int_equal(
        load_with(&cfg, "TRUSTED_PROXIES", "10.0.0.0/8, ::1", err, sizeof(err)),
        0);
    assert_int_equal(cfg.trusted_count, 2);
    config_cleanup(&cfg);

    /* The sealing key: its 32 bytes, and the flag that turns webhooks on. */
    assert_int_equal(load_with(&cfg, "WEBHOOK_SECRET_KEY",
                               "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
                               err, sizeof(err)),
                     0);
    assert_true(cfg.webhook_key_set);
    assert_int_equal(cfg.webhook_key[0], 1);
    assert_int_equal(cfg.webhook_key[31], 32);
    config_cleanup(&cfg);
    assert_int_equal(
        load_with(&cfg, "WEBHOOK_ALLOW_PRIVATE", "1", err, sizeof(err)), 0);
    assert_true(cfg.webhook_allow_private);
    config_cleanup(&cfg);
}

static void test_other_error_lines(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value, *line;
    } cases[] = {
        {"LOG_LEVEL", "loud",
         "LOG_LEVEL: invalid value; accepts debug, info, warn or error"},
        {"DATABASE_POOL_MODE", "statement",
         "DATABASE_POOL_MODE: invalid value; accepts session or "
         "transaction"},
        {"CURSOR_SECRET", "0123456789012345678901234567890",
         "CURSOR_SECRET: invalid value; accepts a random string of at least "
         "32 characters"},
        {"PUBLIC_BASE_URL", "ftp://x",
         "PUBLIC_BASE_URL: invalid value; accepts an absolute http:// or "
         "https:// URL"},
        {"CORS_ORIGINS", "https://a.example,*",
         "CORS_ORIGINS: invalid value; accepts a comma-separated list of "
         "origins such as https://www.example.org (no path, no '*')"},
        {"TRUSTED_PROXIES", "10.0.0.0/33",
         "TRUSTED_PROXIES: invalid value; accepts a comma-separated list of "
         "IPv4 or IPv6 addresses or networks such as 10.0.0.0/8"},
        {"RATE_LIMIT_APP", "60",
         "RATE_LIMIT_APP: invalid value; accepts requests/window such as "
         "60/60s, 100/1m or 5000/1h (1 to 1000000 requests, a window of 1s "
         "to 24h), or off"},
        {"WEBHOOK_ALLOW_HTTP", "yes",
         "WEBHOOK_ALLOW_HTTP: invalid value; accepts 0 or 1"},
        /* 32 bytes' base64 less its padding, and 31 bytes' */
        {"WEBHOOK_SECRET_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         "WEBHOOK_SECRET_KEY: invalid value; accepts the base64 of 32 random "
         "bytes (openssl rand -base64 32)"},
        {"WEBHOOK_SECRET_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
         "WEBHOOK_SECRET_KEY: invalid value; accepts the base64 of 32 random "
         "bytes (openssl rand -base64 32)"},
    };
    struct config cfg;
    char err[512];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        assert_int_equal(
            load_with(&cfg, cases[i].name, cases[i].value, err, sizeof(err)),
            -1);
        assert_string_equal(err, cases[i].line);
        config_cleanup(&cfg);
    }
}

static void test_help_lists_every_variable(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    config_help(f);
    fclose(f);
    for (size_t i = 0; i < ARRAY_SIZE(all_names); i++) {
        char line[64];
        snprintf(line, sizeof(line), "\n  %s", all_names[i]);
        if (strstr(text, line) == NULL)
            fail_msg("--help does not list %s", all_names[i]);
    }
    /* The defaults and the accepted values are shown beside each one. */
    assert_non_null(strstr(text, "  WORKERS (default: 4)\n"));
    assert_non_null(strstr(text, "Accepts debug, info, warn or error."));
    for (char *l = text; l != NULL && *l != '\0';) {
        char *nl = strchr(l, '\n');
        assert_true((nl ? (size_t)(nl - l) : strlen(l)) < 80);
        l = nl ? nl + 1 : NULL;
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_empty_is_unset, clear_env),
        cmocka_unit_test_setup(test_number_bounds_and_wording, clear_env),
        cmocka_unit_test_setup(test_values_land_in_their_fields, clear_env),
        cmocka_unit_test_setup(test_other_error_lines, clear_env),
        cmocka_unit_test_setup(test_help_lists_every_variable, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
