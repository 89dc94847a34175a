/*
 * example_util.h: the helpers every C example shares (static inline, so
 * each example stays one translation unit and needs no extra object file).
 *
 * Include it after "dualsync.h", with _POSIX_C_SOURCE 200809L defined
 * before any include (for nanosleep and sched_yield). Each example prints
 * its verdict from `failures` at the end.
 */
#ifndef DUALSYNC_EXAMPLE_UTIL_H
#define DUALSYNC_EXAMPLE_UTIL_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#error "define _POSIX_C_SOURCE 200809L before any include"
#endif

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dualsync.h"

/* How many checked outcomes were not the expected ones. */
static int failures = 0;

/* Prints "what: STATUS" (part of the compared output) and counts a failure
 * when it is not the expected status. */
static inline void expect(const char *what, dualsync_status got, dualsync_status want) {
    printf("%s: %s\n", what, dualsync_status_str(got));
    if (got != want) {
        printf("  ^ expected %s\n", dualsync_status_str(want));
        failures++;
    }
}

/* Checks without printing (setup, hot loops): anything but DUALSYNC_OK
 * ends the program with exit status 1. */
static inline void check(dualsync_status got, const char *what) {
    if (got != DUALSYNC_OK) {
        fprintf(stderr, "%s failed: %s\n", what, dualsync_status_str(got));
        exit(1);
    }
}

/* One turn of a loop that waits for another thread to get somewhere
 * (queued on a primitive, a counter advanced), polling a count the library
 * reports instead of sleeping for a guessed time:
 *
 *     unsigned long turn = 0;
 *     while (getters_waiting(q) != 1)
 *         poll_pause(&turn, "the getter to block");
 *
 * The first turns yield the CPU, later ones nap 100 us. After about a
 * minute of naps the other thread is deemed stuck: the program says what
 * it waited for on stderr and exits 1 (a clear failure, not a hang). */
static inline void poll_pause(unsigned long *turn, const char *what) {
    enum { YIELDS = 100, NAPS = 600000 };
    if (*turn < YIELDS) {
        sched_yield();
    } else if (*turn < YIELDS + NAPS) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    } else {
        fprintf(stderr, "gave up waiting for %s\n", what);
        exit(1);
    }
    ++*turn;
}

#endif /* DUALSYNC_EXAMPLE_UTIL_H */
