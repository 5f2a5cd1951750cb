/* handlers — binds each spec operation to the C function that serves it,
 * and registers the SQL the service runs. The handlers themselves are
 * private to internal/handlers (handlers_internal.h). */
#ifndef MEDQA_HANDLERS_H
#define MEDQA_HANDLERS_H

#include <stddef.h>

struct request;
struct spec;

/* What spec_operation.handler holds once bound: the server calls it with
 * the validated request. It returns 0 or REPLY_QUEUED (request.h) once a
 * response is queued, negative when none could be (the server then
 * answers 500). */
typedef int (*handler_fn)(struct request *r);

/* Binds every operation of `s` to its handler. An operation without a
 * handler, or a handler without an operation, is an error naming it: the
 * service must not start half-wired. Returns 0 or -1 with errbuf set. */
int handlers_bind(struct spec *s, char *errbuf, size_t errlen);

/* Registers with db_register() the statements of every module that runs
 * SQL while serving (handlers, auth, the related and webhook workers),
 * from one table in handlers/table.c. Call once, after db_init() and
 * before the server starts. Returns 0 or a negative number. */
int handlers_register_statements(void);

#endif
