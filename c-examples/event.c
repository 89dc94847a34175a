/*
 * event.c: the asyncio Event demo with pthreads and one dualsync_event_t.
 *
 * Two waiter threads wait for the event; main sets it once and both are
 * released ("waiting for it ..." / "... got it!"). Then: a set event lets
 * every wait return at once; clear() makes waits wait again (try_wait and
 * wait_timeout(0) give WOULD_BLOCK, wait_timeout(20 ms) gives TIMED_OUT);
 * misuse (NULL handles and out pointers) is INVALID_ARGUMENT; free(NULL) is
 * OK.
 *
 * Output is deterministic (main prints everything, in order); exit status 0
 * on success, 1 on any surprise.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "dualsync.h"
#include "example_util.h"

#define WAITERS 2

struct waiter {
    dualsync_event_t *event;
    dualsync_status status;
};

static void *waiter_main(void *arg) {
    struct waiter *w = arg;
    w->status = dualsync_event_wait(w->event);
    return NULL;
}

int main(void) {
    dualsync_event_t *event = dualsync_event_new();
    if (event == NULL) {
        printf("dualsync_event_new failed\n");
        return 1;
    }

    printf("-- two waiters released by one set --\n");
    pthread_t threads[WAITERS];
    struct waiter waiters[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        waiters[i].event = event;
        waiters[i].status = DUALSYNC_PANIC;
        printf("waiter %d: waiting for it ...\n", i + 1);
        if (pthread_create(&threads[i], NULL, waiter_main, &waiters[i]) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    }
    expect("set", dualsync_event_set(event), DUALSYNC_OK);
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(threads[i], NULL);
        printf("waiter %d: ... got it! (%s)\n", i + 1, dualsync_status_str(waiters[i].status));
        if (waiters[i].status != DUALSYNC_OK) {
            failures++;
        }
    }

    printf("-- a set event: waits return at once --\n");
    bool is_set = false;
    expect("is_set", dualsync_event_is_set(event, &is_set), DUALSYNC_OK);
    printf("is set: %d\n", is_set);
    expect("wait", dualsync_event_wait(event), DUALSYNC_OK);
    expect("try_wait", dualsync_event_try_wait(event), DUALSYNC_OK);
    expect("wait_timeout(0)", dualsync_event_wait_timeout(event, 0), DUALSYNC_OK);
    expect("wait_timeout(INFINITE)",
           dualsync_event_wait_timeout(event, DUALSYNC_TIMEOUT_INFINITE), DUALSYNC_OK);

    printf("-- cleared: waits wait again --\n");
    expect("clear", dualsync_event_clear(event), DUALSYNC_OK);
    expect("is_set", dualsync_event_is_set(event, &is_set), DUALSYNC_OK);
    printf("is set: %d\n", is_set);
    expect("try_wait", dualsync_event_try_wait(event), DUALSYNC_WOULD_BLOCK);
    expect("wait_timeout(0)", dualsync_event_wait_timeout(event, 0), DUALSYNC_WOULD_BLOCK);
    expect("wait_timeout(20 ms)", dualsync_event_wait_timeout(event, 20000000), DUALSYNC_TIMED_OUT);

    printf("-- misuse --\n");
    expect("set(NULL)", dualsync_event_set(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("wait(NULL)", dualsync_event_wait(NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("is_set(event, NULL)", dualsync_event_is_set(event, NULL), DUALSYNC_INVALID_ARGUMENT);
    expect("free(NULL)", dualsync_event_free(NULL), DUALSYNC_OK);
    expect("free", dualsync_event_free(event), DUALSYNC_OK);

    if (failures != 0) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
