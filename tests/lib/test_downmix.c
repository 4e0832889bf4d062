/* Downmix (src/lib/downmix.c): the mean of the channels, in place too. */
#include "check.h"

#include "genre/downmix.h"

int main(void)
{
    float st[6] = {1.0f, 0.0f, -0.5f, 0.5f, 0.25f, 0.75f}, mono[3];
    genre_downmix(st, 3, 2, mono);
    CHECK(mono[0] == 0.5f && mono[1] == 0.0f && mono[2] == 0.5f);
    float three[6] = {0.3f, 0.6f, 0.9f, -3.0f, 0.0f, 0.0f};
    genre_downmix(three, 2, 3, three);              /* aliased */
    CHECK_MSG(three[0] > 0.5999f && three[0] < 0.6001f && three[1] == -1.0f, "%g %g", three[0],
              three[1]);
    float m[2] = {0.125f, -1.0f}, out[2];
    genre_downmix(m, 2, 1, out);                    /* mono stays as it is */
    CHECK(out[0] == 0.125f && out[1] == -1.0f);
    return check_exit_status("test_downmix");
}
