/* seed — demo data for `make run`. */
#ifndef MEDQA_SEED_H
#define MEDQA_SEED_H

#include <libpq-fe.h>
#include <stddef.h>

/* Loads the embedded demo set; idempotent. Returns 0, or -1 with the
 * reason in errbuf. */
int seed_demo(PGconn *pg, char *errbuf, size_t errlen);

#endif
