/*
 * barrier_phases.c: pthreads working in phases, meeting at a
 * dualsync_barrier_t between them.
 *
 * 1. Four threads run 200 phases; in each, every thread writes its slot of
 *    a shared array, meets the others (wait, wait_timeout INFINITE, a long
 *    wait_timeout), then checks every slot of the phase is written. The
 *    indices of each phase must be exactly 0..3 with one leader (index 3),
 *    which tallies the phase.
 * 2. A lone waiter with wait_timeout(20 ms) times out and withdraws: the
 *    barrier is not broken and n_waiting is back to 0; try_wait gives
 *    WOULD_BLOCK without arriving.
 * 3. abort wakes a waiter with BROKEN, and later waits get BROKEN until
 *    reset; after reset the barrier works again.
 * 4. Misuse: 0 parties gives NULL; NULL handles / out pointers are
 *    INVALID_ARGUMENT; freeing with a waiter is BUSY; free(NULL) is OK.
 *
 * Output is deterministic; exit status 0 on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualsync.h"
#include "example_util.h"

#define THREADS 4
#define PHASES 200

static dualsync_barrier_t *barrier;
static int slots[PHASES][THREADS];
static int seen_index[PHASES][THREADS]; /* written by the index owner only */
static int leaders[PHASES];
static int phases_tallied = 0;
static int bad_phases = 0;

static dualsync_status meet(int style, size_t *index) {
    switch (style) {
    case 0:
        return dualsync_barrier_wait(barrier, index);
    case 1:
        return dualsync_barrier_wait_timeout(barrier, DUALSYNC_TIMEOUT_INFINITE, index);
    default:
        return dualsync_barrier_wait_timeout(barrier, 60ull * 1000 * 1000 * 1000, index);
    }
}

static void *worker(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int p = 0; p < PHASES; p++) {
        slots[p][me] = p + 1;
        size_t index = 99;
        check(meet(me % 3, &index), "wait");
        if (index >= THREADS) {
            fprintf(stderr, "index out of range: %zu\n", index);
            exit(1);
        }
        seen_index[p][index] += 1;
        for (int i = 0; i < THREADS; i++)
            if (slots[p][i] != p + 1)
                __atomic_add_fetch(&bad_phases, 1, __ATOMIC_RELAXED);
        if (index == THREADS - 1) {
            leaders[p]++;
            __atomic_add_fetch(&phases_tallied, 1, __ATOMIC_RELAXED);
        }
        /* second meeting: everyone has recorded its index for phase p */
        check(meet(0, &index), "wait 2");
    }
    return NULL;
}

static void *lone_waiter(void *arg) {
    (void)arg;
    size_t index;
    return (void *)(intptr_t)dualsync_barrier_wait(barrier, &index);
}

int main(void) {
    /* 1. phases */
    barrier = dualsync_barrier_new(THREADS);
    if (!barrier)
        return 1;
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int index_errors = 0;
    for (int p = 0; p < PHASES; p++) {
        for (int i = 0; i < THREADS; i++)
            if (seen_index[p][i] != 1)
                index_errors++;
        if (leaders[p] != 1)
            index_errors++;
    }
    printf("phases: %d tallied, %d with an unfinished slot, %d index errors\n", phases_tallied,
           bad_phases, index_errors);
    if (phases_tallied != PHASES || bad_phases || index_errors)
        failures++;
    size_t n = 0;
    check(dualsync_barrier_parties(barrier, &n), "parties");
    printf("parties: %zu\n", n);

    /* 2. timeout withdraws */
    size_t index = 0;
    expect("lone wait_timeout(20 ms)", dualsync_barrier_wait_timeout(barrier, 20000000, &index),
           DUALSYNC_TIMED_OUT);
    bool broken = true;
    check(dualsync_barrier_is_broken(barrier, &broken), "is_broken");
    check(dualsync_barrier_n_waiting(barrier, &n), "n_waiting");
    printf("after the timeout: broken %d, waiting %zu\n", broken, n);
    expect("try_wait", dualsync_barrier_try_wait(barrier, &index), DUALSYNC_WOULD_BLOCK);
    expect("wait_timeout(0)", dualsync_barrier_wait_timeout(barrier, 0, &index),
           DUALSYNC_WOULD_BLOCK);

    /* 3. abort / reset */
    pthread_t lone;
    pthread_create(&lone, NULL, lone_waiter, NULL);
    unsigned long turn = 0;
    for (;;) {
        check(dualsync_barrier_n_waiting(barrier, &n), "n_waiting");
        if (n == 1)
            break;
        poll_pause(&turn, "the lone waiter to block");
    }
    expect("free with a waiter", dualsync_barrier_free(barrier), DUALSYNC_BUSY);
    expect("abort", dualsync_barrier_abort(barrier), DUALSYNC_OK);
    void *ret;
    pthread_join(lone, &ret);
    expect("the waiter after abort", (dualsync_status)(intptr_t)ret, DUALSYNC_BROKEN);
    expect("wait after abort", dualsync_barrier_wait(barrier, &index), DUALSYNC_BROKEN);
    expect("try_wait after abort", dualsync_barrier_try_wait(barrier, &index), DUALSYNC_BROKEN);
    check(dualsync_barrier_is_broken(barrier, &broken), "is_broken");
    printf("broken: %d\n", broken);
    expect("reset", dualsync_barrier_reset(barrier), DUALSYNC_OK);
    check(dualsync_barrier_is_broken(barrier, &broken), "is_broken");
    printf("broken after reset: %d\n", broken);
    dualsync_barrier_t *one = dualsync_barrier_new(1);
    expect("wait on a 1-party barrier", dualsync_barrier_wait(one, &index), DUALSYNC_OK);
    printf("its index: %zu\n", index);

    /* 4. misuse */
    printf("new(0) is NULL: %d\n", dualsync_barrier_new(0) == NULL);
    expect("wait(NULL)", dualsync_barrier_wait(NULL, &index), DUALSYNC_INVALID_ARGUMENT);
    expect("wait(index_out = NULL)", dualsync_barrier_wait(one, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("n_waiting(out = NULL)", dualsync_barrier_n_waiting(one, NULL),
           DUALSYNC_INVALID_ARGUMENT);
    expect("free(NULL)", dualsync_barrier_free(NULL), DUALSYNC_OK);
    expect("free", dualsync_barrier_free(one), DUALSYNC_OK);
    expect("free", dualsync_barrier_free(barrier), DUALSYNC_OK);

    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
