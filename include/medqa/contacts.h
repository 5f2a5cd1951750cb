/* contacts — the asker's contact e-mail, encrypted at rest.
 *
 * AES-256-GCM (OpenSSL EVP) under CONTACT_KEY (32 bytes, base64): a
 * stored value is a random 12-byte nonce, the ciphertext and the 16-byte
 * tag, with the key's id (the first 8 bytes of its SHA-256, in hex) in
 * its own column, so a value sealed under CONTACT_KEY_PREVIOUS still
 * opens after a rotation until `medqa contacts rekey` re-seals it. The
 * service only seals: no API returns a contact; `medqa contacts show`
 * opens one and audits it. */
#ifndef MEDQA_CONTACTS_H
#define MEDQA_CONTACTS_H

#include "medqa/db.h"

#include <stdbool.h>
#include <stddef.h>

struct config;

#define CONTACTS_KEY_BYTES 32
#define CONTACTS_KEY_ID_LEN 16 /* hex characters */
#define CONTACTS_NONCE 12
#define CONTACTS_TAG 16
/* Hex of nonce || ciphertext (at most 254 bytes) || tag, and its NUL. */
#define CONTACTS_SEALED_HEX (2 * (CONTACTS_NONCE + 254 + CONTACTS_TAG) + 1)

struct contacts_key {
    unsigned char bytes[CONTACTS_KEY_BYTES];
    char id[CONTACTS_KEY_ID_LEN + 1];
};

/* Decodes a base64 CONTACT_KEY into *out. Returns 0, or -1 when it is not
 * base64 of exactly 32 bytes. */
int contacts_key_parse(const char *b64, struct contacts_key *out);

/* Loads CONTACT_KEY and CONTACT_KEY_PREVIOUS from cfg for this process.
 * Returns 0 (also when neither is set), -1 on a bad value. */
int contacts_init(const struct config *cfg);

/* Whether CONTACT_KEY is set: contact collection is configured. */
bool contacts_configured(void);

/* Seals `email` under CONTACT_KEY into `hex` (CONTACTS_SEALED_HEX bytes)
 * and points *key_id at the key's id (static storage). Returns 0, or -1
 * when no key is configured, the e-mail is over 254 bytes or OpenSSL
 * fails. */
int contacts_seal(const char *email, char *hex, const char **key_id);

/* Opens a stored value (`blob`, n bytes) sealed under the key whose id is
 * `key_id` (CONTACT_KEY or CONTACT_KEY_PREVIOUS) into `out` (255 bytes).
 * Returns 0, -1 when neither key has that id, -2 when the value does not
 * authenticate. */
int contacts_open(const unsigned char *blob, size_t n, const char *key_id,
                  char *out);

/* Encrypts every contact still stored in plain text (from before
 * migration 0014), in one transaction. Without CONTACT_KEY it changes
 * nothing and, when there are such values, returns -1 with what to set
 * in errbuf. Returns the number encrypted, or -1. */
int contacts_encrypt_plain(PGconn *pg, char *errbuf, size_t errlen);

/* The expiry worker: every interval_s seconds it deletes contacts older
 * than retention_days; with several instances each sweep is claimed by
 * one of them through an advisory lock. interval_s 0 starts nothing. */
int contacts_worker_start(unsigned retention_days, unsigned interval_s);
void contacts_worker_stop(void);

extern const struct db_statement contacts_statements[];
extern const size_t contacts_nstatements;

#endif
