/* handlers/related — GET /related: "Similar Q&A" and "Related FAQ".
 * The ranking lives in PostgreSQL (mq_related, last replaced in
 * migrations/0007), next to the data it reads; see the formula and the
 * bounded candidate set documented there. It is computed per request, so
 * hidden questions and replies drop out at once; medqa's background worker
 * (internal/related) keeps its IDF statistics fresh. */
#include "common.h"
#include "handlers_internal.h"

#include "medqa/config.h"
#include "medqa/handlers.h"
#include "medqa/problem.h"

#include <ctype.h>
#include <stdio.h>

const struct db_statement related_statements[] = {
    {"related_get", "SELECT mq_related($1::uuid, $2, $3, $4::int, $5)::text",
     5},
};
const size_t related_nstatements =
    sizeof(related_statements) / sizeof(related_statements[0]);

static json_t *related__error(const char *param, const char *detail)
{
    return json_pack("[{s:s, s:s, s:s}]", "parameter", param, "in", "query",
                     "detail", detail);
}

int handle_get_related(struct request *r)
{
    const char *qid = request_param_str(r, "question_id");
    const char *text = request_param_str(r, "text");
    const char *dept = request_param_str(r, "department");
    char limit[16];

    if ((qid == NULL) == (text == NULL))
        return request_problem_validation(
            r, related__error(qid ? "text" : "question_id",
                              "give exactly one of question_id and text"));
    if (qid != NULL && dept != NULL)
        return request_problem_validation(
            r, related__error("department",
                              "only applies to text; a question has its "
                              "own department"));
    snprintf(limit, sizeof(limit), "%lld", request_param_int(r, "limit", 4));
    struct db_conn *c = hx_conn(r);
    if (c == NULL)
        return 0;
    PGresult *res = NULL;
    const char *params[5] = {qid, text, dept, limit, r->cfg->public_base_url};
    int rc = db_query(c, &related_statements[0], params, true, &res);
    if (rc != DB_OK)
        return hx_sql_error(r, c, rc);
    return request_reply_pg(r, 200, res);
}
