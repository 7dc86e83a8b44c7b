/* The mcukit runtime: the serial protocol loop that loads inputs, runs the model and reports outputs and timings
 * (docs/protocol.md), plus the per-layer profiler hooks the generated model calls.
 *
 * A firmware's entry point (mk_hal.h) is just:   int mk_main(void) { mk_runtime_run(); return 0; }
 * The runtime calls only mk_hal.h (board) and the model interface below (generated code). */
#ifndef MK_RUNTIME_H
#define MK_RUNTIME_H

#include "mcukit/mk_types.h"

/* mcukit version reported in the handshake; the project generator may override it with -DMK_VERSION_STRING=... */
#ifndef MK_VERSION_STRING
#define MK_VERSION_STRING "0.1.0"
#endif

/* Layers the profiler can time; layer indices at or above it are not recorded (their time still counts in the
 * total). 4 bytes of RAM per layer. */
#ifndef MK_MAX_LAYERS
#define MK_MAX_LAYERS 256
#endif

/* Current sensor (built only with -DMK_INA219, which the project generator adds with MK_INA219_ADDRESS,
 * MK_INA219_CONFIG_WORD and MK_INA219_CALIBRATION_WORD for a board with a [current_sensor]): the runtime initialises
 * the INA219 at start (a text line says whether it answered; without it the run goes on with no samples), samples it
 * just before and just after every invoke and, in profiled invokes, between layers at most once per conversion, and
 * sends the samples as SENSOR records before TIMING (docs/energy.md). Sampling between layers is taken out of the
 * reported total time. Options: MK_INA219_CHANNEL (0), MK_INA219_MAX_SAMPLES per invoke (64). Without MK_INA219 the
 * runtime contains no sensor code. */

/* Initialise the board (mk_hal_init), print the "mcukit ready ..." line and serve host commands until BYE, which
 * ends with mk_hal_exit(0). Does not return unless mk_hal_exit does, in which case it keeps serving. */
void mk_runtime_run(void);

/* Write one human-readable line (text + CRLF) to the host link. Never call it from inside the model while the
 * runtime is writing a frame (the runtime is single-threaded, so ordinary calls are safe). */
void mk_log(const char *text);

/* Profiler hooks, called by the generated model around layer i (0-based, in execution order). They cost two counter
 * reads per layer and record only while the host asked for a profiled INVOKE. Repeated calls for the same i add. */
void mk_profile_layer_begin(int i);
void mk_profile_layer_end(int i);

/* ---- Model interface: implemented by the generated model (model.c), used by the runtime. ---- */

/* Run one inference on the current inputs; 0 on success, anything else is reported to the host as a model error.
 * Inputs may be overwritten (in-place memory plan): the runtime requires fresh inputs before every invoke. */
int mk_model_invoke(void);
int mk_model_num_inputs(void);
int mk_model_num_outputs(void);
/* Where input/output tensor i lives in the arena and its size in bytes (valid for the program's lifetime). */
void *mk_model_input_ptr(int i);
size_t mk_model_input_bytes(int i);
void *mk_model_output_ptr(int i);
size_t mk_model_output_bytes(int i);
/* Hex digest identifying the model the firmware was generated from (the host compares it with what it expects). */
const char *mk_model_hash(void);
/* Bytes of the tensor arena. */
uint32_t mk_model_arena_bytes(void);
/* Layers the model reports to the profiler and their names (for per-layer timing records). */
int mk_model_num_layers(void);
const char *mk_model_layer_name(int i);

#endif /* MK_RUNTIME_H */
