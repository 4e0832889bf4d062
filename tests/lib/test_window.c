/* The rolling frame window (src/lib/window.c): zero rows before it fills,
 * always the newest frames oldest first, contiguous, across many wraps. */
#include "check.h"

#include "genre/window.h"

int main(void)
{
    enum { FRAMES = 5, MELS = 3 };
    genre_window *w = genre_window_new(FRAMES, MELS);
    CHECK(w != NULL);
    if (!w)
        return check_exit_status("test_window");
    CHECK(genre_window_count(w) == 0 && !genre_window_full(w));
    for (int t = 0; t < 23; t++) {
        float frame[MELS] = {(float)t, (float)t + 0.25f, (float)t + 0.5f};
        genre_window_push(w, frame);
        CHECK(genre_window_count(w) == (uint64_t)t + 1);
        CHECK(genre_window_full(w) == (t + 1 >= FRAMES));
        const float *v = genre_window_view(w);
        /* Row r holds frame t - (FRAMES - 1 - r), or zeros before the first. */
        int ok = 1;
        for (int r = 0; r < FRAMES; r++) {
            int frame_of_row = t - (FRAMES - 1 - r);
            for (int m = 0; m < MELS; m++) {
                float want = frame_of_row < 0 ? 0.0f : (float)frame_of_row + 0.25f * (float)m;
                ok &= v[r * MELS + m] == want;
            }
        }
        CHECK_MSG(ok, "window after frame %d", t);
    }
    genre_window_reset(w);
    CHECK(genre_window_count(w) == 0 && !genre_window_full(w));
    const float *v = genre_window_view(w);
    int zero = 1;
    for (int i = 0; i < FRAMES * MELS; i++)
        zero &= v[i] == 0.0f;
    CHECK_MSG(zero, "reset leaves zero rows");
    genre_window_del(w);
    genre_window_del(NULL);
    return check_exit_status("test_window");
}
