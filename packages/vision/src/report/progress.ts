// A progress bar on a TTY; plain periodic lines otherwise (CI logs, pipes).
export class ProgressBar {
  private readonly started = performance.now();
  private lastPrinted = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string, private readonly total: number) {}

  update(done: number, extra = ''): void {
    const now = performance.now();
    const elapsed = (now - this.started) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = (this.total - done) / Math.max(rate, 1e-9);
    // The first update has no elapsed time to measure a rate from.
    const timing = elapsed > 0.2 ? `${rate.toFixed(1)} it/s ETA ${eta.toFixed(0)}s` : '';
    const text = `${this.label} ${done}/${this.total} ${extra} ${timing}`;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((done / this.total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (now - this.lastPrinted > 10_000 || done === this.total) {
      this.lastPrinted = now;
      process.stderr.write(`${text}\n`);
    }
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
