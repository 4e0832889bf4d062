#include "genred/report.h"

#include "genre/model_json.h"

#include <math.h>
#include <stdio.h>

const char *genred_report_genre(const genred_result *r, const genre_model *model)
{
    if (!genred_state_has_genre(r->state) || r->top < 0 || !model ||
        (uint32_t)r->top >= model->n_labels)
        return NULL;
    return model->labels[r->top];
}

static void string_or_null(genre_json *j, const char *s)
{
    if (s)
        genre_json_string(j, s);
    else
        genre_json_null(j);
}

/* Probabilities are sent rounded to 6 significant digits (genre_json_number),
 * plenty for a display and for summing to 1 within 1e-5. */
void genred_report_result(genre_json *j, const char *type, const genred_result *r,
                          const genre_model *model, const char *model_name)
{
    const char *genre = genred_report_genre(r, model);
    genre_json_begin_object(j);
    genre_json_key(j, "type");
    genre_json_string(j, type);
    genre_json_key(j, "state");
    genre_json_string(j, genred_state_name(r->state));
    genre_json_key(j, "seq");
    genre_json_int(j, (long long)r->seq);
    genre_json_key(j, "genre");
    string_or_null(j, genre);
    genre_json_key(j, "confidence");
    if (genre)
        genre_json_number(j, r->confidence);
    else
        genre_json_null(j);
    if (r->state == GENRED_STATE_WARMING) {
        genre_json_key(j, "progress");
        genre_json_number(j, r->progress);
    }
    if (r->has_probs && model && r->n_labels == model->n_labels) {
        genre_json_key(j, "probabilities");
        genre_json_begin_object(j);
        for (size_t k = 0; k < r->n_labels; k++) {
            genre_json_key(j, model->labels[k]);
            genre_json_number(j, r->probs[k]);
        }
        genre_json_end_object(j);
    }
    if (r->has_window) {
        genre_json_key(j, "window");
        genre_json_begin_object(j);
        genre_json_key(j, "start");
        genre_json_fixed(j, r->window_start, 3);
        genre_json_key(j, "end");
        genre_json_fixed(j, r->window_end, 3);
        genre_json_end_object(j);
    }
    genre_json_key(j, "time");
    if (r->time > 0)
        genre_json_fixed(j, r->time, 3);
    else
        genre_json_null(j);
    genre_json_key(j, "level_dbfs");
    if (r->seq > 0 && r->state != GENRED_STATE_NO_INPUT)
        genre_json_number(j, round(r->level_dbfs * 10) / 10);
    else
        genre_json_null(j);
    if (r->lost_s > 0) {
        genre_json_key(j, "lost_s");
        genre_json_fixed(j, r->lost_s, 3);
    }
    genre_json_key(j, "model");
    genre_json_string(j, model_name ? model_name : "");
    if (model) {
        genre_json_key(j, "model_id");
        genre_model_json_identity(j, model, model_name);
    }
    genre_json_end_object(j);
}

void genred_report_change(genre_json *j, const genred_result *r, const char *from,
                          const char *to)
{
    genre_json_begin_object(j);
    genre_json_key(j, "type");
    genre_json_string(j, "change");
    genre_json_key(j, "seq");
    genre_json_int(j, (long long)r->seq);
    genre_json_key(j, "from");
    string_or_null(j, from);
    genre_json_key(j, "to");
    string_or_null(j, to);
    genre_json_key(j, "state");
    genre_json_string(j, genred_state_name(r->state));
    genre_json_key(j, "confidence");
    if (to)
        genre_json_number(j, r->confidence);
    else
        genre_json_null(j);
    genre_json_key(j, "time");
    genre_json_fixed(j, r->time, 3);
    genre_json_end_object(j);
}

static void key_string_or_null(genre_json *j, const char *key, const char *value)
{
    genre_json_key(j, key);
    if (value && *value)
        genre_json_string(j, value);
    else
        genre_json_null(j);
}

void genred_report_stats(genre_json *j, const genred_stats_facts *f)
{
    const genred_engine_stats *st = &f->engine;
    genre_json_key(j, "uptime");
    genre_json_fixed(j, f->uptime, 3);
    genre_json_key(j, "state");
    genre_json_string(j, genred_state_name(f->state));
    genre_json_key(j, "frames");
    genre_json_int(j, (long long)st->frames);
    genre_json_key(j, "overruns");
    genre_json_int(j, (long long)st->overruns);
    genre_json_key(j, "dropped_frames");
    genre_json_int(j, (long long)st->dropped_frames);
    genre_json_key(j, "gaps");
    genre_json_int(j, (long long)st->gaps);
    genre_json_key(j, "gap_frames");
    genre_json_int(j, (long long)st->gap_frames);
    genre_json_key(j, "nonfinite_samples");
    genre_json_int(j, (long long)st->nonfinite_samples);
    genre_json_key(j, "model_errors");
    genre_json_int(j, (long long)st->model_errors);
    genre_json_key(j, "inferences");
    genre_json_int(j, (long long)st->inferences);
    genre_json_key(j, "inference_ms_last");
    genre_json_number(j, st->inference_ms_last);
    genre_json_key(j, "inference_ms_mean");
    genre_json_number(j, st->inference_ms_mean);
    genre_json_key(j, "level_dbfs");
    genre_json_number(j, round(st->level_dbfs * 10) / 10);
    genre_json_key(j, "source");
    genre_json_string(j, f->source_kind);
    genre_json_key(j, "device");
    genre_json_string(j, f->source_name);
    genre_json_key(j, "sample_rate");
    if (f->source_open)
        genre_json_number(j, f->sample_rate);
    else
        genre_json_null(j);
    genre_json_key(j, "channels");
    if (f->source_open)
        genre_json_int(j, f->channels);
    else
        genre_json_null(j);
    key_string_or_null(j, "input_error", f->input_error);
    genre_json_key(j, "interval");
    genre_json_number(j, f->inference->interval);
    genre_json_key(j, "smoothing");
    genre_json_int(j, f->inference->smoothing);
    genre_json_key(j, "threads");
    genre_json_int(j, f->inference->threads);
    genre_json_key(j, "silence_dbfs");
    genre_json_number(j, f->inference->silence_dbfs);
    genre_json_key(j, "config_generation");
    genre_json_int(j, (long long)f->config_generation);
    key_string_or_null(j, "config_path", f->config_path);
    genre_json_key(j, "last_reload");
    if (f->last_reload > 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.3f", f->last_reload);
        genre_json_raw(j, buf);
    } else {
        genre_json_null(j);
    }
    key_string_or_null(j, "last_reload_error", f->last_reload_error);
    genre_json_key(j, "model");
    genre_json_string(j, f->model_name);
    genre_json_key(j, "model_path");
    genre_json_string(j, f->model_path);
}
