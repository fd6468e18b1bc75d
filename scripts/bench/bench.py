#!/usr/bin/env python3
"""Helpers for scripts/bench/run.sh (standard library only).

  bench.py startup --repeats R name=BINARY ...   TSV of start-up times (exec to handshake), ms
  bench.py report --dir OUT                      markdown report from OUT/{machine.txt,steps.tsv,routes.tsv,startup.tsv}
  bench.py free-port                             a free TCP port on 127.0.0.1
"""
import argparse
import csv
import os
import re
import socket
import statistics
import subprocess
import sys
import time

# go-plugin handshake as Terraform sets it up (terraform-plugin-go, protocol 5 and 6).
HANDSHAKE_ENV = {
    "TF_PLUGIN_MAGIC_COOKIE": "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
    "PLUGIN_PROTOCOL_VERSIONS": "5,6",
}
HANDSHAKE_RE = re.compile(rb"^\d+\|\d+\|(unix|tcp)\|[^|]+\|grpc\|")
KINDS = ["terraform_data", "time_static", "capiscio_server_identity", "capiscio_no_badge", "tls_private_key"]
CAPISCIO = ("capiscio_server_identity", "capiscio_no_badge")  # kinds served by the local registry
STEPS = ["apply", "plan", "destroy"]
BACKENDS = ["local", "pg"]  # order of the report's sections


def launch_once(binary, env):
    """(wall seconds from exec to the go-plugin handshake line on stdout, CPU seconds of the
    process, user + system, all threads, killed right after the handshake). CPU time is the
    steadier number on a shared machine: it does not count time spent waiting for a core."""
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)
    line = p.stdout.readline()
    t1 = time.perf_counter()
    p.kill()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    if not HANDSHAKE_RE.match(line):
        sys.exit(f"bench.py: {binary} did not print a go-plugin handshake line (got {line[:120]!r})")
    return t1 - t0, ru.ru_utime + ru.ru_stime


def cmd_startup(args):
    targets = []
    for spec in args.binaries:
        name, _, path = spec.partition("=")
        if not path or not os.access(path, os.X_OK):
            sys.exit(f"bench.py: bad binary spec {spec!r}")
        targets.append((name, path))
    env = dict(os.environ, **HANDSHAKE_ENV)
    for _ in range(args.warmup):  # page cache, CPU frequency
        for _, path in targets:
            launch_once(path, env)
    print("provider\trun\tms\tcpu_ms")
    for i in range(args.repeats):  # interleaved, so load changes hit every binary alike
        for name, path in targets:
            wall, cpu = launch_once(path, env)
            print(f"{name}\t{i + 1}\t{wall * 1000:.2f}\t{cpu * 1000:.2f}")


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fmt(x, digits=1, na="–"):
    return na if x is None else f"{x:.{digits}f}"


def cmd_free_port(_args):
    """A free TCP port on 127.0.0.1 (free now; the caller retries if it is taken before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


class Steps:
    """steps.tsv rows by (backend, n, kind, step); rows without a backend column are local state."""

    def __init__(self, rows):
        self.by = {}
        for r in rows:
            self.by.setdefault((r.get("backend") or "local", int(r["n"]), r["kind"], r["step"]), []).append(r)
        self.backends = [b for b in BACKENDS if any(k[0] == b for k in self.by)]

    def med(self, backend, n, kind, step, col, agg=statistics.median):
        """Median (or agg) of col over repeats; None when there is no row or no value (empty = n/a)."""
        vals = [float(r[col]) for r in self.by.get((backend, n, kind, step), []) if r.get(col) not in (None, "")]
        return agg(vals) if vals else None

    def has(self, backend, n, kind, step):
        return (backend, n, kind, step) in self.by

    def ns(self, backend):
        return sorted({k[1] for k in self.by if k[0] == backend})

    def kinds(self, backend):
        return [k for k in KINDS if any(key[0] == backend and key[2] == k for key in self.by)]

    def extra(self, backend, n, kind, step):
        """Extra ms per resource over terraform_data at the same N, or None."""
        c, base = self.med(backend, n, kind, step, "seconds"), self.med(backend, n, "terraform_data", step, "seconds")
        return None if c is None or base is None else (c - base) / n * 1000


def ratio(a, b, digits=2):
    """a / b for extras: n/a when the denominator is not positive (at small N it is noise)."""
    if a is None or b is None:
        return "–"
    return fmt(a / b, digits) if b > 0 else "n/a"


def main_tables(S, b, w):
    """The per-backend tables: seconds and extras, capiscio ÷ tls, badge cost, CPU split."""
    ns, kinds = S.ns(b), S.kinds(b)
    w("| N | kind | apply s | plan s | destroy s | extra ms/res apply · plan · destroy | × time apply · plan · destroy "
      "| registry req apply · plan · destroy | state B/res | provider peak RSS MB | launches |")
    w("|--:|---|--:|--:|--:|---|---|---|--:|--:|---|")
    for n in ns:
        base = {s: S.med(b, n, "terraform_data", s, "seconds") for s in STEPS}
        tx = {s: S.extra(b, n, "time_static", s) for s in STEPS}
        for kind in kinds:
            secs = {s: S.med(b, n, kind, s, "seconds") for s in STEPS}
            extra, rat = [], []
            for s in STEPS:
                if kind == "terraform_data" or secs[s] is None or base[s] is None:
                    extra.append("–"); rat.append("–"); continue
                e = (secs[s] - base[s]) / n * 1000
                extra.append(fmt(e, 2))
                if kind == "time_static":
                    rat.append("1")
                elif tx[s] is not None and tx[s] > 0:
                    rat.append(fmt(e / tx[s], 2))
                else:
                    rat.append("n/a")
            if kind in CAPISCIO:
                req = " · ".join(fmt(S.med(b, n, kind, s, "registry_requests"), 0) for s in STEPS)
            else:
                req = "–"
            sb = S.med(b, n, kind, "apply", "state_bytes")
            rss = max((S.med(b, n, kind, s, "provider_maxrss_kb", max) or 0) for s in STEPS)
            launches = " · ".join(fmt(S.med(b, n, kind, s, "provider_launches"), 0) for s in STEPS)
            w(f"| {n} | {kind} | {fmt(secs['apply'], 2)} | {fmt(secs['plan'], 2)} | {fmt(secs['destroy'], 2)} "
              f"| {' · '.join(extra)} | {' · '.join(rat)} | {req} "
              f"| {fmt(None if sb is None else sb / n, 0, 'n/a')} "
              f"| {fmt(rss / 1024, 1) if rss else '–'} | {launches if kind != 'terraform_data' else '–'} |")
    w("")
    if "tls_private_key" in kinds:
        w("capiscio_server_identity ÷ tls_private_key (ED25519, hashicorp/tls: a provider that only makes a key), "
          "seconds per step at the same N; ≤ 1 means no slower:")
        w("")
        w("| N | apply | plan | destroy |")
        w("|--:|--:|--:|--:|")
        for n in ns:
            cells = []
            for s in STEPS:
                c, t = S.med(b, n, "capiscio_server_identity", s, "seconds"), S.med(b, n, "tls_private_key", s, "seconds")
                cells.append(fmt(None if c is None or not t else c / t, 2))
            w(f"| {n} | {' | '.join(cells)} |")
        w("")

    if "capiscio_no_badge" in kinds:
        w("What state bytes cost: capiscio_no_badge is the same identity with `issue_badge = false`, so the "
          "difference to capiscio_server_identity is its badge (one attribute in state, one registry call). "
          "ms/KB = extra ms per resource for each KB per resource of state (pretty-printed), the price of "
          "any attribute at that N:")
        w("")
        w("| N | state B/res full · no badge | apply ms/res full − no badge | destroy ms/res full − no badge "
          "| apply ms per KB/res | destroy ms per KB/res |")
        w("|--:|---|--:|--:|--:|--:|")
        for n in ns:
            bf = S.med(b, n, "capiscio_server_identity", "apply", "state_bytes")
            bn = S.med(b, n, "capiscio_no_badge", "apply", "state_bytes")
            if bf is None or bn is None or bf <= bn:
                continue
            kb = (bf - bn) / n / 1024
            diffs = []
            for st in ("apply", "destroy"):
                f, nb = S.med(b, n, "capiscio_server_identity", st, "seconds"), S.med(b, n, "capiscio_no_badge", st, "seconds")
                diffs.append(None if f is None or nb is None else (f - nb) / n * 1000)
            w(f"| {n} | {bf / n:.0f} · {bn / n:.0f} | {fmt(diffs[0], 2)} | {fmt(diffs[1], 2)} "
              f"| {fmt(None if diffs[0] is None else diffs[0] / kb, 2)} | {fmt(None if diffs[1] is None else diffs[1] / kb, 2)} |")
        w("")

    # CPU split (sums over all cores, so steadier than wall time on a shared machine).
    w("CPU seconds per step, apply · plan · destroy (user + system, all threads). Terraform core = terraform's "
      "process tree minus its plugin processes; provider = all plugin processes of the step; registry = the local "
      "registry process (capiscio only):")
    w("")
    w("| N | kind | wall s | Terraform core CPU s | provider CPU s | registry CPU s | provider CPU ms/res |")
    w("|--:|---|---|---|---|---|---|")
    for n in ns:
        for kind in kinds:
            def cell(s, col):
                return S.med(b, n, kind, s, col)
            wall = " · ".join(fmt(cell(s, "seconds"), 1) for s in STEPS)
            core = " · ".join(fmt(cell(s, "terraform_cpu_s") - cell(s, "provider_cpu_s"), 1)
                              if cell(s, "terraform_cpu_s") is not None and cell(s, "provider_cpu_s") is not None
                              else "–" for s in STEPS)
            if kind == "terraform_data":
                prov = reg = per = "–"
            else:
                prov = " · ".join(fmt(cell(s, "provider_cpu_s"), 2) for s in STEPS)
                per = " · ".join(fmt(None if cell(s, "provider_cpu_s") is None
                                     else cell(s, "provider_cpu_s") / n * 1000, 2) for s in STEPS)
                reg = (" · ".join(fmt(cell(s, "registry_cpu_s"), 2) for s in STEPS)
                       if kind in CAPISCIO else "–")
            w(f"| {n} | {kind} | {wall} | {core} | {prov} | {reg} | {per} |")
    w("")


def attributes_table(d, w):
    attrs = read_tsv(os.path.join(d, "state-attributes.tsv"))
    if not attrs:
        return
    w("State bytes of one instance by attribute (compact JSON; the state file is pretty-printed, so a little more):")
    w("")
    per_kind = {}
    for r in attrs:
        per_kind.setdefault(r["kind"], []).append((r["attribute"], int(r["bytes"])))
    w("| kind | total | largest attributes |")
    w("|---|--:|---|")
    for kind in [k for k in KINDS if k in per_kind]:
        items = sorted(per_kind[kind], key=lambda x: -x[1])
        top = ", ".join(f"`{a}` {b}" for a, b in items[:8] if b > 0)
        w(f"| {kind} | {sum(b for _, b in items)} | {top} |")
    w("")


def routes_table(routes, b, w):
    """Registry requests per resource by route (capiscio only, median over repeats)."""
    rr = {}
    for r in routes:
        if (r.get("backend") or "local") != b or r["kind"] != "capiscio_server_identity":
            continue  # capiscio_no_badge makes the same calls less the badge ones
        rr.setdefault((int(r["n"]), r["step"], r["route"]), []).append(float(r["requests"]))
    if not rr:
        return
    w("Registry requests per resource by route (capiscio_server_identity), and the TCP connections the step's "
      "clients opened (with connections kept alive, about -parallelism per provider process that calls the registry):")
    w("")
    w("| N | step | route | requests | per resource |")
    w("|--:|---|---|--:|--:|")
    for (n, s, route) in sorted(rr, key=lambda k: (k[0], STEPS.index(k[1]), k[2])):
        v = statistics.median(rr[(n, s, route)])
        w(f"| {n} | {s} | `{route}` | {v:.0f} | {v / n:.2f} |")
    w("")


def pg_summary(S, w):
    """Extras over terraform_data on the pg backend, and capiscio's ÷ time_static's and ÷ tls_private_key's."""
    kinds = [k for k in S.kinds("pg") if k != "terraform_data"]
    if not kinds:
        return
    has_tls = "tls_private_key" in kinds
    w("Summary, pg backend: extra ms per resource over terraform_data (= (seconds − terraform_data's) / N), "
      "and capiscio_server_identity's extra divided by time_static's"
      + (" and by tls_private_key's" if has_tls else "")
      + " (n/a: the floor's extra is not above zero at that N, which is noise):")
    w("")
    head = "| N | step | terraform_data s | " + " | ".join(f"{k} ms/res" for k in kinds) + " | capiscio ÷ time"
    head += " | capiscio ÷ tls |" if has_tls else " |"
    w(head)
    w("|--:|---|--:|" + "--:|" * len(kinds) + "--:|" + ("--:|" if has_tls else ""))
    for n in S.ns("pg"):
        for s in STEPS:
            ex = {k: S.extra("pg", n, k, s) for k in kinds}
            c = ex.get("capiscio_server_identity")
            row = (f"| {n} | {s} | {fmt(S.med('pg', n, 'terraform_data', s, 'seconds'), 2)} | "
                   + " | ".join(fmt(ex[k], 2) for k in kinds) + f" | {ratio(c, ex.get('time_static'))}")
            row += f" | {ratio(c, ex.get('tls_private_key'))} |" if has_tls else " |"
            w(row)
    w("")


def tls_ratios(S, b, w):
    """capiscio's extra over tls_private_key's measured three ways, for a shared machine where wall times wander."""
    if not all(k in S.kinds(b) for k in ("terraform_data", "capiscio_server_identity", "tls_private_key")):
        return

    def per_repeat(n, kind, step, cols):
        return [sum(float(r[c] or 0) for c in cols) for r in S.by.get((b, n, kind, step), [])]

    def extra(n, step, cols, agg):
        vals = {k: per_repeat(n, k, step, cols) for k in ("terraform_data", "capiscio_server_identity", "tls_private_key")}
        if not all(vals.values()):
            return "–"
        base = agg(vals["terraform_data"])
        return ratio(agg(vals["capiscio_server_identity"]) - base, agg(vals["tls_private_key"]) - base)

    w(f"capiscio_server_identity's extra over terraform_data divided by tls_private_key's ({b}), measured four ways: "
      "median seconds (the tables above); the fastest repeat of each kind (the least disturbed by other work on "
      "the machine); median CPU seconds of Terraform, its plugins and the local registry; and the same CPU without "
      "the local registry (which runs on the same cores here, and on CapiscIO's servers in production):")
    w("")
    w("| N | step | median s | fastest s | CPU s | CPU s without the registry | repeats |")
    w("|--:|---|--:|--:|--:|--:|--:|")
    for n in S.ns(b):
        for st in STEPS:
            reps = len(S.by.get((b, n, "capiscio_server_identity", st), []))
            w(f"| {n} | {st} | {extra(n, st, ['seconds'], statistics.median)} | {extra(n, st, ['seconds'], min)} "
              f"| {extra(n, st, ['terraform_cpu_s', 'registry_cpu_s'], statistics.median)} "
              f"| {extra(n, st, ['terraform_cpu_s'], statistics.median)} | {reps} |")
    w("")


def backends_compared(S, w):
    """At the largest N both backends ran: seconds and state bytes per resource of every kind side by side."""
    common = sorted(set(S.ns("local")) & set(S.ns("pg")))
    if not common:
        return
    n = common[-1]
    kinds = [k for k in KINDS if k in S.kinds("local") or k in S.kinds("pg")]
    w(f"Local state and pg side by side at N = {n}: seconds apply · plan · destroy, state bytes per resource "
      "(local: terraform.tfstate; pg: `terraform state pull`, the same JSON):")
    w("")
    w("| kind | local s | pg s | local ÷ pg | state B/res local · pg |")
    w("|---|---|---|---|--:|")
    for k in kinds:
        loc = [S.med("local", n, k, s, "seconds") for s in STEPS]
        pg = [S.med("pg", n, k, s, "seconds") for s in STEPS]
        div = " · ".join(fmt(None if a is None or not c else a / c, 1) for a, c in zip(loc, pg))
        sb = [S.med(b, n, k, "apply", "state_bytes") for b in ("local", "pg")]
        w(f"| {k} | {' · '.join(fmt(x, 2) for x in loc)} | {' · '.join(fmt(x, 2) for x in pg)} | {div} "
          f"| {' · '.join(fmt(None if x is None else x / n, 0, 'n/a') for x in sb)} |")
    w("")
    if "tls_private_key" in kinds:
        w(f"capiscio_server_identity ÷ tls_private_key, seconds per step at N = {n}:")
        w("")
        w("| backend | apply | plan | destroy |")
        w("|---|--:|--:|--:|")
        for b in ("local", "pg"):
            cells = []
            for s in STEPS:
                c, t = S.med(b, n, "capiscio_server_identity", s, "seconds"), S.med(b, n, "tls_private_key", s, "seconds")
                cells.append(fmt(None if c is None or not t else c / t, 2))
            w(f"| {b} | {' | '.join(cells)} |")
        w("")


TOTAL_RE = re.compile(r"Total samples = ([0-9.]+)(ms|s)?")
N_RE = re.compile(r"terraform (apply|destroy) of (\d+) ")


def profiles_section(d, w):
    """One line per profile-*.txt: CPU seconds sampled and ms per resource."""
    files = sorted(f for f in os.listdir(d) if f.startswith("profile-") and f.endswith(".txt"))
    if not files:
        return
    w("CPU profiles (`BENCH_PROFILE=1`; one extra apply and destroy, not in the tables above): "
      "`go tool pprof -top` summaries, top 25 by cumulative and by own time:")
    w("")
    w("| file | step | N | CPU s sampled | CPU ms/res |")
    w("|---|---|--:|--:|--:|")
    for f in files:
        text = open(os.path.join(d, f)).read()
        m, nm = TOTAL_RE.search(text), N_RE.search(text)
        total = None if not m else float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        n = int(nm.group(2)) if nm else None
        w(f"| `{f}` | {nm.group(1) if nm else '?'} | {n or '?'} | {fmt(total, 2)} "
          f"| {fmt(None if total is None or not n else total / n * 1000, 2)} |")
    w("")


def cmd_report(args):
    d = args.dir
    machine = {}
    if os.path.exists(os.path.join(d, "machine.txt")):
        for line in open(os.path.join(d, "machine.txt")):
            k, _, v = line.rstrip("\n").partition("=")
            machine[k] = v
    S = Steps(read_tsv(os.path.join(d, "steps.tsv")))
    routes = read_tsv(os.path.join(d, "routes.tsv"))
    startup = read_tsv(os.path.join(d, "startup.tsv"))

    o = []
    w = o.append
    w("# terraform-provider-capiscio: Terraform benchmark (`make bench-tf`)")
    w("")
    w(f"{machine.get('date', '?')} · {machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}), "
      f"{machine.get('mem', '?')} · Terraform {machine.get('terraform', '?')} · {machine.get('go', '?')} · "
      f"commit {machine.get('commit', '?')} · -parallelism={machine.get('parallelism', '?')} · "
      f"repeats (medians): {machine.get('repeats', '?')} · load average {machine.get('loadavg_start', '?')} "
      f"(start) / {machine.get('loadavg_end', '?')} (end) · run took {machine.get('duration_s', '?')} s · "
      f"provider build: {machine.get('capiscio_build', '?').strip()}"
      + (f" · state backends: {', '.join(S.backends)}" if S.backends else "")
      + (f" ({machine['pg']} for pg)" if machine.get("pg") and "pg" in S.backends else ""))
    w("")
    if machine.get("pg_skipped"):
        w(f"**pg backend skipped**: {machine['pg_skipped']}.")
        w("")
    w("Extra ms/resource = (step seconds − terraform_data's seconds at the same N) / N × 1000. "
      "× time = capiscio's extra / time_static's extra (1.0 = as cheap as the simplest plugin provider). "
      "Registry requests are counted by the local registry (`GET /debug/stats` before and after each step). "
      "State B/res = terraform.tfstate bytes after apply / N. Peak RSS is the largest provider process "
      "of any step; launches = plugin processes started per apply · plan · destroy.")
    w("")
    several = len(S.backends) > 1
    for i, b in enumerate(S.backends):
        if b == "pg":
            w("## Remote state: backend \"pg\"" if several else "## State backend \"pg\"")
            w("")
            w("The same steps with Terraform's built-in `backend \"pg\"` (a PostgreSQL server on loopback that the "
              "benchmark starts, one database per kind). Terraform writes remote state at the end of a command and "
              "at most every 20 s during it (`TF_STATE_PERSIST_INTERVAL`), not after every resource as with local "
              "state, so the provider's own cost shows. State B/res = `terraform state pull` bytes after apply / N "
              "(n/a when it could not be read).")
            w("")
        elif several:
            w("## Local state")
            w("")
        main_tables(S, b, w)
        if i == 0:
            attributes_table(d, w)
        routes_table(routes, b, w)
        if b == "pg":
            pg_summary(S, w)
        tls_ratios(S, b, w)
    if several:
        backends_compared(S, w)
    profiles_section(d, w)

    if startup:
        times, cpu = {}, {}
        for r in startup:
            times.setdefault(r["provider"], []).append(float(r["ms"]))
            if r.get("cpu_ms"):
                cpu.setdefault(r["provider"], []).append(float(r["cpu_ms"]))
        ref = statistics.median(times["time"]) if "time" in times else None
        cref = statistics.median(cpu["time"]) if "time" in cpu else None
        w(f"Provider start-up, exec to go-plugin handshake line ({len(next(iter(times.values())))} interleaved "
          "launches each; CPU = user + system of the process until it is killed right after the handshake):")
        w("")
        w("| provider | median ms | min ms | max ms | median ÷ time's | CPU median ms | CPU ÷ time's |")
        w("|---|--:|--:|--:|--:|--:|--:|")
        for name, v in times.items():
            m = statistics.median(v)
            c = statistics.median(cpu[name]) if name in cpu else None
            w(f"| {name} | {m:.1f} | {min(v):.1f} | {max(v):.1f} | {fmt(m / ref if ref else None, 2)} "
              f"| {fmt(c)} | {fmt(c / cref if c is not None and cref else None, 2)} |")
        if ref and "capiscio" in times:
            r = statistics.median(times["capiscio"]) / ref
            w("")
            w(f"Start-up target (capiscio's median within 1.1× of hashicorp/time's): **{'met' if r <= 1.1 else 'NOT met'}** "
              f"({r:.2f}×; min {min(times['capiscio']) / min(times['time']):.2f}×). Wall times on a loaded machine "
              "mostly measure waiting for a core: check the load average above and the CPU column.")
        w("")
    print("\n".join(o))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("startup")
    s.add_argument("--repeats", type=int, default=20)
    s.add_argument("--warmup", type=int, default=2)
    s.add_argument("binaries", nargs="+", help="name=path")
    r = sub.add_parser("report")
    r.add_argument("--dir", required=True)
    sub.add_parser("free-port")
    a = p.parse_args()
    {"startup": cmd_startup, "report": cmd_report, "free-port": cmd_free_port}[a.cmd](a)


if __name__ == "__main__":
    main()
