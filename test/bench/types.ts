/** Shapes shared by the benchmarks (`npm run bench`) and their runner. */

/** One measured figure: ours, optionally beside a reference measured in the same run on the same input. */
export interface BenchFigure {
  name: string;
  ours: number;
  reference?: number;
  unit: string;
  /** Usually ours ÷ reference (for times: < 1 means we are faster); each bench says which. */
  ratio?: number;
  /** The target in words, e.g. "≥ 1,000,000/s" or "ratio ≤ 3". */
  target?: string;
  met?: boolean;
  note?: string;
}

export interface BenchSection {
  title: string;
  figures: BenchFigure[];
}

/** A benchmark module's default export: runs, logs progress lines, returns its section. */
export type Bench = (log: (line: string) => void) => Promise<BenchSection>;
