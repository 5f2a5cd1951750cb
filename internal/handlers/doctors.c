/* handlers/doctors — /doctors and /doctors/{id}. Listed by name; the
 * cursor holds the last id, whose name the query looks up. */
#include "common.h"
#include "handlers_internal.h"
#include "page.h"

#include "medqa/base.h"

const struct db_statement doctors_statements[] = {
    {"doctor_get",
     "SELECT mq_doctor_json(d)::text FROM doctors d WHERE d.id = $1::uuid", 1},
};
const size_t doctors_nstatements = ARRAY_SIZE(doctors_statements);

static const struct page_list doctors__list = {
    .sort = "name",
    .keyset = {.ncolumns = 2,
               .columns = {{"d.name", NULL}, {"d.id", "uuid"}},
               .lookup = "(SELECT name FROM doctors WHERE id = $%d::uuid)"},
};

int handle_list_doctors(struct request *r)
{
    const char *v;
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &doctors__list, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "dl");
    qb_add(&b, "SELECT mq_doctor_json(d)::text, d.id::text FROM doctors d "
               "WHERE true");
    if ((v = request_param_str(r, "department")) != NULL) {
        qb_filter(&b, " AND d.department_slug = $%d", v);
        qb_shape(&b, 'd');
    }
    page_keyset(&pg, &b);
    return page_reply(r, &pg, &b);
}

int handle_get_doctor(struct request *r)
{
    const char *params[1] = {request_param_str(r, "id")};

    return hx_reply_get_one(r, &doctors_statements[0], params,
                            "No doctor with that id.");
}
