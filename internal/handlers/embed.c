/* handlers/embed — GET /embed/questions/{id}, a small HTML card a partner
 * frames on its own pages, and GET /oembed, which hands out the <iframe>
 * for it (oEmbed 1.0, type "rich").
 *
 * The card is static HTML: no script, inline CSS only, every value
 * written by libxml2's xmlTextWriter (so escaped: a body holding HTML is
 * shown as text). Its CSP allows nothing but inline styles, and who may
 * frame it comes from EMBED_FRAME_ANCESTORS. */
#include "content.h"
#include "common.h"
#include "handlers_internal.h"
#include "xmlout.h"

#include "medqa/base.h"
#include "medqa/config.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The card's size as oEmbed announces it, before maxwidth/maxheight. */
#define EMBED_WIDTH 480
#define EMBED_HEIGHT 420

/* A text cut to n characters, marked with "…" when cut. */
#define EMBED_CUT(col, n)                                                      \
    "CASE WHEN length(" col ") > " n " THEN "                                  \
    "rtrim(left(" col ", " n " - 1)) || '…' ELSE " col " END"

/* The card's excerpts: what fits a 480 x 420 frame with the headline,
 * the doctor's name and the licence line (tests/integration/embed.test.mjs
 * checks that all of them are inside it). */
#define EMBED_QUESTION EMBED_CUT("q.body", "180")
#define EMBED_REPLY EMBED_CUT("rp.body", "260")

/* clang-format off */
#define EMBED_SELECT                                                           \
    "SELECT coalesce(q.headline, q.title), " EMBED_QUESTION ", d.name, "      \
    "dr.name, " EMBED_REPLY " "                                                \
    "FROM questions q JOIN departments d ON d.slug = q.department_slug "       \
    "LEFT JOIN LATERAL (SELECT r.body, r.doctor_id FROM replies r "            \
    "WHERE r.question_id = q.id AND r.kind = 'doctor' AND "                    \
    "r.deleted_at IS NULL ORDER BY r.replied_at DESC, r.id DESC LIMIT 1) rp "  \
    "ON true LEFT JOIN doctors dr ON dr.id = rp.doctor_id "                    \
    "WHERE q.id = $1::uuid AND q.deleted_at IS NULL"
/* clang-format on */

enum { EC_TITLE, EC_QUESTION, EC_DEPT, EC_DOCTOR, EC_REPLY };

/* One visible question: its headline or title, the start of its body,
 * its department, and the latest visible doctor's reply with the
 * doctor's name (NULLs when it has none). */
const struct db_statement embed_statements[] = {
    {"embed_card", EMBED_SELECT, 1},
};
const size_t embed_nstatements = ARRAY_SIZE(embed_statements);

static const char embed__css[] =
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:#1f2933;background:#fff}"
    ".card{box-sizing:border-box;height:100vh;overflow:hidden;"
    "padding:14px 16px;border:1px solid #d5dde5;border-radius:8px}"
    "h1{font-size:17px;margin:0 0 6px}"
    ".q{margin:0 0 10px;color:#3e4c59}"
    ".r{margin:0 0 10px;padding:8px 10px;background:#f0f7f4;"
    "border-left:3px solid #2f8f6b}"
    ".by{font-weight:600;margin:0 0 4px}"
    ".f{font-size:12px;color:#616e7c;margin:0}"
    "a{color:#1d6fa5}";

static void embed__open(struct xmlout *x, const char *name, const char *cls)
{
    xmlout_start(x, name);
    if (cls != NULL)
        xmlout_attr(x, "class", cls);
}

static void embed__elem(struct xmlout *x, const char *name, const char *cls,
                        const char *text)
{
    embed__open(x, name, cls);
    xmlout_text(x, text);
    xmlout_end_full(x);
}

static void embed__link(struct xmlout *x, const char *href, const char *text)
{
    embed__open(x, "a", NULL);
    xmlout_attr(x, "href", href);
    /* Out of the frame, into a new tab, without handing it our window. */
    xmlout_attr(x, "target", "_blank");
    xmlout_attr(x, "rel", "noopener noreferrer");
    xmlout_text(x, text);
    xmlout_end_full(x);
}

/* The card's HTML for row 0 of `res`; a new string (free()) or NULL. */
static char *embed__card(const struct request *r, PGresult *res, const char *id)
{
    struct xmlout x;
    char url[CONTENT_URL_MAX];
    char line[512];

    if (!xmlout_begin(&x))
        goto out;
    /* <!DOCTYPE html>: standards mode; no XML declaration. */
    xmlout_check(&x, xmlTextWriterStartDTD(x.w, BAD_CAST("html"), NULL, NULL));
    xmlout_check(&x, xmlTextWriterEndDTD(x.w));
    embed__open(&x, "html", NULL);
    xmlout_attr(&x, "lang", "en");
    embed__open(&x, "head", NULL);
    xmlout_start(&x, "meta");
    xmlout_attr(&x, "charset", "utf-8");
    xmlout_end(&x);
    embed__elem(&x, "title", NULL, PQgetvalue(res, 0, EC_TITLE));
    embed__elem(&x, "style", NULL, embed__css);
    xmlout_end_full(&x);
    embed__open(&x, "body", NULL);
    embed__open(&x, "article", "card");
    embed__elem(&x, "h1", NULL, PQgetvalue(res, 0, EC_TITLE));
    embed__elem(&x, "p", "q", PQgetvalue(res, 0, EC_QUESTION));
    if (!PQgetisnull(res, 0, EC_REPLY)) {
        embed__open(&x, "div", "r");
        snprintf(line, sizeof(line), "%s, %s", PQgetvalue(res, 0, EC_DOCTOR),
                 PQgetvalue(res, 0, EC_DEPT));
        embed__elem(&x, "p", "by", line);
        embed__elem(&x, "p", NULL, PQgetvalue(res, 0, EC_REPLY));
        xmlout_end_full(&x);
    }
    /* The attribution and licence line a republisher must show. */
    embed__open(&x, "p", "f");
    snprintf(line, sizeof(line), "From %s \xc2\xb7 ", r->cfg->site_name);
    xmlout_text(&x, line);
    embed__link(&x, r->cfg->license_url, r->cfg->license_name);
    if (content_canonical_url(r->cfg, id, url, sizeof(url))) {
        xmlout_text(&x, " \xc2\xb7 ");
        embed__link(&x, url, "Read the full answer");
    }
    xmlout_end_full(&x);
    embed__elem(&x, "p", "f", r->cfg->disclaimer_text);
    xmlout_end_full(&x); /* article */
    xmlout_end_full(&x); /* body */
    xmlout_end_full(&x); /* html */
    xmlout_check(&x, xmlTextWriterEndDocument(x.w));
out:
    return xmlout_finish(&x);
}

/* The visible question `id` for the card, or REPLY_QUEUED after a 404 or
 * a database problem. */
static int embed__load_or_reply(struct request *r, const char *id,
                                PGresult **res)
{
    const char *params[1] = {id};

    if (hx_query_or_reply(r, &embed_statements[0], params, true, res) ==
        REPLY_QUEUED)
        return REPLY_QUEUED;
    if (PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        return hx_reply_missing(r, false, id, "No question with that id.");
    }
    return REPLY_NONE;
}

int handle_get_embed_question(struct request *r)
{
    const char *id = request_param_str(r, "id");
    PGresult *res = NULL;
    char csp[512];
    char *html;

    if (embed__load_or_reply(r, id, &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    html = embed__card(r, res, id);
    PQclear(res);
    if (html == NULL)
        return hx_reply_internal(r, "cannot write the embed card");
    /* Nothing may load, run or submit; only the inline <style>. */
    snprintf(csp, sizeof(csp),
             "default-src 'none'; style-src 'unsafe-inline'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors %s",
             r->cfg->embed_frame_ancestors);
    if (request_add_header(r, "Content-Security-Policy", csp) != 0) {
        free(html);
        return -1;
    }
    return request_reply_owned(r, 200, "text/html; charset=utf-8", html,
                               strlen(html));
}

/* The <iframe> of the card, written by libxml2 (the title is the
 * question's); a new string (free()) or NULL. */
static char *embed__iframe(const struct request *r, const char *id,
                           const char *title, long long width, long long height)
{
    struct xmlout x;
    char src[CONTENT_URL_MAX];
    char num[32];

    if (!xmlout_begin(&x))
        goto out;
    snprintf(src, sizeof(src), "%s/embed/questions/%s", r->cfg->public_base_url,
             id);
    embed__open(&x, "iframe", NULL);
    xmlout_attr(&x, "src", src);
    snprintf(num, sizeof(num), "%lld", width);
    xmlout_attr(&x, "width", num);
    snprintf(num, sizeof(num), "%lld", height);
    xmlout_attr(&x, "height", num);
    xmlout_attr(&x, "title", title);
    /* No scripts, no forms, no same-origin: only links that open a new
     * tab outside the sandbox. */
    xmlout_attr(&x, "sandbox",
                "allow-popups "
                "allow-popups-to-escape-sandbox");
    xmlout_attr(&x, "loading", "lazy");
    xmlout_attr(&x, "style", "border:0");
    xmlout_end_full(&x);
out:
    return xmlout_finish(&x);
}

int handle_get_oembed(struct request *r)
{
    const char *url = request_param_str(r, "url");
    const char *format = request_param_str(r, "format");
    long long maxw = request_param_int(r, "maxwidth", EMBED_WIDTH);
    long long maxh = request_param_int(r, "maxheight", EMBED_HEIGHT);
    long long width = maxw < EMBED_WIDTH ? maxw : EMBED_WIDTH;
    long long height = maxh < EMBED_HEIGHT ? maxh : EMBED_HEIGHT;
    PGresult *res = NULL;
    json_t *doc = NULL;
    char *iframe = NULL;
    char id[37];
    char site[CONTENT_URL_MAX];
    int rc;

    /* oEmbed 1.0, 2.3.4.1: a format the provider does not offer is 501. */
    if (format != NULL && strcmp(format, "json") != 0)
        return request_problem(r, PROBLEM_NOT_IMPLEMENTED, 0,
                               "Only format=json is offered.", NULL);
    /* Only a canonical URL of ours names a question; any other URL,
     * another site's included, is one we have nothing for (404). */
    if (!content_question_of_url(r->cfg, url, id))
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No question of this site has that URL.", NULL);
    if (embed__load_or_reply(r, id, &res) == REPLY_QUEUED)
        return REPLY_QUEUED;
    /* The provider is the public site the canonical URLs are on: its
     * origin (the URL up to the first '/' after "://"). */
    snprintf(site, sizeof(site), "%s", url);
    char *path = strchr(strstr(site, "://") + 3, '/');
    if (path != NULL)
        *path = '\0';
    iframe = embed__iframe(r, id, PQgetvalue(res, 0, EC_TITLE), width, height);
    if (iframe == NULL) {
        rc = hx_reply_internal(r, "cannot write the oEmbed iframe");
        goto out;
    }
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i}", "type",
                    "rich", "version", "1.0", "title",
                    PQgetvalue(res, 0, EC_TITLE), "provider_name",
                    r->cfg->site_name, "provider_url", site, "html", iframe,
                    "width", (json_int_t)width, "height", (json_int_t)height,
                    "cache_age", 3600);
    if (doc == NULL) {
        rc = hx_reply_internal(r, "cannot build the oEmbed response");
        goto out;
    }
    if (!PQgetisnull(res, 0, EC_DOCTOR))
        json_object_set_new(doc, "author_name",
                            json_string(PQgetvalue(res, 0, EC_DOCTOR)));
    rc = request_reply_jansson(r, 200, doc);
out:
    json_decref(doc);
    free(iframe);
    PQclear(res);
    return rc;
}
