/*
 * dukpt_config.h for provkit's DUKPT bench (benches/dukpt.rs) only: what CMake makes of
 * openemv/dukpt's src/dukpt_config.h.in (at 1d01ddafa9dac103f4eee2ad1b20483596d83012;
 * Copyright Leon Lynch, LGPL-2.1-or-later, see LICENSE) with gcc on Linux, cut to what
 * dukpt_aes.c reads. HAVE_GMTIME_R and HAVE_WINSOCK_H are left out: only dukpt-tool
 * and Windows use them.
 */

#ifndef DUKPT_CONFIG_H
#define DUKPT_CONFIG_H

#define DUKPT_LIB_VERSION_STRING "1.2.5-1d01dda"
#define HAS_BUILTIN_POPCOUNT
#define HAVE_ARPA_INET_H

#endif
