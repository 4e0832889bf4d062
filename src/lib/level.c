/* The level formula (include/genre/level.h). */
#include "genre/level.h"

#include <math.h>

double genre_level_dbfs(double sumsq, uint64_t count)
{
    if (count == 0 || !(sumsq > 0))
        return GENRE_LEVEL_FLOOR_DBFS;
    double db = 10.0 * log10(sumsq / (double)count);
    return db < GENRE_LEVEL_FLOOR_DBFS ? GENRE_LEVEL_FLOOR_DBFS : db;
}
