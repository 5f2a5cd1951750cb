/* handlers/table — the one place where operationIds meet C functions. */
#include "handlers_internal.h"
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
};

#define HANDLERS_COUNT (sizeof(handlers__table) / sizeof(handlers__table[0]))

int handlers_bind(struct spec *s, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < s->nops; i++) {
        struct spec_operation *op = &s->ops[i];
        op->handler = NULL;
        for (size_t k = 0; k < HANDLERS_COUNT; k++)
            if (strcmp(handlers__table[k].operation_id, op->operation_id) ==
                0)
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
    if (db_register(health_statements, health_nstatements) != 0 ||
        db_register(departments_statements, departments_nstatements) != 0)
        return -1;
    return 0;
}
