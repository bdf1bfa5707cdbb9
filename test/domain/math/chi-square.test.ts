import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chiSquareCdf, chiSquareSurvival } from '../../../lib/domain/math/chi-square.ts';
import { normalCdf } from '../../../lib/domain/math/normal.ts';
import { expectClose } from './tolerance.ts';

describe('chiSquareSurvival / chiSquareCdf', () => {
  // The LR statistics of margin-methods.md §6.1–6.2, critical values, and two deep-tail points. R 4.2.2:
  // Rscript -e 'for (k in c(1,2)) for (x in c(0.46147, 10.8123, 0.09494, 5.02517, 0.76914, 1.95681, 12.95549, 15.915297, 0.296326, 3.851681, 19.470651, 3.841458820694124, 6.634896601021214, 5.991464547107979, 50, 200)) cat(sprintf("[%.17g, %d, %.17g, %.17g],\n", x, k, pchisq(x, k, lower.tail=FALSE), pchisq(x, k)))'
  it.each([
    [0.46146999999999999, 1, 0.49693776694916053, 0.50306223305083941],
    [10.8123, 1, 0.0010082796227832854, 0.99899172037721673],
    [0.094939999999999997, 1, 0.75798847282981696, 0.24201152717018298],
    [5.0251700000000001, 1, 0.024981473145635313, 0.97501852685436474],
    [0.76914000000000005, 1, 0.38048323174763454, 0.61951676825236535],
    [1.9568099999999999, 1, 0.16185489449305376, 0.83814510550694621],
    [12.955489999999999, 1, 0.00031898468922406115, 0.99968101531077591],
    [15.915297000000001, 1, 6.6241175012126107e-5, 0.99993375882498792],
    [0.29632599999999998, 1, 0.58619490937654328, 0.41380509062345672],
    [3.8516810000000001, 1, 0.049696159601784924, 0.95030384039821503],
    [19.470651, 1, 1.0215733009936787e-5, 0.99998978426699003],
    [3.841458820694124, 1, 0.049999999999999975, 0.95000000000000007],
    [6.6348966010212136, 1, 0.010000000000000011, 0.98999999999999999],
    [5.991464547107979, 1, 0.014375262424643718, 0.98562473757535629],
    [50, 1, 1.5374597944280343e-12, 0.99999999999846256],
    [200, 1, 2.0884875837625449e-45, 1],
    [0.46146999999999999, 2, 0.79394983486638115, 0.20605016513361887],
    [10.8123, 2, 0.0044888892091767421, 0.99551111079082322],
    [0.094939999999999997, 2, 0.95363908187594937, 0.046360918124050694],
    [5.0251700000000001, 2, 0.081058432134969896, 0.91894156786503012],
    [0.76914000000000005, 2, 0.6807432928948346, 0.31925670710516535],
    [1.9568099999999999, 2, 0.3759101977083959, 0.62408980229160405],
    [12.955489999999999, 2, 0.0015372733250721181, 0.99846272667492786],
    [15.915297000000001, 2, 0.00034997511710283918, 0.99965002488289711],
    [0.29632599999999998, 2, 0.86229055012665357, 0.13770944987334643],
    [3.8516810000000001, 2, 0.14575319979440987, 0.85424680020559007],
    [19.470651, 2, 5.9156416202952379e-5, 0.99994084358379709],
    [3.841458820694124, 2, 0.14650006448608432, 0.85349993551391568],
    [6.6348966010212136, 2, 0.036245200715169644, 0.96375479928483032],
    [5.991464547107979, 2, 0.050000000000000072, 0.94999999999999996],
    [50, 2, 1.3887943864964021e-11, 0.99999999998611211],
    [200, 2, 3.7200759760208361e-44, 1],
  ])('χ²(%s; k = %s): survival and cdf match R pchisq to 1e-13 relative', (x, k, survival, cdf) => {
    // Act
    const [actualSurvival, actualCdf] = [chiSquareSurvival(x, k), chiSquareCdf(x, k)];

    // Assess
    expectClose(actualSurvival, survival, { rel: 1e-13 });
    expectClose(actualCdf, cdf, { rel: 1e-13 });
  });

  it('gives the MATLAB varbacktest POF p-value 0.49694 for LR = 0.46147 (margin-methods.md §6.1)', () => {
    // Act
    const pValue = chiSquareSurvival(0.46147, 1);

    // Assess
    expectClose(pValue, 0.49694, { abs: 5e-6 });
  });

  it('is e^(−x/2) for k = 2 and 2·Φ(−√x) for k = 1, far into the tail', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1400, noNaN: true }), (x) => {
        // Act
        const [two, one] = [chiSquareSurvival(x, 2), chiSquareSurvival(x, 1)];

        // Assess: beyond x ≈ 500 the tolerance grows like the conditioning of exp(−x/2), x·2⁻⁵³.
        const rel = 2e-16 * Math.max(500, x);
        expectClose(two, Math.exp(-x / 2), { rel });
        expectClose(one, 2 * normalCdf(-Math.sqrt(x)), { rel });
      }),
    );
  });

  it('has cdf + survival = 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        (x, k) => {
          // Act
          const sum = chiSquareCdf(x, k) + chiSquareSurvival(x, k);

          // Assess
          expectClose(sum, 1, { abs: 3e-16 });
        },
      ),
    );
  });

  it('is 0 / 1 at x ≤ 0 and rejects k ≤ 0', () => {
    // Act / Assess
    expect(chiSquareCdf(0, 1)).toBe(0);
    expect(chiSquareSurvival(-1, 1)).toBe(1);
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
  });
});
