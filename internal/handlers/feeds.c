/* handlers/feeds — GET /feeds/questions.atom: the newest answered
 * questions as an Atom feed (RFC 4287) that a CMS ingests without code.
 *
 * - Entries are answered, visible questions, most recently updated first,
 *   optionally of one department or topic; pages follow RFC 5005 (a
 *   rel="next" link carrying the same sealed keyset cursors as the JSON
 *   lists, handlers/page.h).
 * - Questions hidden within the last FEEDS_TOMBSTONE_DAYS days appear on
 *   the first page as RFC 6721 at:deleted-entry tombstones, so a
 *   subscriber takes down what it republished.
 * - All XML, and the HTML inside content, is written by libxml2's
 *   xmlTextWriter, which escapes every value: nothing here escapes a
 *   string by hand.
 * - The response is like any other GET: an ETag from its bytes and a 304
 *   for a matching If-None-Match (http/respond.c). */
#include "content.h"
#include "common.h"
#include "handlers_internal.h"
#include "page.h"
#include "xmlout.h"

#include "medqa/base.h"
#include "medqa/config.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEEDS_ATOM_NS "http://www.w3.org/2005/Atom"
#define FEEDS_TOMBSTONE_NS "http://purl.org/atompub/tombstones/1.0"
/* How long a hidden question stays in the feed as a tombstone: long
 * enough for a daily poller that missed a week, short enough that the
 * first page stays small. The spec states the same number. */
#define FEEDS_TOMBSTONE_DAYS "30"
#define FEEDS_MAX_TOMBSTONES "100"
/* The part of a question's body an entry's summary shows. */
#define FEEDS_SUMMARY_CHARS "280"

/* Columns of an entry row; the last two are the keyset's keys. */
enum {
    FE_ID,
    FE_TITLE,
    FE_BODY,
    FE_SUMMARY,
    FE_UPDATED,
    FE_PUBLISHED,
    FE_DEPT_SLUG,
    FE_DEPT_NAME,
    FE_DOCTOR,
    FE_REPLY,
    FE_KEY_TS,
    FE_KEY_ID,
};

/* The doctor's reply an entry shows is the latest visible one: the feed
 * lists answered questions, which have at least one. */
#define FEEDS_SELECT                                                           \
    "SELECT q.id::text, coalesce(q.headline, q.title), q.body, "               \
    "CASE WHEN length(q.body) > " FEEDS_SUMMARY_CHARS " THEN "                 \
    "rtrim(left(q.body, " FEEDS_SUMMARY_CHARS " - 1)) || '…' "               \
    "ELSE q.body END, "                                                        \
    "mq_ts(q.updated_at), mq_ts(q.asked_at), q.department_slug, d.name, "      \
    "dr.name, rp.body, " QB_TS(                                                \
        "q.updated_at") ", q.id::text "                                        \
                        "FROM questions q JOIN departments d ON d.slug = "     \
                        "q.department_slug "                                   \
                        "CROSS JOIN LATERAL (SELECT r.body, r.doctor_id FROM " \
                        "replies r "                                           \
                        "WHERE r.question_id = q.id AND r.kind = 'doctor' "    \
                        "AND "                                                 \
                        "r.deleted_at IS NULL ORDER BY r.replied_at DESC, "    \
                        "r.id DESC LIMIT 1) rp "                               \
                        "JOIN doctors dr ON dr.id = rp.doctor_id "             \
                        "WHERE q.deleted_at IS NULL AND q.state = 'answered'"

#define FEEDS_TOMBSTONES                                                       \
    "SELECT q.id::text, mq_ts(q.deleted_at) FROM questions q "                 \
    "WHERE q.deleted_at > now() - interval '" FEEDS_TOMBSTONE_DAYS " days'"

/* libxml2 sets up its global state once, before the server's threads
 * write with it (libxml2's rule for threaded programs). */
__attribute__((constructor)) static void feeds__init(void)
{
    xmlInitParser();
}

static const struct page_list feeds__list = {
    .sort = "feed-updated",
    .keyset = {.shape = 'u', .desc = true, QB_BY_TIME("q.updated_at", "q.id")},
};

/* The filters both queries share. */
static void feeds__filters(const struct request *r, struct querybuf *b)
{
    const char *v;

    if ((v = request_param_str(r, "department")) != NULL) {
        qb_filter(b, " AND q.department_slug = $%d", v);
        qb_shape(b, 'd');
    }
    if ((v = request_param_str(r, "topic")) != NULL) {
        qb_filter(b,
                  " AND EXISTS (SELECT 1 FROM question_topics qt JOIN "
                  "topics t ON t.id = qt.topic_id WHERE qt.question_id = "
                  "q.id AND t.slug = $%d AND t.deleted_at IS NULL)",
                  v);
        qb_shape(b, 't');
    }
}

/* Runs a composed query; REPLY_QUEUED after answering its failure. */
static int feeds__run_or_reply(struct request *r, const struct querybuf *b,
                               PGresult **res)
{
    struct db_conn *c = NULL;
    int rc;

    *res = NULL;
    if (b->overflow) {
        hx_reply_internal(r, "feed query does not fit its buffer");
        return REPLY_QUEUED;
    }
    if (hx_conn_or_reply(r, &c) == REPLY_QUEUED)
        return REPLY_QUEUED;
    rc = db_query_named(c, b->name, b->sql, b->nparams, b->params, true, res);
    if (rc != DB_OK) {
        hx_reply_sql_error(r, c, rc);
        return REPLY_QUEUED;
    }
    return REPLY_NONE;
}

/* True when `s` is made of characters a query string carries as they
 * are: slugs (the spec's pattern) and cursors (base64url and '.'). */
static bool feeds__plain(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* This feed's address with the filters in `params` (a request's
 * validated parameters), and `cursor` when not NULL. The values are
 * validated slugs and cursors this API sealed (feeds__plain), so nothing
 * needs percent-encoding; a value that is not plain is left out rather
 * than written raw. */
static void feeds__url(const struct config *cfg, const json_t *params,
                       const char *cursor, char *buf, size_t len)
{
    const char *names[] = {"department", "topic"};
    const json_t *limit = json_object_get(params, "limit");
    char sep = '?';
    size_t n = (size_t)snprintf(buf, len, "%s/feeds/questions.atom",
                                cfg->public_base_url);

    for (size_t i = 0; i < ARRAY_SIZE(names) && n < len; i++) {
        const char *v = json_string_value(json_object_get(params, names[i]));
        if (v != NULL && feeds__plain(v)) {
            n +=
                (size_t)snprintf(buf + n, len - n, "%c%s=%s", sep, names[i], v);
            sep = '&';
        }
    }
    if (json_is_integer(limit) && n < len) {
        n += (size_t)snprintf(buf + n, len - n, "%climit=%lld", sep,
                              (long long)json_integer_value(limit));
        sep = '&';
    }
    if (cursor != NULL && feeds__plain(cursor) && n < len)
        snprintf(buf + n, len - n, "%ccursor=%s", sep, cursor);
}

static void feeds__link(struct xmlout *x, const char *rel, const char *href,
                        const char *type)
{
    xmlout_start(x, "link");
    xmlout_attr(x, "rel", rel);
    xmlout_attr(x, "href", href);
    if (type != NULL)
        xmlout_attr(x, "type", type);
    xmlout_end(x);
}

/* The HTML of an entry's content: the question, the doctor's reply and
 * the attribution, written by a second xmlTextWriter (a fragment, no XML
 * declaration) so every value is escaped once as HTML; the feed's writer
 * then escapes the whole as the text of atom:content (type="html").
 * Returns a new string the caller frees with free(), or NULL. */
static char *feeds__entry_html(const struct request *r, PGresult *res, int i)
{
    struct xmlout x;
    char line[512];

    if (!xmlout_begin(&x))
        goto out;
    xmlout_element(&x, "p", PQgetvalue(res, i, FE_BODY));
    snprintf(line, sizeof(line),
             "%s, %s, replied:", PQgetvalue(res, i, FE_DOCTOR),
             PQgetvalue(res, i, FE_DEPT_NAME));
    xmlout_element(&x, "h3", line);
    xmlout_element(&x, "p", PQgetvalue(res, i, FE_REPLY));
    xmlout_start(&x, "p");
    xmlout_start(&x, "small");
    snprintf(line, sizeof(line), "From %s, under ", r->cfg->site_name);
    xmlout_text(&x, line);
    xmlout_start(&x, "a");
    xmlout_attr(&x, "href", r->cfg->license_url);
    xmlout_text(&x, r->cfg->license_name);
    xmlout_end(&x);
    xmlout_text(&x, ". ");
    xmlout_text(&x, r->cfg->disclaimer_text);
    xmlout_end(&x);
    xmlout_end(&x);
out:
    return xmlout_finish(&x);
}

static void feeds__entry(struct xmlout *x, const struct request *r,
                         PGresult *res, int i)
{
    const char *id = PQgetvalue(res, i, FE_ID);
    char url[CONTENT_URL_MAX];
    char rights[CONTENT_URL_MAX];
    char urn[64];
    char *html;

    xmlout_start(x, "entry");
    snprintf(urn, sizeof(urn), "urn:uuid:%s", id);
    xmlout_element(x, "id", urn);
    xmlout_start(x, "title");
    xmlout_attr(x, "type", "text");
    xmlout_text(x, PQgetvalue(res, i, FE_TITLE));
    xmlout_end(x);
    xmlout_element(x, "updated", PQgetvalue(res, i, FE_UPDATED));
    xmlout_element(x, "published", PQgetvalue(res, i, FE_PUBLISHED));
    xmlout_start(x, "author");
    xmlout_element(x, "name", PQgetvalue(res, i, FE_DOCTOR));
    xmlout_end(x);
    /* The public page when there is one; the API's address is never
     * passed off as it, so without PUBLIC_WEB_URL the entry links the
     * JSON representation under its own type. */
    if (content_canonical_url(r->cfg, id, url, sizeof(url))) {
        feeds__link(x, "alternate", url, "text/html");
    } else {
        snprintf(url, sizeof(url), "%s/questions/%s", r->cfg->public_base_url,
                 id);
        feeds__link(x, "alternate", url, "application/json");
    }
    feeds__link(x, "license", r->cfg->license_url, NULL);
    xmlout_start(x, "category");
    xmlout_attr(x, "term", PQgetvalue(res, i, FE_DEPT_SLUG));
    xmlout_attr(x, "label", PQgetvalue(res, i, FE_DEPT_NAME));
    xmlout_end(x);
    xmlout_element(x, "summary", PQgetvalue(res, i, FE_SUMMARY));
    html = feeds__entry_html(r, res, i);
    if (html == NULL) {
        x->failed = true;
    } else {
        xmlout_start(x, "content");
        xmlout_attr(x, "type", "html");
        xmlout_text(x, html);
        xmlout_end(x);
        free(html);
    }
    snprintf(rights, sizeof(rights), "%s, %s (%s)", r->cfg->site_name,
             r->cfg->license_name, r->cfg->license_url);
    xmlout_element(x, "rights", rights);
    xmlout_end(x);
}

/* RFC 6721: <at:deleted-entry ref="urn:uuid:…" when="…"/>. */
static void feeds__tombstone(struct xmlout *x, PGresult *res, int i)
{
    char urn[64];

    snprintf(urn, sizeof(urn), "urn:uuid:%s", PQgetvalue(res, i, 0));
    xmlout_check(x, xmlTextWriterStartElementNS(
                        x->w, BAD_CAST("at"), BAD_CAST("deleted-entry"), NULL));
    xmlout_attr(x, "ref", urn);
    xmlout_attr(x, "when", PQgetvalue(res, i, 1));
    xmlout_end(x);
}

/* The feed's updated: the latest of its entries' and tombstones', or the
 * epoch for an empty feed (a constant, so an empty feed keeps its ETag). */
static const char *feeds__updated(PGresult *entries, int shown, PGresult *tombs)
{
    const char *latest = "1970-01-01T00:00:00.000Z";

    /* Entries come newest first; mq_ts text sorts as time does. */
    if (shown > 0 && strcmp(PQgetvalue(entries, 0, FE_UPDATED), latest) > 0)
        latest = PQgetvalue(entries, 0, FE_UPDATED);
    for (int i = 0; tombs != NULL && i < PQntuples(tombs); i++)
        if (strcmp(PQgetvalue(tombs, i, 1), latest) > 0)
            latest = PQgetvalue(tombs, i, 1);
    return latest;
}

/* Writes the whole document; returns a new string (free()) or NULL. */
static char *feeds__document(const struct request *r, const struct page *pg,
                             PGresult *entries, PGresult *tombs,
                             const char *next_cursor)
{
    struct xmlout x;
    int rows = PQntuples(entries);
    int shown = rows > pg->limit ? pg->limit : rows;
    const char *v;
    char url[CONTENT_URL_MAX + CURSOR_MAX_TEXT];
    char title[256];

    if (!xmlout_begin(&x))
        goto out;
    xmlout_check(&x, xmlTextWriterStartDocument(x.w, "1.0", "UTF-8", NULL));
    xmlout_check(&x, xmlTextWriterStartElementNS(x.w, NULL, BAD_CAST("feed"),
                                                 BAD_CAST(FEEDS_ATOM_NS)));
    xmlout_attr(&x, "xmlns:at", FEEDS_TOMBSTONE_NS);
    /* The feed's id is its address without paging: every page of one
     * feed names the same feed. */
    feeds__url(r->cfg, r->params, NULL, url, sizeof(url));
    xmlout_element(&x, "id", url);
    if ((v = request_param_str(r, "department")) != NULL)
        snprintf(title, sizeof(title), "%s: answered questions in %s",
                 r->cfg->site_name, v);
    else if ((v = request_param_str(r, "topic")) != NULL)
        snprintf(title, sizeof(title), "%s: answered questions on %s",
                 r->cfg->site_name, v);
    else
        snprintf(title, sizeof(title), "%s: answered questions",
                 r->cfg->site_name);
    xmlout_element(&x, "title", title);
    xmlout_element(&x, "updated", feeds__updated(entries, shown, tombs));
    xmlout_start(&x, "author");
    xmlout_element(&x, "name", r->cfg->site_name);
    xmlout_end(&x);
    feeds__link(&x, "first", url, "application/atom+xml");
    feeds__url(r->cfg, r->params, request_param_str(r, "cursor"), url,
               sizeof(url));
    feeds__link(&x, "self", url, "application/atom+xml");
    if (next_cursor != NULL) {
        feeds__url(r->cfg, r->params, next_cursor, url, sizeof(url));
        feeds__link(&x, "next", url, "application/atom+xml");
    }
    feeds__link(&x, "license", r->cfg->license_url, NULL);
    snprintf(url, sizeof(url), "%s (%s)", r->cfg->license_name,
             r->cfg->license_url);
    xmlout_element(&x, "rights", url);
    /* Extension elements come before the entries (RFC 4287's schema). */
    for (int i = 0; tombs != NULL && i < PQntuples(tombs); i++)
        feeds__tombstone(&x, tombs, i);
    for (int i = 0; i < shown; i++)
        feeds__entry(&x, r, entries, i);
    xmlout_check(&x, xmlTextWriterEndDocument(x.w));
out:
    return xmlout_finish(&x);
}

int feeds_add_discovery_link(struct request *r)
{
    char url[CONTENT_URL_MAX];
    char link[CONTENT_URL_MAX + 64];
    json_t *filters = json_object();
    int rc = -1;

    /* The feed of the same department or topic; the list's other
     * parameters (sort, q, limit, cursor) mean nothing to a feed. */
    if (filters == NULL)
        return -1;
    json_object_set(filters, "department",
                    json_object_get(r->params, "department"));
    json_object_set(filters, "topic", json_object_get(r->params, "topic"));
    feeds__url(r->cfg, filters, NULL, url, sizeof(url));
    snprintf(link, sizeof(link),
             "<%s>; rel=\"alternate\"; type=\"application/atom+xml\"", url);
    rc = request_add_header(r, "Link", link);
    json_decref(filters);
    return rc;
}

int handle_get_questions_feed(struct request *r)
{
    struct page pg;
    struct querybuf b, t;
    PGresult *entries = NULL, *tombs = NULL;
    char cursor[CURSOR_MAX_TEXT];
    const char *next = NULL;
    char *doc = NULL;
    int rc = REPLY_QUEUED;

    if (page_open_or_reply(r, &feeds__list, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "fq");
    qb_add(&b, FEEDS_SELECT);
    feeds__filters(r, &b);
    page_keyset(&pg, &b);
    if (feeds__run_or_reply(r, &b, &entries) == REPLY_QUEUED)
        goto out;
    /* Tombstones on the first page only: a subscriber reads from the top
     * until it meets what it has, so that is where it looks. */
    if (pg.after.nkeys == 0) {
        qb_init(&t, "ft");
        qb_add(&t, FEEDS_TOMBSTONES);
        feeds__filters(r, &t);
        qb_add(&t, " ORDER BY q.deleted_at DESC, q.id DESC "
                   "LIMIT " FEEDS_MAX_TOMBSTONES);
        if (feeds__run_or_reply(r, &t, &tombs) == REPLY_QUEUED)
            goto out;
    }
    if (PQntuples(entries) > pg.limit) {
        const char *keys[2] = {PQgetvalue(entries, pg.limit - 1, FE_KEY_TS),
                               PQgetvalue(entries, pg.limit - 1, FE_KEY_ID)};
        if (page_cursor(r, &pg, keys, cursor) != 0) {
            rc = hx_reply_internal(r, "cannot encode a feed cursor");
            goto out;
        }
        next = cursor;
    }
    doc = feeds__document(r, &pg, entries, tombs, next);
    if (doc == NULL) {
        rc = hx_reply_internal(r, "cannot write the Atom feed");
        goto out;
    }
    rc = request_reply_owned(r, 200, "application/atom+xml; charset=utf-8", doc,
                             strlen(doc));
out:
    PQclear(entries);
    PQclear(tombs);
    return rc;
}
