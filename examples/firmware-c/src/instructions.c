/* Instructions per step, counted by QEMU, as examples/firmware/src/instructions.rs does:
 * with -icount shift=0 every guest instruction advances virtual time by exactly 1 ns, and
 * SysTick, clocked from mps2-an386's 25 MHz core clock, ticks once per 40 instructions.
 * SysTick is 24 bits wide; its interrupt counts the wraps, so a count is exact to one tick
 * (40 instructions) however long the step. `instructions_calibrate` checks the ratio with
 * a loop of a known instruction count before anything is measured. */
#include "board.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

#define RELOAD 0x00ffffffu
#define INSTRUCTIONS_PER_TICK 40u

static volatile uint32_t wraps;

void SysTick_Handler(void)
{
    wraps++;
}

void instructions_start(void)
{
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    /* CLKSOURCE (core clock), TICKINT, ENABLE. */
    SYST_CSR = 0x7;
    /* The current value reads 0 until the first tick loads the reload value. */
    while (SYST_CVR == 0) {
    }
}

/* Ticks since the start. A wrap whose interrupt is still pending (QEMU takes interrupts at
 * translation-block boundaries, a few instructions late) is counted too. */
static uint64_t ticks(void)
{
    for (;;) {
        uint32_t w = wraps;
        uint32_t pending_before = SCB_ICSR & ICSR_PENDSTSET;
        uint32_t current = SYST_CVR;
        uint32_t pending_after = SCB_ICSR & ICSR_PENDSTSET;
        if (pending_before != pending_after || wraps != w) {
            continue; /* a wrap happened while reading: read again */
        }
        uint64_t all = (uint64_t)w + (pending_before ? 1 : 0);
        return all * ((uint64_t)RELOAD + 1) + (RELOAD - current);
    }
}

uint64_t instructions_now(void)
{
    return ticks();
}

uint64_t instructions_since(uint64_t mark)
{
    uint64_t now = ticks();
    return (now > mark ? now - mark : 0) * INSTRUCTIONS_PER_TICK;
}

bool instructions_calibrate(uint64_t *milli)
{
    const uint32_t turns = 4000000;
    uint64_t start = ticks();
    uint32_t n = turns;
    /* Two instructions per turn (subs, bne), registers only. */
    __asm__ volatile("1:\n\t"
                     "subs %0, %0, #1\n\t"
                     "bne 1b\n\t"
                     : "+r"(n)
                     :
                     : "cc");
    uint64_t elapsed = ticks() - start;
    uint64_t instructions = 2ull * turns;
    *milli = instructions * 1000 / (elapsed ? elapsed : 1);
    uint64_t want = INSTRUCTIONS_PER_TICK * 1000ull;
    uint64_t diff = *milli > want ? *milli - want : want - *milli;
    return diff <= 40;
}
