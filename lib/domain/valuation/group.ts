/**
 * An account's positions grouped by instrument (an option's instrument is its underlying), as reusable
 * scratch: a valuer keeps one `Groups` pool and resets it per account, so a linear account allocates no
 * group and an option account no leg once the pool has grown to its size.
 */
import type { Expiry, PreparedInstrument } from './instrument.ts';

/** One option position of a group; pooled (`Group.addOption` overwrites a leg of an earlier account). */
export class OptionLeg {
  isCall = false;
  strike = 0;
  expiry = 0;
  expiryDate: Expiry | null = null;
  years = 0;
  days = 0;
  quantity = 0;
  volatility = 0;
  value = 0;
}

export class Group {
  futuresQuantity = 0;
  optionDelta = 0;
  /** Delta of largest magnitude over the scan scenarios and today (`optionSizing: 'scenario-path'`). */
  pathDelta = 0;
  /** Σ |quantity| × (mark + strike or entry): bounds the float error of the group's sums. */
  gross = 0;
  /** Option legs; `optionCount` of them are this account's (the legs are reused). */
  readonly options: OptionLeg[] = [];
  optionCount = 0;
  initial = 0;
  maintenance = 0;
  direction = 0;
  /** 1-based grid scenario of the group's scenario loss; null when none loses or it is closed form. */
  worstScenario: number | null = null;
  constructor(public prep: PreparedInstrument) {}

  reset(prep: PreparedInstrument): this {
    this.prep = prep;
    this.futuresQuantity = 0;
    this.optionDelta = 0;
    this.pathDelta = 0;
    this.gross = 0;
    this.optionCount = 0;
    this.initial = 0;
    this.maintenance = 0;
    this.direction = 0;
    this.worstScenario = null;
    return this;
  }

  /** The next leg, reused from an earlier account when there is one; the caller sets every field. */
  addOption(): OptionLeg {
    let leg = this.options[this.optionCount];
    if (!leg) {
      leg = new OptionLeg();
      this.options.push(leg);
    }
    this.optionCount++;
    return leg;
  }
}

/** The pool: `count` groups of the account being valued, in order of first position. */
export class Groups {
  readonly list: Group[] = [];
  count = 0;

  /** The group of `prep`, taken from the pool (or added to it) on the instrument's first position. */
  groupFor(prep: PreparedInstrument): Group {
    const list = this.list;
    for (let k = 0; k < this.count; k++) {
      const g = list[k] as Group;
      if (g.prep === prep) return g;
    }
    return this.addGroup(prep);
  }

  private addGroup(prep: PreparedInstrument): Group {
    const list = this.list;
    const pooled = list[this.count];
    const g = pooled ? pooled.reset(prep) : new Group(prep);
    if (!pooled) list.push(g);
    this.count++;
    return g;
  }
}
