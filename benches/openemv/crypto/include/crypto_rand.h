/**
 * @file crypto_rand.h
 * @brief Random data crypto helper functions
 *
 * Copyright 2021-2022, 2025 Leon Lynch
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of
 * this software and associated documentation files (the "Software"), to deal in
 * the Software without restriction, including without limitation the rights to
 * use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
 * the Software, and to permit persons to whom the Software is furnished to do so,
 * subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in all
 * copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
 * FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
 * COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
 * IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
 * CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */

#ifndef OPENEMV_CRYPTO_RAND_H
#define OPENEMV_CRYPTO_RAND_H

#include <sys/cdefs.h>
#include <stddef.h>

__BEGIN_DECLS

/**
 * Populate buffer with random data
 *
 * @param buf Pointer to buffer
 * @param len Length of buffer in bytes
 */
void crypto_rand(void* buf, size_t len);

/**
 * Populate buffer with non-zero random data
 *
 * @param buf Pointer to buffer
 * @param len Length of buffer in bytes
 */
void crypto_rand_non_zero(void* buf, size_t len);

/**
 * Generate single random byte within target range
 *
 * @param min Minimum random value in the range [0, 255]
 * @param max Maximum random value in the range [@p min, 255]
 *
 * @return Random value in the range [@p min, @p max]
 * @return Less than zero for error
 */
int crypto_rand_byte(unsigned int min, unsigned int max);

__END_DECLS

#endif
