/* seed/demo — loads the demo data (internal/seed/demo.json, embedded) in
 * one transaction. Every row has a fixed id and is inserted with ON
 * CONFLICT DO NOTHING, so running it again changes nothing; rows that are
 * new get their created event in /changes like any other write. */
#include "medqa/seed.h"

#include "medqa/assets.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one parameterised statement; returns rows affected or -1. */
static int demo__exec(PGconn *pg, const char *sql, int n,
                      const char *const *params, char *errbuf, size_t errlen)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    int rows = -1;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        rows = st == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
    else
        snprintf(errbuf, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return rows;
}

static const char *demo__s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int demo__question(PGconn *pg, const json_t *q, int *added, char *errbuf,
                          size_t errlen)
{
    const json_t *asker = json_object_get(q, "asker");
    const char *lang = demo__s(q, "language");
    const char *p[10] = {demo__s(q, "id"),
                         demo__s(q, "title"),
                         demo__s(q, "body"),
                         lang ? lang : "en",
                         demo__s(asker, "name"),
                         demo__s(asker, "age_band"),
                         demo__s(asker, "gender"),
                         demo__s(q, "department"),
                         demo__s(q, "asked_at"),
                         demo__s(q, "headline")}; /* content: may be NULL */
    size_t i;
    const json_t *v;

    int n = demo__exec(
        pg,
        "INSERT INTO questions (id, title, body, language, asker_name, "
        "asker_age_band, asker_gender, department_slug, asked_at, "
        "updated_at, headline) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
        "$8, $9::timestamptz, $9::timestamptz, $10) ON CONFLICT (id) DO "
        "NOTHING RETURNING id",
        10, p, errbuf, errlen);
    if (n < 0)
        return -1;
    if (n == 0)
        return 0; /* loaded before: leave it as it is now */
    (*added)++;
    json_array_foreach(json_object_get(q, "topics"), i, v) {
        const char *tp[2] = {p[0], json_string_value(v)};
        if (demo__exec(pg,
                       "INSERT INTO question_topics (question_id, topic_id) "
                       "SELECT $1::uuid, id FROM topics WHERE slug = $2 "
                       "ON CONFLICT DO NOTHING",
                       2, tp, errbuf, errlen) < 0)
            return -1;
    }
    const char *ep[2] = {"question.created", p[0]};
    if (demo__exec(pg,
                   "INSERT INTO changes (type, entity_id, at) "
                   "SELECT $1, id::text, asked_at FROM questions WHERE "
                   "id = $2::uuid",
                   2, ep, errbuf, errlen) < 0)
        return -1;
    json_array_foreach(json_object_get(q, "replies"), i, v) {
        const char *rp[6] = {demo__s(v, "id"),   p[0],
                             demo__s(v, "kind"), demo__s(v, "doctor"),
                             demo__s(v, "body"), demo__s(v, "replied_at")};
        if (demo__exec(pg,
                       "INSERT INTO replies (id, question_id, kind, "
                       "doctor_id, body, replied_at, updated_at) VALUES "
                       "($1::uuid, $2::uuid, $3, $4::uuid, $5, "
                       "$6::timestamptz, $6::timestamptz) "
                       "ON CONFLICT (id) DO NOTHING",
                       6, rp, errbuf, errlen) < 0)
            return -1;
        const char *cp[3] = {"reply.created", rp[0], rp[5]};
        if (demo__exec(pg,
                       "INSERT INTO changes (type, entity_id, at) VALUES "
                       "($1, $2, $3::timestamptz)",
                       3, cp, errbuf, errlen) < 0)
            return -1;
    }
    return 0;
}

int seed_demo(PGconn *pg, char *errbuf, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)assets_demo_json.data,
                             assets_demo_json.len, 0, &jerr);
    int added = 0;
    int rc = -1;
    size_t i;
    const json_t *v;

    if (doc == NULL) {
        snprintf(errbuf, errlen, "demo.json: %s (line %d)", jerr.text,
                 jerr.line);
        return -1;
    }
    if (demo__exec(pg, "BEGIN", 0, NULL, errbuf, errlen) < 0)
        goto out;
    json_array_foreach(json_object_get(doc, "doctors"), i, v) {
        const char *p[3] = {demo__s(v, "id"), demo__s(v, "name"),
                            demo__s(v, "department")};
        if (demo__exec(pg,
                       "INSERT INTO doctors (id, name, department_slug) "
                       "VALUES ($1::uuid, $2, $3) ON CONFLICT DO NOTHING",
                       3, p, errbuf, errlen) < 0)
            goto rollback;
    }
    json_array_foreach(json_object_get(doc, "topics"), i, v) {
        const char *p[4] = {demo__s(v, "slug"), demo__s(v, "name"),
                            demo__s(v, "department"),
                            demo__s(v, "description")};
        int n = demo__exec(pg,
                           "INSERT INTO topics (slug, name, department_slug, "
                           "description) VALUES ($1, $2, $3, $4) "
                           "ON CONFLICT DO NOTHING RETURNING slug",
                           4, p, errbuf, errlen);
        if (n < 0)
            goto rollback;
        if (n == 1) {
            const char *cp[2] = {"topic.created", p[0]};
            if (demo__exec(pg,
                           "INSERT INTO changes (type, entity_id) VALUES "
                           "($1, $2)",
                           2, cp, errbuf, errlen) < 0)
                goto rollback;
        }
    }
    json_array_foreach(json_object_get(doc, "questions"), i, v) {
        if (demo__question(pg, v, &added, errbuf, errlen) != 0)
            goto rollback;
    }
    /* Term statistics for /related's IDF weights, now that the set is in. */
    if (demo__exec(pg, "SELECT mq_refresh_df()", 0, NULL, errbuf, errlen) < 0)
        goto rollback;
    if (demo__exec(pg, "COMMIT", 0, NULL, errbuf, errlen) < 0)
        goto out;
    fprintf(stderr,
            "medqa: seed --demo: %d new questions (%zu in the demo "
            "set)\n",
            added, json_array_size(json_object_get(doc, "questions")));
    rc = 0;
    goto out;
rollback:
    PQclear(PQexec(pg, "ROLLBACK"));
out:
    json_decref(doc);
    return rc;
}
