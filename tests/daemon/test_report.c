/* The daemon's reports (src/daemon/report.c): the genre named only in
 * states that have one, the result object's optional members, and the
 * daemon's part of `stats` with its nulls (doc/protocol.md). */
#include "check.h"

#include "genred/report.h"

#include <string.h>

static int has(const genre_json *j, const char *text)
{
    return j->buf && strstr(j->buf, text) != NULL;
}

static void test_genre(void)
{
    const char *labels[] = {"jazz", "rock"};
    genre_model m = {.n_labels = 2, .labels = labels};
    genred_result r = {.state = GENRED_STATE_OK, .top = 1};
    CHECK(strcmp(genred_report_genre(&r, &m), "rock") == 0);
    r.state = GENRED_STATE_DEGRADED;
    CHECK(genred_report_genre(&r, &m) != NULL);
    r.state = GENRED_STATE_SILENCE;
    CHECK(genred_report_genre(&r, &m) == NULL);
    r.state = GENRED_STATE_OK;
    r.top = 2;                          /* beyond the model's labels */
    CHECK(genred_report_genre(&r, &m) == NULL);
    r.top = -1;
    CHECK(genred_report_genre(&r, &m) == NULL);
    r.top = 0;
    CHECK(genred_report_genre(&r, NULL) == NULL);
}

static void test_result(void)
{
    const char *labels[] = {"jazz", "rock"};
    genre_model m = {.n_labels = 2, .labels = labels};
    genred_result r = {.seq = 7, .state = GENRED_STATE_WARMING, .progress = 0.5, .top = -1,
                       .n_labels = 2, .time = 1700000000.25, .level_dbfs = -20.04};
    genre_json j;
    genre_json_init(&j);
    genred_report_result(&j, "result", &r, NULL, "m.gmdl");
    CHECK_MSG(has(&j, "{\"type\":\"result\",\"state\":\"warming\",\"seq\":7,\"genre\":null,"
                      "\"confidence\":null,\"progress\":0.5,"), "%s", j.buf);
    CHECK(has(&j, "\"level_dbfs\":-20,"));
    CHECK(!has(&j, "probabilities") && !has(&j, "lost_s") && !has(&j, "window"));
    CHECK(!has(&j, "model_id"));        /* no model: no identity */

    genre_json_reset(&j);
    r.state = GENRED_STATE_DEGRADED;
    r.top = 1;
    r.confidence = 0.75f;
    r.has_probs = 1;
    r.probs[0] = 0.25f;
    r.probs[1] = 0.75f;
    r.lost_s = 0.5;
    r.has_window = 1;
    r.window_start = 1;
    r.window_end = 11;
    genred_report_result(&j, "status", &r, &m, "m.gmdl");
    CHECK_MSG(has(&j, "\"genre\":\"rock\",\"confidence\":0.75,\"probabilities\":"
                      "{\"jazz\":0.25,\"rock\":0.75},\"window\":{\"start\":1.000,\"end\":11.000}"),
              "%s", j.buf);
    CHECK(has(&j, "\"lost_s\":0.500"));
    CHECK(!has(&j, "progress"));

    genre_json_reset(&j);
    r.state = GENRED_STATE_NO_INPUT;
    genred_report_result(&j, "status", &r, &m, "m.gmdl");
    CHECK_MSG(has(&j, "\"level_dbfs\":null"), "%s", j.buf);

    genre_json_reset(&j);
    genred_report_change(&j, &r, "jazz", NULL);
    CHECK_MSG(has(&j, "{\"type\":\"change\",\"seq\":7,\"from\":\"jazz\",\"to\":null,"
                      "\"state\":\"no-input\",\"confidence\":null,"), "%s", j.buf);
    genre_json_free(&j);
}

static void test_stats(void)
{
    genred_inference_config inference = {.interval = 1.0, .smoothing = 3, .threads = 2,
                                         .silence_dbfs = -60};
    genred_stats_facts f = {
        .uptime = 12.5,
        .state = GENRED_STATE_NO_INPUT,
        .engine = {.frames = 48000, .overruns = 2, .inferences = 9, .level_dbfs = -33.333},
        .source_kind = "device",
        .source_name = "pulse",
        .input_error = "device gone",
        .inference = &inference,
        .config_generation = 3,
        .config_path = "",
        .model_name = "genre.gmdl",
        .model_path = "/m/genre.gmdl",
    };
    genre_json j;
    genre_json_init(&j);
    genred_report_stats(&j, &f);
    CHECK_MSG(j.buf && strncmp(j.buf, "\"uptime\":12.500,\"state\":\"no-input\",\"frames\":48000,"
                                     "\"overruns\":2,", 54) == 0, "%s", j.buf);
    CHECK(has(&j, "\"level_dbfs\":-33.3,"));
    CHECK(has(&j, "\"source\":\"device\",\"device\":\"pulse\",\"sample_rate\":null,"
                  "\"channels\":null,\"input_error\":\"device gone\","));
    CHECK(has(&j, "\"interval\":1,\"smoothing\":3,\"threads\":2,\"silence_dbfs\":-60,"));
    CHECK(has(&j, "\"config_generation\":3,\"config_path\":null,\"last_reload\":null,"
                  "\"last_reload_error\":null,\"model\":\"genre.gmdl\","
                  "\"model_path\":\"/m/genre.gmdl\""));
    CHECK(j.buf[0] != '{');             /* members only: the server adds the braces */

    genre_json_reset(&j);
    f.source_open = 1;
    f.sample_rate = 44100;
    f.channels = 2;
    f.input_error = NULL;
    f.last_reload = 1700000000.5;
    f.last_reload_error = "bad key";
    genred_report_stats(&j, &f);
    CHECK_MSG(has(&j, "\"sample_rate\":44100,\"channels\":2,\"input_error\":null,"), "%s", j.buf);
    CHECK(has(&j, "\"last_reload\":1700000000.500,\"last_reload_error\":\"bad key\""));
    genre_json_free(&j);
}

int main(void)
{
    test_genre();
    test_result();
    test_stats();
    return check_exit_status("test_report");
}
