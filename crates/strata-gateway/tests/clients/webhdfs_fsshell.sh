#!/usr/bin/env bash
# Hadoop's own FileSystem shell (FsShell, from the Hadoop jars inside the pyspark package, run
# with the machine's Java) against Strata's WebHDFS face on webhdfs:// paths, unchanged.
# Prints `ok ...` per group.
set -euo pipefail

nn="webhdfs://${STRATA_WEBHDFS#http://}"
jars="$(python3 -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The shell wants a core-site.xml on its class path, even an empty one.
mkdir "$work/conf"
echo '<?xml version="1.0"?><configuration></configuration>' >"$work/conf/core-site.xml"
export HADOOP_USER_NAME=alice

hadoop_fs() {
  java -cp "$work/conf:$jars/*" org.apache.hadoop.fs.FsShell "$@" 2> >(grep -v NativeCodeLoader >&2)
}

head -c $((10 * 1024 * 1024 + 5)) /dev/urandom >"$work/big.bin"
seq 1 20000 >"$work/numbers.txt"

hadoop_fs -mkdir -p "$nn/shell/in"
hadoop_fs -put "$work/big.bin" "$work/numbers.txt" "$nn/shell/in/"
listing="$(hadoop_fs -ls "$nn/shell/in")"
echo "$listing"
grep -q "alice supergroup   *10485765 .*/shell/in/big.bin" <<<"$listing"
grep -q "numbers.txt" <<<"$listing"
echo "ok mkdir, put and ls"

cmp <(hadoop_fs -cat "$nn/shell/in/numbers.txt") "$work/numbers.txt"
hadoop_fs -get "$nn/shell/in/big.bin" "$work/back.bin"
cmp "$work/big.bin" "$work/back.bin"
echo "ok cat and get, bytes compared"

hadoop_fs -cp "$nn/shell/in/big.bin" "$nn/shell/copy.bin"
sums="$(hadoop_fs -checksum "$nn/shell/in/big.bin" "$nn/shell/copy.bin")"
echo "$sums"
[ "$(cut -f2- <<<"$sums" | sort -u | wc -l)" = 1 ] || { echo "copies differ"; exit 1; }
# Hadoop writes with its own block size, 128 MiB: one block.
grep -q "MD5-of-0MD5-of-4096CRC32C	00001000" <<<"$sums"
hadoop_fs -rm "$nn/shell/copy.bin"
echo "ok cp and checksum"

hadoop_fs -mv "$nn/shell/in/numbers.txt" "$nn/shell/moved.txt"
hadoop_fs -test -e "$nn/shell/moved.txt"
! hadoop_fs -test -e "$nn/shell/in/numbers.txt"
echo 20001 >"$work/more.txt"
hadoop_fs -appendToFile "$work/more.txt" "$nn/shell/moved.txt"
cmp <(hadoop_fs -cat "$nn/shell/moved.txt") <(seq 1 20001)
hadoop_fs -setrep 2 "$nn/shell/moved.txt"
hadoop_fs -chmod 640 "$nn/shell/moved.txt"
stat="$(hadoop_fs -stat '%n %r %a %u %b' "$nn/shell/moved.txt")"
[ "$stat" = "moved.txt 2 640 alice $(seq 1 20001 | wc -c)" ] || { echo "stat: $stat"; exit 1; }
count="$(hadoop_fs -count "$nn/shell")"
[ "$(awk '{print $1, $2, $3}' <<<"$count")" = "2 2 $((10485765 + $(seq 1 20001 | wc -c)))" ] || {
  echo "count: $count"
  exit 1
}
echo "ok mv, test, appendToFile, setrep, chmod, stat and count"

hadoop_fs -truncate -w 1000 "$nn/shell/moved.txt"
cmp <(hadoop_fs -cat "$nn/shell/moved.txt") <(seq 1 20001 | head -c 1000)
echo "ok truncate"

hadoop_fs -rm "$nn/shell/moved.txt"
hadoop_fs -rm -r "$nn/shell"
! hadoop_fs -test -e "$nn/shell"
echo "ok rm"
