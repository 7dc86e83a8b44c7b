/* Test-only model implementing the model interface of mk_runtime.h, plus faults on request.
 * Two inputs, two outputs: out0[i] = in0[i] + 1, out1[i] = in1[n-1-i] ^ 0x5A. Three "layers" that sleep
 * 300, 600 and 900 us, so timings have known lower bounds.
 * MK_FAKE_FAULT=<kind>:<k> in the environment makes invoke number k misbehave: hang, crash (process exits), error
 * (returns 5), reboot (prints the boot banner again); MK_FAKE_FAULT=garbage prints text, noise and a false frame
 * header before every answer. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcukit/mk_hal.h"
#include "mcukit/mk_protocol.h"
#include "mcukit/mk_runtime.h"

#ifndef IN0
#define IN0 300
#endif
#ifndef IN1
#define IN1 700
#endif

static int8_t arena[IN0 + IN1 + IN0 + IN1];
static int invokes;

static void sleep_us(long us) {
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

static void emit_garbage(void) {
    static const uint8_t noise[] = {0x00, 0xFF, 0xA5, 0x13, 0x5A, 0xA5, 0xA5, 0x80, 0x0D};
    mk_log("mk: garbage ahead");
    mk_hal_write(noise, sizeof noise);
    /* A false frame: valid header announcing 200 bytes that never come as such. */
    uint8_t hdr[7] = {MK_FRAME_SYNC0, MK_FRAME_SYNC1, MK_MSG_OUTPUT, 0, 200, 0, 0};
    hdr[6] = mk_crc8(&hdr[2], 4);
    mk_hal_write(hdr, sizeof hdr);
    mk_log("");
}

int mk_model_invoke(void) {
    ++invokes;
    const char *fault = getenv("MK_FAKE_FAULT");
    if (fault && strcmp(fault, "garbage") == 0) emit_garbage();
    const char *colon = fault ? strchr(fault, ':') : NULL;
    if (colon && atoi(colon + 1) == invokes) {
        if (strncmp(fault, "hang", 4) == 0) {
            for (;;) sleep_us(100000);
        } else if (strncmp(fault, "crash", 5) == 0) {
            _exit(70);
        } else if (strncmp(fault, "error", 5) == 0) {
            return 5;
        } else if (strncmp(fault, "reboot", 6) == 0) {
            mk_log("mcukit ready proto=1 board=host-loopback (fake reboot)");
        }
    }
    const int8_t *in0 = arena;
    const int8_t *in1 = arena + IN0;
    int8_t *out0 = arena + IN0 + IN1;
    int8_t *out1 = out0 + IN0;
    mk_profile_layer_begin(0);
    for (int i = 0; i < IN0; ++i) out0[i] = (int8_t)(in0[i] + 1);
    sleep_us(300);
    mk_profile_layer_end(0);
    mk_profile_layer_begin(1);
    for (int i = 0; i < IN1; ++i) out1[i] = (int8_t)(in1[IN1 - 1 - i] ^ 0x5A);
    sleep_us(600);
    mk_profile_layer_end(1);
    mk_profile_layer_begin(2);
    sleep_us(900);
    mk_profile_layer_end(2);
    return 0;
}

int mk_model_num_inputs(void) { return 2; }
int mk_model_num_outputs(void) { return 2; }
void *mk_model_input_ptr(int i) { return i == 0 ? arena : arena + IN0; }
size_t mk_model_input_bytes(int i) { return i == 0 ? IN0 : IN1; }
void *mk_model_output_ptr(int i) { return i == 0 ? arena + IN0 + IN1 : arena + IN0 + IN1 + IN0; }
size_t mk_model_output_bytes(int i) { return i == 0 ? IN0 : IN1; }
const char *mk_model_hash(void) { return "fake0123456789ab"; }
uint32_t mk_model_arena_bytes(void) { return (uint32_t)sizeof arena; }
int mk_model_num_layers(void) { return 3; }
const char *mk_model_layer_name(int i) {
    static const char *const names[] = {"add_one", "reverse_xor", "idle"};
    return (i >= 0 && i < 3) ? names[i] : "";
}

int main(void) {
    mk_runtime_run();
    return 0;
}
