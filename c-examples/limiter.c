/*
 * limiter.c: pthreads borrowing from one dualsync_limiter_t, and a
 * dualsync_resource_guard_t.
 *
 * 1. A limiter of 2 tokens. Borrowers are explicit uintptr_t ids. A second
 *    acquire by the same borrower is ALREADY_BORROWED (at once, in every
 *    form); a full limiter gives WOULD_BLOCK / TIMED_OUT.
 * 2. Six threads (borrowers 10..15) borrow and release 2000 times each,
 *    with blocking, INFINITE-timeout and try+yield acquires; halfway the
 *    limiter is resized to 3. At no time are more threads inside than the
 *    tokens they got in with (checked under a pthread mutex).
 * 3. Resizing: two waiters behind a full limiter of 2 (main polls
 *    dualsync_limiter_n_waiting until both are queued); raising it to 3 lets
 *    exactly one in, lowering it to 1 takes nothing away, raising it to 4
 *    lets the other in. Tokens are released by main on the waiters' behalf.
 * 4. A resource guard: a second thread entering is BUSY, never waits;
 *    exit twice is NOT_LOCKED; free while inside is BUSY.
 * 5. Misuse: NULL handles and out pointers, 0 tokens, releasing a borrower
 *    holding nothing.
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

#define WORKERS 6
#define ROUNDS 2000

static void expect_count(const char *what, size_t got, size_t want) {
    printf("%s: %zu\n", what, got);
    if (got != want) {
        printf("  ^ expected %zu\n", want);
        failures++;
    }
}

static size_t borrowed(dualsync_limiter_t *l) {
    size_t n = 0;
    check(dualsync_limiter_borrowed_tokens(l, &n), "borrowed_tokens");
    return n;
}

static size_t n_waiting(dualsync_limiter_t *l) {
    size_t n = 0;
    check(dualsync_limiter_n_waiting(l, &n), "n_waiting");
    return n;
}

/* Waits until `n` threads are queued for a token. */
static void wait_queued(dualsync_limiter_t *l, size_t n) {
    unsigned long turn = 0;
    while (n_waiting(l) != n) {
        poll_pause(&turn, "the waiters to queue on the limiter");
    }
}

/* ---- 2. workers ---- */

static pthread_mutex_t inside_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t inside = 0;
static size_t over = 0;
static size_t entries = 0;

static size_t entries_so_far(void) {
    pthread_mutex_lock(&inside_lock);
    size_t e = entries;
    pthread_mutex_unlock(&inside_lock);
    return e;
}

struct worker {
    dualsync_limiter_t *limiter;
    uintptr_t borrower;
    int style;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        dualsync_status s;
        switch ((w->style + i) % 3) {
        case 0:
            s = dualsync_limiter_acquire(w->limiter, w->borrower);
            break;
        case 1:
            s = dualsync_limiter_acquire_timeout(w->limiter, w->borrower, DUALSYNC_TIMEOUT_INFINITE);
            break;
        default:
            while ((s = dualsync_limiter_try_acquire(w->limiter, w->borrower)) == DUALSYNC_WOULD_BLOCK) {
                sched_yield();
            }
            break;
        }
        check(s, "acquire");
        size_t total = 0;
        check(dualsync_limiter_total_tokens(w->limiter, &total), "total_tokens");
        pthread_mutex_lock(&inside_lock);
        inside++;
        entries++;
        /* The total only grows in this phase (2 -> 3). */
        if (inside > total) {
            over++;
        }
        pthread_mutex_unlock(&inside_lock);
        sched_yield();
        pthread_mutex_lock(&inside_lock);
        inside--;
        pthread_mutex_unlock(&inside_lock);
        check(dualsync_limiter_release(w->limiter, w->borrower), "release");
    }
    return NULL;
}

/* ---- 3. waiters ---- */

struct waiter {
    dualsync_limiter_t *limiter;
    uintptr_t borrower;
    dualsync_status result;
};

static void *waiter_main(void *arg) {
    struct waiter *w = arg;
    w->result = dualsync_limiter_acquire(w->limiter, w->borrower);
    return NULL;
}

/* ---- 4. resource guard ---- */

static void *intruder_main(void *arg) {
    dualsync_status *out = arg;
    *out = dualsync_resource_guard_enter(NULL);
    return NULL;
}

struct intruder {
    dualsync_resource_guard_t *guard;
    dualsync_status result;
};

static void *guard_intruder_main(void *arg) {
    struct intruder *in = arg;
    in->result = dualsync_resource_guard_enter(in->guard);
    return NULL;
}

int main(void) {
    /* 1. borrower rules */
    printf("== borrower rules ==\n");
    dualsync_limiter_t *l = dualsync_limiter_new(2);
    if (l == NULL) {
        printf("dualsync_limiter_new(2) returned NULL\n");
        return 1;
    }
    size_t n = 0;
    check(dualsync_limiter_total_tokens(l, &n), "total_tokens");
    expect_count("total_tokens", n, 2);
    expect("acquire(1)", dualsync_limiter_acquire(l, 1), DUALSYNC_OK);
    expect("acquire(1) again", dualsync_limiter_acquire(l, 1), DUALSYNC_ALREADY_BORROWED);
    expect("try_acquire(1) again", dualsync_limiter_try_acquire(l, 1), DUALSYNC_ALREADY_BORROWED);
    expect("acquire_timeout(1, INFINITE) again",
           dualsync_limiter_acquire_timeout(l, 1, DUALSYNC_TIMEOUT_INFINITE), DUALSYNC_ALREADY_BORROWED);
    expect("try_acquire(2)", dualsync_limiter_try_acquire(l, 2), DUALSYNC_OK);
    expect("try_acquire(3), full", dualsync_limiter_try_acquire(l, 3), DUALSYNC_WOULD_BLOCK);
    expect("acquire_timeout(3, 0), full", dualsync_limiter_acquire_timeout(l, 3, 0), DUALSYNC_WOULD_BLOCK);
    expect("acquire_timeout(3, 20 ms), full", dualsync_limiter_acquire_timeout(l, 3, 20000000ull),
           DUALSYNC_TIMED_OUT);
    check(dualsync_limiter_available_tokens(l, &n), "available_tokens");
    expect_count("available_tokens", n, 0);
    expect("free with tokens out", dualsync_limiter_free(l), DUALSYNC_BUSY);
    expect("release(1)", dualsync_limiter_release(l, 1), DUALSYNC_OK);
    expect("release(2)", dualsync_limiter_release(l, 2), DUALSYNC_OK);

    /* 2. workers, resized halfway */
    printf("== %d threads x %d borrows, 2 then 3 tokens ==\n", WORKERS, ROUNDS);
    pthread_t threads[WORKERS];
    struct worker workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (struct worker){l, (uintptr_t)(10 + i), i % 3};
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            return 1;
        }
    }
    /* Halfway (or later, if the workers were quicker than main). */
    unsigned long turn = 0;
    while (entries_so_far() < (size_t)WORKERS * ROUNDS / 2) {
        poll_pause(&turn, "the workers to get halfway");
    }
    expect("set_total_tokens(3)", dualsync_limiter_set_total_tokens(l, 3), DUALSYNC_OK);
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
    }
    expect_count("borrows", entries, (size_t)WORKERS * ROUNDS);
    expect_count("times more inside than tokens", over, 0);
    expect_count("borrowed at the end", borrowed(l), 0);

    /* 3. resizing with waiters */
    printf("== resizing with waiters ==\n");
    expect("set_total_tokens(2)", dualsync_limiter_set_total_tokens(l, 2), DUALSYNC_OK);
    check(dualsync_limiter_acquire(l, 1), "acquire(1)");
    check(dualsync_limiter_acquire(l, 2), "acquire(2)");
    struct waiter wa = {l, 3, DUALSYNC_PANIC}, wb = {l, 4, DUALSYNC_PANIC};
    pthread_t ta, tb;
    if (pthread_create(&ta, NULL, waiter_main, &wa) != 0 || pthread_create(&tb, NULL, waiter_main, &wb) != 0) {
        return 1;
    }
    wait_queued(l, 2);
    expect_count("borrowed with 2 waiting", borrowed(l), 2);
    /* Raising the total serves the head waiter before returning. */
    expect("set_total_tokens(3)", dualsync_limiter_set_total_tokens(l, 3), DUALSYNC_OK);
    expect_count("borrowed after raising to 3", borrowed(l), 3);
    expect_count("waiting after raising to 3", n_waiting(l), 1);
    expect("set_total_tokens(1)", dualsync_limiter_set_total_tokens(l, 1), DUALSYNC_OK);
    expect_count("borrowed after lowering to 1", borrowed(l), 3);
    check(dualsync_limiter_available_tokens(l, &n), "available_tokens");
    expect_count("available after lowering to 1", n, 0);
    expect("release(1)", dualsync_limiter_release(l, 1), DUALSYNC_OK);
    expect("release(2)", dualsync_limiter_release(l, 2), DUALSYNC_OK);
    /* Releases hand tokens over before returning: none was free for it. */
    expect_count("borrowed: the other still waits", borrowed(l), 1);
    expect_count("waiting", n_waiting(l), 1);
    expect("set_total_tokens(4)", dualsync_limiter_set_total_tokens(l, 4), DUALSYNC_OK);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    expect("waiter 3", wa.result, DUALSYNC_OK);
    expect("waiter 4", wb.result, DUALSYNC_OK);
    expect_count("borrowed", borrowed(l), 2);
    expect("release(3) by main", dualsync_limiter_release(l, 3), DUALSYNC_OK);
    expect("release(4) by main", dualsync_limiter_release(l, 4), DUALSYNC_OK);

    /* 5. misuse */
    printf("== misuse ==\n");
    expect("release(99), holds nothing", dualsync_limiter_release(l, 99), DUALSYNC_NOT_LOCKED);
    expect("set_total_tokens(0)", dualsync_limiter_set_total_tokens(l, 0), DUALSYNC_INVALID_ARGUMENT);
    check(dualsync_limiter_total_tokens(l, &n), "total_tokens");
    expect_count("total_tokens unchanged", n, 4);
    printf("limiter_new(0) is NULL: %s\n", dualsync_limiter_new(0) == NULL ? "yes" : "no");
    expect("acquire(NULL)", dualsync_limiter_acquire(NULL, 1), DUALSYNC_INVALID_ARGUMENT);
    expect("total_tokens(l, NULL)", dualsync_limiter_total_tokens(l, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("n_waiting(l, NULL)", dualsync_limiter_n_waiting(l, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("free", dualsync_limiter_free(l), DUALSYNC_OK);
    expect("free(NULL)", dualsync_limiter_free(NULL), DUALSYNC_OK);

    /* 4. resource guard */
    printf("== resource guard ==\n");
    dualsync_resource_guard_t *g = dualsync_resource_guard_new("writing to");
    if (g == NULL) {
        printf("dualsync_resource_guard_new returned NULL\n");
        return 1;
    }
    expect("enter", dualsync_resource_guard_enter(g), DUALSYNC_OK);
    struct intruder in = {g, DUALSYNC_PANIC};
    pthread_t ti;
    if (pthread_create(&ti, NULL, guard_intruder_main, &in) != 0) {
        return 1;
    }
    pthread_join(ti, NULL);
    expect("enter from another thread", in.result, DUALSYNC_BUSY);
    expect("free while inside", dualsync_resource_guard_free(g), DUALSYNC_BUSY);
    expect("exit", dualsync_resource_guard_exit(g), DUALSYNC_OK);
    expect("exit again", dualsync_resource_guard_exit(g), DUALSYNC_NOT_LOCKED);
    dualsync_status null_enter = DUALSYNC_PANIC;
    if (pthread_create(&ti, NULL, intruder_main, &null_enter) != 0) {
        return 1;
    }
    pthread_join(ti, NULL);
    expect("enter(NULL)", null_enter, DUALSYNC_INVALID_ARGUMENT);
    printf("resource_guard_new(NULL) is NULL: %s\n", dualsync_resource_guard_new(NULL) == NULL ? "yes" : "no");
    expect("free", dualsync_resource_guard_free(g), DUALSYNC_OK);

    printf("%s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
