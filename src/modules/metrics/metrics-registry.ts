/**
 * A small metrics registry and its Prometheus text exposition (format 0.0.4), written by hand
 * (ADR 0021): counters, gauges and histograms with fixed label names, rendered with `# HELP` and
 * `# TYPE`. Nothing here knows what is counted; the metrics module names the families.
 *
 * Label values come from the code that counts (route patterns, problem codes, team ids of our
 * own peers, document types), never from a request as sent. Still, a family takes at most
 * MAX_SERIES label sets: past that, new ones are dropped (and counted), so no bug or hostile
 * input can make the registry grow without bound.
 */

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Most label sets one family keeps; further ones are dropped and counted (hikeshi_metrics_series_dropped_total). */
export const MAX_SERIES = 2_000;

type Labels = Readonly<Record<string, string>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A sample value as the format writes it: Go's float syntax for the special values. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabel(values[i]!)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** The family's sample lines, read at scrape time. */
  lines(): string[] | Promise<string[]>;
}

/** Series of one family keyed by their label values, bounded by MAX_SERIES. */
class SeriesMap<T> {
  private readonly series = new Map<string, { values: string[]; state: T }>();
  constructor(
    private readonly labelNames: readonly string[],
    private readonly fresh: () => T,
    private readonly onDrop: () => void,
  ) {}

  get(labels: Labels): T | null {
    const values = this.labelNames.map((n) => labels[n] ?? '');
    const key = values.join('\u0000');
    const hit = this.series.get(key);
    if (hit) return hit.state;
    if (this.series.size >= MAX_SERIES) {
      this.onDrop();
      return null;
    }
    const state = this.fresh();
    this.series.set(key, { values, state });
    return state;
  }

  entries(): Array<{ values: string[]; state: T }> {
    return [...this.series.values()];
  }
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

export interface Histogram {
  observe(labels: Labels, value: number): void;
}

export type Samples = Array<{ labels?: Labels; value: number }>;
/** A gauge whose samples are read when scraped (from the database, the process). */
export type GaugeReader = () => Samples | Promise<Samples>;

export interface Registry {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram;
  /** A gauge read at scrape time: `read` answers the current samples. */
  gauge(name: string, help: string, labelNames: readonly string[], read: GaugeReader): void;
  /** A counter kept elsewhere (the process's CPU time), read at scrape time. */
  counterFrom(name: string, help: string, labelNames: readonly string[], read: GaugeReader): void;
  /** Every family, in registration order, as exposition text (the gauges' readers run one after another). */
  render(): Promise<string>;
}

export function createRegistry(): Registry {
  const families: Family[] = [];
  let dropped = 0;
  const onDrop = () => void dropped++;

  function add(family: Family): void {
    if (!NAME.test(family.name)) throw new TypeError(`invalid metric name ${family.name}`);
    if (families.some((f) => f.name === family.name)) throw new TypeError(`metric ${family.name} registered twice`);
    families.push(family);
  }
  const checkLabels = (names: readonly string[]) => {
    for (const n of names) if (!LABEL.test(n) || n === 'le' || n.startsWith('__')) throw new TypeError(`invalid label name ${n}`);
  };

  const registry: Registry = {
    counter(name, help, labelNames = []) {
      if (!name.endsWith('_total')) throw new TypeError(`counter ${name} must end in _total`);
      checkLabels(labelNames);
      const series = new SeriesMap(labelNames, () => ({ value: 0 }), onDrop);
      add({
        name,
        help,
        type: 'counter',
        lines: () => series.entries().map(({ values, state }) => `${name}${labelText(labelNames, values)} ${formatValue(state.value)}`),
      });
      return {
        inc(labels = {}, by = 1) {
          if (!(by >= 0) || !Number.isFinite(by)) return; // a counter never goes down
          const state = series.get(labels);
          if (state) state.value += by;
        },
      };
    },

    histogram(name, help, labelNames, buckets) {
      checkLabels(labelNames);
      const bounds = [...buckets].sort((a, b) => a - b);
      const series = new SeriesMap(labelNames, () => ({ counts: bounds.map(() => 0), sum: 0, count: 0 }), onDrop);
      add({
        name,
        help,
        type: 'histogram',
        lines: () =>
          series.entries().flatMap(({ values, state }) => {
            // Buckets are cumulative: each counts every observation at or below its bound.
            const out = bounds.map(
              (le, i) => `${name}_bucket${labelText(labelNames, values, ['le', formatValue(le)])} ${formatValue(state.counts[i]!)}`,
            );
            out.push(`${name}_bucket${labelText(labelNames, values, ['le', '+Inf'])} ${formatValue(state.count)}`);
            out.push(`${name}_sum${labelText(labelNames, values)} ${formatValue(state.sum)}`);
            out.push(`${name}_count${labelText(labelNames, values)} ${formatValue(state.count)}`);
            return out;
          }),
      });
      return {
        observe(labels, value) {
          if (!Number.isFinite(value)) return;
          const state = series.get(labels);
          if (!state) return;
          const v = Math.max(0, value); // durations: a clock step backwards is not a negative duration
          bounds.forEach((le, i) => {
            if (v <= le) state.counts[i]!++;
          });
          state.sum += v;
          state.count++;
        },
      };
    },

    gauge(name, help, labelNames, read) {
      readAtScrape('gauge', name, help, labelNames, read);
    },

    counterFrom(name, help, labelNames, read) {
      if (!name.endsWith('_total')) throw new TypeError(`counter ${name} must end in _total`);
      readAtScrape('counter', name, help, labelNames, read);
    },

    async render() {
      const out: string[] = [];
      for (const f of families) {
        out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...(await f.lines()));
      }
      return out.join('\n') + '\n';
    },
  };

  function readAtScrape(type: 'gauge' | 'counter', name: string, help: string, labelNames: readonly string[], read: GaugeReader): void {
    checkLabels(labelNames);
    add({
      name,
      help,
      type,
      lines: async () =>
        (await read()).map(
          (s) =>
            `${name}${labelText(
              labelNames,
              labelNames.map((n) => s.labels?.[n] ?? ''),
            )} ${formatValue(s.value)}`,
        ),
    });
  }

  add({
    name: 'hikeshi_metrics_series_dropped_total',
    help: 'Label sets not kept because their family reached its bound of series (MAX_SERIES).',
    type: 'counter',
    lines: () => [`hikeshi_metrics_series_dropped_total ${dropped}`],
  });
  return registry;
}
