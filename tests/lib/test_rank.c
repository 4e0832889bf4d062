/* Ranking (src/lib/rank.c): argmax and the top k, ties to the lower index. */
#include "check.h"

#include "genre/rank.h"

#include <math.h>

int main(void)
{
    const float p[] = {0.1f, 0.4f, 0.2f, 0.4f, 0.05f};
    CHECK(genre_argmax(p, 5) == 1);                 /* tie: the lower index */
    CHECK(genre_argmax(p, 1) == 0);
    CHECK(genre_argmax(p, 0) == 0);
    size_t order[5] = {9, 9, 9, 9, 9};
    CHECK(genre_top_k(p, 5, 3, order) == 3);
    CHECK(order[0] == 1 && order[1] == 3 && order[2] == 2);
    CHECK(order[3] == 9);                           /* nothing beyond k written */
    CHECK(genre_top_k(p, 2, 3, order) == 2);        /* k capped at n */
    CHECK(order[0] == 1 && order[1] == 0);
    const float q[] = {NAN, 0.3f, NAN, 0.7f};
    CHECK(genre_argmax(q + 1, 3) == 2);             /* NaN skipped after a number */
    return check_exit_status("test_rank");
}
