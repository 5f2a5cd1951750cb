/* handlers/table — the one place where operationIds meet C functions. */
#include "handlers_internal.h"
#include "medqa/auth.h"
#include "medqa/db.h"
#include "medqa/handlers.h"
#include "medqa/spec.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct handler_entry handlers__table[] = {
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
};

#define HANDLERS_COUNT (sizeof(handlers__table) / sizeof(handlers__table[0]))

int handlers_bind(struct spec *s, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < s->nops; i++) {
        struct spec_operation *op = &s->ops[i];
        op->handler = NULL;
        for (size_t k = 0; k < HANDLERS_COUNT; k++)
            if (strcmp(handlers__table[k].operation_id, op->operation_id) == 0)
                op->handler = (void *)(uintptr_t)handlers__table[k].fn;
        if (op->handler == NULL) {
            snprintf(errbuf, errlen,
                     "operation %s (%s %s) is in the spec but has no handler",
                     op->operation_id, op->method, op->path_template);
            return -1;
        }
    }
    for (size_t k = 0; k < HANDLERS_COUNT; k++) {
        if (spec_find_operation(s, handlers__table[k].operation_id) == NULL) {
            snprintf(errbuf, errlen,
                     "handler for %s has no operation in the spec",
                     handlers__table[k].operation_id);
            return -1;
        }
    }
    return 0;
}

int handlers_register_statements(void)
{
    if (db_register(auth_statements, auth_nstatements) != 0 ||
        db_register(health_statements, health_nstatements) != 0 ||
        db_register(departments_statements, departments_nstatements) != 0 ||
        db_register(idempotency_statements, idempotency_nstatements) != 0 ||
        db_register(questions_statements, questions_nstatements) != 0 ||
        db_register(replies_statements, replies_nstatements) != 0 ||
        db_register(topics_statements, topics_nstatements) != 0 ||
        db_register(doctors_statements, doctors_nstatements) != 0 ||
        db_register(changes_statements, changes_nstatements) != 0 ||
        db_register(related_statements, related_nstatements) != 0 ||
        db_register(webhooks_statements, webhooks_nstatements) != 0)
        return -1;
    return 0;
}
