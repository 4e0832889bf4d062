/* genred-mqtt: publish what genred hears to an MQTT broker, with Home
 * Assistant discovery (genred-mqtt(1), doc/mqtt.md).  main() reads the
 * command line and the config and runs the loop; the rules are in
 * bridge.c. */
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "build_config.h"
#include "bridge.h"
#include "bridge_config.h"
#include "genred/log.h"


/* How long a stop may wait for the offline messages to go out. */
#define SHUTDOWN_FLUSH_S 2.0

/* 0, 1 and 2 mean what they mean for every genred program. */
enum exit_status {
    EXIT_OK = 0,
    EXIT_FAILED = 1,            /* configuration, password, TLS files */
    EXIT_USAGE = 2,
    /* BRIDGE_EXIT_REFUSED (3): the broker refused the credentials. */
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: genred-mqtt [OPTION]...\n"
            "Publish genred's results to an MQTT broker, with Home Assistant discovery.\n"
            "\n"
            "  -c, --config FILE     configuration file (default " GENRED_MQTT_CONFIG_DEFAULT
            "\n"
            "                        if it exists, else built-in defaults; see genred-mqtt(1))\n"
            "      --check           check the configuration and the password file, print\n"
            "                        the topics and exit\n"
            "      --log-level LEVEL error, warning, info or debug\n"
            "      --syslog-prefix   prefix log lines with <N> syslog priorities\n"
            "                        (automatic when stderr is the journal)\n"
            "  -V, --version         print the version and exit\n"
            "  -h, --help            print this help and exit\n"
            "\n"
            "Exit status: 0 stopped by SIGTERM/SIGINT, 1 failure at start (configuration,\n"
            "password or TLS files), 2 usage error, 3 the broker refused the credentials.\n");
}

enum { OPT_CHECK = 256, OPT_LOG_LEVEL, OPT_SYSLOG };

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w, (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void print_check(const bridge_config *cfg)
{
    printf("broker %s:%d as %s%s%s\n", cfg->host, cfg->port, cfg->client_id,
           cfg->ca_file[0] ? ", TLS" : "", cfg->username[0] ? ", with a user name" : "");
    printf("bridge availability: %s/bridge/%s/availability\n", cfg->topic_prefix, cfg->client_id);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const bridge_listener_config *l = &cfg->listeners[i];
        printf("listener %s (\"%s\"): %s -> %s/%s/state\n", l->id, l->name, l->socket,
               cfg->topic_prefix, l->id);
    }
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, OPT_CHECK},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"syslog-prefix", no_argument, NULL, OPT_SYSLOG},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    genred_log log;
    genred_log_init(&log, 2);
    log.program = "genred-mqtt";
    const char *config_path = NULL;
    int check = 0, log_level = -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:Vh", long_options, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case OPT_CHECK: check = 1; break;
        case OPT_LOG_LEVEL:
            log_level = genred_log_level_parse(optarg);
            if (log_level < 0) {
                fprintf(stderr, "genred-mqtt: --log-level: '%s' is not error, warning, info or "
                        "debug\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_SYSLOG: log.syslog_prefix = 1; break;
        case 'V': printf("genred-mqtt %s\n", GENRED_VERSION); return EXIT_OK;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "genred-mqtt: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }

    static bridge_config cfg;   /* about 300 KiB: not on the stack */
    bridge_config_defaults(&cfg);
    char err[1024];
    int rc;
    if (config_path || access(GENRED_MQTT_CONFIG_DEFAULT, F_OK) == 0)
        rc = bridge_config_load(&cfg, config_path ? config_path : GENRED_MQTT_CONFIG_DEFAULT, err,
                                sizeof err);
    else
        rc = bridge_config_parse_text(&cfg, "", 0, "built-in defaults", err, sizeof err);
    if (rc != 0) {
        genred_error(&log, "%s", err);
        return EXIT_FAILED;
    }
    genred_log_set_level(&log, log_level >= 0 ? log_level : cfg.log_level);
    char password[1024] = "";
    if (cfg.password_file[0] &&
        bridge_config_read_password(&cfg, password, sizeof password, err, sizeof err) != 0) {
        genred_error(&log, "%s", err);
        return EXIT_FAILED;
    }
    if (check) {
        print_check(&cfg);
        return EXIT_OK;
    }

    /* A genred or broker that goes away mid-write must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    bridge *b = bridge_new(loop, &cfg, cfg.password_file[0] ? password : NULL, &log, err,
                           sizeof err);
    memset(password, 0, sizeof password);
    if (!b) {
        genred_error(&log, "%s", err);
        mosquitto_lib_cleanup();
        return EXIT_FAILED;
    }
    ev_signal sigterm, sigint;
    ev_signal_init(&sigterm, on_stop, SIGTERM);
    ev_signal_init(&sigint, on_stop, SIGINT);
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sigint);
    genred_info(&log, "genred-mqtt %s: %zu listener(s), broker %s:%d", GENRED_VERSION,
                cfg.n_listeners, cfg.host, cfg.port);
    bridge_start(b);
    ev_run(loop, 0);
    int status = bridge_exit_status(b);
    if (status == EXIT_OK) {
        genred_info(&log, "stopping");
        bridge_shutdown(b, SHUTDOWN_FLUSH_S);
    }
    bridge_del(b);
    ev_signal_stop(loop, &sigterm);
    ev_signal_stop(loop, &sigint);
    ev_loop_destroy(loop);
    mosquitto_lib_cleanup();
    return status;
}
