// SIGINT and SIGTERM caught from the first moment of a launch, so a signal that arrives while the run
// directory is made or the coordinator starts still stops the job cleanly instead of killing the launcher.
export class StopSignals {
  signal?: NodeJS.Signals;
  private listener?: (signal: NodeJS.Signals) => void;
  private readonly handler = (signal: NodeJS.Signals) => {
    // The first signal is remembered for whoever starts listening later; every one is passed on.
    this.signal ??= signal;
    this.listener?.(signal);
  };

  constructor() {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /** Sends every signal to `listener` from now on, and the one already received (if any) at once. */
  listen(listener: (signal: NodeJS.Signals) => void): void {
    this.listener = listener;
    if (this.signal) listener(this.signal);
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
