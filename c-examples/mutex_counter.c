/*
 * mutex_counter.c: pthreads sharing one dualsync_mutex_t.
 *
 * 1. Four threads add to a plain (non-atomic) counter under the mutex, each
 *    with a different way to lock (lock, lock_timeout INFINITE, try_lock
 *    spinning, lock_timeout with a long finite timeout); the total shows
 *    that no update was lost. Done twice: barging mutex, then strict FIFO.
 * 2. While another thread holds the mutex: try_lock and lock_timeout(0)
 *    give WOULD_BLOCK, lock_timeout(20 ms) gives TIMED_OUT.
 * 3. Misuse: unlocking an unlocked mutex is NOT_LOCKED and changes nothing;
 *    NULL handles and out pointers are INVALID_ARGUMENT; freeing a locked
 *    mutex is BUSY; free(NULL) is OK.
 *
 * Output is deterministic; exit status 0 on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "dualsync.h"
#include "example_util.h"

#define THREADS 4
#define ROUNDS 5000

struct worker {
    dualsync_mutex_t *mutex;
    long *counter;
    int style;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        switch (w->style) {
        case 0:
            check(dualsync_mutex_lock(w->mutex), "lock");
            break;
        case 1:
            check(dualsync_mutex_lock_timeout(w->mutex, DUALSYNC_TIMEOUT_INFINITE), "lock_timeout(INFINITE)");
            break;
        case 2: {
            dualsync_status s;
            while ((s = dualsync_mutex_try_lock(w->mutex)) == DUALSYNC_WOULD_BLOCK)
                sched_yield();
            check(s, "try_lock");
            break;
        }
        default:
            /* 60 s: never reached unless something is badly wrong. */
            check(dualsync_mutex_lock_timeout(w->mutex, 60ull * 1000 * 1000 * 1000), "lock_timeout(60 s)");
            break;
        }
        long v = *w->counter; /* a deliberately non-atomic read-modify-write */
        *w->counter = v + 1;
        check(dualsync_mutex_unlock(w->mutex), "unlock");
    }
    return NULL;
}

static void count_with(bool fair) {
    dualsync_mutex_t *m = dualsync_mutex_new(fair);
    if (m == NULL) {
        printf("dualsync_mutex_new failed\n");
        exit(1);
    }
    long counter = 0;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.mutex = m, .counter = &counter, .style = i};
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            printf("pthread_create failed\n");
            exit(1);
        }
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    printf("%s mutex: %d threads x %d rounds = %ld\n", fair ? "fair" : "barging", THREADS, ROUNDS, counter);
    if (counter != (long)THREADS * ROUNDS)
        failures++;
    expect("free unlocked", dualsync_mutex_free(m), DUALSYNC_OK);
}

/* Results of the contender thread, printed by main after the join. */
struct contender {
    dualsync_mutex_t *mutex;
    dualsync_status try_lock, timeout_zero, timeout_20ms;
};

static void *contender_main(void *arg) {
    struct contender *c = arg;
    c->try_lock = dualsync_mutex_try_lock(c->mutex);
    c->timeout_zero = dualsync_mutex_lock_timeout(c->mutex, 0);
    c->timeout_20ms = dualsync_mutex_lock_timeout(c->mutex, 20ull * 1000 * 1000);
    return NULL;
}

static void *unlocker_main(void *arg) {
    return (void *)(size_t)dualsync_mutex_unlock(arg);
}

int main(void) {
    printf("== counter ==\n");
    count_with(false);
    count_with(true);

    printf("== held by another thread ==\n");
    dualsync_mutex_t *m = dualsync_mutex_new(false);
    expect("lock", dualsync_mutex_lock(m), DUALSYNC_OK);
    struct contender c = {.mutex = m};
    pthread_t t;
    pthread_create(&t, NULL, contender_main, &c);
    pthread_join(t, NULL);
    expect("other thread: try_lock", c.try_lock, DUALSYNC_WOULD_BLOCK);
    expect("other thread: lock_timeout(0)", c.timeout_zero, DUALSYNC_WOULD_BLOCK);
    expect("other thread: lock_timeout(20 ms)", c.timeout_20ms, DUALSYNC_TIMED_OUT);
    bool locked = false;
    expect("is_locked", dualsync_mutex_is_locked(m, &locked), DUALSYNC_OK);
    printf("locked = %s\n", locked ? "true" : "false");
    expect("free while locked", dualsync_mutex_free(m), DUALSYNC_BUSY);

    /* asyncio semantics: another thread may release it. */
    void *ret;
    pthread_create(&t, NULL, unlocker_main, m);
    pthread_join(t, &ret);
    expect("other thread: unlock", (dualsync_status)(size_t)ret, DUALSYNC_OK);

    printf("== misuse ==\n");
    expect("unlock unlocked", dualsync_mutex_unlock(m), DUALSYNC_NOT_LOCKED);
    expect("is_locked", dualsync_mutex_is_locked(m, &locked), DUALSYNC_OK);
    printf("locked = %s\n", locked ? "true" : "false");
    expect("try_lock after NOT_LOCKED", dualsync_mutex_try_lock(m), DUALSYNC_OK);
    expect("unlock", dualsync_mutex_unlock(m), DUALSYNC_OK);
    expect("lock(NULL)", dualsync_mutex_lock(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("try_lock(NULL)", dualsync_mutex_try_lock(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("lock_timeout(NULL)", dualsync_mutex_lock_timeout(NULL, 0), DUALSYNC_INVALID_ARGUMENT);
    expect("unlock(NULL)", dualsync_mutex_unlock(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("is_locked(NULL, &out)", dualsync_mutex_is_locked(NULL, &locked), DUALSYNC_INVALID_ARGUMENT);
    expect("is_locked(m, NULL)", dualsync_mutex_is_locked(m, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("free", dualsync_mutex_free(m), DUALSYNC_OK);
    expect("free(NULL)", dualsync_mutex_free(NULL), DUALSYNC_OK);

    printf("== status names ==\n");
    for (int s = DUALSYNC_OK; s <= DUALSYNC_OVERFLOW; s++)
        printf("%d %s\n", s, dualsync_status_str(s));
    printf("1000 %s\n", dualsync_status_str(1000));
    printf("-1 %s\n", dualsync_status_str(-1));

    printf("%s\n", failures == 0 ? "all ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
