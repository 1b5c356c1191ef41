"""What an explicit queue row costs each write: raw DuckDB, a file, INSERT (+ INSERT) + COMMIT.

python benchmarks/semantic_queue_cost.py
"""

import os
import random
import statistics
import tempfile
import time
import uuid

import duckdb

path = os.path.join(tempfile.mkdtemp(prefix="padb-queue-"), "queue_cost.duckdb")
for p in (path, path + ".wal"):
    if os.path.exists(p):
        os.remove(p)
con = duckdb.connect(path)
con.execute(
    "CREATE TABLE m(id UUID PRIMARY KEY, conv UUID, seq INTEGER, content VARCHAR, "
    "created_at TIMESTAMP)"
)
con.execute("CREATE UNIQUE INDEX mi ON m(conv, seq)")
con.execute("CREATE TABLE q(id UUID, tbl VARCHAR, version INTEGER, queued_at TIMESTAMP)")
conv = uuid.uuid4()
seq = [0]


def write(queue):
    seq[0] += 1
    i = uuid.uuid4()
    con.execute("BEGIN")
    con.execute("INSERT INTO m VALUES (?, ?, ?, ?, now())", [i, conv, seq[0], "hello world " * 20])
    if queue:
        con.execute("INSERT INTO q VALUES (?, 'messages', NULL, now())", [i])
    con.execute("COMMIT")


res = {False: [], True: []}
cpu = {False: [], True: []}
for _ in range(40):
    for mode in random.sample([False, True], 2):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(25):
            write(mode)
        res[mode].append((time.perf_counter() - t) / 25 * 1e3)
        cpu[mode].append((time.process_time() - c) / 25 * 1e3)
a, b = statistics.median(res[False]), statistics.median(res[True])
print(
    f"per write p50: plain {a:.3f} ms (cpu {statistics.median(cpu[False]):.3f}), "
    f"with queue row {b:.3f} ms (cpu {statistics.median(cpu[True]):.3f}); "
    f"ratio {b / a:.2f}; load {os.getloadavg()}"
)
con.close()
os.remove(path)
