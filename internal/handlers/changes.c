/* handlers/changes — GET /changes, the syndication feed.
 *
 * Unlike other lists, the feed always returns a next_cursor (PAGE_FEED):
 * a partner keeps the last one and polls with it, and an empty page means
 * it is up to date. Partners never see the created/updated events of an
 * item that was deleted since (the write functions mark them hidden), only
 * its deleted event; editors see everything. */
#include "handlers_internal.h"
#include "page.h"

#include "medqa/auth.h"

static const struct page_list changes__list = {
    .sort = "seq",
    .keyset = {.ncolumns = 1, .columns = {{"c.seq", "bigint"}}},
    .flags = PAGE_FEED,
    .first = "0", /* seq starts at 1 */
};

int handle_list_changes(struct request *r)
{
    struct page pg;
    struct querybuf b;

    if (page_open_or_reply(r, &changes__list, &pg) == REPLY_QUEUED)
        return REPLY_QUEUED;
    qb_init(&b, "cl");
    qb_add(&b, "SELECT json_build_object('seq', c.seq, 'type', c.type, "
               "'id', c.entity_id, 'at', mq_ts(c.at))::text, c.seq::text "
               "FROM changes c WHERE true");
    /* A constant condition, not a boolean parameter: the partial index
     * on the visible events serves it. */
    if (r->role & AUTH_ROLE_EDITOR)
        qb_shape(&b, 'e');
    else
        qb_add(&b, " AND NOT c.hidden");
    page_keyset(&pg, &b);
    /* A feed page changes as events arrive; partners poll it. */
    r->private_data = true;
    return page_reply(r, &pg, &b);
}
