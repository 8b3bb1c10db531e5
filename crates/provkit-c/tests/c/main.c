/* The C API tests of provkit-c: runs every group, then checks that every function the
 * header declares got checks, and prints the summary. Run through run.sh. */
#include <stdio.h>

#include "harness.h"
#include "provkit.h"
#include "provkit_functions.h"
#include "tests.h"

#define NAME(f) #f,
static const char *const names[] = {PROVKIT_FUNCTIONS(NAME)};
/* Each name is a function the library really exports (this does not link otherwise). */
#define ADDRESS(f) (void (*)(void))(f),
static void (*const addresses[])(void) = {PROVKIT_FUNCTIONS(ADDRESS)};

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("provkit C API tests: %zu functions in provkit.h, provider %s, flash unit %u\n",
         sizeof names / sizeof names[0], provkit_provider_name(), provkit_flash_unit());
  (void)addresses;
  struct {
    const char *name;
    void (*run)(void);
  } groups[] = {
      {"misc", test_misc},           {"cert", test_cert},       {"store", test_store},
      {"handshake", test_handshake}, {"session", test_session}, {"dukpt", test_dukpt},
      {"telemetry", test_telemetry}, {"keystore", test_keystore},
  };
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    h_section(groups[i].name);
    groups[i].run();
    h_free_all();
  }
  return h_report(names, sizeof names / sizeof names[0]) == 0 ? 0 : 1;
}
