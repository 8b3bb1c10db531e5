/* ARM semihosting: `bkpt 0xab` with the operation in r0 and its argument in r1. QEMU
 * serves it with -semihosting-config enable=on,target=native. */
#include "board.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
/* SYS_EXIT's reasons (AArch32: passed in r1 directly). QEMU exits 0 for the first, 1 for
 * anything else. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023

static uintptr_t semihosting(uintptr_t op, uintptr_t arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_write0(const char *text)
{
    semihosting(SYS_WRITE0, (uintptr_t)text);
}

_Noreturn void sh_exit(bool success)
{
    semihosting(SYS_EXIT, success ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

static char line[192];
static size_t used;

static void out_flush(void)
{
    line[used] = '\0';
    sh_write0(line);
    used = 0;
}

static void out_char(char c)
{
    if (used == sizeof line - 1) {
        out_flush();
    }
    line[used++] = c;
}

void out_str(const char *text)
{
    while (*text) {
        out_char(*text++);
    }
}

void out_u64(uint64_t value)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n) {
        out_char(digits[--n]);
    }
}

void out_hex(const uint8_t *bytes, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out_char(hex[bytes[i] >> 4]);
        out_char(hex[bytes[i] & 15]);
    }
}

void out_end(void)
{
    out_char('\n');
    out_flush();
}

_Noreturn void fail(const char *what)
{
    out_str("[FAIL] ");
    out_str(what);
    out_end();
    sh_exit(false);
}
