#include "rng.h"

static int32_t replay_fill(void *ctx, uint8_t *buf, size_t len)
{
    vector_replay *r = ctx;
    for (size_t i = 0; i < len; i++) {
        buf[i] = r->len ? r->bytes[r->pos % r->len] : 0;
        r->pos++;
    }
    return 0;
}

provkit_rng vector_replay_rng(vector_replay *replay, const uint8_t *bytes, size_t len)
{
    replay->bytes = bytes;
    replay->len = len;
    replay->pos = 0;
    provkit_rng rng = {.fill = replay_fill, .ctx = replay};
    return rng;
}

static int32_t placeholder_fill(void *ctx, uint8_t *buf, size_t len)
{
    placeholder_not_random *p = ctx;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0) {
            p->state += 0x9e3779b97f4a7c15ull;
        }
        uint64_t z = p->state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        buf[i] = (uint8_t)(z >> (8 * (i % 8)));
    }
    return 0;
}

provkit_rng placeholder_not_random_rng(placeholder_not_random *p, uint64_t seed)
{
    p->state = seed;
    provkit_rng rng = {.fill = placeholder_fill, .ctx = p};
    return rng;
}

static int32_t failing_fill(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 1;
}

provkit_rng failing_rng(void)
{
    provkit_rng rng = {.fill = failing_fill, .ctx = NULL};
    return rng;
}
