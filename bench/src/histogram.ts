/**
 * A latency histogram with logarithmic buckets (1 % wide), so a million samples take a few
 * kilobytes and histograms from several load workers merge by adding counts.
 */
const GROWTH = Math.log(1.01);

/** Sparse form sent between processes: `[bucket, count]` pairs. */
export type HistogramData = Array<[number, number]>;

export class Histogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private maxValue = 0;

  /** Records one sample in microseconds (values below 1 µs count as 1 µs). */
  record(micros: number): void {
    const bucket = Math.floor(Math.log(Math.max(1, micros)) / GROWTH);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
    if (micros > this.maxValue) this.maxValue = micros;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxValue;
  }

  /** The `p`-th percentile (0–100) in microseconds, to within 1 %; 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      // The bucket's geometric middle: at most 0.5 % from any sample in it.
      if (seen >= rank) return Math.min(this.maxValue, Math.exp((bucket + 0.5) * GROWTH));
    }
    return this.maxValue;
  }

  toData(): { buckets: HistogramData; max: number } {
    return { buckets: [...this.counts.entries()], max: this.maxValue };
  }

  merge(data: { buckets: HistogramData; max: number }): void {
    for (const [bucket, count] of data.buckets) {
      this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + count);
      this.total += count;
    }
    this.maxValue = Math.max(this.maxValue, data.max);
  }
}
