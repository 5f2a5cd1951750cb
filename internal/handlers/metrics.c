/* handlers/metrics — GET /metrics for operators, Prometheus text. */
#include "handlers_internal.h"

#include "medqa/metrics.h"
#include "medqa/request.h"

int handle_get_metrics(struct request *r)
{
    char *text = NULL;
    size_t len = 0;

    if (metrics_render(r->spec, &text, &len) != 0)
        return -1;
    r->no_etag = true;
    request_add_header(r, "Cache-Control", "no-store");
    return request_reply_owned(r, 200, "text/plain; version=0.0.4", text, len);
}
