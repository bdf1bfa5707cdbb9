# Independent re-computation of the hourly ETH table (README "Margin period of risk in hours"; pinned in
# test/data/domain/backtest/intraday-mpor.test.ts): the intraday walk-forward model and its statistics,
# written from the README's description in numpy/scipy, not from the TypeScript.
# usage: python3 test/data/python/intraday_mpor.py MPOR_HOURS SLOW_LAMBDA FAST_LAMBDA|none PROFILE FROM [TO] [why]
#   (`why`: also where the breaches fall: weekday/weekend, after a large move, after a breach)
#   e.g. python3 test/data/python/intraday_mpor.py 1 0.97 0.01 weekday-weekend 2024-01-01
#        python3 test/data/python/intraday_mpor.py 1 0.97 none time-of-day 2022-03-01 2024-01-01
# Settings as in docs/policies/eth-{1h,4h}.json: lookback 730 days, seed 30 days, pooled-tail FHS 99% VaR,
# APC floor 50% of the 10-year measure, minimum 0.2%, no stress floor, no step limits.
import csv, datetime as dt, math, sys
import numpy as np
from scipy.signal import lfilter
from scipy.stats import chi2

HOUR, DAY = 3_600_000, 86_400_000
k = int(sys.argv[1]); slow_day = float(sys.argv[2]); fast_day = None if sys.argv[3] == "none" else float(sys.argv[3])
profile = sys.argv[4]
ms = lambda s: int(dt.datetime.fromisoformat(s).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
why = sys.argv[-1] == "why"; dates = [a for a in sys.argv[5:] if a != "why"]
score_from = ms(dates[0]); score_to = ms(dates[1]) - 1 if len(dates) > 1 else 1 << 62

rows = list(csv.DictReader(open("../shared/data/ETHUSDT-1h-binance.csv")))
T = np.array([ms(r["timestamp"].replace(" ", "T")) for r in rows], dtype=np.int64)
C = np.array([float(r["close"]) for r in rows]); n = len(C)
R = np.full(n, np.nan); whole = np.diff(T) == HOUR; R[1:][whole] = np.log(C[1:] / C[:-1])[whole]
slot = (T % DAY) // HOUR
if profile == "weekday-weekend":
    slot = slot + 24 * ((T // DAY + 3) % 7 >= 5)  # 1970-01-01 was a Thursday; Saturday, Sunday = 5, 6
slots = 48 if profile == "weekday-weekend" else 24
LOOK, SEED = 730 * 24, 30 * 24

def ewma(d2, lam, seed):
    """v[i]: variance before bar i; v[i+1] = lam v[i] + (1 - lam) d2[i]; a NaN return leaves v as it was."""
    v = np.empty(len(d2) + 1); v[0] = cur = seed; start = 0
    for b in list(np.flatnonzero(np.isnan(d2))) + [len(d2)]:
        seg = d2[start:b]
        if len(seg):
            y, _ = lfilter([1 - lam], [1, -lam], seg, zi=[lam * cur]); v[start + 1 : b + 1] = y; cur = y[-1]
        if b < len(d2): v[b + 1] = cur
        start = b + 1
    return v

starts = []; t = SEED + 1
while t + k - 1 < n:
    if T[t] < score_from: t += 1; continue
    if T[t] > score_to: break
    if not np.isnan(R[t : t + k]).any(): starts.append(t)
    t += k
starts = np.array(starts); rates = np.empty(len(starts)); day_of = T[starts] // DAY
for d in np.unique(day_of):
    end = int(np.searchsorted(T, d * DAY)); lo = max(1, end - LOOK)
    r, s = R[lo:end], slot[lo:end]; m = ~np.isnan(r)
    sums = np.bincount(s[m], weights=r[m] ** 2, minlength=slots); cnt = np.bincount(s[m], minlength=slots)
    f = np.where(cnt > 0, np.sqrt(sums / np.maximum(cnt, 1) / (r[m] ** 2).mean()), 1.0); f[f <= 0] = 1
    d2 = (R / f[slot]) ** 2
    first = np.flatnonzero(~np.isnan(d2[:end])); seed = d2[first[first >= 1][:SEED]].mean()
    v = ewma(d2, slow_day ** (1 / 24), seed)
    if fast_day is not None: v = np.maximum(v, ewma(d2, fast_day ** (1 / 24), seed))
    ts = np.arange(max(SEED + 1, lo), end - k + 1)
    move = sum(R[ts + j] for j in range(k)); season = sum(f[slot[ts + j]] ** 2 for j in range(k))
    res = move / np.sqrt(v[ts] * season); res = res[~np.isnan(res)]
    mult = np.quantile(np.concatenate([res, -res]), 0.99)  # numpy 'linear' = the model's type 7
    long_run = math.sqrt(np.nanmean(d2[max(1, end - 3650 * 24) : end]))
    for i in np.flatnonzero(day_of == d):
        t = starts[i]; sea = math.sqrt(sum(f[slot[t + j]] ** 2 for j in range(k)))
        rates[i] = max(math.expm1(mult * math.sqrt(v[t]) * sea), 0.5 * math.expm1(mult * long_run * sea), 0.002)

ratio = C[starts + k - 1] / C[starts - 1]
def side(loss):
    I = (loss > rates).astype(int); x = int(I.sum()); N = len(I)
    kupiec = -2 * ((N - x) * math.log(0.99) + x * math.log(0.01) - (N - x) * math.log(1 - x / N) - x * math.log(x / N))
    a, b = I[:-1], I[1:]
    n00, n01 = int(((a == 0) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    n10, n11 = int(((a == 1) & (b == 0)).sum()), int(((a == 1) & (b == 1)).sum())
    ll = lambda c, q: c * math.log(q) if c else 0.0
    p01, p11, p = n01 / (n00 + n01), (n11 / (n10 + n11) if n10 + n11 else 0), (n01 + n11) / (N - 1)
    lr_ind = -2 * (ll(n00, 1 - p) + ll(n01, p) + ll(n10, 1 - p) + ll(n11, p)
                   - ll(n00, 1 - p01) - ll(n01, p01) - ll(n10, 1 - p11) - ll(n11, p11))
    return x, chi2.sf(kupiec, 1), chi2.sf(lr_ind, 1)
long_loss, short_loss = 1 - ratio, ratio - 1
hindsight = max(np.quantile(long_loss, 0.99), np.quantile(short_loss, 0.99))
print("observations", len(starts))
print("long (breaches, Kupiec p, Christoffersen p)", side(long_loss))
print("short (breaches, Kupiec p, Christoffersen p)", side(short_loss))
print("average", repr(rates.mean()), "hindsight", repr(hindsight), "ratio", repr(rates.mean() / hindsight))
print("peak-to-trough", repr(rates.max() / rates.min()), "max 5-obs increase", repr(max(rates[5:] / rates[:-5])))
if why:
    either = (long_loss > rates) | (short_loss > rates)  # a side breaches: per side, half of this
    weekend = (T[starts] // DAY + 3) % 7 >= 5
    print("breaches a side %: weekday", round(50 * either[~weekend].mean(), 2), "weekend", round(50 * either[weekend].mean(), 2))
    print("breaches a side % by hour of day", [round(50 * either[(T[starts] % DAY) // HOUR == h].mean(), 2) for h in range(24)])
    size = np.r_[np.nan, (np.maximum(long_loss, short_loss) / rates)[:-1]]  # the observation before: |move| / its margin
    for lo, hi in ((0, 0.5), (0.5, 1), (1, 1.5), (1.5, 3), (3, np.inf)):
        m = (size >= lo) & (size < hi)
        print(f"after a move of {lo}-{hi} x its margin: {m.sum()} observations, breaches a side %", round(50 * either[m].mean(), 2))
    for name, loss in (("long", long_loss), ("short", short_loss)):
        I = loss > rates
        print(name, "P(breach | breach before) %", round(100 * I[1:][I[:-1]].mean(), 2), "P(breach | none before) %", round(100 * I[1:][~I[:-1]].mean(), 2))
