# Independent reference for the default policy qmt-default-2026.12 (issue 14 item 2), written from the
# formulas of DESIGN §4 / margin-methods §5.3 and the README, not from model.ts.
# usage: python3 test/data/python/recal.py ../shared/data/BTC-USD.csv 2021-01-01 2022-06-01 2023-07-31
# (figures pinned in test/data/domain/threshold/model.test.ts)
import csv, math, sys
import numpy as np
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
SCEN = [("2020-03-12","2020-03-13"),("2021-05-19","2021-05-19"),("2022-05-09","2022-05-12"),("2022-11-08","2022-11-09")]
for day in sys.argv[2:]:
    rs = [r for r in rows if r["Date"] < day]
    d = [r["Date"] for r in rs]; c = np.array([float(r["Close"]) for r in rs])
    r = np.log(c[1:] / c[:-1]); n = len(r)
    var = np.empty(n + 1); var[0] = np.mean(r[:30] ** 2)
    for t in range(n): var[t + 1] = 0.99 * var[t] + 0.01 * r[t] ** 2
    sigma = math.sqrt(var[n])
    start = max(30, n - 730); z = r[start:] / np.sqrt(var[start:n])
    q = float(np.quantile(np.concatenate([z, -z]), 0.99))
    model = math.expm1(q * sigma)
    apc10 = 0.5 * math.expm1(q * math.sqrt(np.mean(r[-3650:] ** 2)))       # ten-year floor at 50%
    stressed = 0.85 * math.expm1(q * math.sqrt(np.mean(r[-730:] ** 2)))    # worst 730-day window of the last 730 days = those days
    worst = 0.0
    for a, b in SCEN:
        if a > d[0] and b <= d[-1]:
            for i in range(1, len(d)):
                if a <= d[i] <= b: worst = max(worst, 1 - c[i]/c[i-1], c[i]/c[i-1] - 1)
    stress = 0.0 * worst
    cands = [("model", model), ("stress-floor", stress), ("apc-floor", apc10), ("apc-stressed-floor", stressed)]
    bound, im = "model", model
    for k, v in cands:
        if v > im: bound, im = k, v
    im = min(1, max(0.02, im))
    print(f"{day} n_candles={len(c)} sigma={sigma!r} q={q!r} model={model!r} apc={apc10!r} stressed={stressed!r} worst={worst!r} stress={stress!r} im={im!r} bound={bound}")
