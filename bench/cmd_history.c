/* PLACEHOLDER until the history command lands: refuses clearly instead of pretending. */
#include "cli.h"
int bb_cmd_history(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return bb_cli_error("history", "not available in this build yet");
}
