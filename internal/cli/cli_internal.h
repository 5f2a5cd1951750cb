/* cli_internal — what the subcommands share. */
#ifndef MEDQA_CLI_INTERNAL_H
#define MEDQA_CLI_INTERNAL_H

#include <libpq-fe.h>

struct config;

/* A direct connection to DATABASE_URL for a one-shot command; NULL after
 * telling stderr why (unset, or the connection failed). The caller owns
 * the connection and PQfinish()es it. */
PGconn *cli_connect(const struct config *cfg);

#endif
