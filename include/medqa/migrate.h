/* migrate — applies the embedded migrations in order, once each, then the
 * repeatable SQL files whenever they change. */
#ifndef MEDQA_MIGRATE_H
#define MEDQA_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Brings the database up to date, holding an advisory lock so that
 * instances starting together take turns:
 *   1. versioned migrations (migrations/NNNN_*.sql: tables, indexes, data)
 *      not yet recorded in schema_migrations, in name order, each once;
 *      one that is recorded with another SHA-256 than its file's stops
 *      everything (an applied migration is never edited);
 *   2. repeatable files (sql/NAME.sql: functions, triggers), in name order,
 *      each whenever its SHA-256 differs from the one recorded.
 * Each file runs in its own transaction together with its record. *applied
 * counts the files that ran. Returns 0, or -1 with the file and the
 * reason in errbuf. */
int migrate_run(PGconn *pg, int *applied, char *errbuf, size_t errlen);

#endif
