/* PLACEHOLDER until the report command lands: refuses clearly instead of pretending. */
#include "cli.h"
int bb_cmd_report(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return bb_cli_error("report", "not available in this build yet");
}
