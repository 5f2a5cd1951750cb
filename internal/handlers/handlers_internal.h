/* The SQL each handler module registers; only table.c collects them. */
#ifndef MEDQA_HANDLERS_INTERNAL_H
#define MEDQA_HANDLERS_INTERNAL_H

#include "medqa/db.h"

#include <stddef.h>

extern const struct db_statement health_statements[];
extern const size_t health_nstatements;
extern const struct db_statement departments_statements[];
extern const size_t departments_nstatements;

#endif
