/* cli/contacts — `medqa contacts show QUESTION_ID` prints a question's
 * contact e-mail for the clinic's follow-up and records that in the audit
 * log (in the same transaction: no record, no e-mail); `medqa contacts
 * rekey` re-seals every value not under CONTACT_KEY (opening it with
 * CONTACT_KEY_PREVIOUS). The keys come from the environment (config). */
#include "medqa/cli.h"
#include "medqa/config.h"
#include "medqa/contacts.h"
#include "medqa/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int contacts__usage(void)
{
    fprintf(stderr, "usage: medqa contacts show QUESTION_ID\n"
                    "       medqa contacts rekey\n");
    return 2;
}

/* A bytea column of a text-format result, unescaped; the caller frees it
 * with PQfreemem(). */
static unsigned char *contacts__bytes(PGresult *res, int row, int col,
                                      size_t *n)
{
    return PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), n);
}

static int contacts__fail(PGconn *pg, PGresult *res, const char *what)
{
    fprintf(stderr, "medqa: contacts %s: %s", what,
            res != NULL ? PQresultErrorMessage(res) : "failed\n");
    PQclear(res);
    PQclear(PQexec(pg, "ROLLBACK"));
    return 1;
}

static int contacts__show(PGconn *pg, const char *qid)
{
    const char *params[1] = {qid};
    char email[255];
    size_t n = 0;

    PQclear(PQexec(pg, "BEGIN"));
    PGresult *res =
        PQexecParams(pg,
                     "SELECT ciphertext, key_id FROM question_contacts "
                     "WHERE question_id = $1::uuid AND ciphertext IS NOT NULL",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return contacts__fail(pg, res, "show");
    if (PQntuples(res) == 0) {
        PQclear(res);
        PQclear(PQexec(pg, "ROLLBACK"));
        fprintf(stderr, "medqa: contacts show: no contact e-mail is stored "
                        "for that question\n");
        return 1;
    }
    unsigned char *blob = contacts__bytes(res, 0, 0, &n);
    int rc = blob != NULL ? contacts_open(blob, n, PQgetvalue(res, 0, 1), email)
                          : -2;
    PQfreemem(blob);
    if (rc != 0) {
        fprintf(stderr,
                rc == -1 ? "medqa: contacts show: sealed under key %s, which "
                           "is neither CONTACT_KEY nor CONTACT_KEY_PREVIOUS\n"
                         : "medqa: contacts show: the value under key %s "
                           "does not authenticate\n",
                PQgetvalue(res, 0, 1));
        PQclear(res);
        PQclear(PQexec(pg, "ROLLBACK"));
        return 1;
    }
    PQclear(res);
    res = PQexecParams(pg, "SELECT mq_audit_cli('contact.show', $1, NULL)", 1,
                       NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return contacts__fail(pg, res, "show");
    PQclear(res);
    res = PQexec(pg, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return contacts__fail(pg, res, "show");
    PQclear(res);
    printf("%s\n", email);
    return 0;
}

static int contacts__rekey(PGconn *pg)
{
    char email[255];
    char hex[CONTACTS_SEALED_HEX];
    const char *kid = NULL;
    int done = 0;

    if (!contacts_configured()) {
        fprintf(stderr, "medqa: contacts rekey: CONTACT_KEY: not set\n");
        return 1;
    }
    PQclear(PQexec(pg, "BEGIN"));
    /* Any value: the new key's id is only known after sealing one. */
    if (contacts_seal("x@x", hex, &kid) != 0)
        return contacts__fail(pg, NULL, "rekey");
    const char *kp[1] = {kid};
    PGresult *res = PQexecParams(
        pg,
        "SELECT question_id::text, ciphertext, key_id FROM question_contacts "
        "WHERE ciphertext IS NOT NULL AND key_id <> $1 FOR UPDATE",
        1, NULL, kp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return contacts__fail(pg, res, "rekey");
    for (int i = 0; i < PQntuples(res); i++) {
        size_t n = 0;
        unsigned char *blob = contacts__bytes(res, i, 1, &n);
        int rc = blob != NULL
                     ? contacts_open(blob, n, PQgetvalue(res, i, 2), email)
                     : -2;
        PQfreemem(blob);
        if (rc != 0) {
            fprintf(stderr,
                    "medqa: contacts rekey: cannot open the contact of "
                    "question %s (key %s): set CONTACT_KEY_PREVIOUS to the "
                    "key it was sealed with; nothing was changed\n",
                    PQgetvalue(res, i, 0), PQgetvalue(res, i, 2));
            PQclear(res);
            PQclear(PQexec(pg, "ROLLBACK"));
            return 1;
        }
        if (contacts_seal(email, hex, &kid) != 0) {
            PQclear(res);
            return contacts__fail(pg, NULL, "rekey");
        }
        const char *p[3] = {PQgetvalue(res, i, 0), hex, kid};
        PGresult *u = PQexecParams(
            pg,
            "UPDATE question_contacts SET ciphertext = decode($2, 'hex'), "
            "key_id = $3 WHERE question_id = $1::uuid",
            3, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(u) != PGRES_COMMAND_OK) {
            PQclear(res);
            return contacts__fail(pg, u, "rekey");
        }
        PQclear(u);
        done++;
    }
    PQclear(res);
    char count[16];
    snprintf(count, sizeof(count), "%d", done);
    const char *ap[1] = {count};
    res = PQexecParams(pg, "SELECT mq_audit_cli('contact.rekey', $1, NULL)", 1,
                       NULL, ap, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return contacts__fail(pg, res, "rekey");
    PQclear(res);
    res = PQexec(pg, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return contacts__fail(pg, res, "rekey");
    PQclear(res);
    fprintf(stderr, "re-encrypted %d contact e-mails under key %s\n", done,
            kid);
    return 0;
}

int cli_contacts(int argc, char **argv, const struct config *cfg)
{
    char err[512];
    int rc;

    if (argc < 1)
        return contacts__usage();
    if (cfg->database_url == NULL) {
        fprintf(stderr, "medqa: DATABASE_URL: not set\n");
        return 1;
    }
    if (contacts_init(cfg) != 0) {
        fprintf(stderr, "medqa: CONTACT_KEY: not a 32-byte base64 key\n");
        return 2;
    }
    PGconn *pg = db_connect_direct(cfg->database_url, err, sizeof(err));
    if (pg == NULL) {
        fprintf(stderr, "medqa: cannot connect to the database: %s\n", err);
        return 1;
    }
    if (strcmp(argv[0], "show") == 0 && argc == 2)
        rc = contacts__show(pg, argv[1]);
    else if (strcmp(argv[0], "rekey") == 0 && argc == 1)
        rc = contacts__rekey(pg);
    else
        rc = contacts__usage();
    PQfinish(pg);
    return rc;
}
