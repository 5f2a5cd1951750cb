/* webhooks internals shared by the module's files (not by other
 * modules). */
#ifndef MEDQA_WEBHOOKS_INTERNAL_H
#define MEDQA_WEBHOOKS_INTERNAL_H

#include "medqa/db.h"
#include "medqa/webhooks.h"

/* The worker's statements (store.c, webhooks_worker_statements), by
 * index. */
enum {
    WH_ST_FANOUT_LOCK,
    WH_ST_FANOUT,
    WH_ST_CLAIM,
    WH_ST_SUCCEEDED,
    WH_ST_FAILED,
    WH_ST_GONE,
    WH_ST_RELEASE,
    WH_ST_GAUGES,
    WH_ST_PRUNE,
    WH_ST__COUNT
};

#endif
