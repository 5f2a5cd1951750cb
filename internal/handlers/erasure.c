/* handlers/erasure — POST /questions/{id}/erasure and
 * POST /replies/{id}/erasure (editors), and the 410 that GET answers for
 * an erased item.
 *
 * The erasure itself is one PL/pgSQL call (mq_erase_question,
 * mq_erase_reply in sql/privacy.sql) whose audit record is written by the
 * same statement, only when it erased something: a retry answers 204
 * again and records nothing. */
#include "common.h"
#include "handlers_internal.h"

#include "medqa/base.h"

#include <jansson.h>
#include <string.h>

const struct db_statement erasure_statements[] = {
    {"erase_question",
     "SELECT mq_audit($3, $4, 'question.erase', $1::text, '{}', $2) "
     "FROM mq_erase_question($1::uuid, $2) AS e WHERE e",
     4},
    {"erase_reply",
     "SELECT mq_audit($3, $4, 'reply.erase', $1::text, '{}', $2) "
     "FROM mq_erase_reply($1::uuid, $2) AS e WHERE e",
     4},
    {"erased_question",
     "SELECT 1 FROM questions WHERE id = $1::uuid AND erased_at IS NOT NULL",
     1},
    {"erased_reply",
     "SELECT 1 FROM replies WHERE id = $1::uuid AND erased_at IS NOT NULL", 1},
};
const size_t erasure_nstatements = ARRAY_SIZE(erasure_statements);

static int erasure__run(struct request *r, const struct db_statement *st)
{
    const char *reason = json_string_value(json_object_get(r->body, "reason"));
    const char *params[4] = {request_param_str(r, "id"), reason, r->request_id,
                             r->key_id};

    return hx_reply_write_none(r, st, params);
}

int handle_erase_question(struct request *r)
{
    return erasure__run(r, &erasure_statements[0]);
}

int handle_erase_reply(struct request *r)
{
    return erasure__run(r, &erasure_statements[1]);
}

int hx_reply_missing(struct request *r, bool reply, const char *id,
                     const char *missing)
{
    const char *params[1] = {id};
    PGresult *res = NULL;

    if (hx_query_or_reply(r, &erasure_statements[reply ? 3 : 2], params, true,
                          &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    int erased = PQntuples(res) > 0;
    PQclear(res);
    if (erased)
        return request_problem(r, PROBLEM_GONE, 0,
                               reply ? "This reply was erased."
                                     : "This question was erased.",
                               NULL);
    return request_problem(r, PROBLEM_NOT_FOUND, 0, missing, NULL);
}
