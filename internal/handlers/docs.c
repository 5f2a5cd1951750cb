/* handlers/docs — the human-readable reference at /docs: a small HTML page
 * that loads Redoc's standalone bundle and a start-up script, both served
 * from here (embedded at build time like the spec), so the page works
 * offline and never pulls code from a CDN. */
#include "handlers_internal.h"

#include "medqa/assets.h"
#include "medqa/request.h"

#include <stdlib.h>
#include <string.h>

/* Scripts from this origin only, and none inline (init.js is a file for
 * that reason); the spec is fetched from this origin. Redoc's styled
 * components write <style> elements at run time, so styles alone allow
 * 'unsafe-inline'; its search index runs in a Worker made from a blob:
 * URL of its own bundle. */
static const char docs__csp[] =
    "default-src 'none'; script-src 'self'; worker-src blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

/* Replies with a copy of the embedded asset `a` as `type`; the response
 * owns the copy. */
static int docs__reply(struct request *r, const struct asset *a,
                       const char *type)
{
    char *copy = malloc(a->len + 1);

    if (copy == NULL)
        return -1;
    memcpy(copy, a->data, a->len);
    copy[a->len] = '\0';
    return request_reply_owned(r, 200, type, copy, a->len);
}

int handle_get_docs(struct request *r)
{
    if (request_add_header(r, "Content-Security-Policy", docs__csp) != 0)
        return -1;
    return docs__reply(r, &assets_docs_html, "text/html; charset=utf-8");
}

int handle_get_docs_asset(struct request *r)
{
    const char *file = request_param_str(r, "file");
    const struct asset *a = NULL;

    /* The spec's enum has already refused any other name; the fallback
     * keeps a spec edit that adds one from serving the wrong file. */
    if (file != NULL && strcmp(file, "redoc.standalone.js") == 0)
        a = &assets_redoc_js;
    else if (file != NULL && strcmp(file, "init.js") == 0)
        a = &assets_docs_init_js;
    if (a == NULL)
        return request_problem(r, PROBLEM_NOT_FOUND, 0,
                               "No such file of the reference page.", NULL);
    return docs__reply(r, a, "application/javascript; charset=utf-8");
}
