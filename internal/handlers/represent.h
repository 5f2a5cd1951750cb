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
#include <stdbool.h>
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
 * object, its key order and its escaping are written here straight into
 * the response text (struct rep_buf), equal to what mq_question_json /
 * mq_reply_json give (sql/representations.sql) completed by
 * rep_add_fields() and serialised by rep_dump(), which the writes still
 * use. Measured (bench/RESULTS.md): building a page of 20 questions as
 * jansson trees and dumping them cost ~400 us of medqa's CPU per request,
 * most of it malloc and jansson's UTF-8 walks; written directly, a small
 * fraction of that. */

/* A growing response text. After a failed allocation every append is a
 * no-op and rep_buf_take() gives NULL, so writers check once, at the
 * end. */
struct rep_buf {
    char *s;
    size_t len;
    size_t cap;
    bool failed;
};

/* An empty text with room for `hint` bytes (allocated on first use). */
void rep_buf_init(struct rep_buf *b, size_t hint);

/* Appends n bytes as they are. */
void rep_buf_raw(struct rep_buf *b, const char *s, size_t n);

/* Appends a string literal as it is. */
#define rep_buf_lit(b, lit) rep_buf_raw((b), (lit), sizeof(lit) - 1)

/* Appends s (n bytes of UTF-8) as a JSON string, escaped exactly as
 * jansson's json_dumps() escapes it (flags 0 or JSON_COMPACT): '"', '\\'
 * and control characters only, the latter as \b \f \n \r \t or
 * \u00XX in capitals. */
void rep_buf_str(struct rep_buf *b, const char *s, size_t n);

/* Hands the text over: a malloc'd, NUL-terminated text the caller frees
 * with free(), its length in *len; NULL (and the text freed) when an
 * append failed. The buffer is empty afterwards. */
char *rep_buf_take(struct rep_buf *b, size_t *len);

/* Frees what the buffer holds (after rep_buf_take(): nothing). */
void rep_buf_free(struct rep_buf *b);

/* A timestamp column: the value as PostgreSQL writes a `timestamp`
 * (without time zone) in DateStyle ISO, UTC, which costs it far less than
 * to_char; rep_ts() turns it into RFC 3339. medqa's connections ask for
 * DateStyle ISO (cmd/medqa/main.c), and rep_ts() refuses anything else
 * rather than guess. */
#define REP_TS(col) "(" col " AT TIME ZONE 'UTC')"

/* The longest text rep_ts() writes, with its NUL. */
#define REP_TS_MAX 40

/* Writes `pg` (a REP_TS column's text) into out as RFC 3339 UTC:
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (what mq_ts gives) or, with `micro`, six
 * fractional digits (what QB_TS gives, the form cursors carry). Digits
 * past the precision are cut, as to_char cuts them. Returns the length,
 * or -1 when `pg` is not in that form (infinity, BC, another DateStyle). */
int rep_ts(const char *pg, bool micro, char out[REP_TS_MAX]);

/* A question's columns, REP_Q_NCOLS of them, from `questions q` joined
 * with REP_Q_JOINS. */
#define REP_Q_COLS                                                             \
    "q.id, q.title, q.body, q.language, q.asker_name, q.asker_age_band, "      \
    "q.asker_gender, d.slug, d.name, q.state, q.reply_count, " REP_TS(         \
        "q.asked_at") ", " REP_TS("q.updated_at") ", q.headline, rd.id, "      \
                                                  "rd.name, rdd.slug, "        \
                                                  "rdd.name, " REP_TS(         \
                                                      "q.last_reviewed")
#define REP_Q_NCOLS 19
#define REP_Q_JOINS                                                            \
    " LEFT JOIN departments d ON d.slug = q.department_slug"                   \
    " LEFT JOIN doctors rd ON rd.id = q.reviewed_by"                           \
    " LEFT JOIN departments rdd ON rdd.slug = rd.department_slug"

/* A reply's columns, REP_R_NCOLS of them, from `replies r` joined with
 * REP_R_JOINS. */
#define REP_R_COLS                                                             \
    "r.id, r.question_id, r.kind, r.body, dr.id, dr.name, drd.slug, "          \
    "drd.name, " REP_TS("r.replied_at") ", " REP_TS("r.updated_at")
#define REP_R_NCOLS 10
#define REP_R_JOINS                                                            \
    " LEFT JOIN doctors dr ON dr.id = r.doctor_id"                             \
    " LEFT JOIN departments drd ON drd.slug = dr.department_slug"

/* Writes the question in row `row` of res (its REP_Q_COLS from column
 * `col`) from its opening '{' up to and including the '[' of "topics":
 * the caller adds the topics with rep_topic(), then calls
 * rep_question_tail(). Returns 0, or -1 when a column is malformed. */
int rep_question_head(struct rep_buf *b, const PGresult *res, int row, int col);

/* Appends {"slug","name"} to the topics; `first` for the first one. */
void rep_topic(struct rep_buf *b, bool first, const char *slug,
               const char *name);

/* Writes the rest of the question after its topics, with `url` from
 * `base` (PUBLIC_BASE_URL, at read time) and completed as
 * rep_add_fields() completes it, and leaves the object open: the caller
 * may add members (",\"replies\":…") and writes the closing '}'.
 * Returns 0, or -1 when a column is malformed or a setting missing. */
int rep_question_tail(struct rep_buf *b, const struct config *cfg,
                      const PGresult *res, int row, int col, const char *base);

/* Writes the whole question in row `row` of res (REP_Q_COLS from `col`)
 * with its topics from `topics` (NULL: none): the rows of (question id,
 * slug, name) whose id is this question's, which come together, the
 * result being ordered by question id. Returns 0 or -1 as above. */
int rep_question(struct rep_buf *b, const struct config *cfg,
                 const PGresult *res, int row, int col, const char *base,
                 const PGresult *topics);

/* Writes the reply in row `row` of res (its REP_R_COLS from column `col`),
 * completed, as a whole object. Returns 0 or -1 as above. */
int rep_reply(struct rep_buf *b, const struct config *cfg, const PGresult *res,
              int row, int col);

#endif
