/* Peak stack by painting, as examples/firmware/src/stack.rs does: fill the free stack
 * below the current frame with a pattern, run a step, and find the deepest word that no
 * longer holds it. The stack grows down from `_stack_top` (end of RAM) towards
 * `_stack_limit` (end of .bss), link.ld. */
#include "board.h"

#define PAINT 0xDEADBEEFu

extern uint32_t _stack_top;
extern uint32_t _stack_limit;

__attribute__((noinline)) uintptr_t stack_paint(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    /* Up to a little below this frame; the step runs below its caller's frame. */
    for (volatile uint32_t *at = &_stack_limit; (uintptr_t)at < sp - 64; at++) {
        *at = PAINT;
    }
    return sp;
}

void stack_peak(uintptr_t entry, size_t *below_entry, size_t *from_reset)
{
    volatile uint32_t *at = &_stack_limit;
    while (at < &_stack_top && *at == PAINT) {
        at++;
    }
    uintptr_t deepest = (uintptr_t)at;
    *below_entry = entry > deepest ? entry - deepest : 0;
    *from_reset = (uintptr_t)&_stack_top - deepest;
}
