/* handlers/represent — see represent.h. */
#include "represent.h"

#include "content.h"

#include "medqa/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"k1": v1[, "k2": v2]}, with v2 left out when NULL. A new reference, or
 * NULL. */
static json_t *rep__pair(const char *k1, const char *v1, const char *k2,
                         const char *v2)
{
    json_t *o = json_object();

    if (o == NULL || json_object_set_new(o, k1, json_string(v1)) != 0 ||
        (v2 != NULL && json_object_set_new(o, k2, json_string(v2)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int rep_add_fields(const struct config *cfg, enum rep_kind kind, json_t *o)
{
    const char *qid = json_string_value(
        json_object_get(o, kind == REP_REPLY ? "question_id" : "id"));
    const char *id = json_string_value(json_object_get(o, "id"));
    char page[CONTENT_URL_MAX];
    bool has_page;

    if (qid == NULL || id == NULL)
        return -1;
    has_page = content_canonical_url(cfg, qid, page, sizeof(page));
    if (has_page && kind == REP_REPLY) {
        /* The reply on its question's page, as the JSON-LD names it. */
        size_t n = strlen(page);
        int w = snprintf(page + n, sizeof(page) - n, "#reply-%s", id);
        has_page = w > 0 && (size_t)w < sizeof(page) - n;
    }
    if (has_page &&
        json_object_set_new(o, "canonical_url", json_string(page)) != 0)
        return -1;
    if (json_object_set_new(o, "license",
                            rep__pair("name", cfg->license_name, "url",
                                      cfg->license_url)) != 0 ||
        json_object_set_new(o, "attribution",
                            rep__pair("text", cfg->site_name, "url",
                                      has_page ? page : NULL)) != 0 ||
        json_object_set_new(o, "disclaimer",
                            rep__pair("text", cfg->disclaimer_text, "url",
                                      cfg->disclaimer_url)) != 0)
        return -1;
    return 0;
}

char *rep_dump(const json_t *v, size_t *len)
{
    char *text = json_dumps(v, JSON_COMPACT);

    *len = text != NULL ? strlen(text) : 0;
    return text;
}

char *rep_finish_text(const struct config *cfg, enum rep_kind kind,
                      const char *text, size_t len, size_t *out_len)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    char *out = NULL;

    *out_len = 0;
    if (json_is_object(o) && rep_add_fields(cfg, kind, o) == 0)
        out = rep_dump(o, out_len);
    json_decref(o);
    return out;
}

/* Column c of the row as a JSON string, or null when SQL NULL. */
static json_t *rep__text(const PGresult *res, int row, int c)
{
    if (PQgetisnull(res, row, c))
        return json_null();
    return json_stringn(PQgetvalue(res, row, c),
                        (size_t)PQgetlength(res, row, c));
}

/* {"slug","name"} from columns c and c+1, or null when there is no such
 * row (c is NULL), as mq__department_of gives it. */
static json_t *rep__slug_name(const PGresult *res, int row, int c)
{
    if (PQgetisnull(res, row, c))
        return json_null();
    return json_pack("{s:o, s:o}", "slug", rep__text(res, row, c), "name",
                     rep__text(res, row, c + 1));
}

/* {"id","name","department"} of a doctor from columns c..c+3, or null
 * (mq__reply_doctor). */
static json_t *rep__doctor(const PGresult *res, int row, int c)
{
    if (PQgetisnull(res, row, c))
        return json_null();
    return json_pack("{s:o, s:o, s:o}", "id", rep__text(res, row, c), "name",
                     rep__text(res, row, c + 1), "department",
                     rep__slug_name(res, row, c + 2));
}

json_t *rep_question_row(const PGresult *res, int row, int col,
                         const char *base)
{
    const int c = col;
    const char *id = PQgetvalue(res, row, c);
    char url[CONTENT_URL_MAX];
    json_t *review;

    snprintf(url, sizeof(url), "%s/questions/%s", base, id);
    if (PQgetisnull(res, row, c + 14))
        review = json_null();
    else
        review = json_pack("{s:o, s:o}", "reviewed_by",
                           rep__doctor(res, row, c + 14), "last_reviewed",
                           rep__text(res, row, c + 18));
    /* The key order of mq__question_doc. */
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}, s:o, s:[], s:o, s:I, s:o, "
        "s:o, s:s, s:o, s:o}",
        "id", rep__text(res, row, c), "title", rep__text(res, row, c + 1),
        "body", rep__text(res, row, c + 2), "language",
        rep__text(res, row, c + 3), "asker", "name", rep__text(res, row, c + 4),
        "age_band", rep__text(res, row, c + 5), "gender",
        rep__text(res, row, c + 6), "department",
        rep__slug_name(res, row, c + 7), "topics", "state",
        rep__text(res, row, c + 9), "reply_count",
        (json_int_t)strtoll(PQgetvalue(res, row, c + 10), NULL, 10), "asked_at",
        rep__text(res, row, c + 11), "updated_at", rep__text(res, row, c + 12),
        "url", url, "headline", rep__text(res, row, c + 13), "medical_review",
        review);
}

int rep_add_topic(json_t *question, const char *slug, const char *name)
{
    return json_array_append_new(
        json_object_get(question, "topics"),
        json_pack("{s:s, s:s}", "slug", slug, "name", name));
}

json_t *rep_reply_row(const PGresult *res, int row, int col)
{
    const int c = col;

    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", rep__text(res, row, c),
        "question_id", rep__text(res, row, c + 1), "kind",
        rep__text(res, row, c + 2), "body", rep__text(res, row, c + 3),
        "doctor", rep__doctor(res, row, c + 4), "replied_at",
        rep__text(res, row, c + 8), "updated_at", rep__text(res, row, c + 9));
}
