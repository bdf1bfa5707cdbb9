/**
 * The `qmt` command: local runs, volatility and threshold reports, and backtests. Exit code 0 only on
 * success; 2 for a usage mistake only; 1 for everything else that fails (bad data, a policy error, a failed
 * sweep segment, an unexpected error), with the cause printed.
 */
import { Command, CommanderError, Option } from 'commander';
import { backtest } from '../domain/backtest/backtest.ts';
import { QmtError } from '../domain/errors.ts';
import { linesForTerminal } from '../domain/text.ts';
import { writeBacktestChart, writeStressChart } from './chart/write.ts';
import { backtestSummary, formatBacktest } from './commands/backtest.ts';
import { formatBacktestReport, readBacktestReport } from './commands/backtest-report.ts';
import { addCalibrateCommand } from './commands/calibrate.ts';
import { type CycleHooks, DEFAULT_DATA_DIR, runCycle, SweepFailedError } from './commands/cycle.ts';
import { formatPortfolioBacktest, runPortfolioBacktest } from './commands/portfolio-backtest.ts';
import { DEFAULT_FULL_SWEEP_EVERY, runReplayCommand } from './commands/replay.ts';
import { formatScaleReport, scaleReport } from './commands/scale.ts';
import { formatStress, runStressCommand, stressJson } from './commands/stress.ts';
import { formatThresholds, thresholdsFor } from './commands/thresholds.ts';
import { formatVolatilityReport, volatilityReport } from './commands/volatility.ts';
import { loadPolicyBook, loadPrices, parseDay, UsageError } from './inputs.ts';
import type { Io } from './io.ts';
import { createProgress } from './progress.ts';

const defaultIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/**
 * Every line qmt prints passes here: control characters and bidi overrides in anything user-supplied
 * (ids, reasons, CSV cells, venue errors, file names, commander's echo of an argument) are shown as
 * `\uXXXX`, never executed by the terminal. Report lines escape their fields themselves too, so a newline
 * inside an id cannot forge a line. JSON output stays valid and parses to the same strings.
 */
function terminalIo(io: Io): Io {
  return { out: (text) => io.out(linesForTerminal(text)), err: (text) => io.err(linesForTerminal(text)) };
}

function json(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    2,
  );
}

/** Seams for tests. */
export interface ProgramHooks {
  readonly cycle?: CycleHooks;
}

export function buildProgram(rawIo: Io = defaultIo, hooks: ProgramHooks = {}): Command {
  const io = terminalIo(rawIo);
  const program = new Command('qmt')
    .description(
      'Quantitative Margin Thresholds: volatility-adjusted margin thresholds for crypto derivatives.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('volatility')
    .description("Every estimator's latest daily σ (as a fraction) and the GARCH(1,1) fit on a price file.")
    .requiredOption(
      '--prices <file>',
      'daily candles CSV (Date,Open,High,Low,Close,Volume or timestamp,open,…)',
    )
    .option('--from <date>', 'first return to use, by the date of its second close (YYYY-MM-DD)')
    .option('--to <date>', 'last return to use, by the date of its second close (YYYY-MM-DD)')
    .option('--json', 'print JSON')
    .action(async (options: { prices: string; from?: string; to?: string; json?: boolean }) => {
      const series = await loadPrices(options.prices);
      const report = volatilityReport(series, parseDay('--from', options.from), parseDay('--to', options.to));
      io.out(options.json ? json(report) : formatVolatilityReport(report));
    });

  program
    .command('thresholds')
    .description('The margin threshold per symbol, with every component that produced it.')
    .requiredOption(
      '--prices <SYMBOL=FILE...>',
      'one or more price files, e.g. BTC=btc.csv (symbol from the file name if omitted)',
    )
    .option(
      '--as-of <date>',
      'compute as the job would on this morning: only candles before this day (YYYY-MM-DD)',
    )
    .option(
      '--policy <file>',
      'threshold policy JSON (one policy, or {"default": …, "instruments": {"BTC": …}})',
    )
    .option('--json', 'print JSON')
    .action(async (options: { prices: string[]; asOf?: string; policy?: string; json?: boolean }) => {
      const policies = await loadPolicyBook(options.policy);
      const seriesList = await Promise.all(options.prices.map(loadPrices));
      const thresholds = thresholdsFor(seriesList, policies, parseDay('--as-of', options.asOf));
      io.out(options.json ? json({ thresholds }) : formatThresholds(thresholds));
    });

  program
    .command('backtest')
    .description(
      'Walk-forward backtest: breaches for long and short over the MPOR, coverage tests, procyclicality.',
    )
    .requiredOption(
      '--prices <file...>',
      'daily candles CSV; with --portfolio one SYMBOL=FILE per leg (--prices BTC=btc.csv --prices ETH=eth.csv)',
    )
    .option(
      '--portfolio <legs>',
      "backtest a portfolio's margin with correlation offsets, e.g. BTC=1,ETH=-1 (notional weights; sign = side)",
    )
    .option(
      '--offset-cap <share>',
      'with --portfolio: the cap of the offset method in force: share of the smaller requirement (smaller-leg) or of the pair’s summed requirement (correlation-aggregated); default: the valuation policy default',
    )
    .addOption(
      new Option('--offset-method <method>', 'with --portfolio: how a correlated pair is credited').choices([
        'smaller-leg',
        'correlation-aggregated',
      ]),
    )
    .option('--policy <file>', 'threshold policy JSON')
    .option(
      '--from <date>',
      'first scored day (data before it warms the model up); default one year after the first candle',
    )
    .option('--to <date>', 'last scored day')
    .option('--json', 'print JSON (add --days for every scored day)')
    .option('--days', 'with --json, include the per-day series')
    .addOption(
      new Option(
        '--chart <file>',
        'write a chart of price, σ, the initial margin rate and breaches (.svg, .png or .html)',
      ),
    )
    .action(
      async (options: {
        prices: string[];
        portfolio?: string;
        offsetCap?: string;
        offsetMethod?: 'smaller-leg' | 'correlation-aggregated';
        policy?: string;
        from?: string;
        to?: string;
        json?: boolean;
        days?: boolean;
        chart?: string;
      }) => {
        if (options.chart && !/\.(svg|png|html)$/i.test(options.chart)) {
          throw new UsageError(`--chart ${options.chart}: the file must end in .svg, .png or .html`);
        }
        const scoreFrom = parseDay('--from', options.from);
        const scoreTo = parseDay('--to', options.to);
        if (options.portfolio !== undefined) {
          const result = await runPortfolioBacktest(options.portfolio, options.prices, {
            ...(options.policy === undefined ? {} : { policy: options.policy }),
            ...(options.offsetCap === undefined ? {} : { offsetCap: options.offsetCap }),
            ...(options.offsetMethod === undefined ? {} : { offsetMethod: options.offsetMethod }),
            ...(scoreFrom === undefined ? {} : { scoreFrom }),
            ...(scoreTo === undefined ? {} : { scoreTo }),
          });
          io.out(options.json ? json(result) : formatPortfolioBacktest(result));
          return;
        }
        if (options.prices.length !== 1) {
          throw new UsageError('--prices: one file, or one per leg with --portfolio');
        }
        const series = await loadPrices(options.prices[0] as string);
        const policy = (await loadPolicyBook(options.policy)).policyFor(series.instrument);
        const progress = createProgress(`backtest ${series.instrument}`);
        const result = backtest(policy, series, {
          ...(scoreFrom === undefined ? {} : { scoreFrom }),
          ...(scoreTo === undefined ? {} : { scoreTo }),
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.done();
        if (options.chart) await writeBacktestChart(result, options.chart);
        io.out(options.json ? json(backtestSummary(result, options.days)) : formatBacktest(result));
        if (options.chart && !options.json) io.out(`chart written to ${options.chart}`);
      },
    );

  addCalibrateCommand(program, io);

  program
    .command('backtest-report')
    .description(
      'The daily backtest stored with a threshold set (EMIR Art. 49): zone, breaches, p-values and cost per instrument.',
    )
    .requiredOption('--set <id>', 'the threshold set id (the run id `qmt start` prints)')
    .option('--data-dir <dir>', `the local database's directory (default: ${DEFAULT_DATA_DIR})`)
    .option('--json', 'print JSON')
    .action(async (options: { set: string; dataDir?: string; json?: boolean }) => {
      const report = await readBacktestReport(options.dataDir ?? DEFAULT_DATA_DIR, options.set);
      io.out(options.json ? json(report) : formatBacktestReport(report));
    });

  program
    .command('scale')
    .description(
      'Capacity model of a full sweep: time, DynamoDB and SNS throughput and cost, quiet day and crash day.',
    )
    .option('--accounts <n>', 'accounts in the table', '10000000')
    .option('--accounts-per-segment <n>', "planSweep's accounts per segment (default: planSweep's)")
    .option('--max-segments <n>', "planSweep's segment cap (default: planSweep's)")
    .option('--concurrency <n>', "the stack's sweepWorkerConcurrency", '100')
    .option('--memory <mb>', 'sweep worker memory (MB)', '1024')
    .option('--crash-share <fraction>', 'share of accounts changing state in a crash-day sweep', '0.1')
    .option(
      '--watched-share <fraction>',
      'share of accounts not OK when a sweep starts (the watchlist)',
      '0.01',
    )
    .option('--sweeps-per-day <n>', 'full sweeps a day (rate(5 minutes) = 288)', '288')
    .option('--deadline <seconds>', 'time a sweep must finish in', '60')
    .option('--json', 'print JSON')
    .action(
      (options: {
        accounts: string;
        accountsPerSegment?: string;
        maxSegments?: string;
        concurrency: string;
        memory: string;
        crashShare: string;
        watchedShare: string;
        sweepsPerDay: string;
        deadline: string;
        json?: boolean;
      }) => {
        const count = (flag: string, value: string) => {
          const n = Number(value);
          if (!Number.isFinite(n) || n <= 0)
            throw new UsageError(`${flag} ${value}: must be a positive number`);
          return n;
        };
        const fraction = (flag: string, value: string) => {
          const n = Number(value);
          if (!(n >= 0 && n <= 1)) throw new UsageError(`${flag} ${value}: must be a fraction from 0 to 1`);
          return n;
        };
        const crashShare = fraction('--crash-share', options.crashShare);
        const watchedShare = fraction('--watched-share', options.watchedShare);
        const report = scaleReport({
          accounts: count('--accounts', options.accounts),
          ...(options.accountsPerSegment === undefined
            ? {}
            : { accountsPerSegment: count('--accounts-per-segment', options.accountsPerSegment) }),
          ...(options.maxSegments === undefined
            ? {}
            : { maxSegments: count('--max-segments', options.maxSegments) }),
          workerConcurrency: count('--concurrency', options.concurrency),
          workerMemoryMb: count('--memory', options.memory),
          crashShare,
          watchedShare,
          sweepsPerDay: count('--sweeps-per-day', options.sweepsPerDay),
          deadlineSeconds: count('--deadline', options.deadline),
        });
        io.out(options.json ? json(report) : formatScaleReport(report));
      },
    );

  program
    .command('stress')
    .description(
      'Liquidation cascade: shock the marks, close out the accounts in LIQUIDATION, price the impact of their orders, repeat; the bad debt left.',
    )
    .requiredOption('--accounts <file>', 'accounts JSON (an array in the documented schema)')
    .requiredOption('--prices <SYMBOL=FILE...>', 'daily CSV per instrument (Volume column: the ADV)')
    .requiredOption('--shock <SYMBOL=MOVE...>', 'relative move per instrument, e.g. BTC=-0.2 or BTC=-20%')
    .option('--policy <file>', 'threshold policy JSON (levels; stress.cascade for the cascade settings)')
    .option('--json', 'print { rounds, cascadeMultiplier, badDebt, topContributors, errors, … } as JSON')
    .option(
      '--chart <file>',
      'write a chart of the rounds: price path and liquidated notional (.svg, .png or .html)',
    )
    .action(
      async (options: {
        accounts: string;
        prices: string[];
        shock: string[];
        policy?: string;
        json?: boolean;
        chart?: string;
      }) => {
        if (options.chart && !/\.(svg|png|html)$/i.test(options.chart)) {
          throw new UsageError(`--chart ${options.chart}: the file must end in .svg, .png or .html`);
        }
        const run = await runStressCommand(options);
        if (options.chart) await writeStressChart(run.report, options.chart);
        io.out(options.json ? json(stressJson(run)) : formatStress(run));
        if (options.chart && !options.json) io.out(`chart written to ${options.chart}`);
      },
    );

  program
    .command('start')
    .alias('run')
    .description(
      'One full local cycle: DynamoDB Local, recalibrate, seed or load accounts, sweep through the real handlers, alerts to the local outbox.',
    )
    .option('--prices <SYMBOL=FILE...>', 'use these price files instead of the live venues')
    .option(
      '--accounts <file>',
      'your accounts (JSON array in the documented schema) instead of the demo book',
    )
    .option('--policy <file>', 'threshold policy JSON')
    .option('--offline', 'do not try the live venues (generated prices unless --prices)')
    .option('--fresh', 'forget the database and outbox kept in the data directory and start over')
    .option(
      '--backtest',
      'after the recalibration, backtest each instrument’s last 250 days and store it with the set (slow: walks the whole history)',
    )
    .option(
      '--as-of <date>',
      'value as of this day (default: today; with --prices, the day after the files end)',
    )
    .option(
      '--data-dir <dir>',
      `where the database and the outbox are kept between runs (default: ${DEFAULT_DATA_DIR}; with --accounts and no --data-dir, a new in-memory database every run)`,
    )
    .option('--json', 'print { thresholds, alerts, errors } as JSON')
    .action(
      async (options: {
        prices?: string[];
        accounts?: string;
        policy?: string;
        offline?: boolean;
        fresh?: boolean;
        backtest?: boolean;
        asOf?: string;
        dataDir?: string;
        json?: boolean;
      }) => {
        const { asOf: day, ...rest } = options;
        const asOf = parseDay('--as-of', day);
        const report = await runCycle(
          { ...rest, ...(asOf === undefined ? {} : { asOf }) },
          io,
          Date.now(),
          hooks.cycle,
        );
        if (options.json) {
          io.out(
            json({
              thresholds: report.thresholds,
              alerts: report.alerts,
              errors: report.errors,
              dataNotes: report.dataNotes,
              counts: report.counts,
              ...(report.demoBook === undefined ? {} : { demoBook: report.demoBook }),
            }),
          );
        }
        // After the report, so --json still carries the failures in `errors`.
        if (report.failedSegments.length > 0) {
          throw new SweepFailedError(report.failedSegments, report.opsFile);
        }
      },
    );

  program
    .command('replay')
    .description(
      'Replay price bars through the market watch on DynamoDB Local with a simulated clock: midnight recalibrations, a watch at every bar close, full sweeps at an interval.',
    )
    .requiredOption('--prices <SYMBOL=FILE...>', 'hourly (or any bar up to a day) or daily CSV per symbol')
    .requiredOption('--accounts <file>', 'accounts JSON (an array in the documented schema)')
    .option('--from <date>', 'first UTC day replayed; earlier bars warm the model up (default: the last day)')
    .option('--to <date>', 'last UTC day replayed (default: to the end of the files)')
    .option('--policy <file>', 'threshold policy JSON (levels, marks section for the consensus)')
    .option(
      '--full-sweep-every <duration>',
      'full sweep interval (5m, 1h, 1d); every recalibration also starts one',
      DEFAULT_FULL_SWEEP_EVERY,
    )
    .option('--venues <n>', "venues quoting each bar's close to the consensus", '3')
    .option('--json', 'print { thresholdSets, alerts, errors, stats } as JSON')
    .action(
      async (options: {
        prices: string[];
        accounts: string;
        from?: string;
        to?: string;
        policy?: string;
        fullSweepEvery?: string;
        venues?: string;
        json?: boolean;
      }) => {
        const result = await runReplayCommand(options, io, createProgress('replay'));
        if (options.json) io.out(json(result));
      },
    );

  return program;
}

/** Run the command line; returns the process exit code. */
export async function main(
  argv: readonly string[],
  rawIo: Io = defaultIo,
  hooks: ProgramHooks = {},
): Promise<number> {
  const io = terminalIo(rawIo);
  const program = buildProgram(io, hooks);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit "successfully" through commander's error path.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      io.err(`qmt: ${error.message}`);
      return 2;
    }
    if (error instanceof QmtError) {
      io.err(`qmt: ${error.name}: ${error.message}`);
      return 1;
    }
    if (error instanceof RangeError) {
      io.err(`qmt: ${error.message}`);
      return 1;
    }
    // Not a usage mistake, so not 2: a failed run, with its cause (and the cause's causes) on one line.
    io.err(`qmt: ${causeChain(error)}`);
    return 1;
  }
}

function causeChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join(' (caused by ') + ')'.repeat(parts.length - 1);
}
