#!/bin/sh
# Run a command whenever the genre genred reports changes.
#
#   on-genre-change.sh COMMAND [ARG...]
#
# COMMAND runs with four more arguments: the new genre (or "-" when there
# is none: silence, no input, warming ...), the previous one (or "-"), the
# state (ok, degraded, silence, no-input, ...) and the confidence (0..1, or
# "-").  It runs in the foreground, one change at a time; genred never waits
# for it (genrectl is an ordinary client, and genred drops a client that
# stops reading).  The watch survives genred restarting (--reconnect).
#
# Examples:
#   on-genre-change.sh notify-send "genred"
#   on-genre-change.sh sh -c 'mosquitto_pub -t home/genre -m "$1"' -
#   GENRED_SOCKET=$XDG_RUNTIME_DIR/genred/genred.sock on-genre-change.sh logger -t genre
#
# genred's change objects (doc/protocol.md) are one compact JSON line each,
# so plain sed picks their members; labels with a '"' in them are not
# supported by this example.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
GENRECTL=${GENRECTL:-genrectl}

member() {  # member NAME LINE: a string or number member's value, "-" for null
    value=$(printf '%s\n' "$2" | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p")
    [ -n "$value" ] && [ "$value" != null ] && printf '%s' "$value" || printf -- -
}

"$GENRECTL" --json watch --reconnect | while IFS= read -r line; do
    case $line in
    *'"type":"change"'*)
        "$@" "$(member to "$line")" "$(member from "$line")" "$(member state "$line")" \
            "$(member confidence "$line")" || echo "$0: $1 failed ($?)" >&2
        ;;
    esac
done
