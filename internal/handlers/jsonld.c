/* handlers/jsonld — GET /questions/{id} with Accept: application/ld+json:
 * the question page as schema.org JSON-LD, for a partner to put in its
 * page in a JSON-LD script element (search engines read it).
 *
 * The document is a ["QAPage", "MedicalWebPage"] whose mainEntity is the
 * Question. Every visible doctor's reply is a suggestedAnswer, and so is
 * the editorial "More Info", authored by the site's editors (so that
 * answerCount, all visible replies, counts the answers listed). There is
 * never an acceptedAnswer: Google requires one to really be accepted,
 * and nobody accepts replies on medqa. Hidden questions are 404 and
 * hidden replies absent, whatever the caller's role.
 *
 * PostgreSQL gives the values (one round trip); jansson writes the JSON,
 * so no string is escaped here by hand. */
#include "content.h"
#include "common.h"
#include "handlers_internal.h"

#include "medqa/base.h"
#include "medqa/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    JL_TITLE,
    JL_HEADLINE,
    JL_BODY,
    JL_ASKED,
    JL_UPDATED,
    JL_LANGUAGE,
    JL_ASKER,
    JL_DEPT,
    JL_REVIEWED,
    JL_REVIEWER,
    JL_REPLIES,
};

/* clang-format off */
const struct db_statement jsonld_statements[] = {
    {"jsonld_question",
     "SELECT q.title, coalesce(q.headline, q.title), q.body, "
     "mq_ts(q.asked_at), mq_ts(q.updated_at), q.language, q.asker_name, "
     "d.name, to_char(q.last_reviewed AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
     "rv.name, "
     "(SELECT coalesce(json_agg(json_build_object('id', r.id, "
     "'kind', r.kind, 'body', r.body, 'at', mq_ts(r.replied_at), "
     "'doctor', dr.name) ORDER BY r.replied_at, r.id), '[]'::json) "
     "FROM replies r LEFT JOIN doctors dr ON dr.id = r.doctor_id "
     "WHERE r.question_id = q.id AND r.deleted_at IS NULL)::text "
     "FROM questions q JOIN departments d ON d.slug = q.department_slug "
     "LEFT JOIN doctors rv ON rv.id = q.reviewed_by "
     "WHERE q.id = $1::uuid AND q.deleted_at IS NULL",
     1},
};
/* clang-format on */
const size_t jsonld_nstatements = ARRAY_SIZE(jsonld_statements);

bool jsonld_wanted(const struct request *r)
{
    const char *accept = request_header(r, "Accept");

    /* A client that names JSON-LD at all gets it: it is the only reason
     * to name it, and q-values between two JSON types buy nothing. */
    return accept != NULL && strstr(accept, "application/ld+json") != NULL;
}

static json_t *jsonld__person(const char *type, const char *name)
{
    return json_pack("{s:s, s:s}", "@type", type, "name", name);
}

/* One reply as an Answer: a doctor's by the doctor, the editorial "More
 * Info" by the site's editors. */
static json_t *jsonld__answer(const struct request *r, json_t *reply,
                              const char *page_url)
{
    const char *kind = json_string_value(json_object_get(reply, "kind"));
    const char *at = json_string_value(json_object_get(reply, "at"));
    bool doctor = kind != NULL && strcmp(kind, "doctor") == 0;
    json_t *a = json_pack(
        "{s:s, s:O, s:s, s:s, s:o}", "@type", "Answer", "text",
        json_object_get(reply, "body"), "dateCreated", at ? at : "",
        "datePublished", at ? at : "", "author",
        doctor ? jsonld__person("Person", json_string_value(
                                              json_object_get(reply, "doctor")))
               : jsonld__person("Organization", r->cfg->site_name));
    char url[CONTENT_URL_MAX + 64];

    if (a == NULL)
        return NULL;
    if (!doctor)
        json_object_set_new(a, "name", json_string("More Info"));
    if (page_url != NULL) {
        snprintf(url, sizeof(url), "%s#reply-%s", page_url,
                 json_string_value(json_object_get(reply, "id")));
        json_object_set_new(a, "url", json_string(url));
    }
    return a;
}

/* The document for row 0 of `res`; a new reference or NULL. */
static json_t *jsonld__document(const struct request *r, PGresult *res,
                                const char *id)
{
    char page[CONTENT_URL_MAX];
    bool has_page = content_canonical_url(r->cfg, id, page, sizeof(page));
    json_t *replies = json_loads(PQgetvalue(res, 0, JL_REPLIES), 0, NULL);
    json_t *answers = json_array();
    json_t *question = NULL, *doc = NULL;
    size_t i;
    json_t *reply;

    if (!json_is_array(replies) || answers == NULL)
        goto fail;
    json_array_foreach(replies, i, reply) {
        json_t *a = jsonld__answer(r, reply, has_page ? page : NULL);
        if (a == NULL || json_array_append_new(answers, a) != 0)
            goto fail;
    }
    question = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:s}", "@type",
                         "Question", "name", PQgetvalue(res, 0, JL_TITLE),
                         "text", PQgetvalue(res, 0, JL_BODY), "answerCount",
                         (json_int_t)json_array_size(replies), "dateCreated",
                         PQgetvalue(res, 0, JL_ASKED), "datePublished",
                         PQgetvalue(res, 0, JL_ASKED), "author",
                         jsonld__person("Person", PQgetvalue(res, 0, JL_ASKER)),
                         "inLanguage", PQgetvalue(res, 0, JL_LANGUAGE));
    if (question == NULL)
        goto fail;
    if (json_array_size(answers) > 0)
        json_object_set(question, "suggestedAnswer", answers);
    doc = json_pack(
        "{s:s, s:[s,s], s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s}, s:O}",
        "@context", "https://schema.org", "@type", "QAPage", "MedicalWebPage",
        "headline", PQgetvalue(res, 0, JL_HEADLINE), "inLanguage",
        PQgetvalue(res, 0, JL_LANGUAGE), "dateModified",
        PQgetvalue(res, 0, JL_UPDATED), "license", r->cfg->license_url,
        "publisher", jsonld__person("Organization", r->cfg->site_name), "about",
        "@type", "Thing", "name", PQgetvalue(res, 0, JL_DEPT), "mainEntity",
        question);
    if (doc == NULL)
        goto fail;
    if (has_page)
        json_object_set_new(doc, "url", json_string(page));
    if (!PQgetisnull(res, 0, JL_REVIEWED)) {
        json_object_set_new(doc, "lastReviewed",
                            json_string(PQgetvalue(res, 0, JL_REVIEWED)));
        json_object_set_new(
            doc, "reviewedBy",
            jsonld__person("Person", PQgetvalue(res, 0, JL_REVIEWER)));
    }
fail:
    json_decref(question);
    json_decref(answers);
    json_decref(replies);
    return doc;
}

int jsonld_reply_question(struct request *r)
{
    const char *id = request_param_str(r, "id");
    const char *params[1] = {id};
    PGresult *res = NULL;
    json_t *doc;
    char *text;

    if (hx_query_or_reply(r, &jsonld_statements[0], params, true, &res) ==
        REPLY_QUEUED)
        return REPLY_QUEUED;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hx_reply_missing(r, false, id, "No question with that id.");
    }
    doc = jsonld__document(r, res, id);
    PQclear(res);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        return hx_reply_internal(r, "cannot build the JSON-LD document");
    return request_reply_owned(r, 200, "application/ld+json", text,
                               strlen(text));
}
