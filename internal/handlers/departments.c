/* handlers/departments — GET /departments: the taxonomy every question is
 * filed under. Small and fixed, so it is one page without a cursor. */
#include "handlers_internal.h"

#include "medqa/base.h"
#include "medqa/db.h"
#include "medqa/request.h"

static const char departments__list_sql[] =
    "SELECT json_build_object("
    "  'data', coalesce(json_agg(json_build_object("
    "      'slug', d.slug, 'name', d.name, 'question_count', d.question_count)"
    "      ORDER BY d.name), '[]'::json),"
    "  'next_cursor', NULL)::text "
    "FROM departments d";

const struct db_statement departments_statements[] = {
    {"departments_list", departments__list_sql, 0},
};
const size_t departments_nstatements = ARRAY_SIZE(departments_statements);

int handle_list_departments(struct request *r)
{
    struct db_conn *c;
    PGresult *res = NULL;
    int rc = db_acquire(&c);

    if (rc == DB_OK)
        rc = db_query(c, &departments_statements[0], NULL, true, &res);
    if (rc != DB_OK)
        return request_problem_db(r, rc);
    return request_reply_pg(r, 200, res);
}
