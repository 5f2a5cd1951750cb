/* migrate — applies the embedded migrations in order, once each. */
#ifndef MEDQA_MIGRATE_H
#define MEDQA_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Applies every migration not yet recorded in schema_migrations, each in
 * its own transaction, holding an advisory lock so that instances starting
 * together take turns. *applied counts what ran. Returns 0, or -1 with
 * the failing migration and the server's reason in errbuf. */
int migrate_run(PGconn *pg, int *applied, char *errbuf, size_t errlen);

#endif
