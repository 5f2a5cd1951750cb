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

#endif
