#include "cobsnet.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

// The self-pipe: the handler writes each caught signal's number to it as one byte; a thread of the
// agent reads them. Made once, never closed (the handler may run at any time after).
static int obs_signal_pipe[2] = {-1, -1};
static int obs_signal_pipe_error = 0;
static pthread_once_t obs_signal_pipe_once = PTHREAD_ONCE_INIT;

static void obs_signal_make_pipe(void) {
    int fds[2];
    if (pipe(fds) != 0) {
        obs_signal_pipe_error = errno;
        return;
    }
    for (int i = 0; i < 2; i++) fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    // A full pipe (255 signals unread) drops the next rather than blocking inside the handler.
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    obs_signal_pipe[0] = fds[0];
    obs_signal_pipe[1] = fds[1];
}

static void obs_signal_handler(int signo) {
    int saved = errno;  // write may set it; the interrupted code must not see it change
    unsigned char byte = (unsigned char)signo;
    ssize_t written = write(obs_signal_pipe[1], &byte, 1);
    (void)written;
    errno = saved;
}

int obs_signal_catch(int signo) {
    pthread_once(&obs_signal_pipe_once, obs_signal_make_pipe);
    if (obs_signal_pipe[0] < 0) return -obs_signal_pipe_error;
    if (signo <= 0 || signo > 255) return -EINVAL;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = obs_signal_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(signo, &action, NULL) != 0) return -errno;
    return obs_signal_pipe[0];
}
