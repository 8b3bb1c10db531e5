/* NOR flash simulated in RAM, behind provkit's C flash driver (provkit_flash_driver). On a
 * real part these callbacks call the MCU's flash controller. */
#ifndef RAMFLASH_H
#define RAMFLASH_H

#include "provkit.h"

typedef struct {
    uint8_t *bytes;
    uint32_t size;
    uint32_t sector;
    /* Whether a programmed word may be programmed again (bits 1 -> 0). A single-write
     * part refuses it, as flash with ECC does. */
    bool multiwrite;
} ramflash;

/* Erases the whole part (a factory-fresh part reads 0xFF) and describes it to provkit:
 * program size 4 bytes, sectors of `flash->sector` bytes. */
provkit_flash_driver ramflash_driver(ramflash *flash);

#endif
