/* router — matches requests against the spec's path templates.
 *
 * The table is small (tens of operations), so a scan over pre-split
 * templates costs less than building and walking a trie would; the path is
 * split once per request into a fixed array, with no allocation. */
#include "medqa/router.h"

#include "medqa/spec.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Splits `path` in place (inside m->buf) into segments; *trailing says
 * whether it ended in a slash (never for "/" itself). */
static int router__split(const char *path, struct route_match *m, char **segs,
                         size_t *nsegs, bool *trailing)
{
    size_t len = strlen(path);

    if (len == 0 || path[0] != '/' || len >= sizeof(m->buf))
        return ROUTER_BAD_PATH;
    memcpy(m->buf, path, len + 1);
    *nsegs = 0;
    char *p = m->buf;
    while (*p == '/') {
        *p++ = '\0';
        if (*p == '\0') {
            /* "/" or a trailing slash: no empty segment */
            *trailing = *nsegs > 0;
            break;
        }
        if (*nsegs == ROUTER_MAX_SEGMENTS)
            return ROUTER_BAD_PATH;
        segs[(*nsegs)++] = p;
        while (*p != '\0' && *p != '/')
            p++;
        if (*p == '/' && p[1] == '/')
            return ROUTER_NOT_FOUND; /* "//": no template has it */
    }
    return ROUTER_OK;
}

/* Scores how well a template fits: -1 for no fit, otherwise the number of
 * literal segments, so the most literal template wins. */
static int router__fit(const struct spec_operation *op, char *const *segs,
                       size_t nsegs)
{
    int score = 0;

    if (op->nsegments != nsegs)
        return -1;
    for (size_t i = 0; i < nsegs; i++) {
        const struct spec_segment *t = &op->segments[i];
        if (t->literal != NULL) {
            if (strcmp(t->literal, segs[i]) != 0)
                return -1;
            score++;
        } else if (segs[i][0] == '\0') {
            return -1;
        }
    }
    return score;
}

static int router__same_template(const struct spec_operation *a,
                                 const struct spec_operation *b)
{
    return strcmp(a->path_template, b->path_template) == 0;
}

static void router__allow_add(struct route_match *m, const char *method)
{
    size_t used = strlen(m->allow);

    if (strstr(m->allow, method) != NULL)
        return;
    snprintf(m->allow + used, sizeof(m->allow) - used, "%s%s", used ? ", " : "",
             method);
}

int router_match(const struct spec *s, const char *method, const char *path,
                 struct route_match *m)
{
    char *segs[ROUTER_MAX_SEGMENTS];
    size_t nsegs = 0;
    const struct spec_operation *best = NULL;
    int best_score = -1;
    bool trailing = false;
    int rc;

    m->op = NULL;
    m->nvalues = 0;
    m->allow[0] = '\0';
    rc = router__split(path, m, segs, &nsegs, &trailing);
    if (rc != ROUTER_OK)
        return rc;
    /* First the best template for the path, whatever the method. */
    for (size_t i = 0; i < s->nops; i++) {
        int score = router__fit(&s->ops[i], segs, nsegs);
        if (score > best_score) {
            best_score = score;
            best = &s->ops[i];
        }
    }
    if (best == NULL)
        return ROUTER_NOT_FOUND;
    /* A trailing slash names no resource of its own: the caller redirects
     * to the path without it, which does name one. */
    if (trailing)
        return ROUTER_TRAILING_SLASH;
    /* Then the operation on that template with the right method. */
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < s->nops; i++) {
        const struct spec_operation *op = &s->ops[i];
        if (!router__same_template(op, best))
            continue;
        router__allow_add(m, op->method);
        if (strcmp(op->method, "GET") == 0)
            router__allow_add(m, "HEAD");
        if (strcmp(op->method, want) == 0)
            m->op = op;
    }
    if (m->op == NULL) {
        router__allow_add(m, "OPTIONS");
        return ROUTER_METHOD_NOT_ALLOWED;
    }
    for (size_t i = 0; i < nsegs; i++) {
        const struct spec_segment *t = &m->op->segments[i];
        if (t->param == NULL)
            continue;
        m->names[m->nvalues] = t->param;
        m->values[m->nvalues] = segs[i];
        m->nvalues++;
    }
    return ROUTER_OK;
}

static bool router__control(unsigned c)
{
    return c < 0x20 || c == 0x7f;
}

/* Is p ("%..") the escape of a control character, %00 to %1F or %7F? */
static bool router__control_escape(const char *p)
{
    if (p[1] == '0' || p[1] == '1')
        return isxdigit((unsigned char)p[2]) != 0;
    return p[1] == '7' && (p[2] == 'F' || p[2] == 'f');
}

int router_target_has_control(const char *target)
{
    for (const char *p = target; *p != '\0' && *p != '?'; p++) {
        if (router__control((unsigned char)*p))
            return 1;
        if (*p == '%' && router__control_escape(p))
            return 1;
    }
    return 0;
}
