/* Fuzz target: cursor_decode() on client-supplied text. The first byte
 * picks how many keys the caller expects; the rest is the cursor. A
 * forged cursor must be refused, never crash or be accepted. */
#include "medqa/cursor.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-secret-0123456789abcdef0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[CURSOR_MAX_TEXT * 2];
    struct cursor c;

    if (size < 1 || size - 1 >= sizeof(text))
        return 0;
    int nkeys = 1 + data[0] % CURSOR_MAX_KEYS;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    int rc = cursor_decode(secret, text, "newest", "bind", nkeys, &c);
    if (rc != CURSOR_OK && rc != CURSOR_EMALFORMED && rc != CURSOR_EMISMATCH)
        abort();
    if (rc == CURSOR_OK) {
        /* Only a cursor sealed with our secret can open: re-encoding the
         * keys must give back the same text. */
        const char *keys[CURSOR_MAX_KEYS];
        char again[CURSOR_MAX_TEXT];
        if (c.nkeys != nkeys)
            abort();
        for (int i = 0; i < c.nkeys; i++)
            keys[i] = c.keys[i];
        if (cursor_encode(secret, "newest", "bind", keys, c.nkeys, again) !=
                0 ||
            strcmp(again, text) != 0)
            abort();
    }
    /* And a round trip of fuzzed keys always opens. */
    if (size > 2 && memchr(data + 1, '\n', size - 1) == NULL &&
        memchr(data + 1, '\0', size - 1) == NULL && size - 1 < CURSOR_MAX_KEY) {
        const char *keys[1] = {text};
        char enc[CURSOR_MAX_TEXT];
        if (cursor_encode(secret, "oldest", "b", keys, 1, enc) == 0) {
            if (cursor_decode(secret, enc, "oldest", "b", 1, &c) != CURSOR_OK ||
                strcmp(c.keys[0], text) != 0)
                abort();
            if (cursor_decode(secret, enc, "newest", "b", 1, &c) !=
                CURSOR_EMISMATCH)
                abort();
        }
    }
    return 0;
}
