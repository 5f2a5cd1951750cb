/* handlers/doctors — /doctors and /doctors/{id}. Listed by name; the
 * cursor holds the last id, whose name the query looks up. */
#include "common.h"
#include "handlers_internal.h"
#include "querybuf.h"

#include "medqa/handlers.h"
#include "medqa/problem.h"

#include <stdio.h>

const struct db_statement doctors_statements[] = {
    {"doctor_get",
     "SELECT mq_doctor_json(d)::text FROM doctors d WHERE d.id = $1::uuid", 1},
};
const size_t doctors_nstatements =
    sizeof(doctors_statements) / sizeof(doctors_statements[0]);

int handle_list_doctors(struct request *r)
{
    const char *v;
    int limit = hx_limit(r);
    char limit_text[16];
    struct cursor cur;
    struct querybuf b;

    if (hx_cursor(r, "name", 1, &cur) != 0)
        return 0;
    snprintf(limit_text, sizeof(limit_text), "%d", limit + 1);
    qb_init(&b, "dl");
    qb_param(&b, limit_text);
    qb_add(&b, "SELECT mq_doctor_json(d)::text, d.id::text FROM doctors d "
               "WHERE true");
    if ((v = request_param_str(r, "department")) != NULL) {
        qb_filter(&b, " AND d.department_slug = $%d", v);
        qb_shape(&b, 'd');
    }
    if (cur.nkeys == 1) {
        char frag[200];
        int s = qb_param(&b, cur.keys[0]);
        snprintf(frag, sizeof(frag),
                 " AND (d.name, d.id) > ((SELECT name FROM doctors WHERE "
                 "id = $%d::uuid), $%d::uuid)",
                 s, s);
        qb_add(&b, frag);
        qb_shape(&b, 'c');
    }
    qb_add(&b, " ORDER BY d.name, d.id LIMIT $1");
    return hx_list(r, &b, limit, "name", 1);
}

int handle_get_doctor(struct request *r)
{
    const char *params[1] = {request_param_str(r, "id")};

    return hx_get_one(r, &doctors_statements[0], params,
                      "No doctor with that id.");
}
