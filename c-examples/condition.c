/*
 * condition.c: the asyncio Condition demo with pthreads, one
 * dualsync_condition_t and the dualsync_mutex_t it is used with.
 *
 * Five consumers wait on the condition (each holds the mutex, counts itself
 * as waiting, then calls dualsync_condition_wait, which releases the mutex
 * and takes it back before returning). Main releases them with notify(1),
 * then notify(2), then notify_all: FIFO, so consumers 1, then 2 and 3, then
 * 4 and 5. Then: a timed wait returns TIMED_OUT with the mutex locked again;
 * waiting with an unlocked mutex is NOT_LOCKED; NULL arguments are
 * INVALID_ARGUMENT; free(NULL) is OK.
 *
 * Output is deterministic (main prints everything, in order); exit status 0
 * on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "dualsync.h"
#include "example_util.h"

#define CONSUMERS 5

static dualsync_mutex_t *mutex;
static dualsync_condition_t *cond;
/* Guarded by `mutex`. */
static int waiting = 0;
static int triggered[CONSUMERS];
static int n_triggered = 0;

static void *consumer(void *arg) {
    int id = (int)(size_t)arg;
    check(dualsync_mutex_lock(mutex), "lock");
    waiting++;
    check(dualsync_condition_wait(cond, mutex), "condition_wait");
    /* The mutex is ours again. */
    triggered[id] = 1;
    n_triggered++;
    check(dualsync_mutex_unlock(mutex), "unlock");
    return NULL;
}

/* Reads a counter under the mutex until it reaches `want`. */
static void wait_for(int *counter, int want) {
    unsigned long turn = 0;
    for (;;) {
        check(dualsync_mutex_lock(mutex), "lock");
        int v = *counter;
        check(dualsync_mutex_unlock(mutex), "unlock");
        if (v >= want) {
            return;
        }
        poll_pause(&turn, "the consumers");
    }
}

static void print_triggered(void) {
    check(dualsync_mutex_lock(mutex), "lock");
    printf("triggered:");
    for (int i = 0; i < CONSUMERS; i++) {
        if (triggered[i]) {
            printf(" %d", i + 1);
        }
    }
    printf("\n");
    check(dualsync_mutex_unlock(mutex), "unlock");
}

static void notify(size_t n, size_t want_woken, int total) {
    size_t woken = 0;
    check(dualsync_mutex_lock(mutex), "lock");
    dualsync_status st = n == SIZE_MAX ? dualsync_condition_notify_all(cond, &woken)
                                       : dualsync_condition_notify(cond, n, &woken);
    check(dualsync_mutex_unlock(mutex), "unlock");
    if (n == SIZE_MAX) {
        printf("notify_all: %s, woke %zu\n", dualsync_status_str(st), woken);
    } else {
        printf("notify(%zu): %s, woke %zu\n", n, dualsync_status_str(st), woken);
    }
    if (st != DUALSYNC_OK || woken != want_woken) {
        failures++;
    }
    wait_for(&n_triggered, total);
    print_triggered();
}

int main(void) {
    mutex = dualsync_mutex_new(false);
    cond = dualsync_condition_new();
    if (mutex == NULL || cond == NULL) {
        printf("allocation failed\n");
        return 1;
    }

    printf("-- five consumers --\n");
    pthread_t threads[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        if (pthread_create(&threads[i], NULL, consumer, (void *)(size_t)i) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
        /* One at a time, so that they queue in order 1..5. */
        wait_for(&waiting, i + 1);
        printf("consumer %d waiting\n", i + 1);
    }
    expect("free while waited on", dualsync_condition_free(cond), DUALSYNC_BUSY);
    notify(1, 1, 1);
    notify(2, 2, 3);
    notify(SIZE_MAX, 2, 5);
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(threads[i], NULL);
    }
    size_t woken = 99;
    expect("notify with nobody waiting", dualsync_condition_notify(cond, 1, &woken), DUALSYNC_OK);
    printf("woke %zu\n", woken);

    printf("-- timed wait --\n");
    check(dualsync_mutex_lock(mutex), "lock");
    expect("wait_timeout(20 ms)", dualsync_condition_wait_timeout(cond, mutex, 20000000),
           DUALSYNC_TIMED_OUT);
    bool locked = false;
    check(dualsync_mutex_is_locked(mutex, &locked), "is_locked");
    printf("mutex locked again: %d\n", locked);
    expect("wait_timeout(0)", dualsync_condition_wait_timeout(cond, mutex, 0), DUALSYNC_TIMED_OUT);
    check(dualsync_mutex_unlock(mutex), "unlock");

    printf("-- misuse --\n");
    expect("wait with the mutex unlocked", dualsync_condition_wait(cond, mutex), DUALSYNC_NOT_LOCKED);
    expect("wait(NULL, mutex)", dualsync_condition_wait(NULL, mutex), DUALSYNC_INVALID_ARGUMENT);
    expect("wait(cond, NULL)", dualsync_condition_wait(cond, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("notify(cond, 1, NULL)", dualsync_condition_notify(cond, 1, NULL),
           DUALSYNC_INVALID_ARGUMENT);
    expect("free(NULL)", dualsync_condition_free(NULL), DUALSYNC_OK);
    expect("free", dualsync_condition_free(cond), DUALSYNC_OK);
    expect("free mutex", dualsync_mutex_free(mutex), DUALSYNC_OK);

    if (failures != 0) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
