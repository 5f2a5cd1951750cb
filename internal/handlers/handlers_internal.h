/* The SQL each handler module registers; only table.c collects them. */
#ifndef MEDQA_HANDLERS_INTERNAL_H
#define MEDQA_HANDLERS_INTERNAL_H

#include "medqa/db.h"

#include <stddef.h>

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
extern const struct db_statement changes_statements[];
extern const size_t changes_nstatements;
extern const struct db_statement related_statements[];
extern const size_t related_nstatements;
extern const struct db_statement webhooks_statements[];
extern const size_t webhooks_nstatements;

#endif
