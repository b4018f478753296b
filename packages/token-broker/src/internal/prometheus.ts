// A minimal Prometheus text exposition (format 0.0.4): counters, gauges and histograms
// with labels. Enough for the broker; no dependency.

type Labels = Readonly<Record<string, string>>;

const NEEDS_ESCAPE = /[\\\n"]/;
const escapeLabel = (value: string) =>
  NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : value;
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

// Also the series key: every inc/observe computes it, so it builds one string and no arrays.
function labelText(labels: Labels, extra?: [string, string]): string {
  let text = "";
  for (const key in labels) {
    if (!Object.hasOwn(labels, key)) continue;
    text += `${text === "" ? "" : ","}${key}="${escapeLabel(labels[key]!)}"`;
  }
  if (extra) text += `${text === "" ? "" : ","}${extra[0]}="${escapeLabel(extra[1])}"`;
  return text === "" ? "" : `{${text}}`;
}

function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return Number.isNaN(value) ? "NaN" : String(value);
}

/** Anything that can write itself in the exposition format. */
export interface Metric {
  /** The metric family in the text exposition format: HELP, TYPE, then one line per series. */
  render(): string;
}

/** A named metric with one series per distinct label set. */
abstract class Family<S> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}

  protected get(labels: Labels, init: () => S): S {
    const key = labelText(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, state: init() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { labels, state } of this.series.values()) out += this.renderSeries(labels, state);
    return out;
  }

  protected abstract renderSeries(labels: Labels, state: S): string;
}

/** A monotonically increasing count. */
export class Counter extends Family<{ value: number }> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }

  /** Adds `by` (default 1) to the series with these labels. */
  inc(labels: Labels = {}, by = 1): void {
    this.get(labels, () => ({ value: 0 })).value += by;
  }

  /** Current value, 0 when never incremented. */
  value(labels: Labels = {}): number {
    return this.series.get(labelText(labels))?.state.value ?? 0;
  }

  protected renderSeries(labels: Labels, state: { value: number }): string {
    return `${this.name}${labelText(labels)} ${formatNumber(state.value)}\n`;
  }
}

/** A value that goes up and down. */
export class Gauge extends Family<{ value: number }> {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }

  /** Sets the series with these labels. */
  set(value: number, labels: Labels = {}): void {
    this.get(labels, () => ({ value: 0 })).value = value;
  }

  /** Adds `by` (may be negative) to the series with these labels. */
  add(by: number, labels: Labels = {}): void {
    this.get(labels, () => ({ value: 0 })).value += by;
  }

  /** Current value, 0 when never set. */
  value(labels: Labels = {}): number {
    return this.series.get(labelText(labels))?.state.value ?? 0;
  }

  protected renderSeries(labels: Labels, state: { value: number }): string {
    return `${this.name}${labelText(labels)} ${formatNumber(state.value)}\n`;
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations in cumulative buckets (upper bounds in the metric's unit). */
export class Histogram extends Family<HistogramState> {
  readonly #buckets: readonly number[];

  constructor(name: string, help: string, buckets: readonly number[]) {
    super(name, help, "histogram");
    this.#buckets = [...buckets].sort((a, b) => a - b);
  }

  /** Records one observation (in the metric's unit) in the series with these labels. */
  observe(value: number, labels: Labels = {}): void {
    const state = this.get(labels, () => ({ counts: this.#buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.#buckets.length; i++) if (value <= this.#buckets[i]!) state.counts[i]! += 1;
    state.sum += value;
    state.count += 1;
  }

  protected renderSeries(labels: Labels, state: HistogramState): string {
    let out = "";
    this.#buckets.forEach((bound, i) => {
      out += `${this.name}_bucket${labelText(labels, ["le", formatNumber(bound)])} ${state.counts[i]}\n`;
    });
    out += `${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${state.count}\n`;
    out += `${this.name}_sum${labelText(labels)} ${formatNumber(state.sum)}\n`;
    out += `${this.name}_count${labelText(labels)} ${state.count}\n`;
    return out;
  }
}
