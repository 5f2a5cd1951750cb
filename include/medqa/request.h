/* request — one HTTP request as the handlers see it, and the response they
 * build. The server owns the struct; handlers fill the response through
 * the request_reply_* functions and return 0. */
#ifndef MEDQA_REQUEST_H
#define MEDQA_REQUEST_H

#include "medqa/problem.h"
#include "medqa/ratelimit.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct spec;
struct spec_operation;
struct config;

#define REQUEST_MAX_HEADERS 12

struct request_header {
    char *name;
    char *value;
};

/* One request, from its head to its response. The server (http/server.c)
 * allocates it on the first call of the access handler and frees it when
 * libmicrohttpd reports the request complete; the http module fills the
 * "what came in" part before any handler runs, and handlers only read it.
 * Everything in it is owned by the struct unless marked borrowed. */
struct request {
    /* What came in. */
    struct MHD_Connection *conn;     /* borrowed from libmicrohttpd */
    const struct config *cfg;        /* borrowed */
    const struct spec *spec;         /* borrowed */
    const struct spec_operation *op; /* NULL until routed */
    const char *method;              /* borrowed from libmicrohttpd */
    const char *path;                /* decoded, borrowed likewise */
    char request_id[65];
    json_t *params; /* path, query and header parameters by name, already
                       coerced to their schema types and validated */
    json_t *body;   /* the validated JSON body, or NULL */
    char *raw_body; /* the body as received */
    size_t raw_len;
    size_t raw_cap;
    bool too_large;       /* the body passed MAX_BODY_BYTES */
    bool control_in_path; /* the raw path holds a control character */
    unsigned role;        /* enum auth_role bit of the caller; 0 = anonymous */
    char key_id[37];      /* the caller's API key id ("" when anonymous) */
    char doctor_id[37];   /* the doctor a doctor key is bound to */
    long long started_us; /* base_now_us() at the first call */
    /* Rate limiting (http/limit.c): where the request was counted, so a
     * 304 can give its token back, and the RateLimit-* figures. */
    struct ratelimit_charge limit;

    /* What goes out. */
    unsigned status;
    const char *content_type;
    const char *body_out; /* points into one of the owners below */
    size_t body_out_len;
    char *owned_out;     /* freed with free() */
    PGresult *owned_res; /* freed with PQclear() */
    struct request_header headers[REQUEST_MAX_HEADERS];
    size_t nheaders;
    bool no_etag;      /* the handler opts out of the automatic ETag */
    bool private_data; /* Cache-Control: private even when anonymous */
    size_t bytes_sent; /* for the access log */
};

/* What a helper that may answer the request itself returns (its name
 * ends in `_or_reply`): REPLY_NONE, the caller goes on; REPLY_QUEUED, a
 * response (usually a problem) is queued and the caller returns at once,
 * passing the value up. Handlers return REPLY_QUEUED once they replied. */
enum reply_result { REPLY_NONE = 0, REPLY_QUEUED = 1 };

/* Replies with the catalogue's problem `kind` (problem.h). `status` is
 * used only by PROBLEM_INVALID, whose status comes from the database;
 * pass 0 otherwise. `detail` may be NULL; `errors` (may be NULL) is
 * stolen. Sets application/problem+json and no ETag. Returns
 * REPLY_QUEUED. */
int request_problem(struct request *r, enum problem_kind kind, unsigned status,
                    const char *detail, json_t *errors);

/* 400 with the validation errors collected for the request (stolen). */
int request_problem_validation(struct request *r, json_t *errors);

/* The answer to a database failure code from db.h: 503 with Retry-After
 * when the database cannot be reached, 500 for anything else (the caller
 * logs its SQLSTATE; it is never shown to the client). */
int request_problem_db(struct request *r, int db_rc);

/* Replies with the first column of the first row of `res` as the body
 * (the JSON PostgreSQL built). Takes ownership of `res`. */
int request_reply_pg(struct request *r, unsigned status, PGresult *res);

/* Replies with a copy of `json` (len bytes). */
int request_reply_json(struct request *r, unsigned status, const char *json,
                       size_t len);

/* Replies with `v` serialised. Does not steal `v`. */
int request_reply_jansson(struct request *r, unsigned status, const json_t *v);

/* Replies with `body` of `type`, taking ownership of the malloc'd body. */
int request_reply_owned(struct request *r, unsigned status, const char *type,
                        char *body, size_t len);

/* Replies with no body (204, 304). */
int request_reply_empty(struct request *r, unsigned status);

/* Adds a response header; both strings are copied. Returns -1 when the
 * table is full, which is a bug in the caller. */
int request_add_header(struct request *r, const char *name, const char *value);

/* A request header's value, or NULL. */
const char *request_header(const struct request *r, const char *name);

/* The validated value of a parameter, or NULL when it was not given. */
const json_t *request_param(const struct request *r, const char *name);

/* Convenience getters over request_param(). */
const char *request_param_str(const struct request *r, const char *name);
long long request_param_int(const struct request *r, const char *name,
                            long long fallback);

#endif
