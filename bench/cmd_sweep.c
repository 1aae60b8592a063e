/* PLACEHOLDER until the sweep command lands: refuses clearly instead of pretending. */
#include "cli.h"
int bb_cmd_sweep(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return bb_cli_error("sweep", "not available in this build yet");
}
