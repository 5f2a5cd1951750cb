/* handlers/content — see content.h. */
#include "content.h"

#include "medqa/config.h"

#include <stdio.h>
#include <string.h>

bool content_canonical_url(const struct config *cfg, const char *id, char *buf,
                           size_t len)
{
    const char *t = cfg->public_web_url;
    const char *at = t != NULL ? strstr(t, "{id}") : NULL;

    buf[0] = '\0';
    if (at == NULL)
        return false;
    int n = snprintf(buf, len, "%.*s%s%s", (int)(at - t), t, id, at + 4);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return false;
    }
    return true;
}

/* A lower-case canonical UUID, as PostgreSQL writes one. */
static bool content__is_uuid(const char *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-'
                 : !((s[i] >= '0' && s[i] <= '9') ||
                     (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

bool content_question_of_url(const struct config *cfg, const char *url,
                             char id[37])
{
    const char *t = cfg->public_web_url;
    const char *at = t != NULL ? strstr(t, "{id}") : NULL;

    if (at == NULL || url == NULL)
        return false;
    size_t head = (size_t)(at - t);
    size_t tail = strlen(at + 4);
    size_t n = strlen(url);
    if (n < head + tail || strncmp(url, t, head) != 0 ||
        strcmp(url + n - tail, at + 4) != 0)
        return false;
    if (!content__is_uuid(url + head, n - head - tail))
        return false;
    memcpy(id, url + head, 36);
    id[36] = '\0';
    return true;
}
