/* handlers/page — the one path every list takes: the request's cursor
 * opened, the query's keyset tail (querybuf.h) with its constant LIMIT,
 * and the page out: the envelope {"data":[…],"next_cursor":…}, the sealed
 * next cursor and the Link header.
 *
 * A list handler reads top to bottom:
 *     if (page_open_or_reply(r, &x__list, &pg) == REPLY_QUEUED)
 *         return REPLY_QUEUED;
 *     qb_init(&b, "xl"); … SELECT item, key… FROM … WHERE … filters …
 *     page_keyset(&pg, &b);
 *     return page_reply(r, &pg, &b);
 * Each row of the query is (item json, key 1 … key N), N the number of
 * keys its cursor holds (qb_keyset_keys). */
#ifndef MEDQA_HANDLERS_PAGE_H
#define MEDQA_HANDLERS_PAGE_H

#include "querybuf.h"
#include "represent.h"

#include "medqa/cursor.h"
#include "medqa/request.h"

enum page_flags {
    /* A feed (/changes): next_cursor is never null, so a poller keeps the
     * last one and an empty page means "up to date". On a page without
     * items it is the cursor the request came with, or `first`; the Link
     * header names the page size even when the request did not. */
    PAGE_FEED = 1,
    /* The list belongs to a parent (a question's replies): the query
     * returns no row when the parent is missing, answered 404 with
     * `missing`, and a row whose item is NULL when the parent has no
     * (more) items. */
    PAGE_PARENT = 2,
};

/* One list in one order: static, one per list and sort. */
struct page_list {
    const char *sort; /* the order's name, sealed into its cursors */
    struct qb_keyset keyset;
    unsigned flags;      /* enum page_flags */
    const char *missing; /* PAGE_PARENT: the 404's detail */
    const char *first;   /* PAGE_FEED: the key before the first item */
    enum rep_kind item;  /* REP_NONE: items go out as the query gives them;
                            else each is completed (represent.h) */
    /* Items built in C (represent.h): each row is (a non-NULL marker when
     * it has an item, the keys, then REP_Q_COLS or REP_R_COLS by `item`)
     * instead of (item json, keys). */
    bool typed;
    /* typed: fills in what the row does not hold (a question's topics),
     * on the page's items in order; returns REPLY_NONE, REPLY_QUEUED
     * after answering a failure, or -1. NULL: nothing to fill in. */
    int (*complete)(struct request *r, json_t *items);
};

/* One request's page of a list. */
struct page {
    const struct page_list *list;
    int limit;           /* items shown; the query fetches more */
    struct cursor after; /* the request's cursor; nkeys 0 without one */
};

/* Opens the request's page of `list`: the page size asked for and its
 * `cursor` parameter, checked against the list's sort and the request's
 * filters. Returns REPLY_NONE, or REPLY_QUEUED after replying 400 to a
 * cursor this API did not issue or issued for another query. */
int page_open_or_reply(struct request *r, const struct page_list *list,
                       struct page *pg);

/* Ends the query in `b` with the list's keyset after the request's
 * cursor, its ORDER BY and its constant LIMIT (qb_keyset). */
void page_keyset(const struct page *pg, struct querybuf *b);

/* Runs the composed query and replies with its page: 200 with the
 * envelope, and a Link header when there is a next cursor; 404 for a
 * PAGE_PARENT list whose parent is missing; a problem when the query
 * fails. Returns what a handler returns. */
int page_reply(struct request *r, const struct page *pg,
               const struct querybuf *b);

/* Writes into out the sealed cursor for the page after the row whose
 * keys are `keys` (the list's qb_keyset_keys of them), bound to this
 * request's filters like page_reply's: for a list answered in another
 * format than the JSON envelope (the Atom feed). Returns 0, or -1 when
 * it cannot be encoded. */
int page_cursor(const struct request *r, const struct page *pg,
                const char *const *keys, char out[CURSOR_MAX_TEXT]);

#endif
