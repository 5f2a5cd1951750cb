/* log — JSON lines on stderr. One fprintf per line: stdio locks the stream
 * for the call, so lines from different worker threads never interleave. */
#include "medqa/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static enum log_level log__level = LOG_INFO;

static const char *const log__names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    log__level = level;
}

static void log__now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_msg(enum log_level level, const char *msg, ...)
{
    char now[40];
    va_list ap;

    if (level < log__level)
        return;
    json_t *o = json_object();
    if (o == NULL)
        return;
    log__now(now, sizeof(now));
    json_object_set_new(o, "time", json_string(now));
    json_object_set_new(o, "level", json_string(log__names[level]));
    json_object_set_new(o, "msg", json_string(msg));
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        json_object_set_new(o, k, v ? json_string(v) : json_null());
    }
    va_end(ap);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line != NULL)
        fprintf(stderr, "%s\n", line);
    free(line);
    json_decref(o);
}

void log_access(const char *request_id, const char *method, const char *route,
                unsigned status, size_t bytes, long long micros)
{
    char now[40];

    if (LOG_INFO < log__level)
        return;
    log__now(now, sizeof(now));
    /* The route is the spec's template ("/questions/{id}"), never the raw
     * path or query, so ids and query values stay out of the log. */
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "time", now,
                  "level", "info", "request_id", request_id, "method", method,
                  "route", route, "status", (json_int_t)status, "bytes",
                  (json_int_t)bytes, "micros", (json_int_t)micros);
    if (o == NULL)
        return;
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line != NULL)
        fprintf(stderr, "%s\n", line);
    free(line);
    json_decref(o);
}
