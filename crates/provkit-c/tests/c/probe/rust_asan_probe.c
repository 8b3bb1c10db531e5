/* run.sh's check that the Rust side of libprovkit_c.a is instrumented: a deliberate
 * breach of the API's contract (a 3-byte buffer passed as a whole CA certificate) that
 * only Rust code reads past. Under the instrumented library, AddressSanitizer stops it in
 * a provkit frame; uninstrumented, it would go unnoticed (or stop in libc). Not a test:
 * it must fail, and how it fails is what run.sh looks at. */
#include <stdlib.h>
#include <string.h>

#include "provkit.h"
#include "provkit_vectors.h"

int main(void) {
  uint8_t *ca = malloc(3);
  if (ca == NULL) return 2;
  memcpy(ca, CHAIN_ROOT, 3);
  provkit_ca_info info;
  provkit_status st = provkit_ca_parse(ca, sizeof CHAIN_ROOT, &info);
  free(ca);
  return st == PROVKIT_OK ? 0 : 3;
}
