/* A wall-clock step for one process, for the clock-jump tests: LD_PRELOAD this library and set
 * OBS_WALLCLOCK_FILE to a file holding a number of seconds; the process's CLOCK_REALTIME (through
 * clock_gettime, gettimeofday and time) is moved by that many seconds, read again from the file
 * at most every 100 ms, so that a test steps the clock by rewriting the file. The monotonic and
 * boot clocks, and so every timer, are left alone, as they are when NTP or an operator steps the
 * real clock. Waits until a wall-clock deadline (pthread_cond_timedwait on a condition variable of
 * CLOCK_REALTIME) are moved back by the same amount, as the kernel's own wall clock would have
 * moved with a real step; waits on CLOCK_MONOTONIC condition variables are left alone.
 * Build: gcc -shared -fPIC -O2 -o wallclock_shift.so wallclock_shift.c -ldl -lpthread */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static volatile long shift_seconds;
static volatile long long last_read_ns;

static void load(void) {
    if (!real_clock_gettime) real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
    struct timespec now;
    real_clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    if (last_read_ns != 0 && ns - last_read_ns < 100000000LL) return;
    last_read_ns = ns;
    const char *path = getenv("OBS_WALLCLOCK_FILE");
    if (!path) return;
    FILE *file = fopen(path, "r");
    if (!file) return;
    long value;
    if (fscanf(file, "%ld", &value) == 1) shift_seconds = value;
    fclose(file);
}

int clock_gettime(clockid_t clock, struct timespec *time) {
    load();
    int result = real_clock_gettime(clock, time);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) time->tv_sec += shift_seconds;
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    struct timespec now;
    int result = clock_gettime(CLOCK_REALTIME, &now);
    if (result == 0 && tv) {
        tv->tv_sec = now.tv_sec;
        tv->tv_usec = now.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out) *out = now.tv_sec;
    return now.tv_sec;
}

int pthread_cond_timedwait(pthread_cond_t *restrict cond, pthread_mutex_t *restrict mutex, const struct timespec *restrict deadline) {
    if (!real_cond_timedwait) real_cond_timedwait = dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    load();
    /* A condition variable on the monotonic clock (glibc keeps the clock in bit 1 of __wrefs, see
     * pthread_cond_common.c) waits on a clock that a step does not move. */
    if (__atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED) & 2) return real_cond_timedwait(cond, mutex, deadline);
    struct timespec moved = *deadline;
    moved.tv_sec -= shift_seconds;
    return real_cond_timedwait(cond, mutex, &moved);
}
