// What the benchmarks' C clients share (bench/c-broker.c, bench/isolation.c): whole reads and
// writes, a descriptor sent with bytes, and the seccomp filter that traps io_uring_setup to a listener (docs/protocol.md,
// step 1). Header-only: each benchmark is one translation unit.
#ifndef RINGWARDEN_BENCH_DELIVERY_H
#define RINGWARDEN_BENCH_DELIVERY_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int full_read(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int full_write(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t r = write(fd, (const char *)buf + put, n - put);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    put += (size_t)r;
  }
  return 0;
}

// Sends len bytes with one descriptor attached (SCM_RIGHTS); 0 if all of them went, else -1.
static int send_with_fd(int s, const void *buf, size_t len, int fd) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  ssize_t r;
  do r = sendmsg(s, &m, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  return r == (ssize_t)len ? 0 : -1;
}

// Sets no-new-privs and installs a filter layer that traps io_uring_setup to a new listener;
// returns the listener, or -1 with errno. For a single-threaded process (no TSYNC).
static int trap_io_uring_setup(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
  // WAIT_KILLABLE_RECV, as the Java client: once the broker has received the notification only a
  // fatal signal ends the wait. Without it the task work a ring's teardown sends (TWA_SIGNAL) to
  // the tasks that used the ring ends the wait when it lands during the next trapped call, and
  // the call is restarted, even after the broker's answer went through (seen here: EPERM for a
  // spent ticket, and a ring descriptor left in the client).
  // EBUSY: a filter chain has one listener at most, and a layer installed for an earlier
  // connection keeps its listener until the broker has closed its copy: retried for up to 5 s.
  for (int tries = 0;; tries++) {
    int l = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
                         SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (l >= 0 || errno != EBUSY || tries == 5000) return l;
    struct timespec ms = {.tv_nsec = 1000000};
    nanosleep(&ms, NULL);
  }
}

#endif
