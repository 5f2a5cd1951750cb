/* handlers/table — the one place where operationIds meet C functions, and
 * where every module's statements are registered. */
#include "handlers_internal.h"

#include "medqa/auth.h"
#include "medqa/base.h"
#include "medqa/contacts.h"
#include "medqa/db.h"
#include "medqa/handlers.h"
#include "medqa/related.h"
#include "medqa/spec.h"
#include "medqa/webhooks.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *operation_id;
    handler_fn fn;
} handlers__table[] = {
    {"getHealthz", handle_get_healthz},
    {"getReadyz", handle_get_readyz},
    {"getOpenapiJson", handle_get_openapi_json},
    {"getOpenapiYaml", handle_get_openapi_yaml},
    {"listDepartments", handle_list_departments},
    {"listQuestions", handle_list_questions},
    {"getQuestion", handle_get_question},
    {"createQuestion", handle_create_question},
    {"patchQuestion", handle_patch_question},
    {"deleteQuestion", handle_delete_question},
    {"listQuestionReplies", handle_list_question_replies},
    {"listReplies", handle_list_replies},
    {"getReply", handle_get_reply},
    {"createReply", handle_create_reply},
    {"patchReply", handle_patch_reply},
    {"deleteReply", handle_delete_reply},
    {"listTopics", handle_list_topics},
    {"getTopic", handle_get_topic},
    {"createTopic", handle_create_topic},
    {"patchTopic", handle_patch_topic},
    {"deleteTopic", handle_delete_topic},
    {"listDoctors", handle_list_doctors},
    {"getDoctor", handle_get_doctor},
    {"listChanges", handle_list_changes},
    {"listAudit", handle_list_audit},
    {"eraseQuestion", handle_erase_question},
    {"eraseReply", handle_erase_reply},
    {"getRelated", handle_get_related},
    {"getMetrics", handle_get_metrics},
    {"getDocs", handle_get_docs},
    {"getDocsAsset", handle_get_docs_asset},
    /* webhooks */
    {"listWebhooks", handle_list_webhooks},
    {"createWebhook", handle_create_webhook},
    {"getWebhook", handle_get_webhook},
    {"patchWebhook", handle_patch_webhook},
    {"deleteWebhook", handle_delete_webhook},
    {"rotateWebhookSecret", handle_rotate_webhook_secret},
    {"pingWebhook", handle_ping_webhook},
    {"listWebhookDeliveries", handle_list_webhook_deliveries},
    {"redeliverWebhookDelivery", handle_redeliver_webhook_delivery},
    {"replayWebhook", handle_replay_webhook},
    /* content (issue 14) */
    {"getQuestionsFeed", handle_get_questions_feed},
    {"getEmbedQuestion", handle_get_embed_question},
    {"getOembed", handle_get_oembed},
};

int handlers_bind(struct spec *s, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < s->nops; i++) {
        struct spec_operation *op = &s->ops[i];
        op->handler = NULL;
        for (size_t k = 0; k < ARRAY_SIZE(handlers__table); k++)
            if (strcmp(handlers__table[k].operation_id, op->operation_id) == 0)
                op->handler = (void *)(uintptr_t)handlers__table[k].fn;
        if (op->handler == NULL) {
            snprintf(errbuf, errlen,
                     "operation %s (%s %s) is in the spec but has no handler",
                     op->operation_id, op->method, op->path_template);
            return -1;
        }
    }
    for (size_t k = 0; k < ARRAY_SIZE(handlers__table); k++) {
        if (spec_find_operation(s, handlers__table[k].operation_id) == NULL) {
            snprintf(errbuf, errlen,
                     "handler for %s has no operation in the spec",
                     handlers__table[k].operation_id);
            return -1;
        }
    }
    return 0;
}

/* Every statement the service prepares, one line per module (or handler
 * file): each exposes its static table as `<mod>_statements` and its
 * length as `<mod>_nstatements` (ARRAY_SIZE), and nothing else calls
 * db_register(). The length is read through a pointer so this table is a
 * constant. */
static const struct {
    const struct db_statement *list;
    const size_t *n;
} handlers__statements[] = {
    {auth_statements, &auth_nstatements},
    {health_statements, &health_nstatements},
    {departments_statements, &departments_nstatements},
    {idempotency_statements, &idempotency_nstatements},
    {questions_statements, &questions_nstatements},
    {replies_statements, &replies_nstatements},
    {topics_statements, &topics_nstatements},
    {doctors_statements, &doctors_nstatements},
    {erasure_statements, &erasure_nstatements},
    {contacts_statements, &contacts_nstatements},
    {related_get_statements, &related_get_nstatements},
    {embed_statements, &embed_nstatements}, /* content (issue 14) */
    {jsonld_statements, &jsonld_nstatements},
    {related_worker_statements, &related_worker_nstatements},
    {webhooks_statements, &webhooks_nstatements},
    {webhooks_worker_statements, &webhooks_worker_nstatements},
};

int handlers_register_statements(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(handlers__statements); i++) {
        int rc = db_register(handlers__statements[i].list,
                             *handlers__statements[i].n);
        if (rc != 0)
            return rc;
    }
    return 0;
}
