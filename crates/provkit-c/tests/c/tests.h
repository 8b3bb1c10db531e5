/* The test groups, one per source file. */
#ifndef PROVKIT_C_TESTS_TESTS_H
#define PROVKIT_C_TESTS_TESTS_H

void test_misc(void);
void test_cert(void);
void test_store(void);
void test_handshake(void);
void test_session(void);
void test_dukpt(void);
void test_telemetry(void);
void test_keystore(void);

#endif
