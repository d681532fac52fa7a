package org.ringwarden.client;

/**
 * {@link BrokeredRing#prepare()} found no free SQE: submit what is queued (and reap, if the
 * kernel has not consumed it yet) before preparing more. The library never submits on its own,
 * since that would cut a linked chain in two.
 */
public final class SubmissionQueueFullException extends IllegalStateException {
    SubmissionQueueFullException(String message) {
        super(message);
    }
}
