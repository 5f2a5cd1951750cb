/* related — background upkeep of "Similar Q&A" (GET /related).
 *
 * /related weighs terms by IDF from the term_df table, which a bulk load
 * fills once and nothing refreshed afterwards: new questions' words all
 * counted as rare. A worker thread asks PostgreSQL every so often to
 * refresh the table when it is older than the interval
 * (mq_refresh_df_if_stale, migrations/0007); with several instances one
 * of them does it and the others skip. */
#ifndef MEDQA_RELATED_H
#define MEDQA_RELATED_H

/* Registers the worker's statement; call before any connection is made
 * (with the other db_register calls). Returns 0 or a negative number. */
int related_register_statements(void);

/* Starts the worker: a check at once, then one every interval_s seconds.
 * interval_s 0 starts nothing. Returns 0, or -1 if the thread could not
 * start. */
int related_worker_start(unsigned interval_s);

/* Stops the worker and waits for it (a refresh in progress finishes
 * first). Call before db_shutdown(). Safe when none was started. */
void related_worker_stop(void);

#endif
