/* Runtime-internal: the current sensor sampled around and inside an invoke (docs/energy.md, "Sampling during an
 * invoke"). Only built with -DMK_INA219 (the project generator adds it, with the prepared words, for a board that has
 * a [current_sensor]); without it every call below is an empty macro, so the runtime has no sensor code or data. */
#ifndef MK_SENSE_H
#define MK_SENSE_H

#include "mcukit/mk_types.h"

#ifdef MK_INA219
/* Reset and configure the sensor, wait for its first conversion and say on the link whether it answered. A sensor
 * that does not answer is reported by a text line and the run goes on without SENSOR records. */
void mk_sense_start(void);
/* At HELLO: retry a sensor that did not answer before (it may have been wired or powered since). */
void mk_sense_hello(void);
/* Around the invoke: clear the log and read a baseline sample (before the window opens), then the closing sample. */
void mk_sense_before(void);
void mk_sense_after(void);
/* Between layers of a profiled invoke (from mk_profile_layer_end): one sample if a conversion period has passed since
 * the last one. Counter ticks spent inside the window on such samples accumulate in mk_sense_overhead(). */
void mk_sense_between_layers(void);
uint32_t mk_sense_overhead(void);
/* The log as SENSOR frames answering `seq` (nothing if the sensor did not answer); called before TIMING. */
void mk_sense_send(uint8_t seq);
#else
#define mk_sense_start() ((void)0)
#define mk_sense_hello() ((void)0)
#define mk_sense_before() ((void)0)
#define mk_sense_after() ((void)0)
#define mk_sense_between_layers() ((void)0)
#define mk_sense_overhead() 0u
#define mk_sense_send(seq) ((void)(seq))
#endif

#endif /* MK_SENSE_H */
