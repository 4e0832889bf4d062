/* genred-mqtt.conf: the bridge's INI file, parsed into a plain struct and
 * checked completely (unknown sections and keys, bad values, duplicate
 * device ids are errors naming file:line).  One [mqtt] section for the
 * broker and the topics, one [listener ID] section per genred socket; with
 * no [listener] section the bridge follows the default socket under the
 * machine's host name.  See genred-mqtt(1).  Tested by test_bridge_config. */
#ifndef GENRED_MQTT_BRIDGE_CONFIG_H
#define GENRED_MQTT_BRIDGE_CONFIG_H

#include <stddef.h>

#define BRIDGE_PATH_MAX 4096
#define BRIDGE_NAME_MAX 256
/* Device ids go into MQTT topics and Home Assistant object ids: letters,
 * digits, '-' and '_' only, at most this long. */
#define BRIDGE_ID_MAX 64
#define BRIDGE_LISTENERS_MAX 64
#define BRIDGE_CONFIG_FILE_MAX (1024 * 1024)

typedef struct bridge_listener_config {
    char id[BRIDGE_ID_MAX + 1];         /* from the section name [listener ID] */
    char name[BRIDGE_NAME_MAX];         /* Home Assistant device name; default the id */
    char socket[BRIDGE_PATH_MAX];       /* default GENRED_SOCKET_DEFAULT (protocol.h) */
} bridge_listener_config;

typedef struct bridge_config {
    char host[BRIDGE_NAME_MAX];         /* broker; default localhost */
    int port;                           /* default 1883, 8883 with TLS */
    char client_id[BRIDGE_NAME_MAX];    /* default genred-mqtt-HOSTNAME */
    char username[BRIDGE_NAME_MAX];     /* "" = anonymous */
    char password_file[BRIDGE_PATH_MAX];/* first line is the password; never on the command line */
    char ca_file[BRIDGE_PATH_MAX];      /* set: TLS, the broker's certificate checked against it */
    char cert_file[BRIDGE_PATH_MAX];    /* client certificate (with key_file) */
    char key_file[BRIDGE_PATH_MAX];
    int keepalive;                      /* s, 5..3600, default 30 */
    int qos;                            /* 0..2, default 1 */
    char topic_prefix[BRIDGE_NAME_MAX]; /* default "genred" */
    int discovery;                      /* Home Assistant discovery, default yes */
    char discovery_prefix[BRIDGE_NAME_MAX]; /* default "homeassistant" */
    double heartbeat;                   /* s between republished states, 0 = off; default 60 */
    int log_level;                      /* enum genred_log_level, default info */
    size_t n_listeners;
    bridge_listener_config listeners[BRIDGE_LISTENERS_MAX];
} bridge_config;

/* The built-in defaults (no listener yet). */
void bridge_config_defaults(bridge_config *cfg);
/* Parse INI text over cfg (normally the defaults), then complete it: the
 * default listener when none was given, the TLS port.  name is used in
 * messages.  0, or -1 with "NAME:LINE: what is wrong" in err. */
int bridge_config_parse_text(bridge_config *cfg, const char *text, size_t len, const char *name,
                             char *err, size_t errlen);
/* The same for a file. */
int bridge_config_load(bridge_config *cfg, const char *path, char *err, size_t errlen);
/* Read the password from cfg->password_file (its first line, without the
 * line end) into out[cap].  0, or -1 with the reason in err; the password
 * itself never appears in a message. */
int bridge_config_read_password(const bridge_config *cfg, char *out, size_t cap, char *err,
                                size_t errlen);

#endif
