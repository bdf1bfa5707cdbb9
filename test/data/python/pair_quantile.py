# Independent check of a pair's P&L quantiles (issue 14 item 4): BTC=1,ETH=-1 from the CSV closes alone.
# usage: python3 test/data/python/pair_quantile.py ../shared/data/BTC-USD.csv ../shared/data/ETH-USD.csv 2018-11-09 2023-07-31
# The loss per unit of gross notional on day d is (w_BTC·(1 − C_d/C_prev) + w_ETH·(1 − E_d/E_prev)) / 2 over
# the previous common day; the 99% quantile (numpy's linear interpolation) of each side is printed
# (figures pinned in test/data/domain/backtest/portfolio.test.ts: the hindsight fixed rate is the larger).
import csv, sys
import numpy as np
def closes(path):
    return {r["Date"]: float(r["Close"]) for r in csv.DictReader(open(path)) if r["Close"] not in ("", "null") and float(r["Close"]) > 0}
a, b = closes(sys.argv[1]), closes(sys.argv[2])
days = sorted(set(a) & set(b))
loss = []
for prev, day in zip(days, days[1:]):
    if sys.argv[3] <= day <= sys.argv[4]:
        loss.append(((1 - a[day] / a[prev]) - (1 - b[day] / b[prev])) / 2)
loss = np.array(loss)
print("n", len(loss), "long q99", repr(np.quantile(loss, 0.99)), "short q99", repr(np.quantile(-loss, 0.99)))
