/* handlers — what the handler files share with table.c: the handlers,
 * one per operation (table.c binds them to the spec), and each file's SQL
 * statements (table.c registers them). Private to internal/handlers;
 * cmd/ and http/ see only medqa/handlers.h. */
#ifndef MEDQA_HANDLERS_INTERNAL_H
#define MEDQA_HANDLERS_INTERNAL_H

#include "medqa/db.h"

#include <stdbool.h>
#include <stddef.h>

struct request;

/* Each handler serves one operation: its input is validated, it queues
 * the response through request.h, and it returns 0 or REPLY_QUEUED once
 * one is queued, negative when none could be (the server answers 500). */
int handle_get_healthz(struct request *r);
int handle_get_readyz(struct request *r);
int handle_get_openapi_json(struct request *r);
int handle_get_openapi_yaml(struct request *r);
int handle_list_departments(struct request *r);
int handle_list_questions(struct request *r);
int handle_get_question(struct request *r);
int handle_create_question(struct request *r);
int handle_patch_question(struct request *r);
int handle_delete_question(struct request *r);
int handle_list_question_replies(struct request *r);
int handle_list_replies(struct request *r);
int handle_get_reply(struct request *r);
int handle_create_reply(struct request *r);
int handle_patch_reply(struct request *r);
int handle_delete_reply(struct request *r);
int handle_list_topics(struct request *r);
int handle_get_topic(struct request *r);
int handle_create_topic(struct request *r);
int handle_patch_topic(struct request *r);
int handle_delete_topic(struct request *r);
int handle_list_doctors(struct request *r);
int handle_get_doctor(struct request *r);
int handle_list_changes(struct request *r);
int handle_list_audit(struct request *r);
int handle_erase_question(struct request *r);
int handle_erase_reply(struct request *r);
int handle_get_related(struct request *r);
int handle_get_metrics(struct request *r);
int handle_get_docs(struct request *r);
int handle_get_docs_asset(struct request *r);
/* webhooks (webhooks.c) */
int handle_list_webhooks(struct request *r);
int handle_create_webhook(struct request *r);
int handle_get_webhook(struct request *r);
int handle_patch_webhook(struct request *r);
int handle_delete_webhook(struct request *r);
int handle_rotate_webhook_secret(struct request *r);
int handle_ping_webhook(struct request *r);
int handle_list_webhook_deliveries(struct request *r);
int handle_redeliver_webhook_delivery(struct request *r);
int handle_replay_webhook(struct request *r);
/* content (issue 14) */
int handle_get_questions_feed(struct request *r);
/* Adds to a JSON list of questions the Link header that advertises the
 * Atom feed of the same department or topic. Returns 0 or -1. */
int feeds_add_discovery_link(struct request *r);
int handle_get_embed_question(struct request *r);
int handle_get_oembed(struct request *r);
/* GET /questions/{id} as schema.org JSON-LD (handlers/jsonld.c): whether
 * the request asks for it (Accept names application/ld+json), and the
 * reply. */
bool jsonld_wanted(const struct request *r);
int jsonld_reply_question(struct request *r);

/* The statements of each file that runs SQL, in the form every module
 * uses (see db_register() in medqa/db.h): the table and its length. */
extern const struct db_statement health_statements[];
extern const size_t health_nstatements;
extern const struct db_statement departments_statements[];
extern const size_t departments_nstatements;
extern const struct db_statement idempotency_statements[];
extern const size_t idempotency_nstatements;
extern const struct db_statement questions_statements[];
extern const size_t questions_nstatements;
extern const struct db_statement replies_statements[];
extern const size_t replies_nstatements;
extern const struct db_statement topics_statements[];
extern const size_t topics_nstatements;
extern const struct db_statement doctors_statements[];
extern const size_t doctors_nstatements;
extern const struct db_statement jsonld_statements[];
extern const size_t jsonld_nstatements;
extern const struct db_statement embed_statements[];
extern const size_t embed_nstatements;
extern const struct db_statement erasure_statements[];
extern const size_t erasure_nstatements;
extern const struct db_statement related_get_statements[];
extern const size_t related_get_nstatements;
extern const struct db_statement webhooks_statements[];
extern const size_t webhooks_nstatements;

#endif
