/* cli/keys — create, list and revoke API keys from the command line.
 * A new key is printed once, as the last line, and never stored. */
#include "medqa/auth.h"
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int keys__usage(void)
{
    fprintf(stderr, "usage: medqa keys create --role partner|app|doctor|editor "
                    "[--doctor UUID] --name NAME\n"
                    "       medqa keys list\n"
                    "       medqa keys revoke ID\n");
    return 2;
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

static int keys__create(PGconn *pg, int argc, char **argv)
{
    const char *role = NULL, *doctor = NULL, *name = NULL;
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_PREFIX_LEN + 1], hash[65];

    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--role") == 0)
            role = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--doctor") == 0)
            doctor = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
            name = argv[++i];
        else
            return keys__usage();
    }
    if (role == NULL || name == NULL || auth_role_from_name(role) == 0)
        return keys__usage();
    if (auth_key_generate(key, prefix, hash) != 0) {
        fprintf(stderr, "medqa: keys create: no randomness available\n");
        return 1;
    }
    const char *params[5] = {name, role, doctor, prefix, hash};
    PGresult *res = PQexecParams(
        pg,
        "INSERT INTO api_keys (id, name, role, doctor_id, prefix, hash) "
        "VALUES (gen_random_uuid(), $1, $2, $3::uuid, $4, "
        "decode($5, 'hex')) RETURNING id::text",
        5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return keys__fail(res, "create");
    fprintf(stderr, "created %s key %s (id %s); it is shown only once:\n", role,
            name, PQgetvalue(res, 0, 0));
    PQclear(res);
    printf("%s\n", key);
    return 0;
}

static int keys__list(PGconn *pg)
{
    PGresult *res = PQexec(
        pg, "SELECT id::text, role, name, coalesce(doctor_id::text, '-'), "
            "to_char(created_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            "CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END "
            "FROM api_keys ORDER BY created_at, id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return keys__fail(res, "list");
    printf("%-36s  %-7s  %-8s  %-36s  %-20s  %s\n", "ID", "ROLE", "STATUS",
           "DOCTOR", "CREATED", "NAME");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-36s  %-7s  %-8s  %-36s  %-20s  %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               PQgetvalue(res, i, 2));
    PQclear(res);
    return 0;
}

static int keys__revoke(PGconn *pg, const char *id)
{
    const char *params[1] = {id};
    PGresult *res = PQexecParams(
        pg,
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
        "WHERE id = $1::uuid",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return keys__fail(res, "revoke");
    int n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (n == 0) {
        fprintf(stderr, "medqa: keys revoke: no key with that id\n");
        return 1;
    }
    fprintf(stderr, "revoked %s\n", id);
    return 0;
}

int cli_keys(int argc, char **argv, const struct config *cfg)
{
    char err[512];
    int rc;

    if (argc < 1)
        return keys__usage();
    if (cfg->database_url == NULL) {
        fprintf(stderr, "medqa: DATABASE_URL: not set\n");
        return 1;
    }
    PGconn *pg = db_connect_direct(cfg->database_url, err, sizeof(err));
    if (pg == NULL) {
        fprintf(stderr, "medqa: cannot connect to the database: %s\n", err);
        return 1;
    }
    if (strcmp(argv[0], "create") == 0)
        rc = keys__create(pg, argc - 1, argv + 1);
    else if (strcmp(argv[0], "list") == 0 && argc == 1)
        rc = keys__list(pg);
    else if (strcmp(argv[0], "revoke") == 0 && argc == 2)
        rc = keys__revoke(pg, argv[1]);
    else
        rc = keys__usage();
    PQfinish(pg);
    return rc;
}
