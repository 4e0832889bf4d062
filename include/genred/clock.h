/* The daemon's two clocks, in seconds as doubles: monotonic for intervals
 * and deadlines, wall-clock (epoch) for the times reported to clients. */
#ifndef GENRED_CLOCK_H
#define GENRED_CLOCK_H

double genred_mono_now(void);
double genred_wall_now(void);

#endif
