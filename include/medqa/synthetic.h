/* synthetic — large, deterministic, plausible data sets for load tests and
 * demos of scale (`medqa seed --synthetic N [--seed S]`). */
#ifndef MEDQA_SYNTHETIC_H
#define MEDQA_SYNTHETIC_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

/* Generates n deterministic, plausible questions (seeded by `seed`) into the
 * database `pg` (an open connection the caller owns). `terms_pg`, a second
 * connection to the same database (also the caller's), computes the
 * questions' reply terms while `pg` loads them. Returns 0, or -1 with a
 * reason in errbuf. Progress lines go to stderr.
 *
 * Everything happens in one transaction that adds to whatever the tables
 * already hold: ~20 doctors per department, the vocabulary's topics (kept
 * when a topic with the same slug exists), then the questions, their topics
 * and replies through COPY, with triggers off, followed by mq_recount() and
 * ANALYZE. The same (n, seed) always yields the same rows and ids; when the
 * seed's first question already exists, nothing is done and 0 is returned.
 * No change events and no contact e-mails are written for these rows.
 * Turning triggers off needs a role allowed to set
 * session_replication_role (a superuser, or one granted SET on it). */
int synthetic_generate(PGconn *pg, PGconn *terms_pg, long n, unsigned long seed,
                       char *errbuf, size_t errlen);

/* Writes to `out` the label of each of the n questions that
 * synthetic_generate(n, seed) loads, one line per question in load index
 * order: "<id>\t<condition key>\t<medical name>", the key being
 * "<department slug>/<lay name>" (English) or "zh/<lay name>" (zh-TW), as
 * in internal/seed/vocabulary.json. No database: the labels come from the
 * same plan as the rows, so tests/eval can tell which condition a
 * synthetic question is about without storing it in the product's tables.
 * Returns 0, or -1 with a reason in errbuf. */
int synthetic_labels(FILE *out, long n, unsigned long seed, char *errbuf,
                     size_t errlen);

#endif
