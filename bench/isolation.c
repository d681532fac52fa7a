// Clients for bench/run-isolation (bench/README.md, "Per-user isolation") and bench/run-footprint, written from
// docs/protocol.md alone: JSON frames over the Unix socket, the seccomp listener handed over
// with `attach`, the ring collected by a ticketed io_uring_setup and mapped here by hand.
//
//   isolation hostile [options] SOCKET SECONDS STATS-OUT DONE-FILE EXIT-FILE
//     Run as a hostile uid. For SECONDS, as fast as it can: acquire, collect, map; every other
//     ring is released and kept (the lease ends, the ring and its pinned buffer stay here; a NOP
//     on it afterwards proves it still works), the others are held under their lease; on
//     QUOTA_EXCEEDED, reconnect and try again. With -c, every -E'th acquire is under a
//     client-enabled policy, and before enabling that ring it unregisters the daemon's buffers
//     and registers -m MiB of its own memory (at most -e such rings). Kept rings are capped at
//     -k in all (past it each new ring is closed at once, so that the machine's memory stays
//     bounded); each worker process makes at most -K connections (every connection stacks a
//     seccomp filter layer) and then holds what it has while a fresh worker goes on. When
//     SECONDS are over it writes its counts to STATS-OUT, creates DONE-FILE and holds every
//     ring until EXIT-FILE exists (or -H seconds), then exits.
//     Options: -p POLICY (default bench-hostile), -c CE-POLICY, -E N (4), -m MiB (64),
//              -e N (2), -k N (64), -K N (32), -H seconds (120)
//
//   isolation load SOCKET POLICY TOTAL DAEMON-PID UID...
//     Run as root. Forks TOTAL client processes spread round-robin over the UIDs (each takes
//     its uid before connecting); each connects and attaches; once all are attached they all
//     acquire under POLICY, collect, map, submit one NOP, unmap, close and release once, then
//     wait until every one has, and close. Prints the daemon's VmRSS and Threads before,
//     with every connection attached, after every cycle, and after every connection closed,
//     and the counts, latencies and times. Exit status 1 if any connection was not served.
//
//   isolation cycles SOCKET POLICY N
//     Connects, attaches, then N times: acquire, collect, map, one NOP, unmap, release. Prints
//     the count and rate. (bench/run-footprint)
//
//   isolation fuzz SOCKET N
//     N connections in turn, each sending one malformed frame and reading until the daemon
//     closes it; counts BAD_REQUEST answers. (bench/run-footprint)
//
// Every wait is bounded: sockets have receive timeouts, children die with their parent, and
// the parents give up on children after a deadline.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"

#define MAGIC 0x52494E47UL
#define FRAME_MAX 65536
#define MAX_BUFFERS 8

static void die(const char *what) {
  perror(what);
  exit(2);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {
  }
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void touch(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) die(path);
  close(fd);
}

// ---------------------------------------------------------------- outcomes

// What one request ended with: the protocol's error codes, then what can go wrong here.
enum outcome {
  OK,
  E_BAD_REQUEST, E_UNSUPPORTED_VERSION, E_NOT_PERMITTED, E_NOT_ATTACHED, E_QUOTA_EXCEEDED,
  E_KERNEL_UNSUPPORTED, E_BUSY, E_INTERNAL, E_OTHER_CODE,
  E_IO,          // the connection broke, timed out or answered out of step
  E_COLLECT,     // granted, but the ticketed io_uring_setup failed
  E_MAP,         // collected, but the ring could not be mapped
  E_NOP,         // mapped, but a NOP did not complete with 0
  E_ATTACH,      // the filter or the attach failed
  N_OUTCOMES
};

static const char *const OUTCOME[N_OUTCOMES] = {
    "OK", "BAD_REQUEST", "UNSUPPORTED_VERSION", "NOT_PERMITTED", "NOT_ATTACHED", "QUOTA_EXCEEDED",
    "KERNEL_UNSUPPORTED", "BUSY", "INTERNAL", "OTHER_CODE", "IO", "COLLECT_FAILED", "MAP_FAILED",
    "NOP_FAILED", "ATTACH_FAILED",
};

static enum outcome outcome_of_code(const char *code) {
  for (int i = E_BAD_REQUEST; i < E_OTHER_CODE; i++) {
    if (strcmp(code, OUTCOME[i]) == 0) return (enum outcome)i;
  }
  return E_OTHER_CODE;
}

// ---------------------------------------------------------------- frames and descriptors

static int send_frame(int s, const char *fmt, ...) {
  char buf[4 + 1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + 4, sizeof buf - 4, fmt, ap);
  va_end(ap);
  if (n <= 0 || n >= (int)sizeof buf - 4) return -1;
  buf[0] = (char)(n >> 24);
  buf[1] = (char)(n >> 16);
  buf[2] = (char)(n >> 8);
  buf[3] = (char)n;
  return full_write(s, buf, 4 + (size_t)n);
}

// Reads one frame into buf (NUL-terminated); exact reads, so descriptor bytes that follow a
// frame are never consumed here. Returns its length, or -1.
static int recv_frame(int s, char *buf, size_t cap) {
  unsigned char h[4];
  if (full_read(s, h, 4) < 0) return -1;
  uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
  if (n == 0 || n > FRAME_MAX || n >= cap) return -1;
  if (full_read(s, buf, n) < 0) return -1;
  buf[n] = 0;
  return (int)n;
}

// One zero byte carrying one descriptor (protocol.md, "Frames").
static int send_fd(int s, int fd) {
  char byte = 0;
  return send_with_fd(s, &byte, 1, fd);
}

static int recv_fd(int s) {
  char byte;
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t r;
  do r = recvmsg(s, &m, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  if (r != 1) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) {
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

// ---------------------------------------------------------------- just enough JSON

// The text after "key": within [from, to), or NULL. The daemon's frames are compact JSON whose
// names never occur inside its string values, which is all this needs.
static const char *after_key(const char *from, const char *to, const char *key) {
  char pat[64];
  int n = snprintf(pat, sizeof pat, "\"%s\":", key);
  if (from >= to) return NULL;
  const char *p = memmem(from, (size_t)(to - from), pat, (size_t)n);
  return p ? p + n : NULL;
}

static int json_str(const char *from, const char *to, const char *key, char *out, size_t cap) {
  const char *p = after_key(from, to, key);
  if (!p || *p != '"') return -1;
  p++;
  size_t i = 0;
  while (p < to && *p != '"' && i + 1 < cap) {
    if (*p == '\\' && p + 1 < to) p++;
    out[i++] = *p++;
  }
  out[i] = 0;
  return 0;
}

static int json_u64(const char *from, const char *to, const char *key, uint64_t *out) {
  const char *p = after_key(from, to, key);
  if (!p || *p < '0' || *p > '9') return -1;
  *out = strtoull(p, NULL, 10); // tickets are 63-bit integers: read them as integers, never doubles
  return 0;
}

static unsigned json_u32(const char *from, const char *to, const char *key, int *bad) {
  uint64_t v = 0;
  if (json_u64(from, to, key, &v) < 0) *bad = 1;
  return (unsigned)v;
}

// The object that follows "key": (its braces included), or -1.
static int json_object(const char *from, const char *to, const char *key, const char **ofrom, const char **oto) {
  const char *p = after_key(from, to, key);
  if (!p || *p != '{') return -1;
  int depth = 0;
  for (const char *q = p; q < to; q++) {
    if (*q == '{') depth++;
    if (*q == '}' && --depth == 0) {
      *ofrom = p;
      *oto = q + 1;
      return 0;
    }
  }
  return -1;
}

struct grant {
  char lease[128];
  uint64_t ticket;
  unsigned nfds, sq_entries, cq_entries, setup_flags, features;
  int enabled;
  struct io_sqring_offsets sq_off;
  struct io_cqring_offsets cq_off;
  unsigned nbuf;
  uint64_t buf_len[MAX_BUFFERS];
  unsigned buf_fd[MAX_BUFFERS];
};

// The grant's sqOff and cqOff: JSON names and where each goes in the kernel's struct.
struct offset_field {
  const char *name;
  size_t at;
};
#define SQ(f) offsetof(struct io_sqring_offsets, f)
#define CQ(f) offsetof(struct io_cqring_offsets, f)
static const struct offset_field SQ_OFF[] = {
    {"head", SQ(head)}, {"tail", SQ(tail)}, {"ringMask", SQ(ring_mask)}, {"ringEntries", SQ(ring_entries)},
    {"flags", SQ(flags)}, {"dropped", SQ(dropped)}, {"array", SQ(array)},
};
static const struct offset_field CQ_OFF[] = {
    {"head", CQ(head)}, {"tail", CQ(tail)}, {"ringMask", CQ(ring_mask)}, {"ringEntries", CQ(ring_entries)},
    {"overflow", CQ(overflow)}, {"cqes", CQ(cqes)}, {"flags", CQ(flags)},
};

static void read_offsets(const char *from, const char *to, const struct offset_field *f, size_t n, void *out, int *bad) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = json_u32(from, to, f[i].name, bad);
    memcpy((char *)out + f[i].at, &v, sizeof v);
  }
}

static int parse_grant(const char *b, size_t len, struct grant *g) {
  const char *e = b + len, *rf, *rt, *of, *ot;
  int bad = 0;
  uint64_t v;
  memset(g, 0, sizeof *g);
  if (json_str(b, e, "lease", g->lease, sizeof g->lease) < 0 || json_u64(b, e, "ticket", &g->ticket) < 0) return -1;
  g->nfds = json_u64(b, e, "fds", &v) == 0 ? (unsigned)v : 0;
  if (json_object(b, e, "ring", &rf, &rt) < 0) return -1;
  g->sq_entries = json_u32(rf, rt, "sqEntries", &bad);
  g->cq_entries = json_u32(rf, rt, "cqEntries", &bad);
  g->setup_flags = json_u32(rf, rt, "setupFlags", &bad);
  g->features = json_u32(rf, rt, "features", &bad);
  const char *en = after_key(rf, rt, "enabled");
  if (!en) return -1;
  g->enabled = strncmp(en, "true", 4) == 0;
  if (json_object(rf, rt, "sqOff", &of, &ot) < 0) return -1;
  read_offsets(of, ot, SQ_OFF, sizeof SQ_OFF / sizeof *SQ_OFF, &g->sq_off, &bad);
  if (json_object(rf, rt, "cqOff", &of, &ot) < 0) return -1;
  read_offsets(of, ot, CQ_OFF, sizeof CQ_OFF / sizeof *CQ_OFF, &g->cq_off, &bad);
  // "buffers":[{"index":0,"name":"io","fd":0,"length":1048576,"address":...},...]
  const char *p = after_key(b, e, "buffers");
  if (p && *p == '[') {
    const char *end = memchr(p, ']', (size_t)(e - p));
    if (!end) return -1;
    while (g->nbuf < MAX_BUFFERS) {
      const char *o = memchr(p, '{', (size_t)(end - p));
      if (!o) break;
      const char *c = memchr(o, '}', (size_t)(end - o));
      if (!c) return -1;
      g->buf_fd[g->nbuf] = json_u32(o, c, "fd", &bad);
      uint64_t l = 0;
      if (json_u64(o, c, "length", &l) < 0) bad = 1;
      g->buf_len[g->nbuf++] = l;
      p = c;
    }
  }
  return bad ? -1 : 0;
}

// The "type" of an answer, and its "code" if it is an error.
static enum outcome answer_outcome(const char *b, size_t len, const char *want) {
  char type[32], code[64];
  if (json_str(b, b + len, "type", type, sizeof type) < 0) return E_IO;
  if (strcmp(type, want) == 0) return OK;
  if (strcmp(type, "error") == 0 && json_str(b, b + len, "code", code, sizeof code) == 0) return outcome_of_code(code);
  return E_IO;
}

// ---------------------------------------------------------------- the filter and attach

static int connect_to(const char *path, int timeout_s) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct timeval tv = {.tv_sec = timeout_s};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(s);
    return -1;
  }
  return s;
}

// Installs a filter layer and attaches its listener on connection s.
static enum outcome attach(int s) {
  int l = trap_io_uring_setup();
  if (l < 0) return E_ATTACH;
  char b[FRAME_MAX + 1];
  int n;
  enum outcome o = E_IO;
  if (send_frame(s, "{\"v\":1,\"op\":\"attach\",\"fds\":1}") < 0 || (n = recv_frame(s, b, sizeof b)) < 0) goto out;
  if ((o = answer_outcome(b, (size_t)n, "send-fds")) != OK) goto out;
  o = E_IO;
  if (send_fd(s, l) < 0 || (n = recv_frame(s, b, sizeof b)) < 0) goto out;
  o = answer_outcome(b, (size_t)n, "attached");
out:
  close(l); // the daemon holds it now
  return o;
}

// ---------------------------------------------------------------- a delivered ring

struct ring {
  int fd;
  void *sq, *cq, *sqes;
  size_t sq_sz, cq_sz, sqes_sz;
  unsigned sqe_sz, cqe_sz;
  int has_array;
  struct grant g;
  void *buf[MAX_BUFFERS];
};

static void unmap_ring(struct ring *r) {
  for (unsigned i = 0; i < r->g.nbuf; i++) {
    if (r->buf[i]) munmap(r->buf[i], r->g.buf_len[i]);
  }
  if (r->sqes) munmap(r->sqes, r->sqes_sz);
  if (r->cq && r->cq != r->sq) munmap(r->cq, r->cq_sz);
  if (r->sq) munmap(r->sq, r->sq_sz);
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  r->sq = r->cq = r->sqes = NULL;
}

// Maps the collected ring with the grant's parameters (protocol.md, step 3) and the buffers'
// memfds; checks that what is mapped is the ring granted.
static int map_ring(struct ring *r, const int *memfds) {
  struct grant *g = &r->g;
  r->sqe_sz = g->setup_flags & IORING_SETUP_SQE128 ? 128 : 64;
  r->cqe_sz = g->setup_flags & IORING_SETUP_CQE32 ? 32 : 16;
  r->has_array = !(g->setup_flags & (1U << 16)); // IORING_SETUP_NO_SQARRAY
  r->sq_sz = r->has_array ? g->sq_off.array + g->sq_entries * sizeof(unsigned) : g->sq_off.ring_entries + 64;
  r->cq_sz = g->cq_off.cqes + (size_t)g->cq_entries * r->cqe_sz;
  if (g->features & IORING_FEAT_SINGLE_MMAP) {
    if (r->cq_sz > r->sq_sz) r->sq_sz = r->cq_sz;
    r->cq_sz = r->sq_sz;
  }
  r->sq = mmap(NULL, r->sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  if (r->sq == MAP_FAILED) { r->sq = NULL; return -1; }
  if (g->features & IORING_FEAT_SINGLE_MMAP) {
    r->cq = r->sq;
  } else {
    r->cq = mmap(NULL, r->cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
    if (r->cq == MAP_FAILED) { r->cq = NULL; return -1; }
  }
  r->sqes_sz = (size_t)g->sq_entries * r->sqe_sz;
  r->sqes = mmap(NULL, r->sqes_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) { r->sqes = NULL; return -1; }
  if (*(unsigned *)((char *)r->sq + g->sq_off.ring_entries) != g->sq_entries ||
      *(unsigned *)((char *)r->cq + g->cq_off.ring_entries) != g->cq_entries) {
    return -1; // not the ring the grant describes
  }
  if (r->has_array) {
    unsigned *array = (unsigned *)((char *)r->sq + g->sq_off.array);
    for (unsigned i = 0; i < g->sq_entries; i++) array[i] = i;
  }
  for (unsigned i = 0; i < g->nbuf; i++) {
    if (g->buf_fd[i] >= g->nfds) return -1;
    r->buf[i] = mmap(NULL, g->buf_len[i], PROT_READ | PROT_WRITE, MAP_SHARED, memfds[g->buf_fd[i]], 0);
    if (r->buf[i] == MAP_FAILED) { r->buf[i] = NULL; return -1; }
  }
  return 0;
}

// One NOP, submitted and reaped: 0 if it completed with 0.
static int nop(struct ring *r) {
  struct grant *g = &r->g;
  unsigned *tail = (unsigned *)((char *)r->sq + g->sq_off.tail);
  unsigned mask = *(unsigned *)((char *)r->sq + g->sq_off.ring_mask);
  unsigned t = *tail, idx = t & mask;
  struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)r->sqes + (size_t)idx * r->sqe_sz);
  memset(sqe, 0, r->sqe_sz);
  sqe->opcode = IORING_OP_NOP;
  sqe->user_data = 0x15;
  __atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
  long n = syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
  if (n != 1) return -1;
  unsigned *chead = (unsigned *)((char *)r->cq + g->cq_off.head);
  unsigned *ctail = (unsigned *)((char *)r->cq + g->cq_off.tail);
  unsigned cmask = *(unsigned *)((char *)r->cq + g->cq_off.ring_mask);
  unsigned h = *chead;
  if (h == __atomic_load_n(ctail, __ATOMIC_ACQUIRE)) return -1;
  struct io_uring_cqe *cqe = (struct io_uring_cqe *)((char *)r->cq + g->cq_off.cqes + (size_t)(h & cmask) * r->cqe_sz);
  int res = cqe->res;
  int ok = cqe->user_data == 0x15 && res == 0;
  __atomic_store_n(chead, h + 1, __ATOMIC_RELEASE);
  return ok ? 0 : -1;
}

// acquire -> grant (+ memfds) -> ticketed io_uring_setup -> mapped ring. On OK the memfds are
// closed (the mappings keep the buffers), *collect_errno is 0; on E_COLLECT it is the errno.
static enum outcome acquire(int s, const char *policy, struct ring *r, int *collect_errno) {
  char b[FRAME_MAX + 1];
  int n, memfds[MAX_BUFFERS];
  memset(r, 0, sizeof *r);
  r->fd = -1;
  *collect_errno = 0;
  if (send_frame(s, "{\"v\":1,\"op\":\"acquire\",\"policy\":\"%s\"}", policy) < 0 || (n = recv_frame(s, b, sizeof b)) < 0) {
    return E_IO;
  }
  enum outcome o = answer_outcome(b, (size_t)n, "grant");
  if (o != OK) return o;
  if (parse_grant(b, (size_t)n, &r->g) < 0 || r->g.nfds > MAX_BUFFERS) return E_IO;
  for (unsigned i = 0; i < r->g.nfds; i++) {
    memfds[i] = recv_fd(s);
    if (memfds[i] < 0) {
      while (i > 0) close(memfds[--i]);
      return E_IO;
    }
  }
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  long fd = syscall(__NR_io_uring_setup, r->g.sq_entries, &p, MAGIC, r->g.ticket);
  if (fd < 0) {
    *collect_errno = errno;
    o = E_COLLECT;
  } else {
    r->fd = (int)fd;
    if (map_ring(r, memfds) < 0) {
      unmap_ring(r);
      o = E_MAP;
    }
  }
  for (unsigned i = 0; i < r->g.nfds; i++) close(memfds[i]);
  return o;
}

static enum outcome release(int s, const char *lease) {
  char b[FRAME_MAX + 1];
  int n;
  if (send_frame(s, "{\"v\":1,\"op\":\"release\",\"lease\":\"%s\"}", lease) < 0 || (n = recv_frame(s, b, sizeof b)) < 0) {
    return E_IO;
  }
  return answer_outcome(b, (size_t)n, "released");
}

// ---------------------------------------------------------------- hostile

// Counters shared by the hostile parent and its workers (MAP_SHARED, atomics).
struct hostile_stats {
  long grants, refused[N_OUTCOMES], collect_errno[160];
  long connections, attach_failed, workers;
  long released_kept, held, closed_at_cap, kept_nop_ok, kept_nop_failed;
  long kept_now, kept_max;
  long ce_rings, ce_registered, ce_register_failed, ce_register_errno, ce_enable_failed, ce_bytes;
  long acquires;
  long own_mlock_errno; // what mlock of the registration's size did in this process (0: it worked)
};

static struct hostile_stats *hs;

#define ADD(field, n) __atomic_add_fetch(&hs->field, (n), __ATOMIC_RELAXED)

struct hostile_opts {
  const char *socket, *policy, *ce_policy;
  int ce_every, ce_max, keep_max, conns_per_worker, hold_max;
  size_t ce_bytes;
  double deadline;
};

// Registers `bytes` of this process's own memory on a disabled, client-enabled ring in place of
// the daemon's buffers, then enables it. Restrictions only start at enabling, so the register
// calls are not restricted; the kernel charges the pages to the ring's creator (the daemon).
static void client_enabled_attack(struct ring *r, const struct hostile_opts *o) {
  ADD(ce_rings, 1);
  if (__atomic_load_n(&hs->ce_registered, __ATOMIC_RELAXED) < o->ce_max) {
    void *mem = mmap(NULL, o->ce_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem != MAP_FAILED) {
      struct iovec iov = {.iov_base = mem, .iov_len = o->ce_bytes};
      syscall(__NR_io_uring_register, r->fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
      if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS, &iov, 1) == 0) {
        ADD(ce_registered, 1);
        ADD(ce_bytes, (long)o->ce_bytes);
      } else {
        ADD(ce_register_failed, 1);
        __atomic_store_n(&hs->ce_register_errno, errno, __ATOMIC_RELAXED);
      }
      munmap(mem, o->ce_bytes); // the registration keeps the pages pinned
    }
  }
  if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0) ADD(ce_enable_failed, 1);
}

static void note_kept(long delta) {
  long now = __atomic_add_fetch(&hs->kept_now, delta, __ATOMIC_RELAXED);
  long max = __atomic_load_n(&hs->kept_max, __ATOMIC_RELAXED);
  while (now > max && !__atomic_compare_exchange_n(&hs->kept_max, &max, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

// One worker: up to conns_per_worker connections until the deadline, keeping rings; then it
// tells the parent (`next`) and holds everything until killed.
static void hostile_worker(const struct hostile_opts *o, int next) {
  size_t cap = (size_t)o->keep_max + 1, nkept = 0;
  struct ring *kept = calloc(cap, sizeof *kept);
  long n = 0;
  int s = -1;
  for (int c = 0; c < o->conns_per_worker && now_s() < o->deadline; c++) {
    if (s >= 0) close(s);
    s = connect_to(o->socket, 10);
    if (s < 0) {
      ADD(refused[E_IO], 1);
      sleep_ms(5);
      continue;
    }
    enum outcome a = attach(s);
    ADD(connections, 1);
    if (a != OK) {
      ADD(attach_failed, 1);
      ADD(refused[a], 1);
      close(s);
      s = -1;
      sleep_ms(5);
      if (a == E_ATTACH) break; // this process cannot install another filter layer: a fresh worker can
      continue;
    }
    double opened = now_s();
    while (now_s() < o->deadline) {
      int ce = o->ce_policy && o->ce_every > 0 && n % o->ce_every == o->ce_every - 1;
      struct ring r;
      int cerr;
      n++;
      ADD(acquires, 1);
      enum outcome res = acquire(s, ce ? o->ce_policy : o->policy, &r, &cerr);
      if (res == E_QUOTA_EXCEEDED) {
        ADD(refused[res], 1);
        // Reconnect and try again; while reconnecting does not help (the first acquires on
        // a fresh connection are refused too), retry here for 50 ms before the next one, so
        // that a refusing daemon is not answered with hundreds of processes.
        if (now_s() - opened >= 0.05) break;
        continue;
      }
      if (res != OK) {
        ADD(refused[res], 1);
        if (res == E_COLLECT) {
          ADD(collect_errno[cerr < 160 ? cerr : 0], 1);
          release(s, r.g.lease);
          continue;
        }
        if (res == E_IO) break;
        continue;
      }
      ADD(grants, 1);
      if (!r.g.enabled) client_enabled_attack(&r, o);
      if (n % 2 == 0) {
        // Release and keep: the daemon ends the lease and returns its quota; the ring (and the
        // buffer pinned for it) stays here, and still works.
        enum outcome rel = release(s, r.g.lease);
        if (rel == OK) {
          ADD(released_kept, 1);
          if (nop(&r) == 0) ADD(kept_nop_ok, 1); else ADD(kept_nop_failed, 1);
        } else {
          ADD(refused[rel], 1);
        }
      } else {
        ADD(held, 1); // kept under its lease, until this connection closes
      }
      if (__atomic_load_n(&hs->kept_now, __ATOMIC_RELAXED) < o->keep_max && nkept < cap) {
        kept[nkept++] = r;
        note_kept(1);
      } else {
        unmap_ring(&r); // the machine's memory is shared: past the cap, rings go at once
        ADD(closed_at_cap, 1);
      }
    }
  }
  // A worker that used up its connections before the deadline lets its last one go (its
  // leases would hold the user's quota against its successor); the rings stay here.
  if (s >= 0 && now_s() < o->deadline) close(s);
  char ch = 'n';
  if (write(next, &ch, 1) != 1) {
  }
  // Hold every ring (and at the deadline the last connection, with its leases) until the
  // parent ends us.
  for (;;) pause();
}

static void write_hostile_stats(const char *path, double secs) {
  FILE *f = fopen(path, "w");
  if (!f) die(path);
  fprintf(f, "uid=%d seconds=%.1f workers=%ld connections=%ld attach_failed=%ld acquires=%ld grants=%ld\n", (int)getuid(),
          secs, hs->workers, hs->connections, hs->attach_failed, hs->acquires, hs->grants);
  fprintf(f, "refused");
  for (int i = 1; i < N_OUTCOMES; i++) {
    if (hs->refused[i]) fprintf(f, " %s=%ld", OUTCOME[i], hs->refused[i]);
  }
  for (int e = 0; e < 160; e++) {
    if (hs->collect_errno[e]) fprintf(f, " collect_errno_%d=%ld", e, hs->collect_errno[e]);
  }
  fprintf(f, "\nreleased_and_kept=%ld kept_nop_ok=%ld kept_nop_failed=%ld held_under_lease=%ld kept_max=%ld"
             " kept_at_end=%ld closed_at_cap=%ld\n",
          hs->released_kept, hs->kept_nop_ok, hs->kept_nop_failed, hs->held, hs->kept_max, hs->kept_now,
          hs->closed_at_cap);
  fprintf(f, "client_enabled_rings=%ld own_buffers_registered=%ld own_bytes_registered=%ld register_refused=%ld"
             " register_errno=%s enable_failed=%ld own_mlock_of_that_size=%s\n",
          hs->ce_rings, hs->ce_registered, hs->ce_bytes, hs->ce_register_failed,
          hs->ce_register_errno ? strerrorname_np((int)hs->ce_register_errno) : "-", hs->ce_enable_failed,
          hs->own_mlock_errno ? strerrorname_np((int)hs->own_mlock_errno) : "ok");
  fclose(f);
}

static int hostile_main(int argc, char **argv) {
  struct hostile_opts o = {.policy = "bench-hostile", .ce_every = 4, .ce_max = 2, .keep_max = 64,
                           .conns_per_worker = 32, .hold_max = 120, .ce_bytes = (size_t)64 << 20};
  int c;
  while ((c = getopt(argc, argv, "p:c:E:m:e:k:K:H:")) != -1) {
    switch (c) {
      case 'p': o.policy = optarg; break;
      case 'c': o.ce_policy = optarg; break;
      case 'E': o.ce_every = atoi(optarg); break;
      case 'm': o.ce_bytes = (size_t)atol(optarg) << 20; break;
      case 'e': o.ce_max = atoi(optarg); break;
      case 'k': o.keep_max = atoi(optarg); break;
      case 'K': o.conns_per_worker = atoi(optarg); break;
      case 'H': o.hold_max = atoi(optarg); break;
      default: return 2;
    }
  }
  if (argc - optind != 5) {
    fprintf(stderr, "usage: isolation hostile [-p POLICY] [-c CE-POLICY] [-E N] [-m MiB] [-e N] [-k N] [-K N] [-H S]"
                    " SOCKET SECONDS STATS-OUT DONE-FILE EXIT-FILE\n");
    return 2;
  }
  o.socket = argv[optind];
  double secs = atof(argv[optind + 1]);
  const char *stats = argv[optind + 2], *done = argv[optind + 3], *exitf = argv[optind + 4];
  hs = mmap(NULL, sizeof *hs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (hs == MAP_FAILED) die("mmap");
  if (o.ce_policy) {
    // For comparison: what this user may pin by itself (its RLIMIT_MEMLOCK).
    void *probe = mmap(NULL, o.ce_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED) die("mmap");
    if (mlock(probe, o.ce_bytes) < 0) hs->own_mlock_errno = errno;
    munmap(probe, o.ce_bytes);
  }
  o.deadline = now_s() + secs;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) die("pipe");
  pid_t parent = getpid();
  pid_t workers[4096];
  int nworkers = 0, finished = 0;
  // A worker asks for a successor when it has used up its connections; at the deadline every
  // worker says so once. Workers are forked here, unfiltered: a filter is inherited.
  for (;;) {
    if (now_s() < o.deadline && nworkers == finished && nworkers < (int)(sizeof workers / sizeof *workers)) {
      pid_t w = fork();
      if (w < 0) die("fork");
      if (w == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(0);
        close(pipefd[0]);
        hostile_worker(&o, pipefd[1]);
        _exit(0);
      }
      workers[nworkers++] = w;
      ADD(workers, 1);
    }
    if (finished == nworkers) break;
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    int r = poll(&p, 1, 1000);
    if (r > 0) {
      char ch;
      if (read(pipefd[0], &ch, 1) == 1) finished++;
    } else if (now_s() > o.deadline + 30) {
      fprintf(stderr, "isolation hostile: %d workers did not finish\n", nworkers - finished);
      break;
    }
  }
  // The attack is over: the counts now, while every ring is still held.
  write_hostile_stats(stats, secs);
  touch(done);
  double give_up = now_s() + o.hold_max;
  while (!exists(exitf) && now_s() < give_up) sleep_ms(100);
  for (int i = 0; i < nworkers; i++) kill(workers[i], SIGKILL);
  for (int i = 0; i < nworkers; i++) waitpid(workers[i], NULL, 0);
  return 0;
}

// ---------------------------------------------------------------- load

struct load_slot {
  int attached;       // outcome of connect + attach
  int result;         // outcome of acquire + collect + map + NOP + release
  int collect_errno;
  double latency_s;   // acquire to released
};

static void daemon_facts(pid_t pid, const char *when) {
  char path[64], line[256];
  long rss = -1, threads = -1, pin = -1, fds = 0;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      sscanf(line, "VmRSS: %ld", &rss);
      sscanf(line, "Threads: %ld", &threads);
      sscanf(line, "VmPin: %ld", &pin);
    }
    fclose(f);
  }
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR *dir = opendir(path);
  if (dir) {
    for (struct dirent *e; (e = readdir(dir));) fds += e->d_name[0] != '.';
    closedir(dir);
  }
  printf("   daemon %-28s VmRSS %7.1f MiB   Threads %4ld   fds %5ld   VmPin %ld kB\n", when, rss / 1024.0, threads, fds,
         pin);
  fflush(stdout);
}

static void load_client(const char *sock, const char *policy, uid_t uid, struct load_slot *slot, int ready, int go,
                        int done, int bye) {
  if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0) die("setresuid");
  char ch = 1;
  int s = connect_to(sock, 60);
  slot->attached = s < 0 ? E_IO : attach(s);
  if (write(ready, &ch, 1) != 1) _exit(2);
  if (slot->attached != OK) _exit(1);
  if (read(go, &ch, 1) < 0) _exit(2); // 0 (EOF) once the parent closes it: every client starts together
  double t0 = now_s();
  struct ring r;
  int cerr;
  enum outcome o = acquire(s, policy, &r, &cerr);
  if (o == OK) {
    if (nop(&r) != 0) o = E_NOP;
    unmap_ring(&r);
    enum outcome rel = release(s, r.g.lease);
    if (o == OK) o = rel;
  } else if (o == E_COLLECT) {
    release(s, r.g.lease);
  }
  slot->latency_s = now_s() - t0;
  slot->collect_errno = cerr;
  slot->result = o;
  if (write(done, &ch, 1) != 1) _exit(2);
  if (read(bye, &ch, 1) < 0) _exit(2); // keep the connection until every client is done
  close(s);
  _exit(o == OK ? 0 : 1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// Reads `want` bytes from fd within `secs`; returns how many arrived.
static int collect_bytes(int fd, int want, double secs) {
  int got = 0;
  double give_up = now_s() + secs;
  char buf[256];
  while (got < want && now_s() < give_up) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    got += (int)r;
  }
  return got;
}

static int load_main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: isolation load SOCKET POLICY TOTAL DAEMON-PID UID...\n");
    return 2;
  }
  const char *sock = argv[2], *policy = argv[3];
  int total = atoi(argv[4]);
  pid_t dpid = (pid_t)atoi(argv[5]);
  int nuids = argc - 6;
  struct load_slot *slots = mmap(NULL, sizeof *slots * (size_t)total, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (slots == MAP_FAILED) die("mmap");
  int ready[2], go[2], done[2], bye[2];
  if (pipe(ready) < 0 || pipe(go) < 0 || pipe(done) < 0 || pipe(bye) < 0) die("pipe");
  daemon_facts(dpid, "before:");
  pid_t parent = getpid();
  pid_t *kids = calloc((size_t)total, sizeof *kids);
  double t0 = now_s();
  for (int i = 0; i < total; i++) {
    slots[i].attached = slots[i].result = E_IO;
    kids[i] = fork();
    if (kids[i] < 0) die("fork");
    if (kids[i] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(2);
      close(ready[0]);
      close(go[1]);
      close(done[0]);
      close(bye[1]);
      load_client(sock, policy, (uid_t)atoi(argv[6 + i % nuids]), &slots[i], ready[1], go[0], done[1], bye[0]);
    }
  }
  close(ready[1]);
  close(go[0]);
  close(done[1]);
  close(bye[0]);
  int nready = collect_bytes(ready[0], total, 180);
  double t_attached = now_s();
  int attached = 0;
  for (int i = 0; i < total; i++) attached += slots[i].attached == OK;
  printf("   %d processes forked over %d uids, %d connected and attached in %.2f s\n", total, nuids, attached,
         t_attached - t0);
  daemon_facts(dpid, "with every client attached:");
  double t_go = now_s();
  close(go[1]); // go
  int ndone = collect_bytes(done[0], attached, 180);
  double t_end = now_s();
  daemon_facts(dpid, "after every cycle:");
  close(bye[1]);
  for (int i = 0; i < total; i++) waitpid(kids[i], NULL, 0);
  double t_closed = now_s();
  sleep_ms(1000);
  daemon_facts(dpid, "1 s after every close:");

  int counts[N_OUTCOMES] = {0}, ok = 0, nlat = 0;
  double *lat = calloc((size_t)total, sizeof *lat);
  for (int i = 0; i < total; i++) {
    int o = slots[i].attached != OK ? slots[i].attached : slots[i].result;
    counts[o]++;
    if (o == OK) {
      ok++;
      lat[nlat++] = slots[i].latency_s;
    }
  }
  qsort(lat, (size_t)nlat, sizeof *lat, cmp_double);
  printf("   served %d of %d (ready %d, done %d); acquire + collect + NOP + release from the common start:"
         " %.2f s for all, p50 %.1f ms, p99 %.1f ms, max %.1f ms; all %d connections closed %.2f s later\n",
         ok, total, nready, ndone, t_end - t_go, nlat ? lat[nlat / 2] * 1e3 : 0, nlat ? lat[(int)(nlat * 0.99)] * 1e3 : 0,
         nlat ? lat[nlat - 1] * 1e3 : 0, total, t_closed - t_end);
  if (ok != total) {
    printf("   not served:");
    for (int i = 1; i < N_OUTCOMES; i++) {
      if (counts[i]) printf(" %s=%d", OUTCOME[i], counts[i]);
    }
    for (int i = 0; i < total; i++) {
      if (slots[i].result == E_COLLECT) {
        printf(" (first collect failure: %s)", strerrorname_np(slots[i].collect_errno));
        break;
      }
    }
    printf("\n");
  }
  printf("load total=%d uids=%d served=%d errors=%d attach_s=%.3f cycle_s=%.3f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
         total, nuids, ok, total - ok, t_attached - t0, t_end - t_go, nlat ? lat[nlat / 2] * 1e3 : 0,
         nlat ? lat[(int)(nlat * 0.99)] * 1e3 : 0, nlat ? lat[nlat - 1] * 1e3 : 0);
  return ok == total ? 0 : 1;
}

// ---------------------------------------------------------------- footprint (bench/run-footprint)

// One connection, attached once; N times acquire + collect + map + one NOP + unmap + release.
static int cycles_main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: isolation cycles SOCKET POLICY N\n");
    return 2;
  }
  const char *sock = argv[2], *policy = argv[3];
  long total = atol(argv[4]), ok = 0;
  int counts[N_OUTCOMES] = {0};
  int s = connect_to(sock, 30);
  if (s < 0) die("connect");
  enum outcome a = attach(s);
  if (a != OK) {
    fprintf(stderr, "isolation cycles: attach: %s\n", OUTCOME[a]);
    return 1;
  }
  double t0 = now_s();
  for (long i = 0; i < total; i++) {
    struct ring r;
    int cerr;
    enum outcome o = acquire(s, policy, &r, &cerr);
    if (o == OK || o == E_COLLECT) {
      if (o == OK && nop(&r) != 0) o = E_NOP;
      unmap_ring(&r);
      enum outcome rel = release(s, r.g.lease);
      if (o == OK) o = rel;
    }
    counts[o]++;
    ok += o == OK;
    if (o == E_IO) break; // the connection is gone
  }
  double secs = now_s() - t0;
  close(s);
  printf("cycles n=%ld ok=%ld secs=%.3f rate=%.0f", total, ok, secs, ok / secs);
  for (int i = 1; i < N_OUTCOMES; i++) {
    if (counts[i]) printf(" %s=%d", OUTCOME[i], counts[i]);
  }
  printf("\n");
  return ok == total ? 0 : 1;
}

// N connections, one after another, each sending one malformed frame (by turns: random bytes of
// a random length up to 65,536, an over-long length, an empty frame, JSON with an unknown
// field, JSON cut short), then reading until the daemon closes it. Counts the connections answered
// BAD_REQUEST and closed; the over-long and empty ones may be closed without an answer
// (docs/protocol.md: "where possible").
static int fuzz_main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: isolation fuzz SOCKET N\n");
    return 2;
  }
  const char *sock = argv[2];
  long total = atol(argv[3]), bad_request = 0, closed_silently = 0, other = 0;
  long long bytes = 0;
  unsigned char *buf = malloc(4 + FRAME_MAX);
  char *answer = malloc(FRAME_MAX + 1);
  if (!buf || !answer) die("malloc");
  unsigned seed = 13;
  double t0 = now_s();
  for (long i = 0; i < total; i++) {
    int s = connect_to(sock, 10);
    if (s < 0) die("connect");
    uint32_t n;
    size_t len;
    switch (i % 5) {
    case 0: // garbage, mostly large
      n = 1 + (uint32_t)(rand_r(&seed) % FRAME_MAX);
      for (uint32_t k = 0; k < n; k++) buf[4 + k] = (unsigned char)rand_r(&seed);
      buf[4] = '{'; // looks like JSON for one byte
      len = 4 + n;
      break;
    case 1: // longer than the protocol allows
      n = FRAME_MAX + 1 + (uint32_t)(rand_r(&seed) % 1000000);
      len = 4;
      break;
    case 2: // empty
      n = 0;
      len = 4;
      break;
    case 3: // well-formed JSON, unknown field
      n = (uint32_t)snprintf((char *)buf + 4, FRAME_MAX, "{\"v\":1,\"op\":\"acquire\",\"policy\":\"x\",\"junk%ld\":1}", i);
      len = 4 + n;
      break;
    default: // JSON cut short
      n = (uint32_t)snprintf((char *)buf + 4, FRAME_MAX, "{\"v\":1,\"op\":\"acq");
      len = 4 + n;
      break;
    }
    buf[0] = (unsigned char)(n >> 24);
    buf[1] = (unsigned char)(n >> 16);
    buf[2] = (unsigned char)(n >> 8);
    buf[3] = (unsigned char)n;
    full_write(s, buf, len); // the daemon may close before reading it all
    bytes += (long long)len;
    int m = recv_frame(s, answer, FRAME_MAX + 1);
    int eof = 0;
    if (m >= 0) {
      char c;
      eof = read(s, &c, 1) == 0; // then the daemon closes the connection
    }
    if (m >= 0 && eof && answer_outcome(answer, (size_t)m, "none") == E_BAD_REQUEST) {
      bad_request++;
    } else if (m < 0 && (i % 5 == 1 || i % 5 == 2)) {
      closed_silently++;
    } else {
      other++;
      if (other <= 3) fprintf(stderr, "isolation fuzz: frame %ld (kind %ld): %s\n", i, i % 5, m >= 0 ? answer : "no answer");
    }
    close(s);
  }
  printf("fuzz n=%ld bad_request=%ld closed_silently=%ld other=%ld bytes=%lld secs=%.3f\n", total, bad_request,
         closed_silently, other, bytes, now_s() - t0);
  return other == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp(argv[1], "hostile") == 0) return hostile_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "load") == 0) return load_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "cycles") == 0) return cycles_main(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "fuzz") == 0) return fuzz_main(argc, argv);
  fprintf(stderr, "usage: isolation hostile|load|cycles|fuzz ... (see the comment at the top of bench/isolation.c)\n");
  return 2;
}
