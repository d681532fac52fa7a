/* Test program for ringwarden's transparent mode: an unmodified io_uring user.
 * Raw io_uring_setup and liburing paths, children, threads, SQPOLL. Prints one line per fact. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IORING_SETUP_NO_SQARRAY
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#endif

static int nop(struct io_uring *ring) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_nop(sqe);
    int s = io_uring_submit(ring);
    if (s < 0) return s;
    struct io_uring_cqe *cqe;
    int r = io_uring_wait_cqe(ring, &cqe);
    if (r < 0) return r;
    r = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return r;
}

static int cmd_setup(unsigned entries, unsigned flags, unsigned cq) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = flags;
    p.cq_entries = cq;
    int fd = syscall(__NR_io_uring_setup, entries, &p);
    if (fd < 0) {
        printf("setup errno=%d %s\n", errno, strerror(errno));
        return 3;
    }
    printf("fd=%d sq=%u cq=%u flags=0x%x features=0x%x sqarray=%u cqes=%u\n", fd, p.sq_entries, p.cq_entries,
           p.flags, p.features, p.sq_off.array, p.cq_off.cqes);
    struct io_uring ring;
    int r = io_uring_queue_mmap(fd, &p, &ring);
    if (r < 0) {
        printf("mmap errno=%d\n", -r);
        return 4;
    }
    if (!(p.flags & IORING_SETUP_NO_SQARRAY)) /* liburing 2.3's queue_mmap leaves the index array to us */
        for (unsigned i = 0; i < *ring.sq.kring_entries; i++) ring.sq.array[i] = i;
    if (p.flags & IORING_SETUP_R_DISABLED) {
        r = syscall(__NR_io_uring_register, fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
        printf("enable=%d\n", r < 0 ? -errno : r);
    }
    printf("nop res=%d\n", nop(&ring));
    return 0;
}

/* A ring of 8 entries and PATH open read-only: 0, or the command's exit code (3: no ring, 5: no file). */
static int ring_and_file(struct io_uring *ring, const char *path, int *fd) {
    int r = io_uring_queue_init(8, ring, 0);
    if (r < 0) {
        printf("queue_init errno=%d %s\n", -r, strerror(-r));
        return 3;
    }
    *fd = open(path, O_RDONLY);
    if (*fd < 0) { perror("open"); return 5; }
    return 0;
}

/* Submits the prepared SQE and waits for its result. */
static int submit_and_wait(struct io_uring *ring) {
    io_uring_submit(ring);
    struct io_uring_cqe *cqe;
    io_uring_wait_cqe(ring, &cqe);
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

static int cmd_read(const char *path) {
    struct io_uring ring;
    int fd;
    int e = ring_and_file(&ring, path, &fd);
    if (e) return e;
    char buf[64];
    memset(buf, 0, sizeof buf);
    io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, sizeof buf - 1, 0);
    int res = submit_and_wait(&ring);
    printf("flags=0x%x read res=%d data=%s\n", ring.flags, res, res > 0 ? buf : "");
    return res > 0 ? 0 : 6;
}

/* One FSYNC of PATH through a ring: exit 0 if it succeeded, 6 if it failed (res printed). */
static int cmd_fsync(const char *path) {
    struct io_uring ring;
    int fd;
    int e = ring_and_file(&ring, path, &fd);
    if (e) return e;
    io_uring_prep_fsync(io_uring_get_sqe(&ring), fd, 0);
    int res = submit_and_wait(&ring);
    printf("fsync res=%d\n", res);
    return res == 0 ? 0 : 6;
}

static int one_ring(const char *who) {
    struct io_uring ring;
    int r = io_uring_queue_init(4, &ring, 0);
    if (r < 0) {
        printf("%s queue_init errno=%d\n", who, -r);
        return 3;
    }
    r = nop(&ring);
    printf("%s nop res=%d\n", who, r);
    fflush(stdout);
    io_uring_queue_exit(&ring);
    return r == 0 ? 0 : 7;
}

static int cmd_fork(void) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) _exit(one_ring("child"));
    int rc = one_ring("parent");
    int st;
    waitpid(c, &st, 0);
    printf("child exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return rc || !WIFEXITED(st) || WEXITSTATUS(st);
}

static void *thread_main(void *arg) {
    char who[32];
    snprintf(who, sizeof who, "thread%ld", (long) arg);
    return (void *) (long) one_ring(who);
}

static int cmd_threads(int n) {
    pthread_t t[64];
    for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, thread_main, (void *) i);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        bad += rv != NULL;
    }
    printf("threads ok=%d of %d\n", n - bad, n);
    return bad != 0;
}

static int cmd_sqpoll(void) {
    struct io_uring ring;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 1000;
    int r = io_uring_queue_init_params(8, &ring, &p);
    if (r < 0) {
        printf("sqpoll queue_init errno=%d %s\n", -r, strerror(-r));
        return 0;
    }
    printf("sqpoll flags=0x%x sqpoll=%d\n", p.flags, (p.flags & IORING_SETUP_SQPOLL) != 0);
    printf("nop res=%d\n", nop(&ring));
    return 0;
}

/* The parent exits at once; a detached child makes a ring after it, then lingers. */
static int cmd_linger(int seconds) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setsid();
        int null = open("/dev/null", O_RDWR); /* let whoever reads our output see its end now */
        dup2(null, 1);
        dup2(null, 2);
        usleep(300 * 1000);
        int rc = one_ring("orphan");
        sleep(seconds);
        _exit(rc);
    }
    printf("parent exits, child %d lingers\n", c);
    return 0;
}


/* The parent of a process, from /proc (0 if unreadable). */
static pid_t ppid_of(pid_t p) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", p);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    pid_t pp = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "PPid:\t%d", &pp) == 1) break;
    fclose(f);
    return pp;
}

/* The caller's ancestry as Yama's task_is_descendant walks it: the thread's group leader
 * (getpid), then each real parent up to init. */
static void print_chain(const char *who) {
    char out[1024];
    int n = snprintf(out, sizeof out, "%s tid=%ld chain=", who, (long) syscall(SYS_gettid));
    for (pid_t p = getpid(); p > 0 && n < (int) sizeof out - 16; p = ppid_of(p)) {
        n += snprintf(out + n, sizeof out - n, "%d,", p);
        if (p == 1) break;
    }
    printf("%s\n", out);
    fflush(stdout);
}

static void *ancestry_thread(void *arg) {
    char who[32];
    snprintf(who, sizeof who, "thread%ld", (long) arg);
    int r = one_ring(who);
    print_chain(who);
    return (void *) (long) r;
}

/* Tasks of our parent (ringwarden run) that are under a seccomp filter. */
static int filtered_tasks_of_parent(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "grep -l '^Seccomp:[[:space:]]*[12]' /proc/%d/task/*/status 2>/dev/null | wc -l", getppid());
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f) { if (fscanf(f, "%d", &n) != 1) n = -1; pclose(f); }
    return n;
}

/* Every kind of process that can trap: the program, its threads, a child, and an orphan
 * that makes its ring only after its parent exited. Each prints its ancestry. */
static int cmd_ancestry(void) {
    printf("parent=%d filtered-tasks-of-parent=%d\n", getppid(), filtered_tasks_of_parent());
    int bad = one_ring("program");
    print_chain("program");
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, ancestry_thread, (void *) i);
    for (int i = 0; i < 2; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        bad += rv != NULL;
    }
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int r = one_ring("child");
        print_chain("child");
        pid_t me = getpid();
        pid_t g = fork();
        if (g == 0) {
            while (getppid() == me) usleep(1000); /* until the child has exited and we are reparented */
            int r2 = one_ring("orphan");
            print_chain("orphan");
            _exit(r2);
        }
        _exit(r);
    }
    int st;
    waitpid(c, &st, 0);
    bad += !WIFEXITED(st) || WEXITSTATUS(st);
    return bad != 0;
}

/* Makes a ring and holds it until a line arrives on stdin. */
static int cmd_hold(void) {
    struct io_uring ring;
    int r = io_uring_queue_init(4, &ring, 0);
    if (r < 0) {
        printf("hold queue_init errno=%d\n", -r);
        return 3;
    }
    printf("holding pid=%d\n", getpid());
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 9;
    io_uring_queue_exit(&ring);
    return 0;
}

/* One ring, then another after a line arrives on stdin (the test restarts the daemon between). */
static int cmd_twice(void) {
    int r = one_ring("first");
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 9;
    return r | one_ring("second");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 4 && !strcmp(argv[1], "setup"))
        return cmd_setup(strtoul(argv[2], 0, 0), strtoul(argv[3], 0, 0), argc > 4 ? strtoul(argv[4], 0, 0) : 0);
    if (argc == 3 && !strcmp(argv[1], "read")) return cmd_read(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "fsync")) return cmd_fsync(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "badptr")) { /* params at an unmapped address: EFAULT, as from the kernel */
        int fd = syscall(__NR_io_uring_setup, 8, (void *) 16);
        printf("badptr fd=%d errno=%d\n", fd, fd < 0 ? errno : 0);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "fork")) return cmd_fork();
    if (argc == 3 && !strcmp(argv[1], "threads")) return cmd_threads(atoi(argv[2]));
    if (argc == 2 && !strcmp(argv[1], "sqpoll")) return cmd_sqpoll();
    if (argc == 3 && !strcmp(argv[1], "linger")) return cmd_linger(atoi(argv[2]));
    if (argc == 2 && !strcmp(argv[1], "ancestry")) return cmd_ancestry();
    if (argc == 2 && !strcmp(argv[1], "twice")) return cmd_twice();
    if (argc == 2 && !strcmp(argv[1], "hold")) return cmd_hold();
    if (argc == 2 && !strcmp(argv[1], "status")) {
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "SigBlk", 6) || !strncmp(line, "SigIgn", 6) || !strncmp(line, "NoNewPrivs", 10)
                || !strncmp(line, "Seccomp:", 8) || !strncmp(line, "Pid:", 4))
                fputs(line, stdout);
        fclose(f);
        printf("nextfd=%d\n", dup(0)); /* 3 unless descriptors leaked in */
        return 0;
    }
    fprintf(stderr, "usage: rwprobe setup ENTRIES FLAGS [CQ] | read FILE | fork | threads N | sqpoll | linger S | status | ancestry | twice | hold\n");
    return 2;
}
