/* cli — the subcommands other than serve and migrate. Each takes the
 * arguments after its own name and returns the process exit code. */
#ifndef MEDQA_CLI_H
#define MEDQA_CLI_H

struct config;

/* medqa keys create --role R [--doctor UUID] --name N [--expires D] |
 * list | rotate ID [--grace D] | revoke ID */
int cli_keys(int argc, char **argv, const struct config *cfg);

/* medqa contacts show QUESTION_ID | rekey */
int cli_contacts(int argc, char **argv, const struct config *cfg);

/* medqa audit prune */
int cli_audit(int argc, char **argv, const struct config *cfg);

/* medqa seed --demo | --synthetic N [--seed S] */
int cli_seed(int argc, char **argv, const struct config *cfg);

#endif
