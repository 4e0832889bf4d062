/* Entry points for tests and benchmarks only: they look inside libgenre's
 * objects, which a program using the library has no need to.  Not
 * installed (the public headers are listed in src/lib/meson.build). */
#ifndef GENRE_INSPECT_H
#define GENRE_INSPECT_H

#include "genre/audiofile.h"
#include "genre/frontend.h"
#include "genre/graph.h"
#include "genre/net.h"
#include "conv_kernel.h"

/* The mel filterbank, n_mels rows of n_fft/2+1 weights. */
const float *genre_frontend_mel_matrix(const genre_frontend *fe);
const genre_frontend_spec *genre_frontend_get_spec(const genre_frontend *fe);
/* Which decoder reads the file: "ogg-opus" (the direct one) or "libsndfile". */
const char *genre_audiofile_decoder(const genre_audiofile *f);

/* genre_graph_new / genre_net_new_threads with the conv kernels of one
 * instruction set (conv_kernel.h), which the CPU must run: how the tests
 * cover every kernel this machine could be given. */
genre_graph *genre_graph_new_isa(const genre_model *model, size_t threads, genre_isa isa,
                                 char *err, size_t errlen);
genre_net *genre_net_new_isa(const genre_model *model, size_t threads, genre_isa isa, char *err,
                             size_t errlen);

#endif
