/* base — the few helpers every layer needs and none should write again:
 * array length, monotonic clocks, SHA-256 as hex. It depends on nothing
 * above libc and OpenSSL, so any module may include it. */
#ifndef MEDQA_BASE_H
#define MEDQA_BASE_H

#include <stddef.h>
#include <stdint.h>

/* The number of elements of a true array (not a pointer). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in microseconds and in milliseconds: for durations and
 * deadlines, never for wall-clock time. */
int64_t base_now_us(void);
int64_t base_now_ms(void);

/* SHA-256 of len bytes at data, written as lowercase hex into out: the
 * first `nbytes` bytes of the digest (1–32), so out needs 2 * nbytes + 1
 * characters and is NUL-terminated. On an OpenSSL failure the digest is
 * taken as all zeros, which callers treat as "no match" rather than an
 * error: every caller uses it as a tag or a lookup key. */
void base_sha256_hex(const void *data, size_t len, size_t nbytes, char *out);

/* Writes nbytes of md as lowercase hex into out (2 * nbytes + 1 chars). */
void base_hex(const unsigned char *md, size_t nbytes, char *out);

#endif
