/* genred's socket protocol: the facts the daemon and its clients share
 * (doc/protocol.md).  The server (src/server), genrectl (src/ctl) and the
 * MQTT bridge (src/mqtt) take them from here, so a client can never speak
 * another version of the protocol than the daemon it was built with.
 * Test: tests/server/test_request.c ("command table"). */
#ifndef GENRED_PROTOCOL_H
#define GENRED_PROTOCOL_H

#include <stddef.h>

/* The "protocol" member of `version` and `stats`; raised when a reply
 * changes incompatibly (doc/protocol.md, "Versions"). */
#define GENRED_PROTOCOL_VERSION 1

/* Where clients look for the daemon when not told otherwise, and where the
 * daemon listens by default ([socket] path). */
#define GENRED_SOCKET_DEFAULT "/run/genred/genred.sock"

/* The longest reply line a client has to accept.  The daemon's objects are
 * a few KiB; this bounds a client's buffer against a peer that is not
 * genred. */
#define GENRED_REPLY_LINE_MAX (1024 * 1024)

typedef enum genred_command {
    GENRED_COMMAND_STATUS,
    GENRED_COMMAND_WATCH,
    GENRED_COMMAND_UNWATCH,
    GENRED_COMMAND_STATS,
    GENRED_COMMAND_VERSION,
    GENRED_COMMAND_HELP,
    GENRED_COMMAND_COUNT
} genred_command;

typedef struct genred_command_info {
    const char *name;           /* the request word (case-sensitive) */
    const char *reply_type;     /* the "type" of the object that answers it */
    int one_shot;               /* a client can send it alone and exit on the reply
                                   (genrectl's verbs); `unwatch` only makes sense
                                   inside a watching session */
} genred_command_info;

/* The command table, indexed by genred_command, in the order `help` lists
 * the commands. */
extern const genred_command_info genred_commands[GENRED_COMMAND_COUNT];

/* The command whose name is exactly the len bytes at word, or -1. */
int genred_command_lookup(const char *word, size_t len);

#endif
