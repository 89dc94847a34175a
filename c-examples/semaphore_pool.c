/*
 * semaphore_pool.c: pthreads sharing one dualsync_semaphore_t that guards a
 * pool of 3 connections.
 *
 * 1. Six threads each take a connection 2000 times (blocking acquire,
 *    acquire_timeout INFINITE, try_acquire spinning, acquire_many(1) and
 *    acquire_many_timeout with a long timeout); a plain counter under a
 *    pthread mutex tracks how many hold one at a time and never exceeds 3.
 * 2. FIFO head-of-line: with 1 permit free and a thread waiting for 2,
 *    try_acquire gives WOULD_BLOCK (nobody overtakes the head);
 *    acquire_timeout(20 ms) times out, and the waiter is then served.
 * 3. Counts, as in Rust: releasing above a bounded semaphore's initial
 *    value is OVER_RELEASE (any count, even SIZE_MAX) and changes nothing;
 *    an unbounded one refuses to go past DUALSYNC_SEMAPHORE_MAX_PERMITS
 *    (SIZE_MAX >> 8) with OVERFLOW, also for a count above it; 0 permits
 *    is a no-op that succeeds (release(0) like Rust's add_permits(0),
 *    acquire_many(0) like Rust's acquire_many(0)); asking for more than
 *    DUALSYNC_SEMAPHORE_MAX_PERMITS at once is INVALID_ARGUMENT.
 * 4. Close: a waiting thread gets CLOSED, and so does every later acquire
 *    (of 0 permits too); release(0) still succeeds.
 * 5. Misuse: NULL handles / out pointers are INVALID_ARGUMENT; free(NULL)
 *    is OK; freeing with a waiter is BUSY.
 *
 * Output is deterministic; exit status 0 on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dualsync.h"
#include "example_util.h"

#define POOL 3
#define THREADS 6
#define ROUNDS 2000

static pthread_mutex_t in_use_lock = PTHREAD_MUTEX_INITIALIZER;
static int in_use = 0, max_in_use = 0;
static long total = 0;

struct worker {
    dualsync_semaphore_t *sem;
    int style;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        switch (w->style % 5) {
        case 0:
            check(dualsync_semaphore_acquire(w->sem), "acquire");
            break;
        case 1:
            check(dualsync_semaphore_acquire_timeout(w->sem, DUALSYNC_TIMEOUT_INFINITE), "acquire_timeout");
            break;
        case 2: {
            dualsync_status s;
            while ((s = dualsync_semaphore_try_acquire(w->sem)) == DUALSYNC_WOULD_BLOCK)
                sched_yield();
            check(s, "try_acquire");
            break;
        }
        case 3:
            check(dualsync_semaphore_acquire_many(w->sem, 1), "acquire_many");
            break;
        default:
            check(dualsync_semaphore_acquire_many_timeout(w->sem, 1, 60ull * 1000 * 1000 * 1000),
                  "acquire_many_timeout");
            break;
        }
        pthread_mutex_lock(&in_use_lock);
        in_use++;
        if (in_use > max_in_use)
            max_in_use = in_use;
        total++;
        pthread_mutex_unlock(&in_use_lock);
        sched_yield();
        pthread_mutex_lock(&in_use_lock);
        in_use--;
        pthread_mutex_unlock(&in_use_lock);
        check(dualsync_semaphore_release(w->sem, 1), "release");
    }
    return NULL;
}

static void *want_two(void *arg) {
    dualsync_semaphore_t *sem = arg;
    dualsync_status s = dualsync_semaphore_acquire_many(sem, 2);
    if (s == DUALSYNC_OK)
        s = dualsync_semaphore_release(sem, 2);
    return (void *)(intptr_t)s;
}

static void *want_one(void *arg) {
    dualsync_semaphore_t *sem = arg;
    return (void *)(intptr_t)dualsync_semaphore_acquire(sem);
}

/* Waits until `want` threads are queued on the semaphore. */
static void until_waiting(dualsync_semaphore_t *sem, size_t want) {
    size_t n = 0;
    unsigned long turn = 0;
    for (;;) {
        check(dualsync_semaphore_n_waiting(sem, &n), "n_waiting");
        if (n == want)
            return;
        poll_pause(&turn, "a thread to queue on the semaphore");
    }
}

static size_t available(dualsync_semaphore_t *sem) {
    size_t n = 0;
    check(dualsync_semaphore_available(sem, &n), "available");
    return n;
}

int main(void) {
    /* 1. the pool */
    dualsync_semaphore_t *sem = dualsync_semaphore_new(POOL, true);
    if (!sem)
        return 1;
    pthread_t th[THREADS];
    struct worker ws[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ws[i].sem = sem;
        ws[i].style = i;
        pthread_create(&th[i], NULL, worker_main, &ws[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    printf("pool: %ld uses, at most %d at once (pool of %d), %zu free after\n", total,
           max_in_use, POOL, available(sem));
    if (total != (long)THREADS * ROUNDS || max_in_use > POOL || available(sem) != POOL)
        failures++;

    /* 2. FIFO head-of-line */
    check(dualsync_semaphore_acquire_many(sem, 2), "take two");
    pthread_t big;
    pthread_create(&big, NULL, want_two, sem);
    until_waiting(sem, 1);
    expect("try_acquire with a waiter for 2 at the head", dualsync_semaphore_try_acquire(sem),
           DUALSYNC_WOULD_BLOCK);
    expect("acquire_timeout(20 ms) behind it", dualsync_semaphore_acquire_timeout(sem, 20000000),
           DUALSYNC_TIMED_OUT);
    expect("acquire_timeout(0)", dualsync_semaphore_acquire_timeout(sem, 0), DUALSYNC_WOULD_BLOCK);
    check(dualsync_semaphore_release(sem, 2), "give two back");
    void *ret;
    pthread_join(big, &ret);
    expect("the waiter for 2", (dualsync_status)(intptr_t)ret, DUALSYNC_OK);
    printf("free after: %zu\n", available(sem));

    /* 3. counts: bounded, overflow, 0 */
    expect("release above the bound", dualsync_semaphore_release(sem, 1), DUALSYNC_OVER_RELEASE);
    expect("release(SIZE_MAX) above the bound", dualsync_semaphore_release(sem, SIZE_MAX),
           DUALSYNC_OVER_RELEASE);
    printf("free after the refused releases: %zu\n", available(sem));
    expect("release(0)", dualsync_semaphore_release(sem, 0), DUALSYNC_OK);
    expect("acquire_many(0)", dualsync_semaphore_acquire_many(sem, 0), DUALSYNC_OK);
    expect("try_acquire_many(0)", dualsync_semaphore_try_acquire_many(sem, 0), DUALSYNC_OK);
    expect("acquire_many_timeout(0, 0 ns)", dualsync_semaphore_acquire_many_timeout(sem, 0, 0),
           DUALSYNC_OK);
    printf("free after the 0-permit calls: %zu\n", available(sem));
    expect("acquire_many(MAX_PERMITS + 1)",
           dualsync_semaphore_acquire_many(sem, DUALSYNC_SEMAPHORE_MAX_PERMITS + 1),
           DUALSYNC_INVALID_ARGUMENT);
    expect("try_acquire_many(SIZE_MAX)", dualsync_semaphore_try_acquire_many(sem, SIZE_MAX),
           DUALSYNC_INVALID_ARGUMENT);
    printf("MAX_PERMITS == SIZE_MAX >> 8: %d\n", DUALSYNC_SEMAPHORE_MAX_PERMITS == SIZE_MAX >> 8);
    dualsync_semaphore_t *unb = dualsync_semaphore_new(DUALSYNC_SEMAPHORE_MAX_PERMITS, false);
    expect("release past MAX_PERMITS", dualsync_semaphore_release(unb, 1), DUALSYNC_OVERFLOW);
    expect("release(SIZE_MAX)", dualsync_semaphore_release(unb, SIZE_MAX), DUALSYNC_OVERFLOW);
    check(dualsync_semaphore_acquire_many(unb, DUALSYNC_SEMAPHORE_MAX_PERMITS), "take them all");
    expect("release(MAX_PERMITS + 1) when empty",
           dualsync_semaphore_release(unb, DUALSYNC_SEMAPHORE_MAX_PERMITS + 1), DUALSYNC_OVERFLOW);
    expect("release(MAX_PERMITS) when empty",
           dualsync_semaphore_release(unb, DUALSYNC_SEMAPHORE_MAX_PERMITS), DUALSYNC_OK);
    expect("unbounded release after a try_acquire", dualsync_semaphore_try_acquire_many(unb, 5),
           DUALSYNC_OK);
    expect("release 5", dualsync_semaphore_release(unb, 5), DUALSYNC_OK);
    expect("free unbounded", dualsync_semaphore_free(unb), DUALSYNC_OK);

    /* 4. close */
    check(dualsync_semaphore_acquire_many(sem, POOL), "drain");
    pthread_t waiter;
    pthread_create(&waiter, NULL, want_one, sem);
    until_waiting(sem, 1);
    expect("free with a waiter", dualsync_semaphore_free(sem), DUALSYNC_BUSY);
    expect("close", dualsync_semaphore_close(sem), DUALSYNC_OK);
    pthread_join(waiter, &ret);
    expect("the waiter after close", (dualsync_status)(intptr_t)ret, DUALSYNC_CLOSED);
    expect("acquire after close", dualsync_semaphore_acquire(sem), DUALSYNC_CLOSED);
    expect("try_acquire after close", dualsync_semaphore_try_acquire(sem), DUALSYNC_CLOSED);
    bool closed = false;
    check(dualsync_semaphore_is_closed(sem, &closed), "is_closed");
    printf("is_closed: %d\n", closed);
    expect("release after close", dualsync_semaphore_release(sem, POOL), DUALSYNC_OK);
    expect("acquire_many(0) after close", dualsync_semaphore_acquire_many(sem, 0), DUALSYNC_CLOSED);
    expect("release(0) after close", dualsync_semaphore_release(sem, 0), DUALSYNC_OK);

    /* 5. misuse */
    expect("acquire(NULL)", dualsync_semaphore_acquire(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("release(NULL, 1)", dualsync_semaphore_release(NULL, 1), DUALSYNC_INVALID_ARGUMENT);
    expect("available(out = NULL)", dualsync_semaphore_available(sem, NULL),
           DUALSYNC_INVALID_ARGUMENT);
    expect("n_waiting(out = NULL)", dualsync_semaphore_n_waiting(sem, NULL),
           DUALSYNC_INVALID_ARGUMENT);
    printf("new(SIZE_MAX) is NULL: %d\n", dualsync_semaphore_new(SIZE_MAX, false) == NULL);
    printf("new(MAX_PERMITS + 1) is NULL: %d\n",
           dualsync_semaphore_new(DUALSYNC_SEMAPHORE_MAX_PERMITS + 1, true) == NULL);
    expect("free(NULL)", dualsync_semaphore_free(NULL), DUALSYNC_OK);
    expect("free", dualsync_semaphore_free(sem), DUALSYNC_OK);

    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
