// The metrics of a `--workers N` broker: one exposition for the whole service, so a
// scrape of the primary's /metrics sees every worker, not one at random.

/**
 * Merges Prometheus text expositions (format 0.0.4) of identical metric families, as
 * {@link BrokerMetrics.render} writes them in each worker: `# HELP`/`# TYPE` once, and
 * each series (name and labels) summed across the inputs. Every broker metric adds up:
 * counters, histogram buckets, sums and counts, and the two gauges (requests in flight,
 * open connections) are per-process amounts whose service total is their sum.
 * Series keep the order they first appear in.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const open = (name: string): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { comments: [], series: new Map() };
      families.set(name, family);
    }
    return family;
  };
  for (const text of texts) {
    let family: Family | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        // `# HELP name …` / `# TYPE name …` open the family `name`.
        family = open(line.split(" ", 3)[2]!);
        if (!family.comments.includes(line)) family.comments.push(line);
        continue;
      }
      if (line.startsWith("#")) continue;
      family ??= open("");
      // `name{labels} value`: the value is the last space-separated field.
      const at = line.lastIndexOf(" ");
      const series = line.slice(0, at);
      family.series.set(series, (family.series.get(series) ?? 0) + Number(line.slice(at + 1)));
    }
  }
  let out = "";
  for (const { comments, series } of families.values()) {
    for (const comment of comments) out += `${comment}\n`;
    for (const [name, value] of series) out += `${name} ${formatValue(value)}\n`;
  }
  return out;
}

interface Family {
  comments: string[];
  series: Map<string, number>;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
