/* Sending an INA219 log as SENSOR frames (mk_ina219.h). Separate from the driver because it needs the runtime's
 * frame writer: a program that only samples (or a host test of the driver) links mk_ina219.c alone. */
#include "mcukit/mk_ina219.h"
#include "mcukit/mk_protocol.h"

uint32_t mk_ina219_log_send(const mk_ina219_log *log, uint8_t channel, uint8_t seq) {
    uint8_t rec[MK_INA219_RECORDS_PER_SAMPLE][MK_SENSOR_PAYLOAD_BYTES];
    uint16_t calibration = 0;
    uint32_t frames = 0;
    uint16_t i;
    unsigned k;
    /* The word actually in the device, so a device that lost its calibration (brown-out reset) is noticed. */
    if (mk_ina219_read_reg(log->dev->address, MK_INA219_REG_CALIBRATION, &calibration) != MK_INA219_OK) {
        calibration = (uint16_t)(log->dev->calibration & MK_INA219_CALIBRATION_MASK);
    }
    mk_sensor_payload(rec[0], log->count > 0u ? log->entries[0].counter : 0u, channel,
                      MK_SENSOR_KIND_INA219_CALIBRATION, (int32_t)calibration);
    mk_frame_write(MK_MSG_SENSOR, seq, rec[0], MK_SENSOR_PAYLOAD_BYTES, NULL, 0);
    ++frames;
    for (i = 0; i < log->count; ++i) {
        mk_ina219_payloads(&log->entries[i], channel, rec);
        for (k = 0; k < MK_INA219_RECORDS_PER_SAMPLE; ++k) {
            mk_frame_write(MK_MSG_SENSOR, seq, rec[k], MK_SENSOR_PAYLOAD_BYTES, NULL, 0);
            ++frames;
        }
    }
    return frames;
}
