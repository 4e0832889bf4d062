/* genred: real-time music genre classification daemon.  main() parses the
 * command line and owns the daemon object; everything else is in
 * daemon.c. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build_config.h"
#include "genred/daemon.h"
#include "genred/log.h"
#include "genred/source.h"


static void usage(FILE *out)
{
    fprintf(out,
            "Usage: genred [OPTION]...\n"
            "Listen to live audio and report the music genre on a UNIX socket.\n"
            "\n"
            "  -c, --config FILE     configuration file (default " GENRED_CONFIG_DEFAULT
            " if it exists,\n"
            "                        else built-in defaults; see genred.conf(5))\n"
            "  -f, --foreground      run in the foreground (genred never forks; accepted\n"
            "                        for compatibility)\n"
            "      --socket PATH     listen on PATH instead of [socket] path\n"
            "      --file PATH       classify an audio file played in real time instead of\n"
            "                        capturing ([audio] source = file)\n"
            "      --loop            with --file: play the file again and again\n"
            "      --model PATH      model file instead of [model] path\n"
            "      --log-level LEVEL error, warning, info or debug\n"
            "      --syslog-prefix   prefix log lines with <N> syslog priorities\n"
            "                        (automatic when stderr is the journal)\n"
            "      --list-devices    list audio input devices and exit\n"
            "  -V, --version         print the version and exit\n"
            "  -h, --help            print this help and exit\n"
            "\n"
            "Signals: SIGHUP reloads the configuration and the model, SIGTERM/SIGINT stop.\n"
            "Exit status: 0 stopped by a signal, 1 fatal error, 2 usage error.\n"
            "Query it with genrectl(1).\n");
}

enum {
    OPT_SOCKET = 256, OPT_FILE, OPT_LOOP, OPT_MODEL, OPT_LOG_LEVEL, OPT_SYSLOG, OPT_LIST,
};

/* Started with stdin, stdout or stderr closed, the next descriptors opened
 * (libev's epoll fd, the socket, a client) would take those numbers and
 * receive log lines.  Park /dev/null on any of them that is closed. */
static void reserve_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) == -1) {
            int null_fd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (null_fd >= 0 && null_fd != fd) {
                dup2(null_fd, fd);
                close(null_fd);
            }
        }
    }
}

int main(int argc, char **argv)
{
    reserve_standard_fds();
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"file", required_argument, NULL, OPT_FILE},
        {"loop", no_argument, NULL, OPT_LOOP},
        {"model", required_argument, NULL, OPT_MODEL},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"syslog-prefix", no_argument, NULL, OPT_SYSLOG},
        {"list-devices", no_argument, NULL, OPT_LIST},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    genred_log log;
    genred_log_init(&log, 2);
    genred_options opt = {.log_level = -1};
    int list_devices = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:fhV", long_options, NULL)) != -1) {
        switch (c) {
        case 'c': opt.config_path = optarg; break;
        case 'f': break;
        case OPT_SOCKET: opt.socket_path = optarg; break;
        case OPT_FILE: opt.file = optarg; break;
        case OPT_LOOP: opt.loop = 1; break;
        case OPT_MODEL: opt.model_path = optarg; break;
        case OPT_LOG_LEVEL:
            opt.log_level = genred_log_level_parse(optarg);
            if (opt.log_level < 0) {
                fprintf(stderr, "genred: --log-level: '%s' is not error, warning, info or debug\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_SYSLOG: log.syslog_prefix = 1; break;
        case OPT_LIST: list_devices = 1; break;
        case 'V': printf("genred %s\n", GENRED_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "genred: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (opt.loop && !opt.file) {
        fprintf(stderr, "genred: --loop needs --file\n");
        return 2;
    }
    if (opt.log_level >= 0)
        genred_log_set_level(&log, (enum genred_log_level)opt.log_level);
    /* PortAudio's JACK backend would otherwise try to start a JACK server. */
    setenv("JACK_NO_START_SERVER", "1", 0);
    char err[1024];
    if (list_devices) {
        if (genred_source_list_devices(stdout, &log, err, sizeof err)) {
            genred_error(&log, "%s", err);
            return 1;
        }
        return 0;
    }
    /* Clients vanish mid-write; the server uses MSG_NOSIGNAL, and nothing
     * else should die of SIGPIPE either. */
    signal(SIGPIPE, SIG_IGN);
    genred *d = genred_new(&opt, &log, err, sizeof err);
    if (!d) {
        genred_error(&log, "%s", err);
        return 1;
    }
    int status = genred_run(d);
    genred_del(d);
    genred_info(&log, "stopped");
    return status;
}
