/*
 * NOP throughput through liburing: the reference the Java Ring is measured against
 * (bench/run-nop). Per round: prepare `batch` NOPs, one io_uring_submit, reap them all.
 * NOPs complete inline during the submit, so a round is one io_uring_enter.
 *
 * Output, one line per batch size: "c batch=<n> ops_per_sec=<best run> median=<median run>"
 * (on a shared machine the best run is the figure least disturbed by other load).
 * Usage: nop [seconds-per-run] [runs]
 */
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

static unsigned long long sink;

/*
 * Runs rounds of `batch` NOPs for `seconds` of wall time; returns operations per second of
 * this thread's CPU time (user + system), which other load on a shared machine disturbs far
 * less than wall time.
 */
static double run(struct io_uring *ring, unsigned batch, double seconds)
{
	unsigned long long ops = 0;
	double start = now(), end = start + seconds, t = start;
	double cpu_start = clock_seconds(CLOCK_THREAD_CPUTIME_ID);

	while (t < end) {
		for (int r = 0; r < 64; r++) {
			for (unsigned i = 0; i < batch; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
				io_uring_prep_nop(sqe);
				io_uring_sqe_set_data64(sqe, i);
			}
			int ret = io_uring_submit(ring);
			if (ret != (int) batch) {
				fprintf(stderr, "submit: %d (%s)\n", ret, ret < 0 ? strerror(-ret) : "short");
				exit(1);
			}
			unsigned seen = 0;
			while (seen < batch) {
				struct io_uring_cqe *cqe;
				unsigned head, n = 0;
				io_uring_for_each_cqe(ring, head, cqe) {
					sink += cqe->user_data + (unsigned) cqe->res;
					n++;
				}
				if (n == 0) {
					ret = io_uring_wait_cqe(ring, &cqe);
					if (ret < 0) {
						fprintf(stderr, "wait: %s\n", strerror(-ret));
						exit(1);
					}
					continue;
				}
				io_uring_cq_advance(ring, n);
				seen += n;
			}
			ops += batch;
		}
		t = now();
	}
	return ops / (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu_start);
}

/*
 * The same loop as a library call, for NopBenchmark's interleaved comparison: built with
 * -shared -DNOP_LIBRARY, loaded into the JVM through FFM, and run in slices alternating with
 * the Java slices, so that both sides meet the same load on a shared machine.
 */
double nop_bench_run(unsigned batch, double seconds)
{
	static struct io_uring lib_ring;
	static int ready;

	if (!ready) {
		int ret = io_uring_queue_init(64, &lib_ring, 0);
		if (ret < 0) {
			fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
			return -1;
		}
		ready = 1;
	}
	return run(&lib_ring, batch, seconds);
}

#ifndef NOP_LIBRARY
static int cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	unsigned batches[] = {1, 8, 32};
	struct io_uring ring;
	double results[64];

	if (runs < 1 || runs > 64) {
		fprintf(stderr, "runs must be 1..64\n");
		return 2;
	}
	int ret = io_uring_queue_init(64, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	for (unsigned b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		run(&ring, batches[b], seconds); /* warm-up: page faults, caches, CPU frequency */
		for (int r = 0; r < runs; r++)
			results[r] = run(&ring, batches[b], seconds);
		qsort(results, runs, sizeof(double), cmp);
		printf("c batch=%u ops_per_sec=%.0f median=%.0f\n", batches[b], results[runs - 1],
		       results[runs / 2]);
		fflush(stdout);
	}
	io_uring_queue_exit(&ring);
	return sink == 42 ? 3 : 0; /* keep the compiler from dropping the reads */
}
#endif
