/**
 * Benchmark runner (`npm run bench`, filter by module name: `npm run bench -- valuation garch`). Imports
 * every bench module that exists, runs them in order, prints each section as a table and writes the figures
 * to `bench-results/bench-<ISO date>.json`. Never part of `npm test`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchFigure, BenchSection } from './types.ts';

const MODULES = [
  'valuation',
  'garch',
  'recalibration',
  'cold-start',
  'api-economy',
  'store-sweep',
  'breach-index',
  'watch',
  'fan-out',
  'market-data',
  'stress',
  'exchange-scale',
  'daily-backtest',
] as const;

interface ModuleResult {
  module: string;
  status: 'ok' | 'not built yet' | 'failed' | 'skipped';
  seconds?: number;
  section?: BenchSection;
  error?: string;
}

function log(line: string): void {
  process.stdout.write(`  · ${line}\n`);
}

/** Three significant figures, with thousands separators for large values. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 10_000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 1000) return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  if (magnitude === 0) return '0';
  return Number(value.toPrecision(3)).toString();
}

export function formatTable(section: BenchSection): string {
  const header = ['figure', 'ours', 'reference', 'unit', 'ratio', 'target', 'met'];
  const rows = section.figures.map((f: BenchFigure) => [
    f.name,
    formatNumber(f.ours),
    formatNumber(f.reference),
    f.unit,
    f.ratio === undefined ? '' : formatNumber(f.ratio),
    f.target ?? '',
    f.met === undefined ? '' : f.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const numeric = new Set([1, 2, 4]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [`## ${section.title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(r));
  const notes = section.figures.filter((f) => f.note);
  for (const f of notes) out.push(`  note (${f.name}): ${f.note}`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const selected = MODULES.filter((m) => filters.length === 0 || filters.some((f) => m.includes(f)));
  if (selected.length === 0) {
    process.stderr.write(`no bench matches ${filters.join(', ')}; known: ${MODULES.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const cpu = os.cpus();
  process.stdout.write(
    `qmt bench: node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${os.platform()} ${os.arch()}\n`,
  );
  const results: ModuleResult[] = [];
  for (const name of selected) {
    const url = new URL(`./${name}.ts`, import.meta.url);
    if (!existsSync(fileURLToPath(url))) {
      process.stdout.write(`\n[${name}] not built yet\n`);
      results.push({ module: name, status: 'not built yet' });
      continue;
    }
    process.stdout.write(`\n[${name}] running…\n`);
    const t0 = performance.now();
    try {
      const mod = (await import(url.href)) as { default?: Bench };
      if (typeof mod.default !== 'function') throw new Error('module has no default export of type Bench');
      const section = await mod.default(log);
      const seconds = (performance.now() - t0) / 1000;
      results.push({ module: name, status: 'ok', seconds, section });
      process.stdout.write(`\n${formatTable(section)}\n  (${seconds.toFixed(1)} s)\n`);
    } catch (error) {
      const seconds = (performance.now() - t0) / 1000;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      results.push({ module: name, status: 'failed', seconds, error: message });
      process.stdout.write(`\n[${name}] FAILED after ${seconds.toFixed(1)} s: ${message}\n`);
      process.exitCode = 1;
    }
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const date = new Date();
  const directory = fileURLToPath(new URL('../../bench-results/', import.meta.url));
  mkdirSync(directory, { recursive: true });
  const file = `${directory}bench-${date.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: date.toISOString(),
        node: process.version,
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? null,
        platform: `${os.platform()} ${os.arch()}`,
        filters,
        totalSeconds,
        results,
      },
      null,
      2,
    )}\n`,
  );
  const unmet = results.flatMap((r) => r.section?.figures.filter((f) => f.met === false) ?? []);
  process.stdout.write(
    `\nbench done in ${totalSeconds.toFixed(1)} s; ${unmet.length} target(s) not met; figures: ${file}\n`,
  );
}

await main();
