/*
 * The physical limit the brokered Java client is measured against (bench/run-client): the same
 * loops on a ring this process created itself with liburing.
 *
 *   nop:        per round, `batch` NOPs, one io_uring_submit, reap them all;
 *   read-fixed: per round, `batch` 4 KiB READ_FIXED at random 4 KiB-aligned offsets of a
 *               page-cached file on a regular filesystem (registered file, registered buffers:
 *               `batch` buffers of 4 KiB), one io_uring_submit, reap them all. Page-cached reads
 *               complete inline in the submit (tmpfs would punt them to io-wq workers and
 *               measure something else: not /dev/shm).
 *
 * Throughput is counted per second of the submitting thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
 * which other load on a shared machine disturbs far less than wall time; wall-time rates are
 * reported too.
 *
 * Built twice: as a program (bench/target/read-fixed FILE [seconds] [runs]) and with
 * -DRF_LIBRARY as a shared library that ClientBenchmark calls through FFM in slices alternating
 * with its own. The library's ring must be created (rf_init) before the JVM installs the
 * ringwarden filter: after that, this process's io_uring_setup goes to the daemon.
 */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define ENTRIES 64
#define BLOCK 4096

static struct io_uring ring;
static unsigned long long blocks;
static unsigned long long sink;
static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static void *buffers;

static double clock_seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline unsigned long long next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Creates the ring, registers `path` as fixed file 0 and ENTRIES buffers of 4 KiB. 0 or -errno. */
int rf_init(const char *path)
{
	int ret = io_uring_queue_init(ENTRIES, &ring, 0);
	if (ret < 0)
		return ret;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	blocks = st.st_size / BLOCK;
	if (blocks == 0)
		return -22;
	ret = io_uring_register_files(&ring, &fd, 1);
	if (ret < 0)
		return ret;
	if (posix_memalign(&buffers, BLOCK, (size_t) ENTRIES * BLOCK))
		return -12;
	struct iovec iov[ENTRIES];
	for (int i = 0; i < ENTRIES; i++) {
		iov[i].iov_base = (char *) buffers + (size_t) i * BLOCK;
		iov[i].iov_len = BLOCK;
	}
	return io_uring_register_buffers(&ring, iov, ENTRIES);
}

/*
 * Runs rounds of `batch` operations (read != 0: READ_FIXED, else NOP) for `seconds` of wall
 * time; stores ops per CPU-second of this thread and ops per wall second. 0 or -1.
 */
int rf_run(int read, unsigned batch, double seconds, double *cpu_rate, double *wall_rate)
{
	unsigned long long ops = 0;
	double start = clock_seconds(CLOCK_MONOTONIC), end = start + seconds, t = start;
	double cpu_start = clock_seconds(CLOCK_THREAD_CPUTIME_ID);

	while (t < end) {
		for (int r = 0; r < 64; r++) {
			for (unsigned i = 0; i < batch; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
				if (read) {
					unsigned long long off = (next_random() % blocks) * BLOCK;
					io_uring_prep_read_fixed(sqe, 0, (char *) buffers + (size_t) i * BLOCK, BLOCK, off, i);
					sqe->flags |= IOSQE_FIXED_FILE;
				} else {
					io_uring_prep_nop(sqe);
				}
				io_uring_sqe_set_data64(sqe, i);
			}
			int ret = io_uring_submit(&ring);
			if (ret != (int) batch) {
				fprintf(stderr, "submit: %d (%s)\n", ret, ret < 0 ? strerror(-ret) : "short");
				return -1;
			}
			unsigned seen = 0;
			while (seen < batch) {
				struct io_uring_cqe *cqe;
				unsigned head, n = 0;
				io_uring_for_each_cqe(&ring, head, cqe) {
					if (cqe->res < 0 || (read && cqe->res != BLOCK)) {
						fprintf(stderr, "completion: %d\n", cqe->res);
						return -1;
					}
					sink += cqe->user_data + (unsigned) cqe->res;
					n++;
				}
				if (n == 0) {
					ret = io_uring_wait_cqe(&ring, &cqe);
					if (ret < 0) {
						fprintf(stderr, "wait: %s\n", strerror(-ret));
						return -1;
					}
					continue;
				}
				io_uring_cq_advance(&ring, n);
				seen += n;
			}
			ops += batch;
		}
		t = clock_seconds(CLOCK_MONOTONIC);
	}
	*cpu_rate = ops / (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start);
	*wall_rate = ops / (t - start);
	return 0;
}

#ifndef RF_LIBRARY
int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: read-fixed FILE [seconds] [runs]\n");
		return 2;
	}
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	int ret = rf_init(argv[1]);
	if (ret < 0) {
		fprintf(stderr, "rf_init: %d\n", ret);
		return 1;
	}
	struct { int read; unsigned batch; const char *name; } cases[] = {
		{0, 1, "nop"}, {0, 8, "nop"}, {0, 32, "nop"}, {1, 32, "read-fixed"}};
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double cpu, wall, best_cpu = 0, best_wall = 0;
		rf_run(cases[c].read, cases[c].batch, seconds, &cpu, &wall); /* warm-up */
		for (int r = 0; r < runs; r++) {
			if (rf_run(cases[c].read, cases[c].batch, seconds, &cpu, &wall) < 0)
				return 1;
			if (cpu > best_cpu)
				best_cpu = cpu;
			if (wall > best_wall)
				best_wall = wall;
		}
		printf("c %s batch=%u ops_per_cpu_sec=%.0f ops_per_wall_sec=%.0f\n", cases[c].name, cases[c].batch,
		       best_cpu, best_wall);
		fflush(stdout);
	}
	return sink == 42 ? 3 : 0;
}
#endif
