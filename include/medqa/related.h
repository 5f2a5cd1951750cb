/* related — background upkeep of "Similar Q&A" (GET /related).
 *
 * /related weighs terms by IDF from the term_df table, which a bulk load
 * fills once and nothing refreshed afterwards: new questions' words all
 * counted as rare. A worker thread asks PostgreSQL every so often to
 * refresh the table when it is older than the interval
 * (mq_refresh_df_if_stale(), in sql/); with several instances one of them
 * does it and the others skip. */
#ifndef MEDQA_RELATED_H
#define MEDQA_RELATED_H

#include "medqa/db.h"

#include <stddef.h>

/* The worker's statements, registered with every module's by
 * handlers_register_statements() (medqa/handlers.h). */
extern const struct db_statement related_worker_statements[];
extern const size_t related_worker_nstatements;

/* Starts the worker: a check at once, then one every interval_s seconds.
 * interval_s 0 starts nothing. Returns 0, or -1 if the thread could not
 * start. */
int related_worker_start(unsigned interval_s);

/* Stops the worker and waits for it (a refresh in progress finishes
 * first). Call before db_shutdown(). Safe when none was started. */
void related_worker_stop(void);

/* The stored Similar Q&A (issue 17; sql/related_store.sql): a second
 * thread keeps each question's page result in related_store, claiming
 * queued questions through the database (FOR UPDATE SKIP LOCKED and a
 * lease), so that N instances never recompute the same one at once.
 * max_staleness_s is RELATED_MAX_STALENESS, which the triggers that
 * queue neighbours read from the database. With nothing queued it walks
 * the table, `backfill` ids a pass, for questions without a stored result
 * (0: never). Returns 0, or -1 if the thread could not start. */
int related_store_worker_start(unsigned max_staleness_s, unsigned backfill);

/* Stops it and waits (the question in progress finishes first); before
 * db_shutdown(). Safe when none was started. */
void related_store_worker_stop(void);

#endif
