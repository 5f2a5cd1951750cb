/* handlers/represent — the Question and Reply objects as clients get them:
 * what PostgreSQL gives for a row, plus what a republisher must show with
 * it (issue 14): canonical_url (from PUBLIC_WEB_URL; absent when unset,
 * never invented), license, attribution and disclaimer (from
 * configuration), serialised compactly by jansson.
 *
 * Every path that answers with a question or a reply (GET, lists,
 * include=replies, POST, PATCH, the If-Match check) goes through here, so
 * one state of a row is one byte sequence and one ETag on every instance
 * with the same configuration; the settings are part of the bytes, so the
 * ETag covers them. */
#ifndef MEDQA_HANDLERS_REPRESENT_H
#define MEDQA_HANDLERS_REPRESENT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

struct config;

/* Which object a representation is. REP_NONE: sent as it is. */
enum rep_kind { REP_NONE = 0, REP_QUESTION, REP_REPLY };

/* Appends canonical_url (when PUBLIC_WEB_URL is set), license,
 * attribution and disclaimer to the object `o` of `kind`, whose "id"
 * (and for a reply "question_id") it reads. Returns 0, or -1 when `o`
 * lacks them or memory runs out. */
int rep_add_fields(const struct config *cfg, enum rep_kind kind, json_t *o);

/* Serialises `v` compactly (key order kept). Returns a malloc'd text the
 * caller frees with free(), its length in *len; NULL when out of memory. */
char *rep_dump(const json_t *v, size_t *len);

/* The representation of `kind` from PostgreSQL's JSON text of the object
 * (the write functions return it): parsed, completed by rep_add_fields()
 * and serialised by rep_dump(). NULL when the text is not such an
 * object. */
char *rep_finish_text(const struct config *cfg, enum rep_kind kind,
                      const char *text, size_t len, size_t *out_len);

/* ---- Built in C from typed columns (issue 17: reads that cost
 * PostgreSQL almost nothing). PostgreSQL returns plain columns; the
 * object, its key order and its escaping are made here, equal to what
 * mq_question_json / mq_reply_json give (sql/representations.sql), which
 * the writes still return and rep_finish_text() completes. */

/* A question's columns, REP_Q_NCOLS of them, from `questions q` joined
 * with REP_Q_JOINS. Timestamps through mq_ts (RFC 3339, milliseconds). */
#define REP_Q_COLS                                                             \
    "q.id, q.title, q.body, q.language, q.asker_name, q.asker_age_band, "      \
    "q.asker_gender, d.slug, d.name, q.state, q.reply_count, "                 \
    "mq_ts(q.asked_at), mq_ts(q.updated_at), q.headline, rd.id, rd.name, "     \
    "rdd.slug, rdd.name, mq_ts(q.last_reviewed)"
#define REP_Q_NCOLS 19
#define REP_Q_JOINS                                                            \
    " LEFT JOIN departments d ON d.slug = q.department_slug"                   \
    " LEFT JOIN doctors rd ON rd.id = q.reviewed_by"                           \
    " LEFT JOIN departments rdd ON rdd.slug = rd.department_slug"

/* A reply's columns, REP_R_NCOLS of them, from `replies r` joined with
 * REP_R_JOINS. */
#define REP_R_COLS                                                             \
    "r.id, r.question_id, r.kind, r.body, dr.id, dr.name, drd.slug, "          \
    "drd.name, mq_ts(r.replied_at), mq_ts(r.updated_at)"
#define REP_R_NCOLS 10
#define REP_R_JOINS                                                            \
    " LEFT JOIN doctors dr ON dr.id = r.doctor_id"                             \
    " LEFT JOIN departments drd ON drd.slug = dr.department_slug"

/* The question in row `row` of res, its REP_Q_COLS from column `col`,
 * with `url` from `base` (PUBLIC_BASE_URL, at read time) and an empty
 * "topics" for rep_add_topic(); not yet completed (rep_add_fields). A new
 * reference, or NULL when out of memory. */
json_t *rep_question_row(const PGresult *res, int row, int col,
                         const char *base);

/* Appends {"slug","name"} to the question's topics. Returns 0 or -1. */
int rep_add_topic(json_t *question, const char *slug, const char *name);

/* The reply in row `row` of res, its REP_R_COLS from column `col`; not
 * yet completed. A new reference, or NULL. */
json_t *rep_reply_row(const PGresult *res, int row, int col);

#endif
