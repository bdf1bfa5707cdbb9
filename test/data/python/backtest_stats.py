# Independent statistics for a dumped per-day initialMarginRate series (issue 14 item 2 re-check).
# usage: python3 test/data/python/backtest_stats.py ../shared/data/BTC-USD.csv bt-BTC.json
# bt-BTC.json: {"days": [[date, initialMarginRate], ...]} from backtest(DEFAULT_THRESHOLD_POLICY, series).days
# (figures pinned in test/data/domain/backtest/default-policy.test.ts)
import csv, json, math, sys
import numpy as np
from scipy.stats import chi2
closes = {r["Date"]: float(r["Close"]) for r in csv.DictReader(open(sys.argv[1]))}
dates = sorted(closes)
prev = {dates[i]: dates[i - 1] for i in range(1, len(dates))}
days = json.load(open(sys.argv[2]))["days"]
rate = np.array([d[1] for d in days])
ratio = np.array([closes[d[0]] / closes[prev[d[0]]] for d in days])
def side(L):
    I = (L > rate).astype(int); x = int(I.sum()); n = len(I)
    LR = -2 * ((n - x) * math.log(0.99) + x * math.log(0.01) - (n - x) * math.log(1 - x / n) - x * math.log(x / n))
    n00 = n01 = n10 = n11 = 0
    for a, b in zip(I[:-1], I[1:]):
        if a == 0 and b == 0: n00 += 1
        elif a == 0: n01 += 1
        elif b == 0: n10 += 1
        else: n11 += 1
    p01 = n01 / (n00 + n01); p11 = n11 / (n10 + n11) if n10 + n11 else 0; p = (n01 + n11) / (n00 + n01 + n10 + n11)
    def ll(k, q): return k * math.log(q) if k else 0.0
    Lr = ll(n00, 1 - p) + ll(n01, p) + ll(n10, 1 - p) + ll(n11, p)
    Lu = ll(n00, 1 - p01) + ll(n01, p01) + ll(n10, 1 - p11) + ll(n11, p11)
    LRind = -2 * (Lr - Lu)
    return x, chi2.sf(LR, 1), chi2.sf(LRind, 1), chi2.sf(LR + LRind, 2)
Ll = 1 - ratio; Ls = ratio - 1
print("n", len(days), days[0][0], days[-1][0])
print("long", side(Ll)); print("short", side(Ls))
h = max(np.quantile(Ll, 0.99), np.quantile(Ls, 0.99))
print("avg", repr(rate.mean()), "hindsight", repr(h), "eff", repr(rate.mean() / h))
print("p2t", repr(rate.max() / rate.min()), "inc1", repr(max(rate[1:] / rate[:-1])), "inc5", repr(max(rate[5:] / rate[:-5])))
