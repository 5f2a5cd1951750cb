/* cli/seed — `medqa seed --demo` and `medqa seed --synthetic N`. */
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/db.h"
#include "medqa/seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int seed__usage(void)
{
    fprintf(stderr, "usage: medqa seed --demo\n");
    return 2;
}

int cli_seed(int argc, char **argv, const struct config *cfg)
{
    char err[1024];
    int rc = 1;

    if (argc != 1 || strcmp(argv[0], "--demo") != 0)
        return seed__usage();
    if (cfg->database_url == NULL) {
        fprintf(stderr, "medqa: DATABASE_URL: not set\n");
        return 1;
    }
    PGconn *pg = db_connect_direct(cfg->database_url, err, sizeof(err));
    if (pg == NULL) {
        fprintf(stderr, "medqa: cannot connect to the database: %s\n", err);
        return 1;
    }
    if (seed_demo(pg, err, sizeof(err)) == 0)
        rc = 0;
    else
        fprintf(stderr, "medqa: seed: %s\n", err);
    PQfinish(pg);
    return rc;
}
