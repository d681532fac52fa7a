package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SerialExecutorTest {
    @Test
    void tasksForTwoPoolsRunInSubmissionOrderOneAtATimeEachOnItsOwnPool() throws Exception {
        ExecutorService requests = Executors.newFixedThreadPool(3, r -> new Thread(r, "test-requests"));
        ExecutorService builders = Executors.newFixedThreadPool(2, r -> new Thread(r, "test-builders"));
        try {
            SerialExecutor serial = new SerialExecutor(requests);
            int n = 2_000;
            List<Integer> order = Collections.synchronizedList(new ArrayList<>());
            List<String> wrongPool = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger running = new AtomicInteger();
            AtomicInteger overlaps = new AtomicInteger();
            CountDownLatch all = new CountDownLatch(n);
            for (int i = 0; i < n; i++) {
                int k = i;
                boolean onBuilders = (i / 3) % 2 == 0; // runs of three for each pool
                Runnable task = () -> {
                    if (running.incrementAndGet() != 1) {
                        overlaps.incrementAndGet();
                    }
                    String expected = onBuilders ? "test-builders" : "test-requests";
                    if (!Thread.currentThread().getName().equals(expected)) {
                        wrongPool.add(k + " on " + Thread.currentThread().getName());
                    }
                    order.add(k);
                    running.decrementAndGet();
                    all.countDown();
                };
                if (onBuilders) {
                    serial.execute(task, builders);
                } else {
                    serial.execute(task);
                }
            }
            assertThat(all.await(20, TimeUnit.SECONDS)).as("every task ran").isTrue();
            assertThat(overlaps.get()).as("tasks that ran while another was running").isZero();
            assertThat(wrongPool).as("tasks that ran on the other pool").isEmpty();
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                expected.add(i);
            }
            assertThat(order).as("submission order").isEqualTo(expected);
        } finally {
            requests.shutdownNow();
            builders.shutdownNow();
        }
    }

    @Test
    void aTaskForAPoolThatRefusesRunsOnTheCurrentRunInsteadOfBeingLost() throws Exception {
        ExecutorService requests = Executors.newSingleThreadExecutor();
        ExecutorService stopped = Executors.newSingleThreadExecutor();
        stopped.shutdown();
        try {
            SerialExecutor serial = new SerialExecutor(requests);
            CountDownLatch first = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch ran = new CountDownLatch(1);
            serial.execute(() -> {
                first.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            first.await();
            serial.execute(ran::countDown, stopped); // queued behind the first: the run cannot move there
            release.countDown();
            assertThat(ran.await(10, TimeUnit.SECONDS)).as("the task ran on the request pool's run").isTrue();
        } finally {
            requests.shutdownNow();
        }
    }
}
