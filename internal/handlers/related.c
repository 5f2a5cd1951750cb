/* handlers/related — GET /related: "Similar Q&A" and "Related FAQ".
 * The ranking lives in PostgreSQL (mq_related(), in sql/), next to the
 * data it reads; see the formula and the bounded candidate set documented
 * there. A question's result is served from related_store, kept by
 * medqa's background worker (internal/related), when it is current and
 * shows nothing hidden, else computed per request like a draft's; the
 * worker also keeps the IDF statistics fresh. */
#include "common.h"
#include "handlers_internal.h"

#include "medqa/base.h"
#include "medqa/config.h"

#include <stdio.h>

const struct db_statement related_get_statements[] = {
    {"related_get", "SELECT mq_related($1::uuid, $2, $3, $4::int, $5)::text",
     5},
    /* A question's: its stored result when current (issue 17,
     * sql/related_store.sql), else the same mq_related() call. */
    {"related_get_stored",
     "SELECT mq_related_stored($1::uuid, $2::int, $3)::text", 3},
};
const size_t related_get_nstatements = ARRAY_SIZE(related_get_statements);

int handle_get_related(struct request *r)
{
    const char *qid = request_param_str(r, "question_id");
    const char *text = request_param_str(r, "text");
    const char *dept = request_param_str(r, "department");
    char limit[16];

    if ((qid == NULL) == (text == NULL))
        return hx_reply_bad_query(r, qid ? "text" : "question_id",
                                  "give exactly one of question_id and text");
    if (qid != NULL && dept != NULL)
        return hx_reply_bad_query(r, "department",
                                  "only applies to text; a question has its "
                                  "own department");
    snprintf(limit, sizeof(limit), "%lld", request_param_int(r, "limit", 4));
    PGresult *res = NULL;
    const char *params[5] = {qid, text, dept, limit, r->cfg->public_base_url};
    const char *stored[3] = {qid, limit, r->cfg->public_base_url};
    if (hx_query_or_reply(r, &related_get_statements[qid != NULL ? 1 : 0],
                          qid != NULL ? stored : params, true,
                          &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    return request_reply_pg(r, 200, res);
}
