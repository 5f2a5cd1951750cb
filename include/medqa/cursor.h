/* cursor — opaque, tamper-evident keyset cursors.
 *
 * A cursor carries the sort it was made for, a digest of the filters of
 * the query that made it, and the sort keys of the last row of its page;
 * an HMAC-SHA256 with the server's secret seals it. A forged or edited
 * cursor, or one used with another sort or other filters, is refused, so
 * a client can never steer the query with it. */
#ifndef MEDQA_CURSOR_H
#define MEDQA_CURSOR_H

#include <stddef.h>

#define CURSOR_MAX_KEYS 3
#define CURSOR_MAX_KEY 80
#define CURSOR_MAX_TEXT 512

struct cursor {
    int nkeys;
    char keys[CURSOR_MAX_KEYS][CURSOR_MAX_KEY];
};

enum {
    CURSOR_OK = 0,
    CURSOR_EMALFORMED = -1, /* not ours: bad encoding or bad seal */
    CURSOR_EMISMATCH = -2,  /* ours, but from another sort or filters */
};

/* Writes the cursor text for `keys` into out (CURSOR_MAX_TEXT bytes).
 * `sort` names the ordering, `bind` the digest of the filters. Keys must
 * not contain '\n'. Returns 0 or -1 when it does not fit. */
int cursor_encode(const char *secret, const char *sort, const char *bind,
                  const char *const *keys, int nkeys, char *out);

/* Checks and opens `text`. Returns CURSOR_OK and the keys in *out, or one
 * of the errors above. Constant-time in the seal comparison. */
int cursor_decode(const char *secret, const char *text, const char *sort,
                  const char *bind, int nkeys, struct cursor *out);

#endif
