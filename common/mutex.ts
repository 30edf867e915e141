// A FIFO async mutex: critical sections that await run one at a time, in the order they asked.

export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(section: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await section();
    } finally {
      release();
    }
  }
}
