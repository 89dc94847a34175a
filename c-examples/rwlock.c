/*
 * rwlock.c: pthreads sharing one dualsync_rwlock_t.
 *
 * 1. Four reader threads check a pair of counters that two writer threads
 *    bump together, each thread with its own way to lock (blocking,
 *    _timeout INFINITE, try_ spinning, _timeout with a long finite timeout):
 *    no reader ever sees a half-done write, and no write is lost. Done
 *    twice: barging lock, then strict FIFO.
 * 2. A writer queued behind a reader stops new readers: try_read and
 *    read_timeout(0) give WOULD_BLOCK, read_timeout(20 ms) TIMED_OUT; the
 *    writer gets in when the reader leaves.
 * 3. A writer that times out while a reader waits behind it lets that
 *    reader in at once, while the first reader still holds its lock.
 * 4. Misuse: releasing a lock that is not held is NOT_LOCKED and changes
 *    nothing; NULL handles and out pointers are INVALID_ARGUMENT; freeing a
 *    held lock is BUSY; free(NULL) is OK.
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

#define READERS 4
#define WRITERS 2
#define READS 4000
#define WRITES 1000
#define SECOND (1000ull * 1000 * 1000)

struct shared {
    dualsync_rwlock_t *lock;
    long a, b;           /* written together under the write lock */
    long torn;           /* reads that saw a != b (under a write lock) */
};

struct worker {
    struct shared *s;
    int style;
};

static void lock_read(dualsync_rwlock_t *l, int style) {
    switch (style) {
    case 0:
        check(dualsync_rwlock_read(l), "read");
        break;
    case 1:
        check(dualsync_rwlock_read_timeout(l, DUALSYNC_TIMEOUT_INFINITE), "read_timeout(INFINITE)");
        break;
    case 2: {
        dualsync_status st;
        while ((st = dualsync_rwlock_try_read(l)) == DUALSYNC_WOULD_BLOCK)
            sched_yield();
        check(st, "try_read");
        break;
    }
    default:
        check(dualsync_rwlock_read_timeout(l, 60 * SECOND), "read_timeout(60 s)");
        break;
    }
}

static void lock_write(dualsync_rwlock_t *l, int style) {
    switch (style) {
    case 0:
        check(dualsync_rwlock_write(l), "write");
        break;
    case 1:
        check(dualsync_rwlock_write_timeout(l, DUALSYNC_TIMEOUT_INFINITE), "write_timeout(INFINITE)");
        break;
    case 2: {
        dualsync_status st;
        while ((st = dualsync_rwlock_try_write(l)) == DUALSYNC_WOULD_BLOCK)
            sched_yield();
        check(st, "try_write");
        break;
    }
    default:
        check(dualsync_rwlock_write_timeout(l, 60 * SECOND), "write_timeout(60 s)");
        break;
    }
}

static void *reader_main(void *arg) {
    struct worker *w = arg;
    long torn = 0;
    for (int i = 0; i < READS; i++) {
        lock_read(w->s->lock, w->style);
        /* Plain (non-atomic) reads: safe only because no writer is inside. */
        if (w->s->a != w->s->b)
            torn++;
        check(dualsync_rwlock_read_unlock(w->s->lock), "read_unlock");
    }
    /* Count the torn reads under the write lock (readers share the lock). */
    lock_write(w->s->lock, 0);
    w->s->torn += torn;
    check(dualsync_rwlock_write_unlock(w->s->lock), "write_unlock");
    return NULL;
}

static void *writer_main(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < WRITES; i++) {
        lock_write(w->s->lock, w->style);
        long v = w->s->a; /* a deliberately non-atomic read-modify-write */
        w->s->a = v + 1;
        sched_yield(); /* a reader let in now would see a != b */
        w->s->b = w->s->b + 1;
        check(dualsync_rwlock_write_unlock(w->s->lock), "write_unlock");
    }
    return NULL;
}

static void count_with(bool fair) {
    struct shared s = {.lock = dualsync_rwlock_new(fair)};
    if (s.lock == NULL) {
        printf("dualsync_rwlock_new failed\n");
        exit(1);
    }
    pthread_t threads[READERS + WRITERS];
    struct worker workers[READERS + WRITERS];
    for (int i = 0; i < READERS + WRITERS; i++) {
        workers[i] = (struct worker){.s = &s, .style = i % 4};
        void *(*f)(void *) = i < READERS ? reader_main : writer_main;
        if (pthread_create(&threads[i], NULL, f, &workers[i]) != 0) {
            printf("pthread_create failed\n");
            exit(1);
        }
    }
    for (int i = 0; i < READERS + WRITERS; i++)
        pthread_join(threads[i], NULL);
    printf("%s rwlock: %d readers x %d reads, %d writers x %d writes: a = %ld, b = %ld, torn reads = %ld\n",
           fair ? "fair" : "barging", READERS, READS, WRITERS, WRITES, s.a, s.b, s.torn);
    if (s.a != (long)WRITERS * WRITES || s.b != s.a || s.torn != 0)
        failures++;
    expect("free unlocked", dualsync_rwlock_free(s.lock), DUALSYNC_OK);
}

static size_t n_waiting(dualsync_rwlock_t *l) {
    size_t n = 0;
    check(dualsync_rwlock_n_waiting(l, &n), "n_waiting");
    return n;
}

static void wait_for_waiters(dualsync_rwlock_t *l, size_t n, const char *what) {
    unsigned long turn = 0;
    while (n_waiting(l) != n)
        poll_pause(&turn, what);
}

/* A writer thread: how its lock call ended. */
struct writer_result {
    dualsync_rwlock_t *lock;
    uint64_t timeout_ns;
    dualsync_status status;
};

static void *queued_writer_main(void *arg) {
    struct writer_result *r = arg;
    r->status = dualsync_rwlock_write_timeout(r->lock, r->timeout_ns);
    if (r->status == DUALSYNC_OK)
        check(dualsync_rwlock_write_unlock(r->lock), "write_unlock");
    return NULL;
}

static void *queued_reader_main(void *arg) {
    struct writer_result *r = arg; /* same shape: lock, timeout, status */
    r->status = dualsync_rwlock_read_timeout(r->lock, r->timeout_ns);
    /* Keeps the read lock: main checks that two readers are inside. */
    return NULL;
}

static void writer_stops_new_readers(void) {
    printf("== a queued writer stops new readers ==\n");
    dualsync_rwlock_t *l = dualsync_rwlock_new(false);
    expect("read", dualsync_rwlock_read(l), DUALSYNC_OK);
    struct writer_result w = {.lock = l, .timeout_ns = DUALSYNC_TIMEOUT_INFINITE};
    pthread_t t;
    pthread_create(&t, NULL, queued_writer_main, &w);
    wait_for_waiters(l, 1, "the writer to queue");
    printf("writer queued: waiting = %zu\n", n_waiting(l));
    expect("try_read", dualsync_rwlock_try_read(l), DUALSYNC_WOULD_BLOCK);
    expect("read_timeout(0)", dualsync_rwlock_read_timeout(l, 0), DUALSYNC_WOULD_BLOCK);
    expect("read_timeout(20 ms)", dualsync_rwlock_read_timeout(l, 20 * 1000 * 1000), DUALSYNC_TIMED_OUT);
    expect("try_write", dualsync_rwlock_try_write(l), DUALSYNC_WOULD_BLOCK);
    expect("read_unlock", dualsync_rwlock_read_unlock(l), DUALSYNC_OK);
    pthread_join(t, NULL);
    expect("writer: write", w.status, DUALSYNC_OK);
    expect("free", dualsync_rwlock_free(l), DUALSYNC_OK);
}

static void timed_out_writer_lets_readers_in(void) {
    printf("== a writer that times out lets the readers it held back in ==\n");
    dualsync_rwlock_t *l = dualsync_rwlock_new(false);
    expect("read", dualsync_rwlock_read(l), DUALSYNC_OK);
    struct writer_result w = {.lock = l, .timeout_ns = 1 * SECOND};
    pthread_t tw, tr;
    pthread_create(&tw, NULL, queued_writer_main, &w);
    wait_for_waiters(l, 1, "the writer to queue");
    struct writer_result r = {.lock = l, .timeout_ns = DUALSYNC_TIMEOUT_INFINITE};
    pthread_create(&tr, NULL, queued_reader_main, &r);
    wait_for_waiters(l, 2, "the reader to queue behind the writer");
    printf("reader queued behind the writer: waiting = %zu\n", n_waiting(l));
    pthread_join(tw, NULL);
    expect("writer: write_timeout(1 s)", w.status, DUALSYNC_TIMED_OUT);
    /* The first read lock is still held: the reader got in anyway. */
    pthread_join(tr, NULL);
    expect("reader: read", r.status, DUALSYNC_OK);
    size_t readers = 0;
    expect("n_readers", dualsync_rwlock_n_readers(l, &readers), DUALSYNC_OK);
    printf("readers inside = %zu, waiting = %zu\n", readers, n_waiting(l));
    expect("free while read-locked", dualsync_rwlock_free(l), DUALSYNC_BUSY);
    expect("read_unlock (reader's)", dualsync_rwlock_read_unlock(l), DUALSYNC_OK);
    expect("read_unlock (main's)", dualsync_rwlock_read_unlock(l), DUALSYNC_OK);
    expect("free", dualsync_rwlock_free(l), DUALSYNC_OK);
}

static void misuse(void) {
    printf("== misuse ==\n");
    dualsync_rwlock_t *l = dualsync_rwlock_new(true);
    expect("read_unlock unlocked", dualsync_rwlock_read_unlock(l), DUALSYNC_NOT_LOCKED);
    expect("write_unlock unlocked", dualsync_rwlock_write_unlock(l), DUALSYNC_NOT_LOCKED);
    expect("write", dualsync_rwlock_write(l), DUALSYNC_OK);
    expect("read_unlock while write-locked", dualsync_rwlock_read_unlock(l), DUALSYNC_NOT_LOCKED);
    expect("free while write-locked", dualsync_rwlock_free(l), DUALSYNC_BUSY);
    expect("write_unlock", dualsync_rwlock_write_unlock(l), DUALSYNC_OK);
    expect("read", dualsync_rwlock_read(l), DUALSYNC_OK);
    expect("write_unlock while read-locked", dualsync_rwlock_write_unlock(l), DUALSYNC_NOT_LOCKED);
    expect("read_unlock", dualsync_rwlock_read_unlock(l), DUALSYNC_OK);
    size_t n = 0;
    expect("read(NULL)", dualsync_rwlock_read(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("try_read(NULL)", dualsync_rwlock_try_read(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("read_timeout(NULL)", dualsync_rwlock_read_timeout(NULL, 0), DUALSYNC_INVALID_ARGUMENT);
    expect("write(NULL)", dualsync_rwlock_write(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("try_write(NULL)", dualsync_rwlock_try_write(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("write_timeout(NULL)", dualsync_rwlock_write_timeout(NULL, 0), DUALSYNC_INVALID_ARGUMENT);
    expect("read_unlock(NULL)", dualsync_rwlock_read_unlock(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("write_unlock(NULL)", dualsync_rwlock_write_unlock(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("n_waiting(NULL, &out)", dualsync_rwlock_n_waiting(NULL, &n), DUALSYNC_INVALID_ARGUMENT);
    expect("n_waiting(l, NULL)", dualsync_rwlock_n_waiting(l, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("n_readers(l, NULL)", dualsync_rwlock_n_readers(l, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("free", dualsync_rwlock_free(l), DUALSYNC_OK);
    expect("free(NULL)", dualsync_rwlock_free(NULL), DUALSYNC_OK);
}

int main(void) {
    printf("== readers and writers ==\n");
    count_with(false);
    count_with(true);
    writer_stops_new_readers();
    timed_out_writer_lets_readers_in();
    misuse();
    printf("%s\n", failures == 0 ? "all ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
