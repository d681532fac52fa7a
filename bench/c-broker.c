// A minimal C broker and its clients: the reference for the acquire cost (bench/README.md):
// "next to a minimal C broker doing the same through seccomp delivery".
//
// The same cycle as ClientBenchmark acquire, over a Unix socket, with the ring delivered
// through seccomp user notification exactly as ringwarden does it:
//   client: installs a filter that traps its own io_uring_setup (NEW_LISTENER) and sends the
//           listener to the broker (attach), once; then per cycle: "acquire" -> the broker builds
//           a disabled ring (R_DISABLED | SUBMIT_ALL, 64 entries), registers restrictions (NOP
//           only), enables it, answers a random ticket and the ring's parameters -> the client
//           calls io_uring_setup(64, p, MAGIC, ticket), which traps -> the broker checks the
//           call, magic, ticket, that the caller is a thread of the peer (/proc/PID/task/TID)
//           and the peer is alive (pidfd), NOTIF_ID_VALID, then NOTIF_ADDFD and NOTIF_SEND ->
//           the client maps the ring (liburing's io_uring_queue_mmap), one NOP, unmaps and
//           closes it, and sends "release" -> the broker closes its copy and answers.
// What it leaves out compared with ringwarden: policies (one fixed NOP-only restriction set),
// quotas, ticket expiry, the audit log, JSON framing, and any thread other than one.
//
// Usage: c-broker SECONDS CLIENTS OUT-PREFIX
//   forks the broker and CLIENTS client processes (each: attach, 200 warm-up cycles, then all
//   start together and cycle for SECONDS); each client writes one latency per cycle, in
//   microseconds, to OUT-PREFIX-<i>. Run as root (or with CAP_SYS_ADMIN for the broker's
//   pidfd/ADDFD on another process... root is simplest).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"

#define MAGIC 0x52494E47UL
#define ENTRIES 64
#define MAX_CONNS 128

enum { OP_ATTACH = 1, OP_ACQUIRE = 2, OP_RELEASE = 3 };

struct request { uint32_t op; };
struct answer { int32_t status; uint32_t pad; uint64_t ticket; struct io_uring_params p; };

static void die(const char *what) { perror(what); exit(1); }

// ---------------------------------------------------------------- broker

struct conn {
  int fd, listener, pidfd, ring;
  pid_t pid;
  uint64_t ticket;
};

static struct conn conns[MAX_CONNS];
// Deliveries whose caller was interrupted while trapped (before the broker received the
// notification: WAIT_KILLABLE_RECV covers the rest). A ring's teardown queues task work with
// TWA_SIGNAL to every task that used the ring; landing while the client is trapped in its next
// io_uring_setup, it ends the wait with ERESTARTSYS and the call is made again as it was.
static long restarted;
static int nconns;

static int build_ring(struct io_uring_params *p) {
  memset(p, 0, sizeof *p);
  p->flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL;
  int fd = (int)syscall(__NR_io_uring_setup, ENTRIES, p);
  if (fd < 0) return -1;
  struct io_uring_restriction res[1];
  memset(res, 0, sizeof res);
  res[0].opcode = IORING_RESTRICTION_SQE_OP;
  res[0].sqe_op = IORING_OP_NOP;
  if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_RESTRICTIONS, res, 1) < 0 ||
      syscall(__NR_io_uring_register, fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int thread_of(pid_t pid, pid_t tid) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof path, "/proc/%d/task/%d", pid, tid);
  return stat(path, &st) == 0;
}

static int alive(int pidfd) {
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  int r;
  do r = poll(&p, 1, 0); while (r < 0 && errno == EINTR);
  return r == 0;
}

// The broker creates every ring, so each ring's teardown interrupts it (TIF_NOTIFY_SIGNAL): every
// ioctl here retries EINTR, as the daemon's Syscall.checked does.
static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR);
  return r;
}

static void answer_notification(struct conn *c) {
  struct seccomp_notif req;
  memset(&req, 0, sizeof req);
  if (xioctl(c->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return; // the caller is gone
  struct seccomp_notif_resp resp = {.id = req.id, .error = -EPERM};
  if (req.data.nr == __NR_io_uring_setup && req.data.arch == AUDIT_ARCH_X86_64 &&
      (req.data.args[2] & 0xffffffffUL) == MAGIC && c->ring >= 0 && c->ticket != 0 &&
      req.data.args[3] == c->ticket && thread_of(c->pid, (pid_t)req.pid) && alive(c->pidfd)) {
    if (xioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0) return;
    uint64_t ticket = c->ticket;
    c->ticket = 0; // single use
    struct seccomp_notif_addfd add = {.id = req.id, .srcfd = (uint32_t)c->ring, .newfd_flags = O_CLOEXEC};
    int remote = xioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    if (remote >= 0) {
      resp.error = 0;
      resp.val = remote;
    } else if (errno == ENOENT) {
      // The caller was interrupted while trapped (see `restarted`): nothing was installed and
      // its call is made again with the same ticket, which it may still collect.
      c->ticket = ticket;
      restarted++;
      return;
    } else {
      resp.error = -errno; // EMFILE in the caller, say: the call fails with it
      xioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      return;
    }
    if (xioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno == ENOENT) {
      // Interrupted after the install: the restarted call gets the ring again (the first
      // descriptor stays in the client, unknown to it; counted, and rare).
      c->ticket = ticket;
      restarted++;
    }
    return;
  } else {
    fprintf(stderr, "c-broker: refused tid %d (call %d, ticket %s)\n", req.pid, req.data.nr,
            c->ticket == 0 ? "none pending" : "wrong");
  }
  xioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void drop(int i) {
  struct conn *c = &conns[i];
  close(c->fd);
  if (c->listener >= 0) close(c->listener);
  if (c->pidfd >= 0) close(c->pidfd);
  if (c->ring >= 0) close(c->ring);
  conns[i] = conns[--nconns];
}

static int recv_listener(int fd, struct request *rq) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = rq, .iov_len = sizeof *rq};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t r;
  do r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL); while (r < 0 && errno == EINTR);
  if (r != (ssize_t)sizeof *rq) return -2;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (rq->op != OP_ATTACH) return -1;
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -2;
  int lfd;
  memcpy(&lfd, CMSG_DATA(cm), sizeof lfd);
  return lfd;
}

static void serve_request(int i) {
  struct conn *c = &conns[i];
  struct request rq;
  struct answer a;
  memset(&a, 0, sizeof a);
  if (c->listener < 0) {
    int lfd = recv_listener(c->fd, &rq);
    if (lfd < 0) { drop(i); return; }
    c->listener = lfd;
    if (full_write(c->fd, &a, sizeof a) < 0) drop(i);
    return;
  }
  if (full_read(c->fd, &rq, sizeof rq) < 0) { drop(i); return; }
  if (rq.op == OP_ACQUIRE && c->ring < 0) {
    c->ring = build_ring(&a.p);
    if (c->ring < 0) {
      a.status = -errno;
    } else {
      do getrandom(&c->ticket, sizeof c->ticket, 0); while (c->ticket == 0);
      a.ticket = c->ticket;
    }
  } else if (rq.op == OP_RELEASE && c->ring >= 0) {
    close(c->ring); // the ring's teardown runs in the kernel's own time
    c->ring = -1;
    c->ticket = 0;
  } else {
    a.status = -EINVAL;
  }
  if (full_write(c->fd, &a, sizeof a) < 0) drop(i);
}

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig; stopping = 1; }

static void broker(int lsock) {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_term}; // no SA_RESTART: poll returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  struct pollfd pfd[1 + 2 * MAX_CONNS];
  int who[1 + 2 * MAX_CONNS];
  for (;;) {
    int n = 0;
    pfd[n].fd = lsock; pfd[n].events = POLLIN; who[n++] = -1;
    for (int i = 0; i < nconns; i++) {
      pfd[n].fd = conns[i].fd; pfd[n].events = POLLIN; who[n++] = i;
      if (conns[i].listener >= 0) { pfd[n].fd = conns[i].listener; pfd[n].events = POLLIN; who[n++] = MAX_CONNS + i; }
    }
    int r = poll(pfd, (nfds_t)n, -1);
    if (stopping) {
      if (restarted) fprintf(stderr, "c-broker: %ld deliveries restarted (caller interrupted while trapped)\n", restarted);
      exit(0);
    }
    if (r < 0) { if (errno == EINTR) continue; die("poll"); }
    // Listeners first (a trapped thread waits), then requests, then new connections; indexes
    // stay valid because a dropped connection ends this round.
    for (int k = 1; k < n; k++) {
      if (who[k] >= MAX_CONNS && (pfd[k].revents & POLLIN)) answer_notification(&conns[who[k] - MAX_CONNS]);
    }
    for (int k = 1; k < n; k++) {
      if (who[k] < MAX_CONNS && pfd[k].revents) {
        int before = nconns;
        serve_request(who[k]);
        if (nconns != before) goto next; // a connection was dropped: indexes moved
      }
    }
    if (pfd[0].revents & POLLIN) {
      int fd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) {
        struct ucred cr;
        socklen_t len = sizeof cr;
        if (nconns == MAX_CONNS || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) { close(fd); goto next; }
        int pidfd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
        conns[nconns++] = (struct conn){.fd = fd, .listener = -1, .pidfd = pidfd, .ring = -1, .pid = cr.pid};
      }
    }
  next:;
  }
}

// ---------------------------------------------------------------- client

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int call(int s, uint32_t op, struct answer *a) {
  struct request rq = {.op = op};
  if (full_write(s, &rq, sizeof rq) < 0 || full_read(s, a, sizeof *a) < 0) return -1;
  return a->status;
}

static void cycle(int s) {
  struct answer a;
  if (call(s, OP_ACQUIRE, &a) != 0) { fprintf(stderr, "acquire failed: %d\n", a.status); exit(1); }
  struct io_uring_params dummy;
  memset(&dummy, 0, sizeof dummy);
  int fd = (int)syscall(__NR_io_uring_setup, ENTRIES, &dummy, MAGIC, a.ticket);
  if (fd < 0) die("ticketed io_uring_setup");
  struct io_uring ring;
  if (io_uring_queue_mmap(fd, &a.p, &ring) < 0) die("io_uring_queue_mmap");
  struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
  io_uring_prep_nop(sqe);
  sqe->user_data = 1;
  struct io_uring_cqe *cqe;
  if (io_uring_submit_and_wait(&ring, 1) < 0 || io_uring_peek_cqe(&ring, &cqe) < 0 || cqe->res < 0) {
    fprintf(stderr, "NOP failed\n");
    exit(1);
  }
  io_uring_cqe_seen(&ring, cqe);
  io_uring_queue_exit(&ring); // unmaps and closes
  if (call(s, OP_RELEASE, &a) != 0) { fprintf(stderr, "release failed: %d\n", a.status); exit(1); }
}

static void client(const char *path, double secs, const char *out, int ready_fd, int go_fd) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  int l = trap_io_uring_setup();
  if (l < 0) die("seccomp");
  struct request rq = {.op = OP_ATTACH};
  if (send_with_fd(s, &rq, sizeof rq, l) < 0) die("attach");
  close(l);
  struct answer a;
  if (full_read(s, &a, sizeof a) < 0) die("attach answer");
  for (int i = 0; i < 200; i++) cycle(s); // warm-up
  char c = 1;
  if (write(ready_fd, &c, 1) != 1) die("ready");
  if (read(go_fd, &c, 1) < 0) die("go"); // returns 0 when the parent closes it: all start together
  size_t cap = 1 << 20, n = 0;
  unsigned *lat = malloc(cap * sizeof *lat);
  double end = now_us() + secs * 1e6, t;
  while ((t = now_us()) < end && n < cap) {
    cycle(s);
    lat[n++] = (unsigned)(now_us() - t);
  }
  FILE *f = fopen(out, "w");
  if (!f) die(out);
  for (size_t i = 0; i < n; i++) fprintf(f, "%u\n", lat[i]);
  fclose(f);
  close(s);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SECONDS CLIENTS OUT-PREFIX\n", argv[0]);
    return 2;
  }
  double secs = atof(argv[1]);
  int nclients = atoi(argv[2]);
  char path[108];
  snprintf(path, sizeof path, "%s.sock", argv[3]);
  unlink(path);
  int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
  if (bind(lsock, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lsock, 128) < 0) die("bind");
  pid_t parent = getpid();
  pid_t b = fork();
  if (b == 0) {
    // Ends with the benchmark, whichever way it ends (a failed client makes the parent exit early).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);
    broker(lsock);
  }
  close(lsock);
  int ready[2], go[2];
  if (pipe(ready) < 0 || pipe(go) < 0) die("pipe");
  pid_t *kids = calloc((size_t)nclients, sizeof *kids);
  for (int i = 0; i < nclients; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      close(ready[0]);
      close(go[1]);
      char out[4096];
      snprintf(out, sizeof out, "%s-%d", argv[3], i);
      client(path, secs, out, ready[1], go[0]);
      _exit(0);
    }
  }
  close(ready[1]);
  close(go[0]);
  for (int i = 0; i < nclients; i++) {
    char c;
    if (read(ready[0], &c, 1) != 1) die("a client failed before starting");
  }
  close(go[1]); // go
  int failed = 0;
  for (int i = 0; i < nclients; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  kill(b, SIGTERM);
  waitpid(b, NULL, 0);
  unlink(path);
  return failed;
}
