/* The EXAMPLES block of each command's --help (examples.c), printed by cli_parse's help
 * branch after the command's help, and so also in the man pages made from --help. */
#ifndef AIRLOCK_CLI_EXAMPLES_H
#define AIRLOCK_CLI_EXAMPLES_H

#include <stdio.h>

/* "\nexamples:\n" and cmd's examples, each a "# what" line and the command line(s);
 * nothing for a command without examples. */
void cli_examples_print(FILE *f, const char *cmd);

#endif
