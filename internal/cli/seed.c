/* cli/seed — `medqa seed --demo` and `medqa seed --synthetic N [--seed S]
 * [--labels FILE]`. */
#include "cli_internal.h"
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/db.h"
#include "medqa/seed.h"
#include "medqa/synthetic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int seed__usage(void)
{
    fprintf(stderr,
            "usage: medqa seed --demo\n"
            "       medqa seed --synthetic N [--seed S]\n"
            "       medqa seed --synthetic N [--seed S] --labels FILE\n");
    return 2;
}

/* A whole number in [lo, hi]; -1 when it is not. */
static long seed__number(const char *s, long lo, long hi)
{
    char *end = NULL;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    return v;
}

/* After a bulk load the /related term statistics are recomputed once. */
static int seed__refresh(PGconn *pg, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, "SELECT mq_refresh_df()");
    int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;

    if (rc != 0)
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

int cli_seed(int argc, char **argv, const struct config *cfg)
{
    char err[1024];
    long n = -1;
    unsigned long seed = 1;
    int demo = 0;
    const char *labels = NULL;
    int rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--demo") == 0) {
            demo = 1;
        } else if (strcmp(argv[i], "--synthetic") == 0 && i + 1 < argc) {
            n = seed__number(argv[++i], 1, 100000000);
            if (n < 0)
                return seed__usage();
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            long s = seed__number(argv[++i], 0, 2147483647);
            if (s < 0)
                return seed__usage();
            seed = (unsigned long)s;
        } else if (strcmp(argv[i], "--labels") == 0 && i + 1 < argc) {
            labels = argv[++i];
        } else {
            return seed__usage();
        }
    }
    if (demo == (n > 0) || (labels != NULL && demo))
        return seed__usage();
    if (labels != NULL) {
        /* Only the labels (tests/eval): no database is touched. */
        FILE *f = strcmp(labels, "-") == 0 ? stdout : fopen(labels, "w");
        if (f == NULL) {
            fprintf(stderr, "medqa: seed: %s: %s\n", labels, strerror(errno));
            return 1;
        }
        rc = synthetic_labels(f, n, seed, err, sizeof(err));
        if (f != stdout && fclose(f) != 0 && rc == 0) {
            snprintf(err, sizeof(err), "%s: %s", labels, strerror(errno));
            rc = -1;
        }
        if (rc != 0)
            fprintf(stderr, "medqa: seed: %s\n", err);
        return rc == 0 ? 0 : 1;
    }
    PGconn *pg = cli_connect(cfg);
    if (pg == NULL)
        return 1;
    if (demo) {
        rc = seed_demo(pg, err, sizeof(err));
    } else {
        PGconn *terms = db_connect_direct(cfg->database_url, err, sizeof(err));
        rc = terms == NULL
                 ? -1
                 : synthetic_generate(pg, terms, n, seed, err, sizeof(err));
        PQfinish(terms);
    }
    if (rc == 0 && !demo)
        rc = seed__refresh(pg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "medqa: seed: %s\n", err);
    PQfinish(pg);
    return rc == 0 ? 0 : 1;
}
