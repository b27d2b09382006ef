"""Which of our modules call back into a module that called them (issue 45: "calls go one way").

Traces every Python call (sys.setprofile) while `load_settings` composes a search and while
`run_proxy_design` runs a CI-sized design (the end-to-end test's sizes: 5 architectures, candidates
of 4 and 8 steps on 16 tiny images; the trainings run in Ray workers and are not traced), and prints
the module pairs (nas, search_space, proxy_tasks) that call each other both ways, with the counts.
Imports are checked apart (tests/test_layers.py: the module import graph is acyclic); what this
finds are callbacks and methods of objects handed down.

    python benchmarks/call_direction.py > benchmarks/runs/call-direction-<date>/output.txt
"""
import os, sys, collections, tempfile
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
import torch; torch.set_num_threads(1)
OURS = ("nas", "search_space", "proxy_tasks")
def modname(frame):
    m = frame.f_globals.get("__name__") or ""
    return m if m.split(".")[0] in OURS else None
edges = collections.Counter()
def prof(frame, event, arg):
    if event != "call":
        return
    callee = modname(frame)
    if callee is None:
        return
    f = frame.f_back
    while f is not None and modname(f) is None:
        f = f.f_back
    if f is not None and modname(f) != callee:
        edges[(modname(f), callee)] += 1
import proxy_tasks.design, nas.commands.proxy_design
from nas.commands.proxy_design import DesignOptions, run_proxy_design
proxy_tasks.design.MIN_STEPS = 3
nas.commands.proxy_design.TIMED_STEPS = 3
proxy_tasks.design.SIZES = (128,)
real = nas.commands.proxy_design.candidates
nas.commands.proxy_design.candidates = lambda rules, timings, budget_s, num_train, memory_mb=None: real(rules, timings, min(budget_s, min(t.seconds(8) for t in timings.values())), num_train, memory_mb)
out = tempfile.mkdtemp(prefix="pd")
ray_dir = tempfile.mkdtemp(prefix="rp", dir="/tmp")
overrides = ["proxy=synthetic_tiny", "proxy.data.max_train_images=16", "proxy.data.max_val_images=8", f"out_dir={out}/d", f"ray.temp_dir={ray_dir}", "progress_every_s=1000"]
def report(title):
    two = sorted({tuple(sorted(p)) for p in edges if (p[1], p[0]) in edges})
    print(f"{title}: {len(edges)} module call edges; {len(two)} two-way pairs")
    for a, b in two:
        print(f"  {a} <-> {b}  ({edges[(a, b)]} / {edges[(b, a)]})")
    edges.clear()


from nas.settings.search import load_settings

sys.setprofile(prof)
load_settings([])
sys.setprofile(None)
report("load_settings (conf/search.yaml)")
sys.setprofile(prof)
try:
    run_proxy_design(overrides, DesignOptions(budget_s=6.0, archs=2, seeds=2, reference=("epochs=1",)), log=lambda _m: None)
finally:
    sys.setprofile(None)
report("run_proxy_design (a CI-sized design)")
