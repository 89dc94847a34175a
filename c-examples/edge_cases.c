/*
 * edge_cases.c: the corners of the C ABI that a C test suite found, one
 * section each.
 *
 * 1. n_waiting for the mutex, the event and the condition: a thread blocked
 *    in lock / wait counts from the moment it is queued, so main polls that
 *    count (never a guessed sleep) before it releases the thread.
 * 2. A _free is refused while another call on the handle is in progress:
 *    while a thread waits on a condition, its mutex is unlocked and nobody
 *    is queued on it, but mutex_free is BUSY (the wait will lock it again);
 *    a notified condition waiter that is re-locking the mutex (main holds
 *    it) no longer counts as a condition waiter (n_waiting 0), but it is
 *    still inside dualsync_condition_wait, so condition_free is BUSY; once
 *    the waiter has returned, both are OK.
 * 3. Free at once after a wake-up, for every waiting primitive, ROUNDS
 *    times: a thread blocks, main wakes it, and the woken thread frees the
 *    handle as soon as its own call returns, retrying while free says BUSY
 *    (the waker may still be finishing its call). For the barrier, the
 *    woken party frees it while the leader (main, the last arrival) may
 *    still be inside its wait. Valgrind checks that nothing touches freed
 *    memory.
 * 4. Queue: a capacity of SIZE_MAX is reported as given; capacity 0
 *    (DUALSYNC_QUEUE_UNBOUNDED) means no limit; a NULL item is an item in
 *    every order; try_join is join's try_ form.
 * 5. Condition: there is no try_wait; wait_timeout(0) is that call:
 *    TIMED_OUT at once, with the mutex still locked.
 *
 * Output is deterministic; exit status 0 on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dualsync.h"
#include "example_util.h"

#define ROUNDS 100

/* BUSY answers the woken threads got from free (timing-dependent: stderr). */
static unsigned long busy_retries = 0;

/* Frees `h` with `fn`, retrying while it is BUSY. */
#define FREE_RETRYING(fn, h)                                                   \
    do {                                                                       \
        unsigned long turn_ = 0;                                               \
        dualsync_status s_;                                                    \
        while ((s_ = fn(h)) == DUALSYNC_BUSY) {                                \
            busy_retries++;                                                    \
            poll_pause(&turn_, #fn " to stop saying BUSY");                    \
        }                                                                      \
        check(s_, #fn);                                                        \
    } while (0)

/* Polls a count function until it reports `want`. */
#define WAIT_UNTIL(count_fn, h, want)                                          \
    do {                                                                       \
        unsigned long turn_ = 0;                                               \
        for (;;) {                                                             \
            size_t n_ = 0;                                                     \
            check(count_fn(h, &n_), #count_fn);                                \
            if (n_ == (want))                                                  \
                break;                                                         \
            poll_pause(&turn_, #count_fn);                                     \
        }                                                                      \
    } while (0)

static size_t getters_waiting(const dualsync_queue_t *q) {
    dualsync_queue_stats_t st;
    check(dualsync_queue_statistics(q, &st), "statistics");
    return st.getters_waiting;
}

/* ---- 1 and 3: one blocked thread per primitive ---- */

static void *mutex_locker(void *arg) {
    dualsync_mutex_t *m = arg;
    check(dualsync_mutex_lock(m), "lock");
    check(dualsync_mutex_unlock(m), "unlock");
    FREE_RETRYING(dualsync_mutex_free, m);
    return NULL;
}

static void *event_waiter(void *arg) {
    dualsync_event_t *e = arg;
    check(dualsync_event_wait(e), "event_wait");
    FREE_RETRYING(dualsync_event_free, e);
    return NULL;
}

struct cond_pair {
    dualsync_condition_t *cond;
    dualsync_mutex_t *mutex;
    int free_them; /* section 3: the waiter frees both */
};

static void *cond_waiter(void *arg) {
    struct cond_pair *p = arg;
    check(dualsync_mutex_lock(p->mutex), "lock");
    check(dualsync_condition_wait(p->cond, p->mutex), "condition_wait");
    check(dualsync_mutex_unlock(p->mutex), "unlock");
    if (p->free_them) {
        FREE_RETRYING(dualsync_condition_free, p->cond);
        FREE_RETRYING(dualsync_mutex_free, p->mutex);
    }
    return NULL;
}

static void *sem_acquirer(void *arg) {
    dualsync_semaphore_t *s = arg;
    check(dualsync_semaphore_acquire(s), "acquire");
    FREE_RETRYING(dualsync_semaphore_free, s);
    return NULL;
}

static void *barrier_party(void *arg) {
    dualsync_barrier_t *b = arg;
    size_t index = 99;
    check(dualsync_barrier_wait(b, &index), "barrier_wait");
    if (index != 0) {
        fprintf(stderr, "the first arrival got index %zu\n", index);
        exit(1);
    }
    FREE_RETRYING(dualsync_barrier_free, b);
    return NULL;
}

static void *queue_getter(void *arg) {
    dualsync_queue_t *q = arg;
    void *item = NULL;
    check(dualsync_queue_get(q, &item), "get");
    if (item != q) {
        fprintf(stderr, "got the wrong item\n");
        exit(1);
    }
    FREE_RETRYING(dualsync_queue_free, q);
    return NULL;
}

static void *limiter_borrower(void *arg) {
    dualsync_limiter_t *l = arg;
    check(dualsync_limiter_acquire(l, 2), "limiter_acquire");
    check(dualsync_limiter_release(l, 2), "limiter_release");
    FREE_RETRYING(dualsync_limiter_free, l);
    return NULL;
}

static void n_waiting_section(void) {
    printf("== 1. n_waiting ==\n");
    pthread_t t;
    size_t n = 7;

    dualsync_mutex_t *m = dualsync_mutex_new(false);
    check(dualsync_mutex_n_waiting(m, &n), "n_waiting");
    printf("mutex, nobody waiting: %zu\n", n);
    check(dualsync_mutex_lock(m), "lock");
    pthread_create(&t, NULL, mutex_locker, m);
    WAIT_UNTIL(dualsync_mutex_n_waiting, m, 1);
    printf("mutex, a locker blocked: 1\n");
    check(dualsync_mutex_unlock(m), "unlock");
    pthread_join(t, NULL); /* it freed the mutex */

    dualsync_event_t *e = dualsync_event_new();
    check(dualsync_event_n_waiting(e, &n), "n_waiting");
    printf("event, nobody waiting: %zu\n", n);
    pthread_create(&t, NULL, event_waiter, e);
    WAIT_UNTIL(dualsync_event_n_waiting, e, 1);
    printf("event, a waiter blocked: 1\n");
    check(dualsync_event_set(e), "set");
    pthread_join(t, NULL);

    struct cond_pair p = {dualsync_condition_new(), dualsync_mutex_new(false), 1};
    check(dualsync_condition_n_waiting(p.cond, &n), "n_waiting");
    printf("condition, nobody waiting: %zu\n", n);
    pthread_create(&t, NULL, cond_waiter, &p);
    WAIT_UNTIL(dualsync_condition_n_waiting, p.cond, 1);
    printf("condition, a waiter blocked: 1\n");
    size_t woken = 0;
    check(dualsync_condition_notify(p.cond, 1, &woken), "notify");
    printf("notify woke %zu\n", woken);
    pthread_join(t, NULL);

    dualsync_mutex_t *live = dualsync_mutex_new(false);
    expect("mutex_n_waiting(NULL)", dualsync_mutex_n_waiting(NULL, &n), DUALSYNC_INVALID_ARGUMENT);
    expect("mutex_n_waiting(out = NULL)", dualsync_mutex_n_waiting(live, NULL),
           DUALSYNC_INVALID_ARGUMENT);
    expect("event_n_waiting(NULL)", dualsync_event_n_waiting(NULL, &n), DUALSYNC_INVALID_ARGUMENT);
    expect("condition_n_waiting(NULL)", dualsync_condition_n_waiting(NULL, &n),
           DUALSYNC_INVALID_ARGUMENT);
    check(dualsync_mutex_free(live), "free");
}

static void busy_while_in_call_section(void) {
    printf("== 2. free refused while a call is in progress ==\n");
    struct cond_pair p = {dualsync_condition_new(), dualsync_mutex_new(false), 0};
    pthread_t t;
    pthread_create(&t, NULL, cond_waiter, &p);
    WAIT_UNTIL(dualsync_condition_n_waiting, p.cond, 1);
    /* The waiter released the mutex, but its condition_wait will lock it
     * again: the mutex is in use although unlocked and not waited on. */
    expect("mutex_free while a thread waits on the condition", dualsync_mutex_free(p.mutex),
           DUALSYNC_BUSY);
    check(dualsync_mutex_lock(p.mutex), "lock");
    size_t woken = 0;
    check(dualsync_condition_notify(p.cond, 1, &woken), "notify");
    /* The waiter is notified (no longer a condition waiter) and blocks
     * re-locking the mutex, which main holds: still inside its call. */
    WAIT_UNTIL(dualsync_mutex_n_waiting, p.mutex, 1);
    size_t n = 9;
    check(dualsync_condition_n_waiting(p.cond, &n), "n_waiting");
    printf("condition waiters after notify: %zu\n", n);
    expect("condition_free while the waiter re-locks", dualsync_condition_free(p.cond),
           DUALSYNC_BUSY);
    check(dualsync_mutex_unlock(p.mutex), "unlock");
    pthread_join(t, NULL);
    expect("condition_free once it returned", dualsync_condition_free(p.cond), DUALSYNC_OK);
    expect("mutex_free", dualsync_mutex_free(p.mutex), DUALSYNC_OK);
}

static void free_after_wake_section(void) {
    printf("== 3. the woken thread frees at once ==\n");
    pthread_t t;
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_mutex_t *m = dualsync_mutex_new(i % 2 == 0);
        check(dualsync_mutex_lock(m), "lock");
        pthread_create(&t, NULL, mutex_locker, m);
        WAIT_UNTIL(dualsync_mutex_n_waiting, m, 1);
        check(dualsync_mutex_unlock(m), "unlock"); /* m may be gone now */
        pthread_join(t, NULL);
    }
    printf("mutex: %d rounds\n", ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_event_t *e = dualsync_event_new();
        pthread_create(&t, NULL, event_waiter, e);
        WAIT_UNTIL(dualsync_event_n_waiting, e, 1);
        check(dualsync_event_set(e), "set");
        pthread_join(t, NULL);
    }
    printf("event: %d rounds\n", ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        struct cond_pair p = {dualsync_condition_new(), dualsync_mutex_new(false), 1};
        pthread_create(&t, NULL, cond_waiter, &p);
        WAIT_UNTIL(dualsync_condition_n_waiting, p.cond, 1);
        check(dualsync_mutex_lock(p.mutex), "lock");
        size_t woken = 0;
        check(dualsync_condition_notify(p.cond, 1, &woken), "notify");
        check(dualsync_mutex_unlock(p.mutex), "unlock");
        pthread_join(t, NULL);
    }
    printf("condition: %d rounds\n", ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_semaphore_t *s = dualsync_semaphore_new(0, false);
        pthread_create(&t, NULL, sem_acquirer, s);
        WAIT_UNTIL(dualsync_semaphore_n_waiting, s, 1);
        check(dualsync_semaphore_release(s, 1), "release");
        pthread_join(t, NULL);
    }
    printf("semaphore: %d rounds\n", ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_barrier_t *b = dualsync_barrier_new(2);
        pthread_create(&t, NULL, barrier_party, b);
        WAIT_UNTIL(dualsync_barrier_n_waiting, b, 1);
        size_t index = 99;
        check(dualsync_barrier_wait(b, &index), "barrier_wait"); /* the leader */
        if (index != 1) {
            fprintf(stderr, "the leader got index %zu\n", index);
            exit(1);
        }
        pthread_join(t, NULL);
    }
    printf("barrier: %d rounds\n", ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_queue_t *q = dualsync_queue_new(i % 2 ? 4 : DUALSYNC_QUEUE_UNBOUNDED,
                                                 DUALSYNC_QUEUE_FIFO);
        pthread_create(&t, NULL, queue_getter, q);
        unsigned long turn = 0;
        while (getters_waiting(q) != 1)
            poll_pause(&turn, "the getter to block");
        check(dualsync_queue_put(q, q, 0), "put");
        pthread_join(t, NULL);
    }
    printf("queue: %d rounds\n", ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_limiter_t *l = dualsync_limiter_new(1);
        check(dualsync_limiter_acquire(l, 1), "limiter_acquire");
        pthread_create(&t, NULL, limiter_borrower, l);
        WAIT_UNTIL(dualsync_limiter_n_waiting, l, 1);
        check(dualsync_limiter_release(l, 1), "limiter_release");
        pthread_join(t, NULL);
    }
    printf("limiter: %d rounds\n", ROUNDS);
    fprintf(stderr, "free said BUSY %lu times in section 3\n", busy_retries);
}

static void queue_section(void) {
    printf("== 4. queue ==\n");
    static const uint32_t orders[] = {DUALSYNC_QUEUE_FIFO, DUALSYNC_QUEUE_LIFO,
                                      DUALSYNC_QUEUE_PRIORITY};
    static const char *names[] = {"FIFO", "LIFO", "PRIORITY"};
    for (int i = 0; i < 3; i++) {
        dualsync_queue_stats_t st;
        dualsync_queue_t *q = dualsync_queue_new(SIZE_MAX, orders[i]);
        check(dualsync_queue_statistics(q, &st), "statistics");
        printf("%s new(SIZE_MAX): capacity == SIZE_MAX: %d\n", names[i], st.capacity == SIZE_MAX);
        check(dualsync_queue_free(q), "free");

        q = dualsync_queue_new(DUALSYNC_QUEUE_UNBOUNDED, orders[i]);
        check(dualsync_queue_statistics(q, &st), "statistics");
        printf("%s new(DUALSYNC_QUEUE_UNBOUNDED): capacity %zu\n", names[i], st.capacity);
        int v = 1;
        /* NULL is an item like any other, between two non-NULL ones. */
        check(dualsync_queue_try_put(q, &v, 2), "try_put");
        expect("  try_put(NULL)", dualsync_queue_try_put(q, NULL, 1), DUALSYNC_OK);
        check(dualsync_queue_put(q, &v, 3), "put");
        size_t len = 0;
        check(dualsync_queue_len(q, &len), "len");
        printf("  len with a NULL item: %zu\n", len);
        printf("  got:");
        for (int k = 0; k < 3; k++) {
            void *out = &v; /* a non-NULL value, to see NULL written */
            check(dualsync_queue_try_get(q, &out), "try_get");
            printf(" %s", out == NULL ? "NULL" : "item");
        }
        printf("\n");
        expect("  try_join with 3 unfinished", dualsync_queue_try_join(q), DUALSYNC_WOULD_BLOCK);
        expect("  join_timeout(0), the same", dualsync_queue_join_timeout(q, 0),
               DUALSYNC_WOULD_BLOCK);
        for (int k = 0; k < 3; k++)
            check(dualsync_queue_task_done(q), "task_done");
        expect("  try_join when all done", dualsync_queue_try_join(q), DUALSYNC_OK);
        check(dualsync_queue_free(q), "free");
    }
    expect("try_join(NULL)", dualsync_queue_try_join(NULL), DUALSYNC_INVALID_ARGUMENT);
}

static void condition_try_section(void) {
    printf("== 5. condition: wait_timeout(0) is the try form ==\n");
    dualsync_condition_t *c = dualsync_condition_new();
    dualsync_mutex_t *m = dualsync_mutex_new(false);
    check(dualsync_mutex_lock(m), "lock");
    expect("wait_timeout(0)", dualsync_condition_wait_timeout(c, m, 0), DUALSYNC_TIMED_OUT);
    bool locked = false;
    check(dualsync_mutex_is_locked(m, &locked), "is_locked");
    printf("mutex still locked: %d\n", locked);
    check(dualsync_mutex_unlock(m), "unlock");
    check(dualsync_condition_free(c), "free");
    check(dualsync_mutex_free(m), "free");
}

int main(void) {
    n_waiting_section();
    busy_while_in_call_section();
    free_after_wake_section();
    queue_section();
    condition_try_section();
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
