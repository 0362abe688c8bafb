// The point-to-point links between neighbouring pipeline stages, and the tag every message on them carries.
import type { Communicator } from '../../comm/communicator';

/** The directed links between neighbouring stages, each its own communicator (own queue), so a send never waits behind a recv. */
export interface Links {
  activationsIn: Communicator | null;
  activationsOut: Communicator | null;
  gradientsIn: Communicator | null;
  gradientsOut: Communicator | null;
}

/**
 * A message's tag names what it carries: micro-batch m's activations 2m, its gradients 2m + 1. Messages on
 * a link arrive in the order sent; the tag makes the receiver check that this is the one it expects, so a
 * schedule that ran out of step fails with JOULE_COLLECTIVE_MISMATCH instead of training on the wrong data.
 */
export function messageTag(kind: 'activations' | 'gradients', micro: number): number {
  return 2 * micro + (kind === 'gradients' ? 1 : 0);
}

export async function makeLinks(pipe: Communicator, s: number, K: number): Promise<Links> {
  // Link s→s+1 carries activations on activation[s % 2] and gradients back on gradient[s % 2]: a stage's
  // incoming and outgoing traffic never share a queue.
  const activation = [(await pipe.split(0))!, (await pipe.split(0))!];
  const gradient = [(await pipe.split(0))!, (await pipe.split(0))!];
  // Connected now, in the same order everywhere: sends are queued without awaiting, and operations that
  // queue while a connection is still being made could reach the wire out of order.
  for (const comm of [...activation, ...gradient]) await comm.connected();
  return {
    activationsIn: s > 0 ? activation[(s - 1) % 2] : null,
    activationsOut: s < K - 1 ? activation[s % 2] : null,
    gradientsIn: s < K - 1 ? gradient[s % 2] : null,
    gradientsOut: s > 0 ? gradient[(s - 1) % 2] : null,
  };
}

/**
 * A link's incoming messages of one step, in schedule order, each receive posted one message ahead: the
 * native thread copies the next message in while the stage computes, instead of after it asks.
 */
export class Inbox {
  private next: Promise<Float32Array> | null = null;
  private posted = 0;

  constructor(private readonly comm: Communicator, private readonly peer: number, private readonly size: number, private readonly tags: readonly number[]) {
    this.post();
  }

  /** The next message; the one after it is posted before this returns. */
  take(): Promise<Float32Array> {
    const current = this.next;
    if (!current) throw new Error('pipeline inbox: more receives than the schedule has messages');
    this.post();
    return current;
  }

  private post(): void {
    if (this.posted === this.tags.length) {
      this.next = null;
      return;
    }
    const buffer = new Float32Array(this.size);
    const received = this.comm.recv(buffer, this.peer, this.tags[this.posted++]).then(() => buffer);
    received.catch(() => undefined); // taken and awaited in order; this only keeps a failure ahead of that from being "unhandled"
    this.next = received;
  }
}
