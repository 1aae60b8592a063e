/* PLACEHOLDER until the compare command lands: refuses clearly instead of pretending. */
#include "cli.h"
int bb_cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return bb_cli_error("compare", "not available in this build yet");
}
