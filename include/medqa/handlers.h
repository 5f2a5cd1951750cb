/* handlers — binds each spec operation to the C function that serves it. */
#ifndef MEDQA_HANDLERS_H
#define MEDQA_HANDLERS_H

#include <stddef.h>

struct request;
struct spec;

typedef int (*handler_fn)(struct request *r);

struct handler_entry {
    const char *operation_id;
    handler_fn fn;
};

/* Binds every operation of `s` to its handler. An operation without a
 * handler, or a handler without an operation, is an error naming it: the
 * service must not start half-wired. Returns 0 or -1 with errbuf set. */
int handlers_bind(struct spec *s, char *errbuf, size_t errlen);

/* Registers every handler module's SQL statements with db_register(). */
int handlers_register_statements(void);

/* The handlers, one per operation. */
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
int handle_get_related(struct request *r);
int handle_get_metrics(struct request *r);
int handle_get_docs(struct request *r);
int handle_get_docs_asset(struct request *r);
/* webhooks (internal/handlers/webhooks.c) */
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

#endif
