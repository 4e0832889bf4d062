/* genre_level_dbfs (src/lib/level.c): full-scale square 0 dBFS, sine -3,
 * a tenth of full scale -20, silence and nothing at the floor. */
#include "check.h"

#include "genre/level.h"

#include <math.h>

int main(void)
{
    double sine = 0;
    for (int i = 0; i < 48000; i++) {
        double x = sin(2 * M_PI * 1000.0 * i / 48000.0);
        sine += x * x;
    }
    CHECK_MSG(fabs(genre_level_dbfs(48000.0, 48000)) < 1e-12, "square wave: %g", genre_level_dbfs(48000.0, 48000));
    CHECK_MSG(fabs(genre_level_dbfs(sine, 48000) + 3.0103) < 1e-3, "sine: %g", genre_level_dbfs(sine, 48000));
    CHECK(fabs(genre_level_dbfs(0.01 * 100, 100) + 20.0) < 1e-9);
    CHECK(genre_level_dbfs(0, 100) == GENRE_LEVEL_FLOOR_DBFS);
    CHECK(genre_level_dbfs(1.0, 0) == GENRE_LEVEL_FLOOR_DBFS);
    CHECK(genre_level_dbfs(1e-30, 1) == GENRE_LEVEL_FLOOR_DBFS);
    CHECK(genre_level_dbfs(NAN, 1) == GENRE_LEVEL_FLOOR_DBFS);
    CHECK(GENRE_SILENCE_DBFS > GENRE_LEVEL_FLOOR_DBFS);
    return check_exit_status("test_level");
}
