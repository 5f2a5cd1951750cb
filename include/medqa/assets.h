/* assets — files embedded into the binary at build time (the spec, the
 * migrations and the repeatable SQL files), so one binary carries
 * everything it needs to run. The data is generated into
 * build/gen/assets.c by scripts/embed.sh. */
#ifndef MEDQA_ASSETS_H
#define MEDQA_ASSETS_H

#include <stddef.h>

struct asset {
    const char *name; /* the file's name, e.g. "0001_departments.sql" */
    const unsigned char *data;
    size_t len;
};

extern const struct asset assets_openapi_yaml;
extern const struct asset assets_demo_json;
/* The synthetic generator's vocabulary (internal/seed/vocabulary.json),
 * generated into build/gen/seed_assets.c. */
extern const struct asset assets_vocabulary_json;
/* The /docs page, its start-up script and Redoc's standalone bundle
 * (installed by npm), generated into build/gen/docs_assets.c. */
extern const struct asset assets_docs_html;
extern const struct asset assets_docs_init_js;
extern const struct asset assets_redoc_js;
/* Sorted by name, which is the order they apply in. */
extern const struct asset assets_migrations[];
extern const size_t assets_nmigrations;
/* The repeatable SQL files (the files of sql/: functions, triggers, in
 * name order), see migrate.h. */
extern const struct asset assets_sql[];
extern const size_t assets_nsql;

#endif
