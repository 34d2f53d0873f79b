"""happybase 1.3.0, unchanged, against Strata's Thrift server, in all four of its modes
(buffered or framed transport, binary or compact protocol). Each group prints `ok <group>`;
the expected answers are what HBase gives for the same calls (HBase reference guide: versions,
timestamps as upper bounds, deletes of every version of a column, Thrift defaults)."""

import os
import struct
import threading

import happybase

HOST, PORT = os.environ["STRATA_THRIFT"].rsplit(":", 1)
PORT = int(PORT)


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def connection(transport, protocol):
    return happybase.Connection(HOST, PORT, transport=transport, protocol=protocol)


def tables_and_families(conn, name):
    conn.create_table(name, {"cf": dict(max_versions=3), "meta": dict()})
    check(name.encode() in conn.tables(), "the new table is listed")
    check(conn.is_table_enabled(name), "a new table is enabled")
    families = conn.table(name).families()
    check(sorted(families) == [b"cf", b"meta"], f"families {families}")
    check(families[b"cf"]["max_versions"] == 3, "cf keeps 3 versions")
    check(families[b"meta"]["max_versions"] == 3, "Thrift's default is 3 versions")
    try:
        conn.create_table(name, {"cf": dict()})
        raise AssertionError("a second create of the table must fail")
    except Exception as e:  # happybase raises Hbase.AlreadyExists
        check("AlreadyExists" in type(e).__name__, f"AlreadyExists, not {e!r}")
    regions = conn.table(name).regions()
    check(len(regions) == 1 and regions[0]["start_key"] == b"", f"regions {regions}")
    return "tables and families"


def versions_and_timestamps(table):
    for ts in (10, 20, 30, 40):
        table.put(b"r1", {b"cf:a": b"a%d" % (ts // 10)}, timestamp=ts)
    cells = table.cells(b"r1", b"cf:a", versions=10, include_timestamp=True)
    check(cells == [(b"a4", 40), (b"a3", 30), (b"a2", 20)], f"3 versions kept: {cells}")
    older = table.cells(b"r1", b"cf:a", versions=2, timestamp=35)
    check(older == [b"a3", b"a2"], f"a timestamp reads below it: {older}")
    check(table.row(b"r1", timestamp=25) == {b"cf:a": b"a2"}, "row at a timestamp")
    table.put(b"r1", {b"cf:b": b"b1", b"meta:m": b"x"})
    check(
        table.row(b"r1") == {b"cf:a": b"a4", b"cf:b": b"b1", b"meta:m": b"x"},
        f"row {table.row(b'r1')}",
    )
    check(
        table.row(b"r1", columns=[b"cf:b", b"meta"]) == {b"cf:b": b"b1", b"meta:m": b"x"},
        "row with a column and a family",
    )
    check(table.row(b"r1", include_timestamp=True)[b"cf:a"] == (b"a4", 40), "timestamps")
    rows = table.rows([b"r1", b"missing", b"r1"])
    check([k for k, _ in rows] == [b"r1", b"r1"], f"missing rows are left out: {rows}")
    check(table.row(b"missing") == {}, "a missing row is empty")
    return "versions and timestamps"


def batches_and_deletes(table):
    with table.batch() as b:
        for i in range(2, 10):
            b.put(b"r%d" % i, {b"cf:a": b"v%d" % i, b"cf:b": b"w%d" % i})
        b.delete(b"r3")
    check(table.row(b"r3") == {}, "a row deleted in the batch")
    with table.batch(transaction=True) as b:
        b.delete(b"r1", columns=[b"cf:b"])
    check(b"cf:b" not in table.row(b"r1"), "a column delete")
    table.delete(b"r1", columns=[b"meta"])
    check(b"meta:m" not in table.row(b"r1"), "a family delete")
    table.delete(b"r4")
    check(table.row(b"r4") == {}, "a row delete")
    table.put(b"r1", {b"cf:a": b"a5"}, timestamp=50)
    table.delete(b"r1", columns=[b"cf:a"], timestamp=40)
    left = table.cells(b"r1", b"cf:a", versions=10, include_timestamp=True)
    check(left == [(b"a5", 50)], f"a delete at a timestamp removes every older version: {left}")
    return "batches and deletes"


def scans(table):
    keys = [k for k, _ in table.scan()]
    expected = [b"r1", b"r2", b"r5", b"r6", b"r7", b"r8", b"r9"]
    check(keys == expected, f"scan {keys}")
    check([k for k, _ in table.scan(row_start=b"r5", row_stop=b"r8")] == [b"r5", b"r6", b"r7"], "range")
    check([k for k, _ in table.scan(row_prefix=b"r1")] == [b"r1"], "prefix")
    found = [k for k, _ in table.scan(filter=b"ValueFilter(=, 'binary:v7')")]
    check(found == [b"r7"], f"filter {found}")
    check([k for k, _ in table.scan(reverse=True)] == expected[::-1], "reversed")
    check([k for k, _ in table.scan(limit=2)] == expected[:2], "limit")
    check([k for k, _ in table.scan(batch_size=1)] == expected, "one row per call")
    only = [d for _, d in table.scan(row_start=b"r5", columns=[b"cf:a"], limit=1)]
    check(only == [{b"cf:a": b"v5"}], f"columns {only}")
    sorted_row = next(iter(table.scan(row_start=b"r5", sorted_columns=True)))[1]
    check(list(sorted_row) == [b"cf:a", b"cf:b"], f"sorted columns {list(sorted_row)}")
    parts = [d for k, d in table.scan(row_start=b"r5", row_stop=b"r6", scan_batching=1)]
    check(parts == [{b"cf:a": b"v5"}, {b"cf:b": b"w5"}], f"a row in batches {parts}")
    with_ts = next(iter(table.scan(row_start=b"r1", include_timestamp=True)))[1]
    check(with_ts[b"cf:a"] == (b"a5", 50), f"timestamps in scans {with_ts}")
    old = [d for _, d in table.scan(row_start=b"r1", row_stop=b"r2", timestamp=45)]
    check(old == [], f"a scan at a timestamp sees nothing past the deletes: {old}")
    try:
        list(table.scan(filter=b"ValueFilter(=, "))
        raise AssertionError("a malformed filter must fail")
    except Exception as e:
        check("filter" in str(e).lower(), f"the error names the filter: {e!r}")
    return "scans"


def counters(table):
    check(table.counter_get(b"c", b"cf:n") == 0, "a new counter is 0")
    check(table.counter_inc(b"c", b"cf:n") == 1, "inc")
    check(table.counter_inc(b"c", b"cf:n", value=10) == 11, "inc by 10")
    check(table.counter_dec(b"c", b"cf:n", value=3) == 8, "dec")
    table.counter_set(b"c", b"cf:n", 42)
    check(table.counter_get(b"c", b"cf:n") == 42, "set")
    raw = table.row(b"c")[b"cf:n"]
    check(raw == struct.pack(">q", 42), "8-byte big-endian")
    return "counters"


def enable_disable_and_drop(conn, name):
    conn.disable_table(name)
    check(not conn.is_table_enabled(name), "disabled")
    conn.enable_table(name)
    check(conn.is_table_enabled(name), "enabled again")
    check(conn.table(name).row(b"r2") == {b"cf:a": b"v2", b"cf:b": b"w2"}, "data survives")
    conn.delete_table(name, disable=True)
    check(name.encode() not in conn.tables(), "dropped")
    return "enable, disable and drop"


def pool():
    p = happybase.ConnectionPool(size=3, host=HOST, port=PORT)
    with p.connection() as conn:
        conn.create_table("pooled", {"cf": dict()})
    errors = []

    def work(i):
        try:
            with p.connection() as conn:
                t = conn.table("pooled")
                for j in range(20):
                    t.put(b"t%d-%02d" % (i, j), {b"cf:x": b"%d" % j})
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, f"pool errors {errors}")
    with p.connection() as conn:
        rows = list(conn.table("pooled").scan())
        check(len(rows) == 120, f"{len(rows)} rows")
        conn.delete_table("pooled", disable=True)
    return "connection pool"


for transport in ("buffered", "framed"):
    for protocol in ("binary", "compact"):
        mode = f"{transport}/{protocol}"
        conn = connection(transport, protocol)
        name = f"happy_{transport}_{protocol}"
        t = conn.table(name)
        for group in (
            lambda: tables_and_families(conn, name),
            lambda: versions_and_timestamps(t),
            lambda: batches_and_deletes(t),
            lambda: scans(t),
            lambda: counters(t),
            lambda: enable_disable_and_drop(conn, name),
        ):
            print(f"ok {group()} ({mode})", flush=True)
        conn.close()
print(f"ok {pool()}", flush=True)
