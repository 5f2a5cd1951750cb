/* cli/connect — the database connection every one-shot subcommand opens
 * the same way, with the same messages. */
#include "cli_internal.h"
#include "medqa/config.h"
#include "medqa/db.h"

#include <stdio.h>

PGconn *cli_connect(const struct config *cfg)
{
    char err[512];

    if (cfg->database_url == NULL) {
        fprintf(stderr, "medqa: DATABASE_URL: not set\n");
        return NULL;
    }
    PGconn *pg = db_connect_direct(cfg->database_url, err, sizeof(err));
    if (pg == NULL)
        fprintf(stderr, "medqa: cannot connect to the database: %s\n", err);
    return pg;
}
