// Progress of the long phases, on stderr so stdout and the result files stay clean. On a terminal: one
// bar redrawn in place. Otherwise (CI logs, a pipe): a plain line when a phase starts, every
// progressLineMs while it runs, and when it ends — no carriage returns in a log file.

import { benchDefaults } from "../../common/config.ts";

export interface ProgressSink {
  isTTY: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  sink?: ProgressSink;
  redrawMs?: number;
  lineMs?: number;
  /** Injected clock, for tests. */
  now?: () => number;
  /** False: print nothing at all (tests, --quiet). */
  enabled?: boolean;
}

export class Progress {
  private readonly sink: ProgressSink;
  private readonly redrawMs: number;
  private readonly lineMs: number;
  private readonly now: () => number;
  private readonly enabled: boolean;
  private label = "";
  private total = 0;
  private unit = "";
  private done = 0;
  private startedMs = 0;
  private lastDrawMs = 0;
  private active = false;

  constructor(options: ProgressOptions = {}) {
    this.sink = options.sink ?? process.stderr;
    this.redrawMs = options.redrawMs ?? benchDefaults.progressRedrawMs;
    this.lineMs = options.lineMs ?? benchDefaults.progressLineMs;
    this.now = options.now ?? (() => performance.now());
    this.enabled = options.enabled ?? true;
  }

  /** Starts a bar: `total` units of `unit` (a time-bound phase passes its duration in seconds). */
  start(label: string, total: number, unit: string): void {
    if (this.active) this.finish();
    this.label = label;
    this.total = Math.max(0, total);
    this.unit = unit;
    this.done = 0;
    this.startedMs = this.now();
    this.lastDrawMs = this.startedMs;
    this.active = true;
    if (!this.enabled) return;
    if (this.sink.isTTY) this.draw();
    else this.sink.write(`${label}: started (${formatCount(this.total)} ${unit})\n`);
  }

  /** Sets how many units are done; redraws at most every redrawMs (a line every lineMs off a terminal). */
  update(done: number): void {
    if (!this.active) return;
    this.done = done;
    if (!this.enabled) return;
    const now = this.now();
    if (this.sink.isTTY) {
      if (now - this.lastDrawMs >= this.redrawMs) {
        this.lastDrawMs = now;
        this.draw();
      }
    } else if (now - this.lastDrawMs >= this.lineMs) {
      this.lastDrawMs = now;
      this.sink.write(`${this.label}: ${this.describe()}\n`);
    }
  }

  /** Ends the bar, with an optional note (a figure, "skipped", ...). */
  finish(note?: string): void {
    if (!this.active) return;
    this.active = false;
    if (!this.enabled) return;
    const seconds = ((this.now() - this.startedMs) / 1000).toFixed(1);
    const line = `${this.label}: done in ${seconds} s${note === undefined ? "" : ` — ${note}`}`;
    if (this.sink.isTTY) this.sink.write(`\r\x1b[2K${line}\n`);
    else this.sink.write(`${line}\n`);
  }

  /** A line of its own (a phase's headline, a warning), keeping any bar intact below it. */
  note(text: string): void {
    if (!this.enabled) return;
    if (this.sink.isTTY && this.active) {
      this.sink.write(`\r\x1b[2K${text}\n`);
      this.draw();
    } else {
      this.sink.write(`${text}\n`);
    }
  }

  private describe(): string {
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const elapsedS = (this.now() - this.startedMs) / 1000;
    return `${formatCount(this.done)}/${formatCount(this.total)} ${this.unit} (${(fraction * 100).toFixed(0)}%, ${elapsedS.toFixed(0)} s)`;
  }

  private draw(): void {
    const width = Math.max(10, Math.min(40, (this.sink.columns ?? 80) - 60));
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const filled = Math.round(fraction * width);
    const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
    this.sink.write(`\r\x1b[2K${this.label} ${bar} ${this.describe()}`);
  }
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(1);
}
