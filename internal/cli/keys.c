/* cli/keys — create, list, rotate and revoke API keys from the command
 * line. A new key is printed once, as the last line, and never stored. */
#include "medqa/auth.h"
#include "cli_internal.h"
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Default grace period of a rotated key: long enough for a partner to
 * roll the new key out, short enough that a leaked old one dies soon. */
#define KEYS_DEFAULT_GRACE "7d"

static int keys__usage(void)
{
    fprintf(stderr,
            "usage: medqa keys create --role partner|app|doctor|editor "
            "[--doctor UUID] --name NAME [--expires 90d]\n"
            "       medqa keys list\n"
            "       medqa keys rotate ID [--grace " KEYS_DEFAULT_GRACE "]\n"
            "       medqa keys revoke ID\n"
            "durations: a whole number and s, m, h or d\n");
    return 2;
}

/* "90d", "12h", "30m", "45s" as seconds in decimal text (out, 24 bytes).
 * Returns 0, or -1 for anything else (zero included). */
static int keys__seconds(const char *s, char *out)
{
    char *end = NULL;
    unsigned long long mult;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == NULL || end[0] == '\0' || end[1] != '\0' || n == 0 ||
        n > 100000000ull)
        return -1;
    switch (end[0]) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    default: return -1;
    }
    snprintf(out, 24, "%llu", n * mult);
    return 0;
}

static int keys__fail(PGresult *res, const char *what)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != NULL && strcmp(state, "23503") == 0)
        fprintf(stderr, "medqa: keys %s: no such doctor\n", what);
    else if (state != NULL && strcmp(state, "22P02") == 0)
        fprintf(stderr, "medqa: keys %s: not a valid UUID\n", what);
    else if (state != NULL && strcmp(state, "23514") == 0)
        fprintf(stderr,
                "medqa: keys %s: a doctor key needs --doctor, and "
                "only a doctor key may have one\n",
                what);
    else
        fprintf(stderr, "medqa: keys %s: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return 1;
}

/* Runs one statement of a CLI transaction; on failure reports it, rolls
 * back and returns 1. *out (may be NULL) gets the result on success. */
static int keys__run(PGconn *pg, const char *what, const char *sql, int n,
                     const char *const *params, PGresult **out)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = keys__fail(res, what);
        PQclear(PQexec(pg, "ROLLBACK"));
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

static int keys__create(PGconn *pg, int argc, char **argv)
{
    const char *role = NULL, *doctor = NULL, *name = NULL, *expires = NULL;
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_PREFIX_LEN + 1], hash[65];
    char secs[24];
    PGresult *res = NULL;

    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--role") == 0)
            role = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--doctor") == 0)
            doctor = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
            name = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--expires") == 0)
            expires = argv[++i];
        else
            return keys__usage();
    }
    if (role == NULL || name == NULL || auth_role_from_name(role) == 0)
        return keys__usage();
    if (expires != NULL && keys__seconds(expires, secs) != 0)
        return keys__usage();
    if (auth_key_generate(key, prefix, hash) != 0) {
        fprintf(stderr, "medqa: keys create: no randomness available\n");
        return 1;
    }
    const char *params[6] = {name,   role, doctor,
                             prefix, hash, expires != NULL ? secs : NULL};
    PQclear(PQexec(pg, "BEGIN"));
    if (keys__run(pg, "create",
                  "INSERT INTO api_keys (id, name, role, doctor_id, prefix, "
                  "hash, expires_at) VALUES (gen_random_uuid(), $1, $2, "
                  "$3::uuid, $4, decode($5, 'hex'), now() + "
                  "$6::bigint * interval '1 second') RETURNING id::text",
                  6, params, &res) != 0)
        return 1;
    const char *ap[1] = {PQgetvalue(res, 0, 0)};
    if (keys__run(pg, "create", "SELECT mq_audit_cli('key.create', $1, NULL)",
                  1, ap, NULL) != 0) {
        PQclear(res);
        return 1;
    }
    PQclear(PQexec(pg, "COMMIT"));
    fprintf(stderr, "created %s key %s (id %s); it is shown only once:\n", role,
            name, PQgetvalue(res, 0, 0));
    PQclear(res);
    printf("%s\n", key);
    return 0;
}

#define KEYS_TS(col)                                                           \
    "coalesce(to_char(" col " AT TIME ZONE 'UTC', "                            \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"

static int keys__list(PGconn *pg)
{
    PGresult *res = PQexec(
        pg, "SELECT id::text, role, name, coalesce(doctor_id::text, '-'), "
            "" KEYS_TS(
                "created_at") ", "
                              "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
                              "WHEN expires_at <= now() THEN 'expired' ELSE "
                              "'active' END, "
                              "" KEYS_TS("expires_at") ", " KEYS_TS(
                                  "last_used_at") ", "
                                                  "" KEYS_TS(
                                                      "revoked_at") " FROM "
                                                                    "api_keys "
                                                                    "ORDER BY "
                                                                    "created_"
                                                                    "at, id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return keys__fail(res, "list");
    printf("%-36s  %-7s  %-8s  %-36s  %-20s  %-20s  %-20s  %-20s  %s\n", "ID",
           "ROLE", "STATUS", "DOCTOR", "CREATED", "EXPIRES", "LAST_USED",
           "REVOKED", "NAME");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-36s  %-7s  %-8s  %-36s  %-20s  %-20s  %-20s  %-20s  %s\n",
               PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 5), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 6),
               PQgetvalue(res, i, 7), PQgetvalue(res, i, 8),
               PQgetvalue(res, i, 2));
    PQclear(res);
    return 0;
}

/* Issues a successor with the old key's role, doctor, name and expiry
 * policy, and lets the old key live for the grace period only. One
 * transaction, with its audit record. */
static int keys__rotate(PGconn *pg, int argc, char **argv)
{
    const char *grace = KEYS_DEFAULT_GRACE;
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_PREFIX_LEN + 1], hash[65];
    char secs[24];
    PGresult *res = NULL;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--grace") == 0)
            grace = argv[++i];
        else
            return keys__usage();
    }
    if (keys__seconds(grace, secs) != 0)
        return keys__usage();
    if (auth_key_generate(key, prefix, hash) != 0) {
        fprintf(stderr, "medqa: keys rotate: no randomness available\n");
        return 1;
    }
    const char *params[4] = {argv[0], prefix, hash, secs};
    PQclear(PQexec(pg, "BEGIN"));
    /* The successor keeps the old key's lifetime (created to expiry), so
     * a partner key made with --expires 90d stays a 90-day key. */
    if (keys__run(
            pg, "rotate",
            "WITH old AS (SELECT * FROM api_keys WHERE id = $1::uuid AND "
            "revoked_at IS NULL AND replaced_by IS NULL AND "
            "(expires_at IS NULL OR expires_at > now()) FOR UPDATE), "
            "new AS (INSERT INTO api_keys (id, name, role, doctor_id, "
            "prefix, hash, expires_at) SELECT gen_random_uuid(), o.name, "
            "o.role, o.doctor_id, $2, decode($3, 'hex'), now() + "
            "(o.expires_at - o.created_at) FROM old o RETURNING id), "
            "upd AS (UPDATE api_keys k SET replaced_by = n.id, expires_at = "
            "least(k.expires_at, now() + $4::bigint * interval '1 second') "
            "FROM new n WHERE k.id = $1::uuid RETURNING k.id) "
            "SELECT n.id::text, o.role, o.name FROM new n, old o",
            4, params, &res) != 0)
        return 1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        PQclear(PQexec(pg, "ROLLBACK"));
        fprintf(stderr, "medqa: keys rotate: no active key with that id (or "
                        "it was rotated already)\n");
        return 1;
    }
    const char *ap[1] = {argv[0]};
    if (keys__run(pg, "rotate", "SELECT mq_audit_cli('key.rotate', $1, NULL)",
                  1, ap, NULL) != 0) {
        PQclear(res);
        return 1;
    }
    PQclear(PQexec(pg, "COMMIT"));
    fprintf(stderr,
            "rotated %s: successor %s (%s key %s); the old key works for "
            "%s more. The new key is shown only once:\n",
            argv[0], PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
            PQgetvalue(res, 0, 2), grace);
    PQclear(res);
    printf("%s\n", key);
    return 0;
}

static int keys__revoke(PGconn *pg, const char *id)
{
    const char *params[1] = {id};
    PGresult *res = NULL;

    PQclear(PQexec(pg, "BEGIN"));
    if (keys__run(pg, "revoke",
                  "UPDATE api_keys SET revoked_at = coalesce(revoked_at, "
                  "now()) WHERE id = $1::uuid",
                  1, params, &res) != 0)
        return 1;
    int n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (n == 0) {
        PQclear(PQexec(pg, "ROLLBACK"));
        fprintf(stderr, "medqa: keys revoke: no key with that id\n");
        return 1;
    }
    if (keys__run(pg, "revoke", "SELECT mq_audit_cli('key.revoke', $1, NULL)",
                  1, params, NULL) != 0)
        return 1;
    PQclear(PQexec(pg, "COMMIT"));
    fprintf(stderr, "revoked %s\n", id);
    return 0;
}

int cli_keys(int argc, char **argv, const struct config *cfg)
{
    int rc;

    if (argc < 1)
        return keys__usage();
    PGconn *pg = cli_connect(cfg);
    if (pg == NULL)
        return 1;
    if (strcmp(argv[0], "create") == 0)
        rc = keys__create(pg, argc - 1, argv + 1);
    else if (strcmp(argv[0], "list") == 0 && argc == 1)
        rc = keys__list(pg);
    else if (strcmp(argv[0], "rotate") == 0 && argc >= 2)
        rc = keys__rotate(pg, argc - 1, argv + 1);
    else if (strcmp(argv[0], "revoke") == 0 && argc == 2)
        rc = keys__revoke(pg, argv[1]);
    else
        rc = keys__usage();
    PQfinish(pg);
    return rc;
}
