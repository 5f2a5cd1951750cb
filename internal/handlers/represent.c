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
