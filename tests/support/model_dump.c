/* Loads a model with the C loader and prints every field as one JSON
 * object (floats with 9 significant digits, enough to round-trip float32),
 * so tests can compare what C reads with what Python wrote.  A version-2
 * model also gets "nodes": name, type, inputs (indices, -1 = the frames),
 * p, and weight/bias when the node has them; frontend.mel_norm is always
 * printed (0 for version 1).
 * Usage: model_dump FILE   (exit 1 and the loader's message on failure) */
#include "genre/json.h"
#include "genre/model.h"

#include <stdio.h>

static void number(genre_json *j, float v)
{
    char b[32];
    snprintf(b, sizeof b, "%.9g", (double)v);
    genre_json_raw(j, b);
}

static void floats(genre_json *j, const float *v, size_t n)
{
    genre_json_begin_array(j);
    for (size_t i = 0; i < n; i++)
        number(j, v[i]);
    genre_json_end_array(j);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: model_dump FILE\n");
        return 2;
    }
    char err[512];
    genre_model *m = genre_model_load(argv[1], err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const genre_frontend_spec *fe = &m->frontend;
    genre_json j;
    genre_json_init(&j);
    genre_json_begin_object(&j);
    genre_json_key(&j, "format_version"); genre_json_int(&j, m->format_version);
    genre_json_key(&j, "crc32"); genre_json_int(&j, m->crc32);
    genre_json_key(&j, "frontend");
    genre_json_begin_object(&j);
    genre_json_key(&j, "sample_rate"); genre_json_int(&j, fe->sample_rate);
    genre_json_key(&j, "n_fft"); genre_json_int(&j, fe->n_fft);
    genre_json_key(&j, "hop"); genre_json_int(&j, fe->hop);
    genre_json_key(&j, "window"); genre_json_int(&j, fe->stft_window);
    genre_json_key(&j, "n_mels"); genre_json_int(&j, fe->n_mels);
    genre_json_key(&j, "fmin"); number(&j, fe->fmin);
    genre_json_key(&j, "fmax"); number(&j, fe->fmax);
    genre_json_key(&j, "mel_scale"); genre_json_int(&j, fe->mel_scale);
    genre_json_key(&j, "log_offset"); number(&j, fe->log_offset);
    genre_json_key(&j, "window_frames"); genre_json_int(&j, fe->window_frames);
    genre_json_key(&j, "mel_norm"); genre_json_int(&j, fe->mel_norm);
    genre_json_key(&j, "norm_mean"); floats(&j, fe->norm_mean, fe->n_mels);
    genre_json_key(&j, "norm_std"); floats(&j, fe->norm_std, fe->n_mels);
    genre_json_end_object(&j);
    genre_json_key(&j, "labels");
    genre_json_begin_array(&j);
    for (uint32_t i = 0; i < m->n_labels; i++)
        genre_json_string(&j, m->labels[i]);
    genre_json_end_array(&j);
    genre_json_key(&j, "layers");
    genre_json_begin_array(&j);
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const genre_layer *l = &m->layers[i];
        genre_json_begin_object(&j);
        genre_json_key(&j, "type"); genre_json_int(&j, l->type);
        genre_json_key(&j, "p");
        genre_json_begin_array(&j);
        for (int k = 0; k < GENRE_LAYER_PARAMS; k++)
            genre_json_int(&j, l->p[k]);
        genre_json_end_array(&j);
        if (l->weight) {
            genre_json_key(&j, "weight"); floats(&j, l->weight, l->weight_len);
            genre_json_key(&j, "bias"); floats(&j, l->bias, l->bias_len);
        }
        genre_json_end_object(&j);
    }
    genre_json_end_array(&j);
    if (m->format_version >= 2) {
        genre_json_key(&j, "nodes");
        genre_json_begin_array(&j);
        for (uint32_t i = 0; i < m->n_nodes; i++) {
            const genre_node *nd = &m->nodes[i];
            genre_json_begin_object(&j);
            genre_json_key(&j, "name"); genre_json_string(&j, nd->name);
            genre_json_key(&j, "type"); genre_json_int(&j, nd->type);
            genre_json_key(&j, "inputs");
            genre_json_begin_array(&j);
            for (uint32_t k = 0; k < nd->n_inputs; k++)
                genre_json_int(&j, nd->inputs[k]);
            genre_json_end_array(&j);
            genre_json_key(&j, "p");
            genre_json_begin_array(&j);
            for (int k = 0; k < GENRE_LAYER_PARAMS; k++)
                genre_json_int(&j, nd->p[k]);
            genre_json_end_array(&j);
            if (nd->weight) {
                genre_json_key(&j, "weight"); floats(&j, nd->weight, nd->weight_len);
                genre_json_key(&j, "bias"); floats(&j, nd->bias, nd->bias_len);
            }
            genre_json_end_object(&j);
        }
        genre_json_end_array(&j);
    }
    genre_json_key(&j, "meta"); genre_json_string(&j, m->meta);
    genre_json_end_object(&j);
    int ok = !j.failed;
    if (ok)
        printf("%s\n", j.buf);
    genre_json_free(&j);
    genre_model_del(m);
    return ok ? 0 : 1;
}
