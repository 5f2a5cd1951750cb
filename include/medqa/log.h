/* log — one JSON object per line on stderr. Never pass secrets, query
 * values or request bodies to it. */
#ifndef MEDQA_LOG_H
#define MEDQA_LOG_H

#include <stddef.h>

/* The least severe level a line must have to be written; LOG_LEVEL in the
 * environment sets it (config.h reads it, so log depends on nothing). */
enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);

/* Ends the key/value list of log_msg(). A typed null pointer: a bare NULL
 * may be an int 0, which a variadic function must not read as a pointer. */
#define LOG_END ((const char *)0)

/* Writes {"time":…,"level":…,"msg":msg} plus the extra key/value string
 * pairs given as a list ended by LOG_END (values are JSON-escaped). */
void log_msg(enum log_level level, const char *msg, ...);

/* The access-log line of one request. */
void log_access(const char *request_id, const char *method, const char *route,
                unsigned status, size_t bytes, long long micros);

#endif
