import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalCdf, normalExpectedShortfall, normalQuantile } from '../../../lib/domain/math/normal.ts';
import {
  fitStandardizedTDegreesOfFreedom,
  standardizedTExpectedShortfall,
  standardizedTQuantile,
  studentTCdf,
  studentTPdf,
  studentTQuantile,
} from '../../../lib/domain/math/student-t.ts';
import { expectClose } from './tolerance.ts';

// Independent oracle: R 4.2.2 (Debian r-base-core), whose qt/pt/dt agree with 40-digit mpmath to ~1e-15.
// (SciPy 1.10.1's t.ppf was checked too and is off by up to 2e-9 relative, e.g. ν = 8, p = 0.99, so it is
// not used as the reference.)

describe('studentTQuantile', () => {
  // Rscript -e 'for (nu in c(3,4,5,8,30)) for (p in c(0.001,0.01,0.025,0.05,0.1,0.9,0.95,0.975,0.99,0.999)) cat(sprintf("[%s, %d, %.17g],\n", format(p), nu, qt(p, nu)))'
  it.each([
    [0.001, 3, -10.214531852407385],
    [0.01, 3, -4.5407028585681335],
    [0.025, 3, -3.1824463052837091],
    [0.05, 3, -2.3533634348018255],
    [0.1, 3, -1.6377443536962089],
    [0.9, 3, 1.6377443536962091],
    [0.95, 3, 2.3533634348018246],
    [0.975, 3, 3.1824463052837078],
    [0.99, 3, 4.5407028585681317],
    [0.999, 3, 10.214531852407383],
    [0.001, 4, -7.1731822197823094],
    [0.01, 4, -3.7469473879791964],
    [0.025, 4, -2.7764451051977943],
    [0.05, 4, -2.1318467863266499],
    [0.1, 4, -1.5332062740589427],
    [0.9, 4, 1.5332062740589429],
    [0.95, 4, 2.131846786326649],
    [0.975, 4, 2.7764451051977934],
    [0.99, 4, 3.7469473879791955],
    [0.999, 4, 7.1731822197823076],
    [0.001, 5, -5.8934295313560101],
    [0.01, 5, -3.3649299989072183],
    [0.025, 5, -2.570581835636315],
    [0.05, 5, -2.0150483733330233],
    [0.1, 5, -1.4758840488244802],
    [0.9, 5, 1.4758840488244804],
    [0.95, 5, 2.0150483733330224],
    [0.975, 5, 2.5705818356363137],
    [0.99, 5, 3.3649299989072174],
    [0.999, 5, 5.8934295313560083],
    [0.001, 8, -4.5007909337237244],
    [0.01, 8, -2.8964594477096219],
    [0.025, 8, -2.3060041352041662],
    [0.05, 8, -1.8595480375308977],
    [0.1, 8, -1.3968153097438651],
    [0.9, 8, 1.3968153097438651],
    [0.95, 8, 1.8595480375308966],
    [0.975, 8, 2.3060041352041658],
    [0.99, 8, 2.8964594477096215],
    [0.999, 8, 4.5007909337237235],
    [0.001, 30, -3.3851848668293054],
    [0.01, 30, -2.4572615424005919],
    [0.025, 30, -2.0422724563012382],
    [0.05, 30, -1.697260886593958],
    [0.1, 30, -1.3104150253913953],
    [0.9, 30, 1.3104150253913955],
    [0.95, 30, 1.6972608865939569],
    [0.975, 30, 2.0422724563012378],
    [0.99, 30, 2.4572615424005915],
    [0.999, 30, 3.3851848668293054],
  ])('t⁻¹(%s; ν = %s) matches R qt to 1e-13 relative', (p, nu, expected) => {
    // Act
    const actual = studentTQuantile(p, nu);

    // Assess
    expectClose(actual, expected, { rel: 1e-13 });
  });

  it('uses the closed forms for ν = 1 (Cauchy) and ν = 2', () => {
    // Act / Assess
    expectClose(studentTQuantile(0.975, 1), Math.tan(Math.PI * 0.475), { rel: 1e-14 });
    expectClose(studentTQuantile(0.99, 2), 0.98 * Math.sqrt(2 / (0.02 * 1.98)), { rel: 1e-14 });
  });

  it('reaches far tails and heavy tails (ν < 1) where t² nearly overflows', () => {
    // Prepare: Rscript -e 'cat(sprintf("%.17g", c(qt(1e-12, 0.5), qt(1e-100, 0.5), qt(1e-12, 2.1))), sep="\n")'
    const cases: [number, number, number][] = [
      [1e-12, 0.5, -1.0284911563163568e23],
      [1e-100, 0.5, -1.0284911563163961e199],
      [1e-12, 2.1, -384396.00231980643],
    ];

    for (const [p, nu, expected] of cases) {
      // Act
      const actual = studentTQuantile(p, nu);

      // Assess
      expectClose(actual, expected, { rel: 1e-12 });
    }
  });

  // Near the median the answer is tiny; it must still be right relative to its own size. 50-digit mpmath 1.2.1:
  // /usr/bin/python3 -c "import mpmath as mp; mp.mp.dps=50; [print([p, nu, float(-mp.findroot(lambda q: mp.betainc(mp.mpf(1)/2, mp.mpf(nu)/2, 0, q*q/(nu+q*q), regularized=True)/2-(mp.mpf(0.5)-mp.mpf(p)), mp.sqrt(2*mp.pi)*(mp.mpf(0.5)-mp.mpf(p))))]) for nu in [0.5,3,30] for p in [0.49999999, 0.4999999999999999]]"
  it.each([
    [0.49999999, 0.5, -3.70814935265094e-8],
    [0.4999999999999999, 0.5, -4.1168727922288803e-16],
    [0.49999999, 3, -2.7206990449192713e-8],
    [0.4999999999999999, 3, -3.020582724334949e-16],
    [0.49999999, 30, -2.527600224792942e-8],
    [0.4999999999999999, 30, -2.806199968089905e-16],
  ])('t⁻¹(%s; ν = %s) keeps 1e-13 relative precision next to the median', (p, nu, expected) => {
    // Act
    const actual = studentTQuantile(p, nu);

    // Assess
    expectClose(actual, expected, { rel: 1e-13 });
  });

  it('falls back to the normal for ν = ∞ and is ±∞ at 0 and 1', () => {
    // Act / Assess
    expect(studentTQuantile(0.99, Number.POSITIVE_INFINITY)).toBe(normalQuantile(0.99));
    expect(studentTQuantile(0, 5)).toBe(Number.NEGATIVE_INFINITY);
    expect(studentTQuantile(1, 5)).toBe(Number.POSITIVE_INFINITY);
    expect(studentTQuantile(0.5, 5)).toBe(0);
    expect(() => studentTQuantile(0.5, 0)).toThrow(RangeError);
    expect(() => studentTQuantile(1.5, 5)).toThrow(RangeError);
  });

  it('inverts studentTCdf to 1e-12 relative for ν in [0.5, 300] and p in [1e-12, 1 − 1e-12]', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }),
        fc.double({ min: 0.5, max: 300, noNaN: true }),
        (p, nu) => {
          // Act
          const roundTrip = studentTCdf(studentTQuantile(p, nu), nu);

          // Assess: near 1 the spacing of doubles around p (1.1e-16) bounds what is recoverable.
          expectClose(roundTrip, p, { rel: 1e-12, abs: 1e-15 });
        },
      ),
    );
  });

  it('is exactly odd about ½: t⁻¹(1 − p) = −t⁻¹(1 − (1 − p))', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-10, max: 0.5, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0.5, max: 300, noNaN: true }),
        (p, nu) => {
          // Prepare: both calls then see the same tail probability α = 1 − (1 − p) after rounding.
          const upper = 1 - p;
          fc.pre(upper !== 0.5); // p within half an ulp of ½

          // Act
          const [high, low] = [studentTQuantile(upper, nu), studentTQuantile(1 - upper, nu)];

          // Assess
          expect(high === -low).toBe(true);
          expect(low).toBeLessThan(0);
        },
      ),
    );
  });
});

describe('studentTCdf', () => {
  // Rscript -e 'for (nu in c(3,4,5,8,30)) for (x in c(-10,-3,-1.5,-0.5,0.25,1,2.5,6)) cat(sprintf("[%g, %g, %.17g],\n", x, nu, pt(x, nu)))'
  it.each([
    [-10, 3, 0.0010641995292070747],
    [-3, 3, 0.028834442811218657],
    [-1.5, 3, 0.11529193262241141],
    [-0.5, 3, 0.32572398242407552],
    [0.25, 3, 0.59063538878558519],
    [1, 3, 0.80449889052211476],
    [2.5, 3, 0.95614667649596718],
    [6, 3, 0.99536364255385767],
    [-10, 4, 0.00028100181135799556],
    [-3, 4, 0.019970984035859413],
    [-1.5, 4, 0.10399999999999991],
    [-0.5, 4, 0.32166498159093165],
    [0.25, 4, 0.59254899427040941],
    [1, 4, 0.81304951684997051],
    [2.5, 4, 0.96661672759400596],
    [6, 4, 0.99805873147651969],
    [-10, 5, 8.5473787871481787e-5],
    [-3, 5, 0.015049623948731284],
    [-1.5, 5, 0.096951840121236574],
    [-0.5, 5, 0.31914943582046451],
    [0.25, 5, 0.5937329346279383],
    [1, 5, 0.81839126617543867],
    [2.5, 5, 0.97275495032881187],
    [6, 5, 0.99907693085520299],
    [-10, 8, 4.2440907638142496e-6],
    [-3, 8, 0.0085358406168913169],
    [-1.5, 8, 0.086001645975955651],
    [-0.5, 8, 0.31526803777848822],
    [0.25, 8, 0.59555627725323246],
    [1, 8, 0.82670324645633286],
    [2.5, 8, 0.98152898114318798],
    [6, 8, 0.99983830338905744],
    [-10, 30, 2.2876257041148048e-11],
    [-3, 30, 0.0026949820328259705],
    [-1.5, 30, 0.072032964564323038],
    [-0.5, 30, 0.31036150244256366],
    [0.25, 30, 0.59785429545971247],
    [1, 30, 0.83734569228698508],
    [2.5, 30, 0.99094217546596663],
    [6, 30, 0.99999930286156169],
  ])('F(%s; ν = %s) matches R pt to 1e-13 relative', (x, nu, expected) => {
    // Act
    const actual = studentTCdf(x, nu);

    // Assess
    expectClose(actual, expected, { rel: 1e-13 });
  });

  it('matches the closed forms for ν = 1 and ν = 2', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (x) => {
        // Act
        const [cauchy, two] = [studentTCdf(x, 1), studentTCdf(x, 2)];

        // Assess
        expectClose(cauchy, 0.5 + Math.atan(x) / Math.PI, { abs: 1e-15, rel: 1e-12 });
        expectClose(two, 0.5 + x / (2 * Math.sqrt(2 + x * x)), { abs: 1e-15, rel: 1e-12 });
      }),
    );
  });

  it('tends to the normal for large ν and is the normal for ν = ∞', () => {
    // Act / Assess: |F_ν − Φ| = O(1/ν)
    expectClose(studentTCdf(-2, 1e6), normalCdf(-2), { rel: 1e-5 });
    expect(studentTCdf(-2, Number.POSITIVE_INFINITY)).toBe(normalCdf(-2));
    expect(studentTCdf(0, 3)).toBe(0.5);
    expect(studentTCdf(Number.NEGATIVE_INFINITY, 3)).toBe(0);
    expect(studentTCdf(Number.POSITIVE_INFINITY, 3)).toBe(1);
  });
});

describe('studentTPdf', () => {
  // Rscript -e 'for (nu in c(3,5,30)) for (x in c(-4,0,0.5,2,7)) cat(sprintf("[%g, %g, %.17g],\n", x, nu, dt(x, nu)))'
  it.each([
    [-4, 3, 0.0091633611427444708],
    [0, 3, 0.36755259694786135],
    [0.5, 3, 0.31318091100882867],
    [2, 3, 0.06750966066389294],
    [7, 3, 0.0012233629336282376],
    [-4, 5, 0.0051237270519179125],
    [0, 5, 0.37960668982249446],
    [0.5, 5, 0.32791853132274656],
    [2, 5, 0.065090310326216469],
    [7, 5, 0.00030134402928803938],
    [-4, 30, 0.00052471644019740841],
    [0, 30, 0.39563218489409785],
    [0.5, 30, 0.34787857969720459],
    [2, 30, 0.056852275047197975],
    [7, 30, 1.2007459973560796e-7],
  ])('f(%s; ν = %s) matches R dt to 1e-14 relative', (x, nu, expected) => {
    // Act
    const actual = studentTPdf(x, nu);

    // Assess
    expectClose(actual, expected, { rel: 1e-14 });
  });
});

describe('standardizedTQuantile', () => {
  it('scales the t quantile by √((ν−2)/ν), so the distribution has unit variance', () => {
    // Prepare: R qt(0.99, 5) = 3.3649299989072174 (table above)
    const expected = 3.3649299989072174 * Math.sqrt(3 / 5);

    // Act
    const actual = standardizedTQuantile(0.99, 5);

    // Assess
    expectClose(actual, expected, { rel: 1e-14 });
    expect(standardizedTQuantile(0.99, Number.POSITIVE_INFINITY)).toBe(normalQuantile(0.99));
  });

  it('rejects ν ≤ 2, where the variance does not exist', () => {
    // Act / Assess
    expect(() => standardizedTQuantile(0.99, 2)).toThrow(RangeError);
    expect(() => standardizedTQuantile(0.99, 1.5)).toThrow(RangeError);
  });
});

describe('standardizedTExpectedShortfall', () => {
  // Numerical integration of z·f(z) over [q_p, ∞), independent of the closed form used by the code:
  // Rscript -e 'for (nu in c(3,4,5,8,30)) for (p in c(0.975,0.99,0.995)) cat(sprintf("[%s, %d, %.17g],\n", format(p), nu, integrate(function(z) z*dt(z,nu), qt(p,nu), Inf, rel.tol=1e-14, subdivisions=1000L)$value/(1-p)*sqrt((nu-2)/nu)))'
  it.each([
    [0.975, 3, 2.9096046369373409],
    [0.99, 3, 4.0432312987814161],
    [0.995, 3, 5.1456189143129398],
    [0.975, 4, 2.8238712518154152],
    [0.99, 4, 3.6915104856807583],
    [0.995, 4, 4.4723306754935619],
    [0.975, 5, 2.7278020716416731],
    [0.99, 5, 3.4488367600480174],
    [0.995, 5, 4.066656224562748],
    [0.975, 8, 2.5720145937918923],
    [0.99, 8, 3.1098020239124264],
    [0.995, 8, 3.536325236510621],
    [0.975, 30, 2.3951773103485721],
    [0.99, 30, 2.7684591135777459],
    [0.995, 30, 3.0365844298196865],
  ])('ES_%s(ν = %s) matches numerical integration to 1e-11 relative', (p, nu, expected) => {
    // Act
    const actual = standardizedTExpectedShortfall(p, nu);

    // Assess
    expectClose(actual, expected, { rel: 1e-11 });
  });

  it('exceeds the normal ES at the same level and tends to it as ν grows', () => {
    // Prepare: normal ES_99% = 2.665214 (margin-methods.md §5.5)
    const normalEs = 2.6652142203458049;

    // Act
    const [fat, thin, limit] = [
      standardizedTExpectedShortfall(0.99, 4),
      standardizedTExpectedShortfall(0.99, 1e5),
      standardizedTExpectedShortfall(0.99, Number.POSITIVE_INFINITY),
    ];

    // Assess
    expect(fat).toBeGreaterThan(normalEs);
    expectClose(thin, normalEs, { rel: 1e-4 });
    expect(limit).toBe(normalExpectedShortfall(0.99));
    expectClose(limit, normalEs, { rel: 1e-14 });
    expect(standardizedTExpectedShortfall(0, 5)).toBe(0);
    expect(() => standardizedTExpectedShortfall(1, 5)).toThrow(RangeError);
  });
});

describe('fitStandardizedTDegreesOfFreedom', () => {
  // Residuals: the n "ideal" quantiles of a unit-variance t(5), z_i = q((i − ½)/n).
  const n = 400;
  const idealT5 = Array.from({ length: n }, (_, i) => standardizedTQuantile((i + 0.5) / n, 5));

  // Oracle, R 4.2.2 (optimize / BFGS on the same likelihood, written with dt):
  // Rscript -e 'options(digits=17); n <- 400; z <- qt((1:n - 0.5)/n, 5)*sqrt(3/5); ll <- function(nu, s=1, x=z) sum(dt(x/(s*sqrt((nu-2)/nu)), nu, log=TRUE)) - length(x)*log(s*sqrt((nu-2)/nu)); o <- optimize(function(u) -ll(exp(u)), c(log(2.1), log(200)), tol=1e-12); cat(sprintf("%.17g", c(exp(o$minimum), -o$objective)), "\n"); zs <- 1.2*z; o2 <- optimize(function(u) -ll(exp(u), x=zs), c(log(2.1), log(200)), tol=1e-12); cat(sprintf("%.17g", c(exp(o2$minimum), -o2$objective)), "\n"); f <- optim(c(log(5), 0), function(q) -ll(exp(q[1]), exp(q[2]), zs), method="BFGS", control=list(reltol=1e-16, maxit=10000)); cat(sprintf("%.17g", c(exp(f$par), -f$value)), "\n"); zn <- qnorm((1:n-0.5)/n); cat(sprintf("%.17g", ll(200, x=zn)), "\n")'
  // The log-likelihood is flat at its maximum, so ν is only determined to ~1e-7 relative by any optimiser.
  it('recovers ν ≈ 5.1 from ideal t(5) residuals (R: ν = 5.102229257555428, logLik = −548.00832482197006)', () => {
    // Act
    const fit = fitStandardizedTDegreesOfFreedom(idealT5);

    // Assess
    expectClose(fit.nu, 5.102229257555428, { rel: 1e-5 });
    expectClose(fit.logLik, -548.00832482197006, { rel: 1e-11 });
    expect(fit.scale).toBe(1);
  });

  it('with scale fixed at 1, absorbs a variance of 1.44 into ν (R: ν = 7.0839878035678412)', () => {
    // Prepare
    const scaled = idealT5.map((z) => 1.2 * z);

    // Act
    const fit = fitStandardizedTDegreesOfFreedom(scaled);

    // Assess
    expectClose(fit.nu, 7.0839878035678412, { rel: 1e-5 });
    expectClose(fit.logLik, -627.60338040679835, { rel: 1e-11 });
  });

  it('with estimateScale, separates the scale from the shape (R: ν = 5.19868, s = 1.19231)', () => {
    // Prepare
    const scaled = idealT5.map((z) => 1.2 * z);

    // Act
    const fit = fitStandardizedTDegreesOfFreedom(scaled, { estimateScale: true });

    // Assess
    expectClose(fit.nu, 5.1986764587912155, { rel: 1e-5 });
    expectClose(fit.scale, 1.1923102912011938, { rel: 1e-7 });
    expectClose(fit.logLik, -620.93115201594674, { rel: 1e-11 });
  });

  it('returns the upper bound 200 for normal residuals (no fat tails to find)', () => {
    // Prepare
    const normal = Array.from({ length: n }, (_, i) => normalQuantile((i + 0.5) / n));

    // Act
    const fit = fitStandardizedTDegreesOfFreedom(normal);

    // Assess
    expectClose(fit.nu, 200, { rel: 1e-9 });
    expectClose(fit.logLik, -566.96492632145146, { rel: 1e-11 });
  });

  it('rejects empty or non-finite residuals, and all-zero ones when estimating the scale', () => {
    // Act / Assess
    expect(() => fitStandardizedTDegreesOfFreedom([])).toThrow(RangeError);
    expect(() => fitStandardizedTDegreesOfFreedom([0.1, Number.NaN])).toThrow('residuals[1]');
    expect(() => fitStandardizedTDegreesOfFreedom([0, 0, 0], { estimateScale: true })).toThrow(RangeError);
  });
});
