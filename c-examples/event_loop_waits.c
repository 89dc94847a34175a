/*
 * event_loop_waits.c: the other waits as operations, served by one thread
 * running a poll() loop on an eventfd, never blocking in dualsync: a
 * barrier arrival (its index comes back through dualsync_op_poll), a
 * condition wait (it releases the mutex when it starts and holds it again
 * when it completes), and read and write locks. The other parties are
 * pthreads using the blocking calls on the same primitives.
 *
 * Also a condition wait that times out on the loop's timer: the cancel
 * leaves the mutex with nobody (re-locking could block the loop), and the
 * loop takes it back with a lock operation.
 *
 * Output is deterministic; exit status 0 on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dualsync.h"
#include "example_util.h"

enum { ROUNDS = 3 };

static int loop_fd;

/* Waits on the loop's eventfd for the next announcement (10 s at most, or
 * `timeout_ms`): 1 if there was one, 0 if the time ran out. */
static int next_announcement(int timeout_ms) {
    struct pollfd pfd = {.fd = loop_fd, .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0) {
        perror("poll");
        exit(1);
    }
    if (n > 0) {
        uint64_t count;
        ssize_t r = read(loop_fd, &count, sizeof count);
        (void)r;
    }
    return n > 0;
}

/* Runs the loop until `op` completes; returns its outcome (and result). */
static dualsync_status run(dualsync_op_t *op, void *result) {
    for (;;) {
        dualsync_status st = dualsync_op_poll(op, result);
        if (st != DUALSYNC_WOULD_BLOCK) return st;
        if (!next_announcement(10000)) {
            fprintf(stderr, "no announcement in 10 s\n");
            exit(1);
        }
    }
}

/* ---- barrier ---- */

static dualsync_barrier_t *barrier;
static size_t thread_index[2][ROUNDS];

static void *party(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++)
        check(dualsync_barrier_wait(barrier, &thread_index[id][r]), "barrier_wait");
    return NULL;
}

static void barrier_part(void) {
    barrier = dualsync_barrier_new(3);
    if (!barrier) exit(1);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, party, (void *)(intptr_t)i);
    size_t mine[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        dualsync_op_t *op;
        check(dualsync_barrier_wait_start(barrier, loop_fd, NULL, NULL, &op), "wait_start");
        check(run(op, &mine[r]), "barrier arrival");
        check(dualsync_op_free(op), "op_free");
    }
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    int each_once = 1;
    for (int r = 0; r < ROUNDS; r++) {
        size_t a = mine[r], b = thread_index[0][r], c = thread_index[1][r];
        if (a + b + c != 3 || a == b || b == c || a == c || a > 2 || b > 2 || c > 2) each_once = 0;
    }
    printf("barrier: %d rounds with the loop as a party, each handed out 0, 1, 2: %s\n", ROUNDS,
           each_once ? "yes" : "no");
    if (!each_once) failures++;

    /* Alone at the barrier, the loop gives up: the arrival is withdrawn,
     * the barrier is not broken. */
    dualsync_op_t *op;
    check(dualsync_barrier_wait_start(barrier, loop_fd, NULL, NULL, &op), "wait_start");
    size_t n = 0;
    check(dualsync_barrier_n_waiting(barrier, &n), "n_waiting");
    printf("barrier: waiting after the loop arrived alone: %zu\n", n);
    expect("barrier: cancel the arrival", dualsync_op_cancel(op), DUALSYNC_OK);
    check(dualsync_barrier_n_waiting(barrier, &n), "n_waiting");
    bool broken = true;
    check(dualsync_barrier_is_broken(barrier, &broken), "is_broken");
    printf("barrier: waiting now: %zu, broken: %s\n", n, broken ? "yes" : "no");
    check(dualsync_op_free(op), "op_free");
    expect("barrier free", dualsync_barrier_free(barrier), DUALSYNC_OK);
}

/* ---- condition ---- */

static dualsync_mutex_t *mutex;
static dualsync_condition_t *cond;
static int value = 0; /* guarded by `mutex` */

static void *producer(void *arg) {
    (void)arg;
    unsigned long turn = 0;
    for (;;) {
        size_t n = 0;
        check(dualsync_condition_n_waiting(cond, &n), "n_waiting");
        if (n == 1) break;
        poll_pause(&turn, "the loop's condition wait");
    }
    check(dualsync_mutex_lock(mutex), "lock");
    value = 42;
    size_t woken = 0;
    check(dualsync_condition_notify(cond, 1, &woken), "notify");
    check(dualsync_mutex_unlock(mutex), "unlock");
    return NULL;
}

static bool locked(void) {
    bool l = false;
    check(dualsync_mutex_is_locked(mutex, &l), "is_locked");
    return l;
}

static void lock_with_operation(void) {
    dualsync_op_t *op;
    check(dualsync_mutex_lock_start(mutex, loop_fd, NULL, NULL, &op), "lock_start");
    check(run(op, NULL), "lock");
    check(dualsync_op_free(op), "op_free");
}

static void condition_part(void) {
    mutex = dualsync_mutex_new(false);
    cond = dualsync_condition_new();
    if (!mutex || !cond) exit(1);
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);

    lock_with_operation();
    int waits = 0;
    while (value == 0) {
        /* Releases the mutex; completes notified and holding it again. */
        dualsync_op_t *op;
        check(dualsync_condition_wait_start(cond, mutex, loop_fd, NULL, NULL, &op), "wait_start");
        check(run(op, NULL), "condition wait");
        check(dualsync_op_free(op), "op_free");
        waits++;
    }
    printf("condition: value %d after %d wait, mutex held: %s\n", value, waits,
           locked() ? "yes" : "no");
    check(dualsync_mutex_unlock(mutex), "unlock");
    pthread_join(t, NULL);

    /* Nobody notifies: the loop's timer fires after 20 ms and cancels. */
    lock_with_operation();
    dualsync_op_t *op;
    check(dualsync_condition_wait_start(cond, mutex, loop_fd, NULL, NULL, &op), "wait_start");
    printf("condition: mutex held while waiting: %s\n", locked() ? "yes" : "no");
    while (next_announcement(20)) {
        if (dualsync_op_poll(op, NULL) != DUALSYNC_WOULD_BLOCK) {
            fprintf(stderr, "a condition wait completed without a notification\n");
            exit(1);
        }
    }
    expect("condition: cancel on timeout", dualsync_op_cancel(op), DUALSYNC_OK);
    check(dualsync_op_free(op), "op_free");
    printf("condition: mutex held after the timed-out wait: %s\n", locked() ? "yes" : "no");
    lock_with_operation();
    printf("condition: mutex held after a lock operation: %s\n", locked() ? "yes" : "no");
    check(dualsync_mutex_unlock(mutex), "unlock");

    expect("condition free", dualsync_condition_free(cond), DUALSYNC_OK);
    expect("mutex free", dualsync_mutex_free(mutex), DUALSYNC_OK);
}

/* ---- reader-writer lock ---- */

static dualsync_rwlock_t *rwlock;

static void *writer(void *arg) {
    (void)arg;
    check(dualsync_rwlock_write(rwlock), "write");
    unsigned long turn = 0;
    for (;;) {
        size_t n = 0;
        check(dualsync_rwlock_n_waiting(rwlock, &n), "n_waiting");
        if (n == 2) break;
        poll_pause(&turn, "the loop's read and write operations");
    }
    check(dualsync_rwlock_write_unlock(rwlock), "write_unlock");
    return NULL;
}

static void rwlock_part(void) {
    rwlock = dualsync_rwlock_new(true);
    if (!rwlock) exit(1);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    unsigned long turn = 0;
    while (dualsync_rwlock_try_read(rwlock) == DUALSYNC_OK) {
        /* The writer has not taken it yet. */
        check(dualsync_rwlock_read_unlock(rwlock), "read_unlock");
        poll_pause(&turn, "the writer");
    }
    dualsync_op_t *r, *w;
    check(dualsync_rwlock_read_start(rwlock, loop_fd, NULL, NULL, &r), "read_start");
    check(dualsync_rwlock_write_start(rwlock, loop_fd, NULL, NULL, &w), "write_start");
    expect("rwlock: read lock, after the writer", run(r, NULL), DUALSYNC_OK);
    size_t readers = 0;
    check(dualsync_rwlock_n_readers(rwlock, &readers), "n_readers");
    printf("rwlock: readers: %zu\n", readers);
    expect("rwlock: the write op waits for the reader", dualsync_op_poll(w, NULL),
           DUALSYNC_WOULD_BLOCK);
    check(dualsync_rwlock_read_unlock(rwlock), "read_unlock");
    expect("rwlock: write lock, after the reader", run(w, NULL), DUALSYNC_OK);
    expect("rwlock: try_read while the loop writes", dualsync_rwlock_try_read(rwlock),
           DUALSYNC_WOULD_BLOCK);
    check(dualsync_rwlock_write_unlock(rwlock), "write_unlock");
    check(dualsync_op_free(r), "op_free");
    check(dualsync_op_free(w), "op_free");
    pthread_join(t, NULL);
    expect("rwlock free", dualsync_rwlock_free(rwlock), DUALSYNC_OK);
}

int main(void) {
    loop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop_fd < 0) return 1;
    barrier_part();
    condition_part();
    rwlock_part();
    close(loop_fd);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
