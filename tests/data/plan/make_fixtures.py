"""Make the small fixtures of the plan tests and their brute-force optima.

candidates.csv: 8 units (shops in categories A and B) x 3 options with the team's own
value (profit) and cost (promotion spend) per row, plus a "slots" column.
expected.json: the best plan value over all 3^8 plans under each limit set the tests use,
found by enumeration.
sales.csv / items.csv: synthetic item sales under offer texts, to train a small regression
model (units sold) and plan options for new items.

Run with /usr/bin/python3 from this folder; the outputs are committed.
"""
import csv
import itertools
import json
import random

rng = random.Random(20240611)

# ---- candidates with values and costs -------------------------------------------------
units = [f"s{k}" for k in range(1, 9)]
category = {u: ("A" if k % 2 == 0 else "B") for k, u in enumerate(units)}
rows = []
for u in units:
    base = rng.randint(50, 150)
    rows.append((u, category[u], "none", base, 0, 0))
    for name, depth in (("9折", 0.1), ("8折", 0.2)):
        cost = rng.randint(5, 40)
        gain = rng.randint(-10, 45) * (1 + depth)
        rows.append((u, category[u], name, round(base + gain, 1), cost, 1 if depth < 0.15 else 2))
with open("candidates.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["unit", "category", "option", "profit", "spend", "slots"])
    w.writerows(rows)

by_unit = {u: [r for r in rows if r[0] == u] for u in units}


def best(check):
    """Best total profit over all plans that pass check(plan)."""
    top = None
    for plan in itertools.product(*(by_unit[u] for u in units)):
        if check(plan) and (top is None or sum(r[3] for r in plan) > top):
            top = sum(r[3] for r in plan)
    return top


def spend(plan, cat=None):
    return sum(r[4] for r in plan if cat is None or r[1] == cat)


expected = {
    "budget_60": best(lambda p: spend(p) <= 60),
    "budget_60_group_A_20": best(lambda p: spend(p) <= 60 and spend(p, "A") <= 20),
    "budget_80_max_promoted_3_slots_4": best(
        lambda p: spend(p) <= 80
        and sum(r[2] != "none" for r in p) <= 3
        and sum(r[5] for r in p) <= 4),
    "no_limits": best(lambda p: True),
    "none_total": sum(by_unit[u][0][3] for u in units),
}
with open("expected.json", "w") as f:
    json.dump(expected, f, indent=2, ensure_ascii=False)
    f.write("\n")

# ---- item sales under offers, for a model -----------------------------------------------
offers = [("none", 0.0), ("9折", 0.1), ("8折", 0.2), ("满200减30", 0.15), ("赠品", 0.05)]
with open("sales.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["item", "category", "price", "offer", "units"])
    for k in range(600):
        cat = rng.choice(["snacks", "drinks", "home"])
        price = round(rng.uniform(20, 300), 2)
        offer, depth = rng.choice(offers)
        mean = 20 * (1 + 4 * depth) * (1.3 if cat == "snacks" else 1.0) * (100 / (price + 50)) ** 0.5
        w.writerow([f"i{k}", cat, price, offer, max(0, round(rng.gauss(mean, 2)))])
with open("items.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["item", "category", "price", "cost", "stock"])
    for k in range(40):
        price = round(rng.uniform(20, 300), 2)
        w.writerow([f"n{k}", rng.choice(["snacks", "drinks", "home"]), price, round(price * 0.6, 2),
                    rng.randint(15, 60)])
