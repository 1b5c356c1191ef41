"""Exact cosine scan vs an HNSW index (vss) over N synthetic FLOAT[384] vectors (issue 16, point 5).

Needs the vss wheel, which the library does not depend on::

    pip install duckdb-extension-vss==1.5.5
    python benchmarks/semantic_hnsw.py 100000     # the build takes minutes (464 s CPU at 100k)
"""

import os
import resource
import statistics
import sys
import tempfile
import time

import duckdb
import numpy as np
import pyarrow as pa

from project_architect_db.core.extensions import wheel_extension_path

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
path = os.path.join(tempfile.mkdtemp(prefix="padb-hnsw-"), f"hnsw_{N}.duckdb")
for p in (path, path + ".wal"):
    if os.path.exists(p):
        os.remove(p)
con = duckdb.connect(
    path, config={"memory_limit": "3GB", "threads": "2", "allow_unsigned_extensions": "true"}
)
rng = np.random.default_rng(7)
vec = rng.standard_normal((N, 384), dtype=np.float32)
vec /= np.linalg.norm(vec, axis=1, keepdims=True)
projects = rng.integers(0, 1000, N)
pids = np.array([f"{i:032x}" for i in range(1000)])[projects]
tbl = pa.table(
    {
        "id": pa.array(range(N)),
        "project_id": pa.array(pids),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vec.ravel()), 384),
    }
)
con.execute("CREATE TABLE chunks(id BIGINT, project_id VARCHAR, embedding FLOAT[384])")
con.execute("INSERT INTO chunks SELECT * FROM tbl ORDER BY project_id")
con.execute("CHECKPOINT")


def q():
    v = rng.standard_normal(384).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


SCORE = "array_cosine_similarity(embedding, $q::FLOAT[384]) s FROM chunks"
EXACT = f"SELECT id, {SCORE} ORDER BY s DESC LIMIT 10"
EXACT_P = f"SELECT id, {SCORE} WHERE project_id = $p ORDER BY s DESC LIMIT 10"
HNSW = "SELECT id FROM chunks ORDER BY array_cosine_distance(embedding, $q::FLOAT[384]) LIMIT 10"


def timeit(sql, n=15, **kw):
    wall, cpu, res = [], [], []
    for _ in range(n):
        qq = q()
        t, c = time.perf_counter(), time.process_time()
        r = con.execute(sql, {"q": qq, **kw}).fetchall()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        res.append((qq, r))
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3, res


print("load", os.getloadavg(), "N", N, flush=True)
w, c, _ = timeit(EXACT)
print(f"exact all: p50 wall {w:.1f} ms cpu {c:.1f} ms", flush=True)
w, c, _ = timeit(EXACT_P, p=f"{5:032x}")
print(f"exact project: p50 wall {w:.1f} ms cpu {c:.1f} ms", flush=True)
con.execute(f"LOAD '{wheel_extension_path('vss')}'")
con.execute("SET hnsw_enable_experimental_persistence = true")
t, c = time.perf_counter(), time.process_time()
con.execute("CREATE INDEX hnsw ON chunks USING HNSW (embedding) WITH (metric = 'cosine')")
print(
    f"hnsw build: wall {time.perf_counter() - t:.1f} s cpu {time.process_time() - c:.1f} s "
    f"load {os.getloadavg()}",
    flush=True,
)
con.execute("CHECKPOINT")
print("file MB", os.path.getsize(path) / 1e6, flush=True)
print(con.execute("EXPLAIN " + HNSW, {"q": q()}).fetchall()[0][1][:400], flush=True)
for ef in (None, 16, 64):
    if ef:
        con.execute(f"SET hnsw_ef_search = {ef}")
    w, c, res = timeit(HNSW)
    rec = []
    for qq, r in res[:10]:
        exact = {x[0] for x in con.execute(EXACT, {"q": qq}).fetchall()}
        rec.append(len(exact & {x[0] for x in r}) / 10)
    print(
        f"hnsw ef={ef}: p50 wall {w:.1f} ms cpu {c:.1f} ms recall@10 {statistics.mean(rec):.3f}",
        flush=True,
    )
w, c, _ = timeit(EXACT_P, p=f"{5:032x}")
print(f"exact project with index present: p50 wall {w:.1f} ms cpu {c:.1f} ms", flush=True)
print(
    "maxrss MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, "load", os.getloadavg()
)
con.close()
os.remove(path)
