/* webhooks/deliver — one delivery attempt with libcurl. */
#include "medqa/webhooks.h"

#include "medqa/base.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A receiver answers with a status; its body only matters to the delivery
 * log, so a receiver cannot make us buffer much. */
#define WEBHOOKS__MAX_READ (64 * 1024)

struct webhooks__sink {
    size_t got;
    bool over;
};

static size_t webhooks__write(char *ptr, size_t size, size_t n, void *cls)
{
    struct webhooks__sink *s = cls;
    size_t len = size * n;

    (void)ptr;
    if (s->got + len > WEBHOOKS__MAX_READ) {
        /* Returning less than given aborts the transfer: the status line
         * and headers are in already. */
        s->over = true;
        return 0;
    }
    s->got += len;
    return len;
}

static int webhooks__progress(void *cls, curl_off_t dt, curl_off_t dn,
                              curl_off_t ut, curl_off_t un)
{
    const atomic_bool *stop = cls;

    (void)dt, (void)dn, (void)ut, (void)un;
    return stop != NULL && atomic_load(stop) ? 1 : 0;
}

int webhooks_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void webhooks_http_cleanup(void)
{
    curl_global_cleanup();
}

int webhooks_send(const struct webhooks_request *rq,
                  struct webhooks_result *res)
{
    CURL *h = curl_easy_init();
    struct curl_slist *headers = NULL, *resolve = NULL;
    struct webhooks__sink sink = {0};
    char line[512];
    long long t0 = base_now_us();
    int rc = -1;

    memset(res, 0, sizeof(*res));
    res->retry_after_s = -1;
    if (h == NULL) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return -1;
    }
#define WH_HEADER(...)                                                         \
    do {                                                                       \
        snprintf(line, sizeof(line), __VA_ARGS__);                             \
        struct curl_slist *nl = curl_slist_append(headers, line);              \
        if (nl == NULL)                                                        \
            goto out;                                                          \
        headers = nl;                                                          \
    } while (0)
    WH_HEADER("content-type: application/json");
    WH_HEADER("user-agent: medqa-webhooks/1");
    WH_HEADER("webhook-id: %s", rq->msg_id);
    WH_HEADER("webhook-timestamp: %lld", rq->timestamp);
    WH_HEADER("webhook-signature: %s", rq->signature);
    /* No "Expect: 100-continue" round trip for a small body. */
    WH_HEADER("expect:");
#undef WH_HEADER
    if (rq->pinned_addr != NULL) {
        /* The address webhooks_resolve() checked is the one connected to:
         * libcurl does not resolve the name again. */
        snprintf(line, sizeof(line), "%s:%u:%s", rq->target->host,
                 rq->target->port, rq->pinned_addr);
        resolve = curl_slist_append(NULL, line);
        if (resolve == NULL)
            goto out;
        curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    }
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* A proxy from the environment would connect for us, to an address we
     * never checked. */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)rq->connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)rq->timeout_s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, webhooks__write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, webhooks__progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)(uintptr_t)rq->stop);

    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        res->interrupted = true;
        res->status = 0;
        snprintf(res->error, sizeof(res->error), "interrupted by shutdown");
        goto out;
    }
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && sink.over)) {
        res->status = 0;
        snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(cc));
        goto out;
    }
    struct curl_header *ra = NULL;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &ra) ==
        CURLHE_OK)
        res->retry_after_s =
            webhooks_parse_retry_after(ra->value, (long long)time(NULL));
    if (res->status < 200 || res->status > 299)
        snprintf(res->error, sizeof(res->error), "HTTP %ld", res->status);
    rc = 0;
out:
    res->micros = base_now_us() - t0;
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
    curl_easy_cleanup(h);
    return rc;
}
