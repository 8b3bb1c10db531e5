/* The board side of the C firmware proof: ARM semihosting for output and exit (QEMU
 * mps2-an386 with -semihosting-config enable=on), a line printer without libc's printf,
 * instruction counting through SysTick, and stack painting. */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Semihosting (src/semihosting.c). */
void sh_write0(const char *text);
_Noreturn void sh_exit(bool success);

/* A line of output, built in a buffer and written at `out_end` (or when full). */
void out_str(const char *text);
void out_u64(uint64_t value);
void out_hex(const uint8_t *bytes, size_t len);
void out_end(void);
/* "[FAIL] <what>" and exit with failure. */
_Noreturn void fail(const char *what);

/* Instructions counted by QEMU (-icount shift=0) through SysTick (src/instructions.c). */
void instructions_start(void);
/* Whether SysTick sees 40 instructions per tick (within 0.1 %); the measured ratio x 1000. */
bool instructions_calibrate(uint64_t *milli);
/* A point in the instruction count; instructions since a point (to the nearest 40). */
uint64_t instructions_now(void);
uint64_t instructions_since(uint64_t mark);

/* Stack painting (src/stack.c). */
/* Paints the free stack below the caller; returns the stack pointer there (the entry). */
uintptr_t stack_paint(void);
/* The deepest point reached since the paint: bytes below `entry`, and from reset. */
void stack_peak(uintptr_t entry, size_t *below_entry, size_t *from_reset);

#endif
