/**
 * `qmt calibrate`: search a grid of policies by walk-forward validation over one or more price files and
 * write the winner (lib/domain/backtest/calibrate.ts does the work; this reads, prints and writes).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type BacktestResult, scoreBacktestDays } from '../../domain/backtest/backtest.ts';
import {
  type CalibrationResult,
  calibrate,
  DEFAULT_CALIBRATION_GRID,
  expandGrid,
  parseCalibrationGrid,
  type ScoreSummary,
} from '../../domain/backtest/calibrate.ts';
import { forTerminal } from '../../domain/text.ts';
import type { ActiveBound } from '../../domain/threshold/threshold.ts';
import { writeBacktestChart } from '../chart/write.ts';
import { loadPolicyBook, loadPrices, UsageError } from '../inputs.ts';
import type { Io } from '../io.ts';
import { createProgress } from '../progress.ts';
import { fixed, renderTable } from '../table.ts';

/** Where the winning policy goes without `--out`. */
export const DEFAULT_CALIBRATED_POLICY_FILE = 'calibrated-policy.json';

export const WALK_FORWARD_RULE =
  'expanding window by calendar year (UTC): the policy scored in year Y was chosen on the scored days before 1 January Y of every file with at least the minimum fit days; scoring starts one year after each file’s first candle';

export const LEAVE_ONE_PERIOD_OUT_RULE =
  'leave one calendar year (UTC) out: the policy scored in year Y was chosen on the scored days of every other year of every file with at least the minimum fit days; scoring starts one year after each file’s first candle';

function json(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    2,
  );
}

const HEADERS = [
  'days',
  'cost',
  'breaches L/S',
  'Kupiec p L/S',
  'Christoffersen p L/S',
  'peak/trough',
  '5-day ×',
];

function figures(s: ScoreSummary | undefined): string[] {
  if (!s) return ['–', '–', '–', '–', '–', '–', '–'];
  return [
    String(s.observations),
    fixed(s.efficiency),
    `${s.long.breaches}/${s.short.breaches}`,
    `${fixed(s.long.kupiecP, 2)}/${fixed(s.short.kupiecP, 2)}`,
    `${fixed(s.long.christoffersenP, 2)}/${fixed(s.short.christoffersenP, 2)}`,
    fixed(s.peakToTrough, 2),
    fixed(s.maxIncrease5d, 2),
  ];
}

export function formatCalibration(result: CalibrationResult, written?: string): string {
  const label = new Map(result.candidates.map((c) => [c.id, c.label]));
  const c = result.constraints;
  const right = (n: number) => Array.from({ length: n }, () => 'right' as const);
  const lines = [
    `${result.candidates.length} candidate policies; ${
      result.validation === 'walk-forward'
        ? `walk-forward: ${WALK_FORWARD_RULE}`
        : `leave-one-period-out: ${LEAVE_ONE_PERIOD_OUT_RULE}`
    } (${result.minFitDays} days).`,
    `Constraints: Kupiec and Christoffersen p ≥ ${c.minPValue} long and short, peak-to-trough ≤ ${c.maxPeakToTrough}, 5-day increase ≤ ${c.maxIncrease5d}; cost = average margin / hindsight fixed rate (lower is better).`,
    '',
    result.validation === 'walk-forward'
      ? 'Per period: the choice (fitted through the day named) in sample on its fitting days, and out of sample on the period'
      : 'Per period: the choice (fitted on every other year) in sample on its fitting days, and out of sample on the period',
    renderTable(
      [
        'period',
        'file',
        'chosen',
        result.validation === 'walk-forward' ? 'fitted through' : 'last fit day',
        'IS cost',
        'IS days',
        ...HEADERS.map((h) => `OOS ${h}`),
      ],
      result.periods.flatMap((p) =>
        p.files.map((f) => [
          p.period,
          forTerminal(f.instrument),
          `${p.chosen}${p.feasible ? '' : ' (infeasible)'}`,
          p.fittedThrough,
          f.inSample ? fixed(f.inSample.efficiency) : '–',
          f.inSample ? String(f.inSample.observations) : '–',
          ...figures(f.outOfSample),
        ]),
      ),
      ['left', 'left', 'left', 'left', ...right(2 + HEADERS.length)],
    ),
    '',
    'Out of sample, all periods together (each period scored by its own choice)',
    renderTable(
      ['file', 'from', 'to', ...HEADERS, 'breaks'],
      result.outOfSample.map((o) => [
        forTerminal(o.instrument),
        o.score.from,
        o.score.to,
        ...figures(o.score),
        o.violations.join(', ') || 'none',
      ]),
      ['left', 'left', 'left', ...right(HEADERS.length), 'left'],
    ),
    '',
    `Winner on all scored days: ${result.winner.id} (${forTerminal(result.winner.label)}), cost ${fixed(result.winner.cost)}${
      result.winner.feasible
        ? ', every constraint met'
        : `; no candidate meets every constraint, this one breaks the fewest: ${result.winner.violations.join(', ')}`
    }`,
    renderTable(
      ['file', 'from', 'to', ...HEADERS],
      result.winner.inSample.map((f) => [
        forTerminal(f.instrument),
        f.score.from,
        f.score.to,
        ...figures(f.score),
      ]),
      ['left', 'left', 'left', ...right(HEADERS.length)],
    ),
    '',
    'Ranking on all scored days (best first)',
    renderTable(
      ['candidate', 'settings', 'cost', 'constraints broken'],
      result.ranking
        .slice(0, 10)
        .map((r) => [r.id, forTerminal(label.get(r.id) ?? ''), fixed(r.cost), String(r.violations.length)]),
      ['left', 'left', 'right', 'right'],
    ),
  ];
  if (written) lines.push('', `policy written to ${forTerminal(written)}`);
  return lines.join('\n');
}

/** The out-of-sample walk of one file as a backtest result, for the chart. */
function outOfSampleBacktest(
  result: CalibrationResult,
  entry: CalibrationResult['outOfSampleDays'][number],
): BacktestResult {
  const days = entry.days;
  const activeBounds: Partial<Record<ActiveBound, number>> = {};
  for (const d of days) activeBounds[d.activeBound] = (activeBounds[d.activeBound] ?? 0) + 1;
  return {
    instrument: entry.instrument,
    source: entry.source,
    policyVersion: 'walk-forward choices',
    confidence: result.winner.policy.confidence,
    marginPeriodOfRiskDays: result.winner.policy.marginPeriodOfRiskDays,
    from: days[0]?.date ?? '',
    to: days[days.length - 1]?.date ?? '',
    ...scoreBacktestDays(days, result.winner.policy.confidence),
    heldDays: activeBounds.held ?? 0,
    activeBounds,
    days,
  };
}

async function readGrid(path: string | undefined) {
  if (path === undefined) return DEFAULT_CALIBRATION_GRID;
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--grid ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseCalibrationGrid(document, path);
}

export function addCalibrateCommand(program: Command, io: Io): void {
  program
    .command('calibrate')
    .description(
      'Search policy settings by walk-forward validation over the price files and write the winning policy.',
    )
    .requiredOption('--prices <SYMBOL=FILE...>', 'one or more daily price files, e.g. BTC=btc.csv')
    .option('--policy <file>', 'base policy JSON (the settings the grid does not vary)')
    .option('--grid <file>', 'grid JSON: candidate values per setting (default: the 28-candidate grid)')
    .option('--out <file>', `where to write the winning policy (default ${DEFAULT_CALIBRATED_POLICY_FILE})`)
    .option(
      '--min-fit-days <n>',
      'scored days a file needs before a period to take part in its choice',
      '365',
    )
    .option(
      '--validation <kind>',
      'how each period’s choice is fitted: walk-forward (on the years before it) or leave-one-period-out (on every other year)',
      'walk-forward',
    )
    .option('--json', 'print JSON')
    .option(
      '--chart <file>',
      'chart each file’s out-of-sample walk (.svg, .png or .html; SYMBOL added per file)',
    )
    .action(
      async (options: {
        prices: string[];
        policy?: string;
        grid?: string;
        out?: string;
        minFitDays: string;
        validation: string;
        json?: boolean;
        chart?: string;
      }) => {
        if (options.chart && !/\.(svg|png|html)$/i.test(options.chart)) {
          throw new UsageError(`--chart ${options.chart}: the file must end in .svg, .png or .html`);
        }
        const minFitDays = Number(options.minFitDays);
        if (!(Number.isInteger(minFitDays) && minFitDays >= 30)) {
          throw new UsageError(`--min-fit-days ${options.minFitDays}: must be a whole number ≥ 30`);
        }
        const validation = options.validation;
        if (validation !== 'walk-forward' && validation !== 'leave-one-period-out') {
          throw new UsageError(`--validation ${validation}: must be walk-forward or leave-one-period-out`);
        }
        const seriesList = await Promise.all(options.prices.map(loadPrices));
        const base = (await loadPolicyBook(options.policy)).policyFor(seriesList[0]?.instrument ?? '');
        const candidates = expandGrid(base, await readGrid(options.grid));
        io.err(`calibrate: ${candidates.length} candidates × ${seriesList.length} files`);
        let stage = '';
        let progress = createProgress('calibrate');
        const started = Date.now();
        const result = calibrate(base, seriesList, candidates, {
          minFitDays,
          validation,
          onProgress: (name, done, total) => {
            if (name !== stage) {
              progress.done();
              stage = name;
              io.err(`calibrate: ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
              progress = createProgress(`calibrate: ${name}`);
            }
            progress.update(done, total);
          },
        });
        progress.done();
        io.err(`calibrate: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const out = options.out ?? DEFAULT_CALIBRATED_POLICY_FILE;
        await writeFile(out, `${json(result.winner.policy)}\n`);
        if (options.chart) {
          for (const entry of result.outOfSampleDays) {
            const path =
              result.outOfSampleDays.length > 1
                ? options.chart.replace(/(\.[^.]+)$/, `-${entry.instrument}$1`)
                : options.chart;
            await writeBacktestChart(outOfSampleBacktest(result, entry), path);
            io.err(`calibrate: chart written to ${path}`);
          }
        }
        const { outOfSampleDays: _days, ...report } = result;
        io.out(options.json ? json({ ...report, policyFile: out }) : formatCalibration(result, out));
      },
    );
}
