#!/usr/bin/python3
"""Turns DIR/raw/measurements.jsonl (written by scripts/bench/run) into DIR/results.json,
DIR/results.md and DIR/throughput.png (gnuplot).

  report.py --dir DIR --mode quick|full

Per workload and system: the highest throughput of the concurrency sweep (the "100 %"
point, with its p50/p99) and the sweep point whose throughput is closest to half of it
(the "≈50 %" point: wrk is closed-loop, Debian has no wrk2, so the achieved share is
printed rather than a rate-limited run). The one rate-limited run, client_credentials paced at
80 % of its sweep's maximum (workload client_credentials_paced80), gets its own table. Each
authd figure is divided by Glewlwyd's and by its machine limit; every issue-7 target gets a
row: measured value and met yes/no, or "not measured" and why.
"""
import argparse
import json
import os
import platform
import subprocess

WORKLOADS = ["sso_hop", "discovery", "jwks", "client_credentials", "introspection_n1000",
             "introspection_nbig", "code_exchange", "userinfo", "refresh", "login",
             "login_to_code", "client_credentials_bearer", "client_credentials_dpop",
             "userinfo_bearer", "userinfo_dpop"]
SYSTEMS = ["authd-mem", "authd-redis", "glewlwyd", "oidc-provider"]
PEERS = [("glewlwyd", "Glewlwyd"), ("oidc-provider", "oidc-provider")]
# workload -> (limit fact, how many of it one request needs, label)
LIMITS = {
    "sso_hop": ("es256_sign_2cores", 2, "ES256 signs/s, 2 cores ÷ 2 (ID + access token)"),
    "discovery": ("mhd_noop", 1, "no-op MHD GET/s"),
    "jwks": ("mhd_noop", 1, "no-op MHD GET/s"),
    "client_credentials": ("es256_sign_2cores", 1, "ES256 signs/s, 2 cores"),
    "code_exchange": ("es256_sign_2cores", 2, "ES256 signs/s, 2 cores ÷ 2 (ID + access token)"),
    "refresh": ("es256_sign_2cores", 2, "ES256 signs/s, 2 cores ÷ 2"),
    "introspection_n1000": ("es256_verify_2cores", 1, "ES256 verifies/s, 2 cores"),
    "introspection_nbig": ("es256_verify_2cores", 1, "ES256 verifies/s, 2 cores"),
    "userinfo": ("es256_verify_2cores", 1, "ES256 verifies/s, 2 cores"),
    "login": ("argon2id_2cores", 1, "argon2id hashes/s, 2 threads"),
    "login_to_code": ("argon2id_2cores", 1, "argon2id hashes/s, 2 threads"),
    "client_credentials_bearer": ("es256_sign_2cores", 1, "ES256 signs/s, 2 cores"),
    "client_credentials_dpop": ("es256_verify_2cores", 1,
                                "ES256 verifies/s, 2 cores (plus one sign per request)"),
    "userinfo_bearer": ("es256_verify_2cores", 1, "ES256 verifies/s, 2 cores"),
    "userinfo_dpop": ("es256_verify_2cores", 1, "ES256 verifies/s, 2 cores (the proof's)"),
}


def load(path):
    meas, facts, missing = [], {}, []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            if "fact" in d:
                facts.setdefault(d["system"], {})[d["fact"]] = d
            elif "not_measured" in d:
                missing.append(d)
            else:
                w = d["workload"]
                if w.startswith("introspection_n") and w != "introspection_n1000":
                    d["n"] = int(w[len("introspection_n"):])
                    d["workload"] = "introspection_nbig"
                meas.append(d)
    return meas, facts, missing


def summarize(meas):
    out = {}
    for d in meas:
        out.setdefault(d["workload"], {}).setdefault(d["system"], []).append(d)
    summ = {}
    for w, bysys in out.items():
        for s, pts in bysys.items():
            pts.sort(key=lambda p: p["conc"])
            best = max(pts, key=lambda p: p["rps"])
            half = min(pts, key=lambda p: abs(p["rps"] - best["rps"] / 2)) if best["rps"] else best
            summ.setdefault(w, {})[s] = {
                "max_rps": best["rps"], "conc_at_max": best["conc"],
                "p50_ms": best["p50_ms"], "p99_ms": best["p99_ms"],
                "errors_at_max": best.get("errors", 0), "requests_at_max": best.get("requests", 0),
                "half": {"rps": half["rps"], "conc": half["conc"], "p50_ms": half["p50_ms"],
                         "p99_ms": half["p99_ms"],
                         "share": round(half["rps"] / best["rps"], 2) if best["rps"] else 0},
                "n": best.get("n"), "note": best.get("note", ""),
                "lower_bound": bool(best.get("lower_bound")),
                "points": [{"conc": p["conc"], "rps": p["rps"], "p50_ms": p["p50_ms"],
                            "p99_ms": p["p99_ms"], "errors": p.get("errors", 0)} for p in pts],
            }
    return summ


def fval(facts, system, name):
    d = facts.get(system, {}).get(name)
    return d["value"] if d else None


def ratios(summ, facts):
    r = {}
    mhd = summ.get("mhd_noop", {}).get("limit", {}).get("max_rps")
    for w in WORKLOADS:
        if w not in summ:
            continue
        lim_name, per, label = LIMITS[w]
        lim = mhd if lim_name == "mhd_noop" else fval(facts, "limit", lim_name)
        if lim:
            lim = lim / per
        peer = {}
        for p, _ in PEERS:
            peer[p] = summ[w].get(p, {}).get("max_rps")
            if w == "login_to_code":
                peer[p] = summ.get("login", {}).get(p, {}).get("max_rps")
        for s in ("authd-mem", "authd-redis"):
            a = summ[w].get(s, {}).get("max_rps")
            if a is None:
                continue
            r.setdefault(w, {})[s] = {
                "vs_glewlwyd": round(a / peer["glewlwyd"], 2) if peer["glewlwyd"] else None,
                "vs_oidc-provider": round(a / peer["oidc-provider"], 2) if peer["oidc-provider"] else None,
                "vs_limit": round(a / lim, 3) if lim else None,
                "limit": round(lim, 1) if lim else None, "limit_label": label}
        for p, _ in PEERS:
            if peer[p] is not None and w in summ and p in summ[w]:
                r.setdefault(w, {})[p] = {
                    "vs_limit": round(peer[p] / lim, 3) if lim else None,
                    "limit": round(lim, 1) if lim else None, "limit_label": label}
    return r


PACED = "client_credentials_paced80"


def why(missing, system, workloads, default):
    """The reason the runner gave for not measuring one of workloads (or a workload named
    WORKLOAD_...) on system, else default."""
    for m in missing:
        w = m["workload"]
        if m["system"] == system and (w == "all" or any(w == x or w.startswith(x + "_")
                                                        for x in workloads)):
            return m["not_measured"]
    return default


def targets(summ, facts, rat, meas, missing):
    """The issue-7 targets, one row each: issue item, text, value, shown value, met (None:
    not measured), note (how it was measured, or why it was not)."""
    def mx(w, s):
        return summ.get(w, {}).get(s, {}).get("max_rps")

    def row(item, text, v, shown, met, note):
        t.append({"item": item, "target": text, "value": v,
                  "shown": shown if v is not None else None,
                  "met": met if v is not None else None, "note": note})

    def rate(v):
        return v is not None and f"{v:,.0f}/s"

    t, red = [], "authd-redis"
    cc = mx("client_credentials", red)
    row(1, "client_credentials (Redis) ≥ 15 000/s", cc, rate(cc), cc is not None and cc >= 15000,
        "max of the sweep" if cc is not None
        else why(missing, red, ["client_credentials"], "no client_credentials sweep"))
    g = rat.get("client_credentials", {}).get(red, {}).get("vs_glewlwyd")
    row(1, "client_credentials (Redis) ≥ 30× Glewlwyd", g, g is not None and f"{g:,.1f}×",
        g is not None and g >= 30, "max ÷ Glewlwyd's max, same run" if g is not None
        else why(missing, red, ["client_credentials"], "no authd-redis figure") if cc is None
        else why(missing, "glewlwyd", ["client_credentials"], "no Glewlwyd figure"))
    p = [d for d in meas if d["system"] == red and d["workload"] == PACED]
    if p:
        d = p[-1]
        goal = d.get("target_rps") or 0
        reached = goal > 0 and d["rps"] >= 0.90 * goal
        # sends late by the generator's own doing (it had a free connection): its lateness
        # counts in the p99, never in the server's favour, but then the p99 is partly its own
        own = d.get("sent_late_gen", 0)
        row(1, "client_credentials (Redis) p99 < 10 ms at 80 % of max", d["p99_ms"],
            f"{d['p99_ms']} ms", d["p99_ms"] < 10 and reached,
            f"paced at {goal:,.0f}/s, achieved {d['rps']:,.0f}/s, {d['conc']} connections; "
            + ("open loop (pace.c), latency from the due time (coordinated-omission corrected)"
               if d.get("latency_from") else "latency from the actual send")
            + ("" if reached else "; paced rate not reached")
            + (f"; the generator itself sent {own:,} requests > 1 ms late "
               f"({d.get('driver_sched', '?')}): the p99 is partly its own"
               if own > 0.001 * max(d.get("requests", 0), 1) else ""))
    else:
        row(1, "client_credentials (Redis) p99 < 10 ms at 80 % of max", None, None, None,
            why(missing, red, [PACED, "client_credentials"], "no paced run"))
    for sy, label in (("authd-mem", "memory store, the default"), (red, "Redis")):
        ce = mx("code_exchange", sy)
        lb = summ.get("code_exchange", {}).get(sy, {}).get("lower_bound")
        row(2, f"code exchange ({label}) ≥ 8 000/s", ce,
            rate(ce) and ("≥ " if lb else "") + rate(ce), ce is not None and ce >= 8000,
            ("lower bound: the codes ran out" if lb else "max of the sweep") if ce is not None
            else why(missing, sy, ["code_exchange"], "no code exchange figure"))
    lg = rat.get("login", {}).get(red, {}).get("vs_limit")
    row(3, "logins (Redis) ≥ 90 % of the argon2id rate, 2 threads", lg,
        lg is not None and f"{lg:.0%}", lg is not None and lg >= 0.9,
        "login max ÷ argon2id_2cores" if lg is not None
        else why(missing, red, ["login"], "no login figure or no argon2id limit"))
    ib, i1 = mx("introspection_nbig", red), mx("introspection_n1000", red)
    n = summ.get("introspection_nbig", {}).get(red, {}).get("n")
    row(4, "introspection (Redis) with N issued ≥ 20 000/s", ib, rate(ib),
        ib is not None and ib >= 20000, f"N = {n:,}" if ib is not None
        else why(missing, red, ["introspection"], "no introspection figure"))
    r4 = round(ib / i1, 2) if ib and i1 else None
    how = "max with N ÷ max with 1 000, the two sweeps"
    cmp_ = {k: [d["rps"] for d in meas if d["system"] == red
                and d["workload"] == "introspection_cmp_" + k] for k in ("small", "big")}
    if cmp_["small"] and cmp_["big"]:
        r4 = round(max(cmp_["big"]) / max(cmp_["small"]), 2)
        how = (f"best of {len(cmp_['big'])} runs with N ÷ best of {len(cmp_['small'])} with 1 000,"
               " alternated at the highest concurrency")
    row(4, "introspection (Redis) with N issued ≥ with 1 000", r4, r4 and f"{r4:.2f}×",
        r4 is not None and r4 >= 0.95, how + " (met from 0.95: run-to-run noise)"
        if r4 is not None else why(missing, red, ["introspection"], "no introspection figures"))
    for w in ("jwks", "discovery"):
        v = mx(w, red)
        row(5, f"{w} (Redis) ≥ 50 000/s", v, rate(v), v is not None and v >= 50000,
            "max of the sweep" if v is not None else why(missing, red, [w], f"no {w} figure"))
    cv = facts.get("clientlib", {})
    v = cv.get("ratio", {}).get("value")
    row(6, "libauthd-client validation ≥ 80 % of openssl verify, 1 core", v,
        v is not None and f"{v:.0%}", v is not None and v >= 0.8,
        f"{cv['validate_per_s']['value']:,.0f} tokens/s ÷ "
        f"{cv['es256_verify_1core_taskset']['value']:,.0f} verifies/s (client-validate)"
        if v is not None else why(missing, "clientlib", ["validate"], "client-validate not run"))
    for sy, label in ((red, "Redis"), ("authd-mem", "memory store")):
        h = mx("sso_hop", sy)
        row("20", f"SSO hops ({label}) ≥ 5 000/s", h, rate(h), h is not None and h >= 5000,
            "max of the closed-loop sweep (pace --hop, load generator on the same 2 cores)"
            if h is not None else why(missing, sy, ["sso_hop"], "no hop figure"))
    h = mx("sso_hop", red)
    best = max([(mx("sso_hop", p) or 0, n) for p, n in PEERS])
    v = round(h / best[0], 1) if h and best[0] else None
    row("20", "SSO hops (Redis) ≥ 10× the best peer", v, v is not None and f"{v:,.1f}× {best[1]}",
        v is not None and v >= 10, f"authd-redis max ÷ {best[1]}'s max, same run" if v is not None
        else "no authd-redis or no peer hop figure")
    b = fval(facts, red, "redis_bytes_sso_session_2clients")
    row(7, "one SSO session with two clients ≤ 1 KiB in Redis", b,
        b is not None and f"{b:,.0f} B",
        b is not None and b <= 1024,
        "scripts/bench/session-bytes: session record, client set, sid index" if b is not None
        else why(missing, red, ["sso_session_2clients"], "session-bytes not run"))
    v = fval(facts, "authd-mem", "stepup_share_besides_argon2id")
    own = fval(facts, "authd-mem", "stepup_own_cpu_ms")
    row("15", "step-up login (password + TOTP): authd besides argon2id < 10 %", v,
        v is not None and f"{v:.1%}", v is not None and v < 0.10,
        f"own work {own:.2f} ms CPU per login ÷ (own + argon2id "
        f"{fval(facts, 'authd-mem', 'argon2id_cpu_ms_per_hash'):.1f} ms); "
        "scripts/bench/stepup-login" if v is not None
        else why(missing, "authd-mem", ["stepup_login"], "stepup-login not run"))
    return t


def fmt(v, digits=0):
    if v is None:
        return "—"
    if isinstance(v, float) and digits:
        return f"{v:,.{digits}f}"
    return f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)


def markdown(res):
    s, f, r = res["summary"], res["facts"], res["ratios"]
    L = [f"# authd benchmark — {res['when']} ({res['mode']} mode)", "",
         f"Machine: {res['machine']}. Load generators (wrk, pace.c, the C login driver for authd, "
         "driver.py for the peers' logins) on the same cores.",
         "Throughput is successful responses per second at the best point of the concurrency "
         f"sweep ({res['sweep']}); latency p50/p99 in ms at that point (100 %) and at the sweep "
         "point closest to half of it (≈50 %, achieved share in brackets: closed loop, no "
         "rate limiting; the open-loop runs at 50 % and 80 % are in the tables below).", "",
         "Glewlwyd runs at its best (SQLite WAL on tmpfs, client_secret); oidc-provider with "
         "its Redis adapter and a cluster of one worker a core; their figures depend on that "
         "configuration (docs/performance.md).", "",
         "| workload | system | max/s | conc | p50/p99 @100 % | ≈50 % point: /s (share) p50/p99 | errors @max | × Glewlwyd | × oidc-provider | × limit (limit) |",
         "|---|---|---:|---:|---|---|---:|---:|---:|---|"]
    names = {"introspection_nbig": "introspection (N issued)", "sso_hop": "**SSO hop**"}
    for w in WORKLOADS + ["mhd_noop"]:
        for sy in SYSTEMS + ["limit"]:
            d = s.get(w, {}).get(sy)
            if not d:
                continue
            h = d["half"]
            rr = r.get(w, {}).get(sy, {})
            wn = names.get(w, w) + (f" N={d['n']:,}" if d.get("n") else "")
            if d.get("lower_bound"):
                wn += " (≥: values ran out)"
            L.append(f"| {wn} | {sy} | {fmt(d['max_rps'])} | {d['conc_at_max']} | "
                     f"{d['p50_ms']} / {d['p99_ms']} | {fmt(h['rps'])} ({h['share']:.0%}) "
                     f"{h['p50_ms']} / {h['p99_ms']} | {d['errors_at_max']} | "
                     f"{fmt(rr.get('vs_glewlwyd'), 2) if 'vs_glewlwyd' in rr else ''} | "
                     f"{fmt(rr.get('vs_oidc-provider'), 2) if 'vs_oidc-provider' in rr else ''} | "
                     f"{fmt(rr.get('vs_limit'), 3)} ({fmt(rr.get('limit'))} {rr.get('limit_label', '')}) |"
                     if rr else
                     f"| {wn} | {sy} | {fmt(d['max_rps'])} | {d['conc_at_max']} | "
                     f"{d['p50_ms']} / {d['p99_ms']} | {fmt(h['rps'])} ({h['share']:.0%}) "
                     f"{h['p50_ms']} / {h['p99_ms']} | {d['errors_at_max']} | | | |")
    def own(d):  # the sends the generator itself made late (pace since it reports them)
        return f" ({d['sent_late_gen']:,})" if "sent_late_gen" in d else ""

    hp = {(d["system"], d["workload"]): d for d in res["measurements"]
          if d["workload"] in ("sso_hop_paced50", "sso_hop_paced80")}
    if hp:
        L += ["", "## SSO hop at 50 % and 80 % of the maximum (open loop)", "",
              "GET /authorize with the SSO cookie → code → POST /token (ID + access + refresh "
              "token), pace --hop at a fixed rate; latency from each hop's due time "
              "(coordinated-omission corrected), the service time (from the actual send) beside it; "
              "an answer counts when it arrived (kernel timestamp). Sent late: more than 1 ms after "
              "the due time; in brackets those the generator itself sent late (a connection was "
              "free).",
              "", "| system | sweep max/s | load | paced at /s | achieved /s | p50 / p90 / p99 ms "
              "(intended) | service p50 / p99 ms | sent late (own) | errors |",
              "|---|---:|---|---:|---:|---|---|---:|---:|"]
        for sy in SYSTEMS:
            for w in ("sso_hop_paced50", "sso_hop_paced80"):
                d = hp.get((sy, w))
                if not d:
                    continue
                goal = d.get("target_rps") or 0
                mxh = s.get("sso_hop", {}).get(sy, {}).get("max_rps")
                share = f" ({d['rps'] / goal:.0%})" if goal else ""
                L.append(f"| {sy} | {fmt(mxh)} | {w[-2:]} % | {fmt(goal or None)} | "
                         f"{fmt(d['rps'])}{share} | {d['p50_ms']} / {d['p90_ms']} / {d['p99_ms']} | "
                         f"{d.get('svc_p50_ms', '—')} / {d.get('svc_p99_ms', '—')} | "
                         f"{d.get('sent_late', 0):,}{own(d)} | {d.get('errors', 0)} |")
    pw = [PACED.replace("80", "50"), PACED, PACED + "_wrk"]
    paced = [d for sy in SYSTEMS for w in pw for d in res["measurements"]
             if d["workload"] == w and d["system"] == sy]
    if paced:
        L += ["", "## client_credentials at fixed rates (50 % and 80 % of the maximum)", "",
              "Open loop (scripts/bench/pace.c): each request is due at a fixed time and its "
              "latency counts from then, so waiting for a free connection behind a slow answer "
              "is counted (coordinated-omission corrected); the service time from the actual send "
              "beside it; an answer counts when it arrived (kernel timestamp). Sent late: more "
              "than 1 ms after the due time; in brackets those the generator itself sent late (a "
              "connection was free). The `wrk` row is the earlier method (common.lua's pacing, "
              "latency from the actual send), kept for comparison.", "",
              "| system | load | sweep max/s | paced at /s | achieved /s | conc | p50 / p90 / p99 ms "
              "| service p50 / p99 ms | sent late (own) | errors |",
              "|---|---|---:|---:|---:|---:|---|---|---:|---:|"]
        for d in paced:
            goal = d.get("target_rps") or 0
            share = f" ({d['rps'] / goal:.0%})" if goal else ""
            load = ("80 % wrk" if d["workload"].endswith("_wrk")
                    else d["workload"][-2:] + " % open loop")
            L.append(f"| {d['system']} | {load} | {fmt(d.get('sweep_max_rps'))} | {fmt(goal or None)} | "
                     f"{fmt(d['rps'])}{share} | {d['conc']} | {d['p50_ms']} / {d['p90_ms']} / "
                     f"{d['p99_ms']} | {d.get('svc_p50_ms', '—')} / {d.get('svc_p99_ms', '—')} | "
                     f"{fmt(d.get('sent_late')) + own(d) if 'sent_late' in d else '—'} | "
                     f"{d.get('errors', 0)} |")
    L += ["", "## Not measured", ""]
    for m in res["not_measured"]:
        L.append(f"- {m['system']} {m['workload']}: not measured: {m['not_measured']}")
    if not res["not_measured"]:
        L.append("- (everything was measured)")
    L += ["", "## Machine limits and single figures", "", "| system | figure | value | how |",
          "|---|---|---:|---|"]
    for sy, facts in f.items():
        for k, d in facts.items():
            v = d["value"]
            L.append(f"| {sy} | {k} | {fmt(v, 1 if abs(v) >= 10 else 3)} | {d.get('note', '')} |")
    L += ["", "## Issue 7 and issue 20 targets", "", "| # | target | measured | met | how / why not |",
          "|---:|---|---:|---|---|"]
    for t in res["targets"]:
        met = "not measured" if t["met"] is None else ("yes" if t["met"] else "**no**")
        L.append(f"| {t['item']} | {t['target']} | {t['shown'] or '—'} | {met} | {t['note']} |")
    L += ["", "Chart: throughput.png (throughput against concurrency, log scales). Raw logs: raw/.", ""]
    return "\n".join(L)


def chart(d, summ):
    data, plots = os.path.join(d, "raw", "chart"), []
    os.makedirs(data, exist_ok=True)
    for w, bysys in sorted(summ.items()):
        for sy, v in bysys.items():
            # the alternated introspection runs are one concurrency, repeated: not a curve
            if len(v["points"]) < 2 or w.startswith("introspection_cmp"):
                continue
            p = os.path.join(data, f"{sy}-{w}.dat")
            with open(p, "w") as f:
                for pt in v["points"]:
                    f.write(f"{pt['conc']} {max(pt['rps'], 0.1)}\n")
            plots.append(f"'{p}' using 1:2 with linespoints title '{sy} {w}'")
    if not plots:
        return False
    gp = "\n".join([
        "set terminal pngcairo size 1400,900 noenhanced" if has_cairo() else "set terminal png size 1400,900 noenhanced",
        f"set output '{os.path.join(d, 'throughput.png')}'",
        "set title 'Throughput against concurrency (successful responses/s)'",
        "set xlabel 'concurrent connections (logins: browsers)'", "set ylabel 'per second'",
        "set logscale xy", "set grid", "set key outside right",
        "plot " + ", \\\n  ".join(plots), ""])
    with open(os.path.join(data, "throughput.gp"), "w") as f:
        f.write(gp)
    return subprocess.run(["gnuplot", os.path.join(data, "throughput.gp")]).returncode == 0


def has_cairo():
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        return "pngcairo" in (out.stdout + out.stderr)
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--mode", default="full")
    a = ap.parse_args()
    meas, facts, missing = load(os.path.join(a.dir, "raw", "measurements.jsonl"))
    summ = summarize(meas)
    rat = ratios(summ, facts)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    res = {"when": os.path.basename(os.path.normpath(a.dir)), "mode": a.mode,
           "machine": f"{os.cpu_count()} cores, {cpu}, {platform.platform()}",
           "sweep": ", ".join(sorted({str(m["conc"]) for m in meas
                                      if m["system"] != "limit" and "paced" not in m["workload"]
                                      and m["workload"] != "sso_hop"},
                                     key=int)),
           "summary": summ, "facts": {s: {k: v for k, v in d.items()} for s, d in facts.items()},
           "ratios": rat, "not_measured": missing, "measurements": meas}
    res["targets"] = targets(summ, facts, rat, meas, missing)
    with open(os.path.join(a.dir, "results.json"), "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
    with open(os.path.join(a.dir, "results.md"), "w") as f:
        f.write(markdown(res))
    if not chart(a.dir, summ):
        print("report.py: no chart (fewer than two points per series, or gnuplot failed)")


if __name__ == "__main__":
    main()
