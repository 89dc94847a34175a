/*
 * event_loop.c: one thread runs a poll() loop that serves a dualsync queue
 * fed by pthreads and a semaphore released by another thread, without ever
 * blocking in dualsync: every wait is an operation (dualsync_op_t) started
 * with a `_start` call, announced on an eventfd (or through a callback),
 * and finished with dualsync_op_poll. (In the Rust test tests/ffi_op.rs
 * the semaphore is released by a tokio task; here a pthread stands in.)
 *
 * Then timeouts, the event-loop way: the loop's own timer (here poll()'s
 * timeout) and dualsync_op_cancel when it fires. A cancel that withdraws
 * the wait (DUALSYNC_OK) means "timed out, nothing taken": an item or a
 * permit handed to the wait meanwhile went on, nothing is lost; a cancel
 * that comes too late (DUALSYNC_DONE) leaves the outcome to poll. No
 * timer thread anywhere.
 *
 * Items are malloc'd ints: the loop frees each one it gets, so valgrind
 * sees a leak if anything is lost.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dualsync.h"
#include "example_util.h"

enum { PRODUCERS = 3, PER_PRODUCER = 200, RELEASES = 20 };

static dualsync_queue_t *queue;
static dualsync_semaphore_t *sem;

static void *producer(void *arg) {
    int base = (int)(intptr_t)arg * PER_PRODUCER;
    for (int i = 0; i < PER_PRODUCER; i++) {
        int *job = malloc(sizeof *job);
        if (!job) exit(1);
        *job = base + i + 1;
        check(dualsync_queue_put(queue, job, 0), "put");
    }
    return NULL;
}

static void *releaser(void *arg) {
    (void)arg;
    for (int i = 0; i < RELEASES; i++) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        check(dualsync_semaphore_release(sem, 1), "release");
    }
    return NULL;
}

/* The semaphore operation announces through this callback: it may run on
 * the releasing thread, inside dualsync_semaphore_release, so it only
 * records the event and wakes the loop (no dualsync call, no blocking). */
static atomic_int sem_announced;
static int loop_fd;
static void on_semaphore(void *user_data) {
    (void)user_data;
    atomic_fetch_add(&sem_announced, 1);
    uint64_t one = 1;
    ssize_t n = write(loop_fd, &one, sizeof one);
    (void)n;
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop for one operation with a deadline `timeout_ms` from now:
 * the outcome of `op` (dualsync_op_poll's status, its result in *result),
 * or DUALSYNC_TIMED_OUT when the loop's timer fired first and the cancel
 * withdrew the wait. Like many loops it runs due timers before it looks
 * at ready descriptors, so a timeout can fire while the operation's
 * announcement is pending: the cancel sorts that out. */
static dualsync_status wait_with_timeout(dualsync_op_t *op, int timeout_ms, void *result) {
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        long left = deadline - now_ms();
        struct pollfd pfd = {.fd = loop_fd, .events = POLLIN};
        int ready = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (now_ms() >= deadline) {
            /* The timer fired: time the wait out. */
            switch (dualsync_op_cancel(op)) {
            case DUALSYNC_OK:
                return DUALSYNC_TIMED_OUT; /* withdrawn: it took nothing */
            case DUALSYNC_DONE:
                return dualsync_op_poll(op, result); /* completed first: keep it */
            default:
                return DUALSYNC_PANIC;
            }
        }
        if (ready > 0) {
            uint64_t count;
            ssize_t n = read(loop_fd, &count, sizeof count);
            (void)n;
            dualsync_status st = dualsync_op_poll(op, result);
            if (st != DUALSYNC_WOULD_BLOCK) return st;
        }
    }
}

int main(void) {
    queue = dualsync_queue_new(8, DUALSYNC_QUEUE_FIFO);
    sem = dualsync_semaphore_new(0, false);
    loop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!queue || !sem || loop_fd < 0) return 1;

    /* One wait of each kind in flight at any time. */
    dualsync_op_t *get_op, *acq_op;
    check(dualsync_queue_get_start(queue, loop_fd, NULL, NULL, &get_op), "get_start");
    check(dualsync_semaphore_acquire_start(sem, 1, -1, on_semaphore, NULL, &acq_op),
          "acquire_start");
    expect("free the queue while a get is pending", dualsync_queue_free(queue), DUALSYNC_BUSY);

    pthread_t threads[PRODUCERS + 1];
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&threads[i], NULL, producer, (void *)(intptr_t)i);
    pthread_create(&threads[PRODUCERS], NULL, releaser, NULL);

    long items = 0, sum = 0, permits = 0, wakeups = 0;
    while (items < PRODUCERS * PER_PRODUCER || permits < RELEASES) {
        struct pollfd pfd = {.fd = loop_fd, .events = POLLIN};
        if (poll(&pfd, 1, 10000) <= 0) {
            fprintf(stderr, "no announcement in 10 s\n");
            return 1;
        }
        uint64_t count;
        if (read(loop_fd, &count, sizeof count) == (ssize_t)sizeof count) wakeups++;
        /* One eventfd for both: poll each operation; WOULD_BLOCK means
         * "not yet" (an announcement may be for the other one). */
        for (;;) {
            void *item;
            dualsync_status st = dualsync_op_poll(get_op, &item);
            if (st == DUALSYNC_WOULD_BLOCK) break;
            check(st, "get");
            sum += *(int *)item;
            free(item);
            items++;
            check(dualsync_op_free(get_op), "op_free");
            check(dualsync_queue_get_start(queue, loop_fd, NULL, NULL, &get_op), "get_start");
        }
        for (;;) {
            dualsync_status st = dualsync_op_poll(acq_op, NULL);
            if (st == DUALSYNC_WOULD_BLOCK) break;
            check(st, "acquire");
            permits++;
            check(dualsync_op_free(acq_op), "op_free");
            check(dualsync_semaphore_acquire_start(sem, 1, -1, on_semaphore, NULL, &acq_op),
                  "acquire_start");
        }
    }
    for (int i = 0; i <= PRODUCERS; i++) pthread_join(threads[i], NULL);
    long n = PRODUCERS * PER_PRODUCER;
    printf("items: %ld, sum %ld (expected %ld, %ld)\n", items, sum, n, n * (n + 1) / 2);
    printf("permits: %ld (expected %d)\n", permits, RELEASES);
    if (items != n || sum != n * (n + 1) / 2 || permits != RELEASES) failures++;
    printf("woken at least once: %s\n", wakeups > 0 ? "yes" : "no");
    /* Not one announcement per permit: a poll prompted by the queue's
     * announcement may take a permit before its own announcement runs
     * (which then finds the operation freed and stays silent). */
    printf("callback announced: %s\n", atomic_load(&sem_announced) > 0 ? "yes" : "no");

    /* Cancel the two waits still in flight: nothing was given to them, so
     * nothing is lost, and they announce nothing more. */
    expect("cancel the pending get", dualsync_op_cancel(get_op), DUALSYNC_OK);
    expect("poll it", dualsync_op_poll(get_op, &(void *){NULL}), DUALSYNC_CANCELLED);
    expect("cancel the pending acquire", dualsync_op_cancel(acq_op), DUALSYNC_OK);
    check(dualsync_op_free(get_op), "op_free");
    check(dualsync_op_free(acq_op), "op_free");

    /* A wait that completes at once is still an operation: announced, then
     * polled. Too late to cancel it. */
    int *last = malloc(sizeof *last);
    if (!last) return 1;
    *last = 42;
    check(dualsync_queue_put(queue, last, 0), "put");
    check(dualsync_queue_get_start(queue, loop_fd, NULL, NULL, &get_op), "get_start");
    expect("cancel a completed get", dualsync_op_cancel(get_op), DUALSYNC_DONE);
    expect("free it before taking the item", dualsync_op_free(get_op), DUALSYNC_BUSY);
    void *item = NULL;
    expect("poll it", dualsync_op_poll(get_op, &item), DUALSYNC_OK);
    printf("item: %d\n", *(int *)item);
    free(item);
    expect("poll again", dualsync_op_poll(get_op, &item), DUALSYNC_DONE);
    expect("op_free", dualsync_op_free(get_op), DUALSYNC_OK);

    /* Timeouts. A get on the empty queue with a 20 ms deadline: the timer
     * fires, the cancel withdraws it. */
    check(dualsync_queue_get_start(queue, loop_fd, NULL, NULL, &get_op), "get_start");
    expect("get with a 20 ms timeout, nothing put", wait_with_timeout(get_op, 20, &item),
           DUALSYNC_TIMED_OUT);
    check(dualsync_op_free(get_op), "op_free");

    /* The race a timeout must survive: an item arrives for a wait that the
     * loop then times out before looking at it (here: a timeout of 0). The
     * cancel withdraws the wait, and the item stays in the queue for the
     * next getter: nothing lost. */
    check(dualsync_queue_get_start(queue, loop_fd, NULL, NULL, &get_op), "get_start");
    int *late = malloc(sizeof *late);
    if (!late) return 1;
    *late = 7;
    check(dualsync_queue_put(queue, late, 0), "put");
    expect("a get timed out as its item came", wait_with_timeout(get_op, 0, &item),
           DUALSYNC_TIMED_OUT);
    check(dualsync_op_free(get_op), "op_free");
    item = NULL;
    expect("the item is still in the queue", dualsync_queue_try_get(queue, &item), DUALSYNC_OK);
    printf("item: %d\n", item ? *(int *)item : -1);
    free(item);

    /* The same for permits: two acquires wait, a release hands its permit
     * to the first, whose timer fires before it looks: the permit passes
     * on to the second. */
    dualsync_op_t *first, *second;
    check(dualsync_semaphore_acquire_start(sem, 1, loop_fd, NULL, NULL, &first), "acquire_start");
    check(dualsync_semaphore_acquire_start(sem, 1, loop_fd, NULL, NULL, &second), "acquire_start");
    check(dualsync_semaphore_release(sem, 1), "release");
    expect("the first acquire timed out as its permit came",
           wait_with_timeout(first, 0, NULL), DUALSYNC_TIMED_OUT);
    expect("the second got the permit", wait_with_timeout(second, 1000, NULL), DUALSYNC_OK);
    check(dualsync_op_free(first), "op_free");
    check(dualsync_op_free(second), "op_free");
    /* A wait that completed before its timer: the result is kept. */
    check(dualsync_semaphore_release(sem, 1), "release");
    check(dualsync_semaphore_acquire_start(sem, 1, loop_fd, NULL, NULL, &first), "acquire_start");
    expect("an acquire that completed at start, timeout 0", wait_with_timeout(first, 0, NULL),
           DUALSYNC_OK);
    check(dualsync_op_free(first), "op_free");
    size_t avail = 1;
    check(dualsync_semaphore_available(sem, &avail), "available");
    printf("permits left: %zu (expected 0)\n", avail);
    if (avail != 0) failures++;

    expect("queue free", dualsync_queue_free(queue), DUALSYNC_OK);
    expect("semaphore free", dualsync_semaphore_free(sem), DUALSYNC_OK);
    close(loop_fd);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
