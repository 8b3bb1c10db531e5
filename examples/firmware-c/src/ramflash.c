#include "ramflash.h"

#include <string.h>

#define WRITE_SIZE 4u

static bool inside(const ramflash *f, uint32_t offset, size_t len)
{
    return offset <= f->size && len <= f->size - offset;
}

static int32_t ramflash_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len)
{
    const ramflash *f = ctx;
    if (!inside(f, offset, len)) {
        return -1;
    }
    memcpy(buf, f->bytes + offset, len);
    return 0;
}

static int32_t ramflash_program(void *ctx, uint32_t offset, const uint8_t *data, size_t len)
{
    ramflash *f = ctx;
    if (!inside(f, offset, len) || offset % WRITE_SIZE || len % WRITE_SIZE) {
        return -1;
    }
    uint8_t *dst = f->bytes + offset;
    if (!f->multiwrite) {
        for (size_t i = 0; i < len; i++) {
            if (dst[i] != 0xff) {
                return -2; /* a second program of a word that is not erased */
            }
        }
    }
    for (size_t i = 0; i < len; i++) {
        dst[i] &= data[i]; /* NOR programming only clears bits */
    }
    return 0;
}

static int32_t ramflash_erase(void *ctx, uint32_t offset, uint32_t len)
{
    ramflash *f = ctx;
    if (!inside(f, offset, len) || offset % f->sector || len % f->sector) {
        return -1;
    }
    memset(f->bytes + offset, 0xff, len);
    return 0;
}

provkit_flash_driver ramflash_driver(ramflash *flash)
{
    memset(flash->bytes, 0xff, flash->size);
    provkit_flash_driver driver = {
        .ctx = flash,
        .read = ramflash_read,
        .program = ramflash_program,
        .erase = ramflash_erase,
        .capacity = flash->size,
        .sector_size = flash->sector,
        .write_size = WRITE_SIZE,
        .multiwrite = flash->multiwrite,
    };
    return driver;
}
