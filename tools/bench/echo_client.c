/* The load generator of tools/bench.py's echo benchmarks, in C.

   The same program as echo_client.py beside it: the same options, the same
   closed loop, the same checks, the same JSON on stdout. tools/bench.py
   compiles it with the machine's C compiler when there is one, and falls back
   to echo_client.py when there is none.

   Why C in a pure-Python course: on a machine with two cores, the server runs
   on one and the generator on the other, and a generator written in Python
   costs about as much per round trip as the fastest servers it measures
   (tools/bench.py marks such figures "generator-bound"). A benchmark whose
   generator is the bottleneck measures the generator. This one spends its
   time in the kernel's send and recv, which every generator pays.

   One thread, non-blocking sockets under epoll. Each connection alternates
   between two random payloads of its own, so an echo that repeats an old
   message, mixes up connections, or adds or drops a byte fails the comparison.
   Any mismatch, early close or time-out exits with status 1 and a message on
   stderr. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    unsigned char *payloads[2];
    unsigned char *payload;  /* the one being sent: payloads[messages % 2] */
    unsigned char *buffer;
    size_t sent_bytes;   /* of the current message */
    size_t received;     /* of the current echo */
    long messages;       /* messages started */
    long left;           /* round trips left in the current phase */
    int64_t started_ns;
    int writing;         /* registered for EPOLLOUT too */
    int timed;
    int64_t *latencies;
    long latency_count;
} Connection;

static int epoll_fd;
static size_t size;
static double deadline, timeout;

static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("echo_client: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static int64_t now_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Nanoseconds this thread waited for a CPU, runnable but not running, or -1. */
static int64_t waited_for_cpu_ns(void) {
    FILE *stats = fopen("/proc/thread-self/schedstat", "r");
    long long ran, waited;
    int found;
    if (!stats) return -1;
    found = fscanf(stats, "%lld %lld", &ran, &waited);
    fclose(stats);
    return found == 2 ? waited : -1;
}

static uint64_t rng_state;

static uint64_t next_random(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void watch(Connection *conn, int op, int writing) {
    struct epoll_event event = {.events = EPOLLIN | (writing ? EPOLLOUT : 0), .data.ptr = conn};
    if (epoll_ctl(epoll_fd, op, conn->fd, &event) < 0) fail("epoll_ctl: %s", strerror(errno));
    conn->writing = writing;
}

static void send_pending(Connection *conn) {
    while (conn->sent_bytes < size) {
        ssize_t sent = send(conn->fd, conn->payload + conn->sent_bytes,
                            size - conn->sent_bytes, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            fail("send: %s", strerror(errno));
        }
        conn->sent_bytes += (size_t)sent;
    }
    /* Ask for writability only while part of a message waits (for most
       messages, never): each change of interest is a system call. */
    if ((conn->sent_bytes < size) != conn->writing) watch(conn, EPOLL_CTL_MOD, !conn->writing);
}

static void start(Connection *conn) {
    conn->payload = conn->payloads[conn->messages++ % 2];
    conn->sent_bytes = conn->received = 0;
    conn->started_ns = now_ns(CLOCK_MONOTONIC);
    send_pending(conn);
}

static void phase(Connection *conns, int connections, long rounds, int timed) {
    struct epoll_event events[64];
    int busy = 0;
    for (int i = 0; i < connections; i++) {
        conns[i].left = rounds;
        conns[i].timed = timed;
        if (rounds) {
            busy++;
            start(&conns[i]);
        }
    }
    while (busy) {
        int ready = epoll_wait(epoll_fd, events, 64, 1000);
        if (ready < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait: %s", strerror(errno));
        }
        if (now_ns(CLOCK_MONOTONIC) / 1e9 > deadline) fail("timed out after %g s", timeout);
        for (int i = 0; i < ready; i++) {
            Connection *conn = events[i].data.ptr;
            if (events[i].events & EPOLLOUT && conn->sent_bytes < size) send_pending(conn);
            if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            ssize_t got = recv(conn->fd, conn->buffer + conn->received, size - conn->received, 0);
            if (got < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
                fail("recv: %s", strerror(errno));
            }
            if (got == 0) fail("the server closed a connection in the middle of the run");
            conn->received += (size_t)got;
            if (conn->received < size) continue;
            int64_t done = now_ns(CLOCK_MONOTONIC);
            if (memcmp(conn->buffer, conn->payload, size) != 0)
                fail("message %ld came back different from what was sent", conn->messages);
            if (conn->timed) conn->latencies[conn->latency_count++] = done - conn->started_ns;
            if (--conn->left) start(conn);
            else busy--;
        }
    }
}

/* The value of --name, or fallback when it is not given (a negative fallback: required). */
static double option(int argc, char **argv, const char *name, double fallback) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            char *end;
            double value = strtod(argv[i + 1], &end);
            if (*end || end == argv[i + 1]) fail("%s wants a number, not %s", name, argv[i + 1]);
            return value;
        }
    if (fallback < 0) fail("%s is required", name);
    return fallback;
}

static const char *const options[] = {"--port", "--connections", "--size", "--count", "--warmup", "--seed",
                                      "--timeout"};

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i += 2) {  /* every argument is an option and its value, as echo_client.py takes them */
        int known = 0;
        for (size_t o = 0; o < sizeof options / sizeof *options; o++) known |= strcmp(argv[i], options[o]) == 0;
        if (!known || i + 1 == argc) fail("unknown option or missing value: %s", argv[i]);
    }
    long port = (long)option(argc, argv, "--port", -1);
    int connections = (int)option(argc, argv, "--connections", 10);
    long count = (long)option(argc, argv, "--count", 1000), warmup = (long)option(argc, argv, "--warmup", 100);
    size = (size_t)option(argc, argv, "--size", 1024);
    rng_state = (uint64_t)option(argc, argv, "--seed", 0);
    timeout = option(argc, argv, "--timeout", 120);
    deadline = now_ns(CLOCK_MONOTONIC) / 1e9 + timeout;
    if (count < 1 || size < 1 || connections < 1) fail("--count, --size and --connections must be at least 1");

    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    Connection *conns = calloc((size_t)connections, sizeof *conns);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < connections; i++) {
        Connection *conn = &conns[i];
        conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (conn->fd < 0) fail("socket: %s", strerror(errno));
        if (connect(conn->fd, (struct sockaddr *)&address, sizeof address) < 0)
            fail("connect to port %ld: %s", port, strerror(errno));
        int on = 1;
        setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        if (fcntl(conn->fd, F_SETFL, fcntl(conn->fd, F_GETFL) | O_NONBLOCK) < 0)
            fail("non-blocking: %s", strerror(errno));
        conn->buffer = malloc(size);
        conn->latencies = malloc((size_t)count * sizeof *conn->latencies);
        for (int p = 0; p < 2; p++) {
            conn->payloads[p] = malloc(size + 8);
            for (size_t b = 0; b < size; b += 8) {
                uint64_t word = next_random();
                memcpy(conn->payloads[p] + b, &word, 8);
            }
        }
        watch(conn, EPOLL_CTL_ADD, 0);
    }

    phase(conns, connections, warmup, 0);
    int64_t cpu_start = now_ns(CLOCK_PROCESS_CPUTIME_ID), waited_start = waited_for_cpu_ns();
    int64_t wall_start = now_ns(CLOCK_MONOTONIC);
    phase(conns, connections, count, 1);
    int64_t wall = now_ns(CLOCK_MONOTONIC) - wall_start;
    int64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start, waited_end = waited_for_cpu_ns();
    for (int i = 0; i < connections; i++) close(conns[i].fd);

    printf("{\"round_trips\": %ld, \"bytes_each_way\": %ld, \"seconds\": %.9f, \"cpu_seconds\": %.9f, "
           "\"waited_for_cpu_seconds\": ",
           count * connections, count * connections * (long)size, wall / 1e9, cpu / 1e9);
    if (waited_start >= 0 && waited_end >= 0) printf("%.9f", (waited_end - waited_start) / 1e9);
    else fputs("null", stdout);
    fputs(", \"latencies_ns\": [", stdout);
    for (int i = 0; i < connections; i++)
        for (long j = 0; j < conns[i].latency_count; j++)
            printf(i || j ? ", %lld" : "%lld", (long long)conns[i].latencies[j]);
    puts("]}");
    return 0;
}
