#include "genred/protocol.h"

#include <string.h>

const genred_command_info genred_commands[GENRED_COMMAND_COUNT] = {
    [GENRED_COMMAND_STATUS] = {"status", "status", 1},
    /* Acknowledged by an "ok" object, then "result"/"change" objects follow. */
    [GENRED_COMMAND_WATCH] = {"watch", "ok", 1},
    [GENRED_COMMAND_UNWATCH] = {"unwatch", "ok", 0},
    [GENRED_COMMAND_STATS] = {"stats", "stats", 1},
    [GENRED_COMMAND_VERSION] = {"version", "version", 1},
    [GENRED_COMMAND_HELP] = {"help", "help", 1},
};

int genred_command_lookup(const char *word, size_t len)
{
    for (int i = 0; i < GENRED_COMMAND_COUNT; i++) {
        const char *name = genred_commands[i].name;
        if (strlen(name) == len && memcmp(name, word, len) == 0)
            return i;
    }
    return -1;
}
