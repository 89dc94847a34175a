/*
 * queue_pipeline.c: the asyncio queue demo with pthreads and one
 * dualsync_queue_t.
 *
 * 1. One producer puts 1000 jobs into a bounded FIFO queue (capacity 8),
 *    then one stop signal per consumer; two consumers take jobs, add them
 *    up, and mark each one done with task_done (stop signals too). The main
 *    thread waits in join until every job is done; the totals show that
 *    every job was delivered exactly once.
 * 2. Orders: LIFO and priority (smallest first, equal priorities in put
 *    order).
 * 3. Statuses: EMPTY, FULL, TIMED_OUT, WOULD_BLOCK, OVER_RELEASE, shutdown
 *    (drain, then SHUT_DOWN; immediate discards), a blocked getter woken by
 *    shutdown, BUSY free, NULL arguments. dualsync_queue_statistics shows
 *    the counts, and tells main when the getter is really blocked (it is
 *    polled until getters_waiting is 1: no sleep for a guessed time).
 *
 * Output is deterministic; exit status 0 on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "dualsync.h"
#include "example_util.h"

#define JOBS 1000
#define CONSUMERS 2

static long jobs[JOBS];
static int stop_signal;

struct consumer {
    dualsync_queue_t *q;
    long sum;
    long count;
};

static void *producer_main(void *arg) {
    dualsync_queue_t *q = arg;
    for (int i = 0; i < JOBS; i++) {
        /* Alternate the blocking and the timeout forms. */
        if (i % 2 == 0)
            check(dualsync_queue_put(q, &jobs[i], 0), "put");
        else
            check(dualsync_queue_put_timeout(q, &jobs[i], 0, DUALSYNC_TIMEOUT_INFINITE), "put_timeout");
    }
    for (int c = 0; c < CONSUMERS; c++)
        check(dualsync_queue_put(q, &stop_signal, 0), "put(stop)");
    return NULL;
}

static void *consumer_main(void *arg) {
    struct consumer *c = arg;
    for (;;) {
        void *item = NULL;
        check(dualsync_queue_get(c->q, &item), "get");
        if (item == &stop_signal) {
            check(dualsync_queue_task_done(c->q), "task_done(stop)");
            return NULL;
        }
        c->sum += *(long *)item;
        c->count++;
        check(dualsync_queue_task_done(c->q), "task_done");
    }
}

static void *blocked_getter(void *arg) {
    void *item = NULL;
    dualsync_status s = dualsync_queue_get((dualsync_queue_t *)arg, &item);
    return (void *)(long)s;
}

static dualsync_queue_stats_t stats_of(const dualsync_queue_t *q) {
    dualsync_queue_stats_t st;
    check(dualsync_queue_statistics(q, &st), "statistics");
    return st;
}

static void print_stats(const char *what, const dualsync_queue_t *q) {
    dualsync_queue_stats_t st = stats_of(q);
    printf("%s: len %zu, capacity %zu, waiting get/put/join %zu/%zu/%zu, unfinished %zu, shut down %d\n",
           what, st.len, st.capacity, st.getters_waiting, st.putters_waiting, st.joiners_waiting,
           st.unfinished_tasks, st.shut_down);
}

int main(void) {
    /* 1. The pipeline. */
    long expected = 0;
    for (int i = 0; i < JOBS; i++) {
        jobs[i] = i + 1;
        expected += i + 1;
    }
    dualsync_queue_t *q = dualsync_queue_new(8, DUALSYNC_QUEUE_FIFO);
    if (!q)
        return 1;
    pthread_t prod, cons[CONSUMERS];
    struct consumer cs[CONSUMERS];
    for (int c = 0; c < CONSUMERS; c++) {
        cs[c] = (struct consumer){q, 0, 0};
        pthread_create(&cons[c], NULL, consumer_main, &cs[c]);
    }
    pthread_create(&prod, NULL, producer_main, q);
    pthread_join(prod, NULL);
    expect("producer done; join", dualsync_queue_join(q), DUALSYNC_OK);
    for (int c = 0; c < CONSUMERS; c++)
        pthread_join(cons[c], NULL);
    long sum = cs[0].sum + cs[1].sum, count = cs[0].count + cs[1].count;
    printf("jobs consumed: %ld, sum %ld (expected %d, %ld)\n", count, sum, JOBS, expected);
    if (count != JOBS || sum != expected)
        failures++;
    size_t len = 99;
    expect("len", dualsync_queue_len(q, &len), DUALSYNC_OK);
    printf("left in the queue: %zu\n", len);
    expect("task_done once too often", dualsync_queue_task_done(q), DUALSYNC_OVER_RELEASE);
    expect("free", dualsync_queue_free(q), DUALSYNC_OK);

    /* 2. Orders. */
    static long v[5] = {30, 10, 50, 20, 40};
    dualsync_queue_t *lifo = dualsync_queue_new(0, DUALSYNC_QUEUE_LIFO);
    dualsync_queue_t *prio = dualsync_queue_new(0, DUALSYNC_QUEUE_PRIORITY);
    for (int i = 0; i < 5; i++) {
        check(dualsync_queue_try_put(lifo, &v[i], 0), "try_put");
        /* priorities 3,1,5,2,4 except that 20 and 10 share priority 1 */
        uint64_t p = (uint64_t)(v[i] / 10);
        if (v[i] == 20)
            p = 1;
        check(dualsync_queue_try_put(prio, &v[i], p), "try_put");
    }
    printf("lifo:");
    void *it;
    while (dualsync_queue_try_get(lifo, &it) == DUALSYNC_OK)
        printf(" %ld", *(long *)it);
    printf("\npriority:");
    while (dualsync_queue_get_timeout(prio, &it, 0) == DUALSYNC_OK)
        printf(" %ld", *(long *)it);
    printf("\n");
    check(dualsync_queue_free(lifo), "free");
    check(dualsync_queue_free(prio), "free");

    /* 3. Statuses. */
    dualsync_queue_t *s = dualsync_queue_new(1, DUALSYNC_QUEUE_FIFO);
    expect("try_get on empty", dualsync_queue_try_get(s, &it), DUALSYNC_EMPTY);
    expect("get_timeout(20 ms) on empty", dualsync_queue_get_timeout(s, &it, 20000000), DUALSYNC_TIMED_OUT);
    expect("join_timeout(0) with nothing unfinished", dualsync_queue_join_timeout(s, 0), DUALSYNC_OK);
    expect("try_put", dualsync_queue_try_put(s, &v[0], 0), DUALSYNC_OK);
    expect("try_put on full", dualsync_queue_try_put(s, &v[1], 0), DUALSYNC_FULL);
    expect("put_timeout(0) on full", dualsync_queue_put_timeout(s, &v[1], 0, 0), DUALSYNC_FULL);
    expect("put_timeout(20 ms) on full", dualsync_queue_put_timeout(s, &v[1], 0, 20000000), DUALSYNC_TIMED_OUT);
    print_stats("one item in a queue of 1", s);
    expect("join_timeout(0) with 1 unfinished", dualsync_queue_join_timeout(s, 0), DUALSYNC_WOULD_BLOCK);
    expect("join_timeout(20 ms)", dualsync_queue_join_timeout(s, 20000000), DUALSYNC_TIMED_OUT);
    expect("shutdown(graceful)", dualsync_queue_shutdown(s, false), DUALSYNC_OK);
    expect("put after shutdown", dualsync_queue_put(s, &v[1], 0), DUALSYNC_SHUT_DOWN);
    expect("get drains", dualsync_queue_get(s, &it), DUALSYNC_OK);
    printf("drained: %ld\n", *(long *)it);
    expect("get after drain", dualsync_queue_get(s, &it), DUALSYNC_SHUT_DOWN);
    check(dualsync_queue_free(s), "free");

    s = dualsync_queue_new(4, DUALSYNC_QUEUE_FIFO);
    check(dualsync_queue_put(s, &v[0], 0), "put");
    check(dualsync_queue_put(s, &v[1], 0), "put");
    expect("shutdown(immediate)", dualsync_queue_shutdown(s, true), DUALSYNC_OK);
    print_stats("after immediate", s);
    expect("len after immediate", dualsync_queue_len(s, &len), DUALSYNC_OK);
    printf("left: %zu\n", len);
    expect("join (discarded items count as done)", dualsync_queue_join(s), DUALSYNC_OK);
    expect("try_get after immediate", dualsync_queue_try_get(s, &it), DUALSYNC_SHUT_DOWN);
    check(dualsync_queue_free(s), "free");

    s = dualsync_queue_new(0, DUALSYNC_QUEUE_FIFO);
    pthread_t g;
    pthread_create(&g, NULL, blocked_getter, s);
    /* The getter counts as waiting once it is queued in get. */
    unsigned long turn = 0;
    while (stats_of(s).getters_waiting != 1)
        poll_pause(&turn, "the getter to block in dualsync_queue_get");
    print_stats("with a blocked getter", s);
    dualsync_status busy = dualsync_queue_free(s);
    if (busy == DUALSYNC_OK) {
        fprintf(stderr, "freed a queue in use\n");
        return 1;
    }
    expect("free with a blocked getter", busy, DUALSYNC_BUSY);
    expect("shutdown(immediate)", dualsync_queue_shutdown(s, true), DUALSYNC_OK);
    void *r;
    pthread_join(g, &r);
    expect("the blocked getter woke with", (dualsync_status)(long)r, DUALSYNC_SHUT_DOWN);
    expect("free", dualsync_queue_free(s), DUALSYNC_OK);

    expect("new(order 7) is NULL -> put(NULL)", dualsync_queue_put(dualsync_queue_new(0, 7), &v[0], 0), DUALSYNC_INVALID_ARGUMENT);
    s = dualsync_queue_new(0, DUALSYNC_QUEUE_LIFO);
    expect("get(out = NULL)", dualsync_queue_get(s, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("len(out = NULL)", dualsync_queue_len(s, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("statistics(out = NULL)", dualsync_queue_statistics(s, NULL), DUALSYNC_INVALID_ARGUMENT);
    dualsync_queue_stats_t st;
    expect("statistics(NULL)", dualsync_queue_statistics(NULL, &st), DUALSYNC_INVALID_ARGUMENT);
    expect("task_done(NULL)", dualsync_queue_task_done(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("free(NULL)", dualsync_queue_free(NULL), DUALSYNC_OK);
    check(dualsync_queue_free(s), "free");

    printf("%s\n", failures ? "FAILED" : "all good");
    return failures ? 1 : 0;
}
