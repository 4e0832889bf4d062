/* What the live sources share (src/daemon/source.c): the capture counters
 * and the silence watch that declares a device gone, driven with made-up
 * times (the gap detector has its own test, test_gap), the delivery size, and
 * the source kinds' names, which must be the words of genred.conf's
 * [audio] source. */
#include "check.h"

#include "source_impl.h"   /* private to src/daemon */
#include "genred/config.h"

#include <string.h>

static char why[128];

/* Checks every 0.5 s from t0 to t1 with no frames arriving; what the last
 * check said (1 = gone, with why). */
static int watch(genred_capture *c, double t0, double t1)
{
    int silent = 0;
    for (double t = t0; t <= t1 + 1e-9; t += 0.5)
        silent = genred_capture_silent(c, "dev", t, why, sizeof why);
    return silent;
}

int main(void)
{
    genred_capture c;
    genred_source_losses losses;
    /* A short latency: the floor, 2 s of silence. */
    genred_capture_init(&c, 48000, 0.05);
    CHECK(watch(&c, 100.0, 101.5) == 0);
    CHECK(watch(&c, 102.0, 102.5) == 1);
    CHECK_MSG(!strcmp(why, "no audio from dev for 2.5 s"), "why: %s", why);
    /* Frames again: no longer silent. */
    genred_capture_delivered(&c, 4800);
    CHECK(genred_capture_silent(&c, "dev", 103.0, why, sizeof why) == 0);
    CHECK(watch(&c, 103.5, 104.5) == 0);
    genred_capture_overflow(&c);
    genred_capture_losses(&c, &losses);
    CHECK(losses.overflows == 1 && losses.gaps == 0 && losses.gap_frames == 0);
    /* Long buffers: 20 of them. */
    genred_capture_init(&c, 48000, 0.5);
    CHECK_MSG(watch(&c, 0.5, 10.0) == 0, "9.5 s of a 0.5-s-latency device: not gone yet");
    CHECK(watch(&c, 10.5, 11.0) == 1);
    CHECK_MSG(!strcmp(why, "no audio from dev for 10.5 s"), "why: %s", why);
    /* Longer ones (the automatic latency of a PulseAudio source at a long
     * interval): never more than 10 s. */
    genred_capture_init(&c, 48000, 2.0);
    CHECK_MSG(watch(&c, 0.5, 10.0) == 0, "9.5 s of a 2-s-latency device: not gone yet");
    CHECK(watch(&c, 10.5, 11.0) == 1);
    /* The watcher itself did not run for 30 s (a stopped process): the
     * device is judged from then on, not failed at once. */
    genred_capture_init(&c, 48000, 0.05);
    CHECK(genred_capture_silent(&c, "dev", 1.0, why, sizeof why) == 0);
    CHECK(genred_capture_silent(&c, "dev", 31.0, why, sizeof why) == 0);
    CHECK(watch(&c, 31.5, 32.5) == 0);
    CHECK(watch(&c, 33.0, 33.5) == 1);

    /* Deliveries: a power of two within half the latency, at least 256. */
    CHECK(genred_source_period_frames(44100, 0.1) == 2048);
    CHECK(genred_source_period_frames(48000, 0.1) == 2048);
    CHECK(genred_source_period_frames(48000, 0.5) == 8192);
    CHECK(genred_source_period_frames(16000, 0.001) == 256);
    CHECK(genred_source_fragment_frames(48000, 0.1) == 4800);
    CHECK(genred_source_fragment_frames(44100, 1.0) == 44100);
    CHECK(genred_source_fragment_frames(16000, 0.001) == 256);

    /* Kind names: the enum's order is the config choices' order. */
    const genred_config_key *source = NULL;
    for (size_t i = 0; i < genred_config_key_count; i++)
        if (!strcmp(genred_config_keys[i].section, "audio") &&
            !strcmp(genred_config_keys[i].name, "source"))
            source = &genred_config_keys[i];
    CHECK(source != NULL);
    char words[64] = "";
    const enum genred_source_kind kinds[] = {GENRED_SOURCE_DEVICE, GENRED_SOURCE_FILE,
                                             GENRED_SOURCE_PULSE};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        CHECK((size_t)kinds[i] == i);
        if (i)
            strcat(words, "|");
        strcat(words, genred_source_kind_name(kinds[i]));
    }
    CHECK_MSG(source && !strcmp(words, source->choices), "kinds %s, config choices %s", words,
              source ? source->choices : "?");
    return check_exit_status("test_source");
}
