/* problem — RFC 9457 problem documents. Every error medqa sends goes
 * through here, so none can carry a stack trace, SQL or an input value. */
#include "medqa/problem.h"

#include "medqa/config.h"
#include "medqa/db.h"
#include "medqa/log.h"
#include "medqa/request.h"

#include <stdio.h>

static const char *problem__title(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

int problem_reply(struct request *r, unsigned status, const char *slug,
                  const char *title, const char *detail, json_t *errors)
{
    char type[512];
    int rc = -1;

    snprintf(type, sizeof(type), "%s/problems/%s", r->cfg->public_base_url,
             slug);
    json_t *doc = json_pack("{s:s, s:s, s:I}", "type", type, "title",
                            title ? title : problem__title(status), "status",
                            (json_int_t)status);
    if (doc == NULL)
        goto out;
    if (detail != NULL)
        json_object_set_new(doc, "detail", json_string(detail));
    if (errors != NULL) {
        json_object_set(doc, "errors", errors);
    }
    rc = request_reply_jansson(r, status, doc);
    r->content_type = "application/problem+json";
    r->no_etag = true;
out:
    json_decref(errors);
    json_decref(doc);
    return rc;
}

int problem_validation(struct request *r, json_t *errors)
{
    return problem_reply(r, 400, "validation", "Request is not valid",
                         "The request does not match the API specification; "
                         "see errors.",
                         errors);
}

int problem_db(struct request *r, int db_rc)
{
    if (db_rc == DB_EUNAVAILABLE) {
        request_add_header(r, "Retry-After", "2");
        return problem_reply(r, 503, "unavailable", NULL,
                             "The database is unreachable; retry shortly.",
                             NULL);
    }
    return problem_reply(r, 500, "internal", NULL,
                         "The request failed inside medqa; it has been "
                         "logged.",
                         NULL);
}
