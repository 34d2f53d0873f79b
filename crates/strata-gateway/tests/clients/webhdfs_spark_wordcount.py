"""Spark (pyspark in local mode, unchanged) on Strata through webhdfs://: writes a text dataset,
counts its words, writes the counts back, and compares them with a count made in Python.
Prints `ok ...` when they agree."""

import collections
import os
import random

from pyspark.sql import SparkSession

os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
base = "webhdfs://" + os.environ["STRATA_WEBHDFS"].removeprefix("http://") + "/spark"
random.seed(7)
vocabulary = [f"word{i}" for i in range(300)] + ["strata", "spark", "hdfs"]
lines = [" ".join(random.choices(vocabulary, k=random.randint(0, 20))) for _ in range(20000)]

spark = (
    SparkSession.builder.master("local[2]")
    .appName("strata-wordcount")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.hadoop.dfs.replication", "2")
    .getOrCreate()
)
sc = spark.sparkContext
sc.setLogLevel("ERROR")
sc.parallelize(lines, 4).saveAsTextFile(base + "/in")
counts = (
    sc.textFile(base + "/in")
    .flatMap(str.split)
    .map(lambda word: (word, 1))
    .reduceByKey(lambda a, b: a + b)
)
counts.map(lambda kv: f"{kv[0]}\t{kv[1]}").saveAsTextFile(base + "/out")
back = sc.textFile(base + "/out").map(lambda line: line.split("\t")).collect()
spark.stop()

expected = collections.Counter(word for line in lines for word in line.split())
got = {word: int(count) for word, count in back}
assert got == dict(expected), (len(got), len(expected))
print(f"ok spark counted {sum(got.values())} words of {len(got)} kinds through webhdfs")
