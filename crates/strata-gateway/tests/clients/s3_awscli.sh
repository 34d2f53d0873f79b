#!/usr/bin/env bash
# The aws CLI against Strata's S3 endpoint: high-level `aws s3` commands and a few `s3api`
# calls, bytes compared. Run by tests/s3/clients.rs with STRATA_S3_ENDPOINT and the AWS_*
# variables set; stops at the first failing check.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
s3() { aws --endpoint-url "$STRATA_S3_ENDPOINT" s3 "$@"; }
api() { aws --endpoint-url "$STRATA_S3_ENDPOINT" s3api "$@"; }
ok() { echo "ok $*"; }

s3 mb s3://cli-test
s3 ls | grep -q " cli-test$"
ok "mb, ls buckets"

head -c 20971520 /dev/urandom > "$work/big.bin"   # multipart with the CLI's 8 MiB parts
printf 'hello strata\n' > "$work/small.txt"
s3 cp "$work/big.bin" s3://cli-test/data/big.bin
s3 cp "$work/small.txt" s3://cli-test/data/small.txt
s3 cp s3://cli-test/data/big.bin "$work/big.back"
cmp "$work/big.bin" "$work/big.back"
[ "$(aws --endpoint-url "$STRATA_S3_ENDPOINT" s3 cp s3://cli-test/data/small.txt -)" = "hello strata" ]
ok "cp up and down (multipart), bytes equal"

listing=$(s3 ls s3://cli-test/)
grep -q "PRE data/" <<<"$listing"
recursive=$(s3 ls --recursive s3://cli-test/)
grep -q " 20971520 data/big.bin$" <<<"$recursive"
grep -q " 13 data/small.txt$" <<<"$recursive"
ok "ls with and without --recursive"

s3 cp s3://cli-test/data/small.txt s3://cli-test/copy/small.txt
s3 mv s3://cli-test/copy/small.txt s3://cli-test/moved/small.txt
[ "$(aws --endpoint-url "$STRATA_S3_ENDPOINT" s3 cp s3://cli-test/moved/small.txt -)" = "hello strata" ]
! s3 ls s3://cli-test/copy/small.txt >/dev/null
ok "cp and mv within the endpoint"

mkdir -p "$work/tree/a/b"
for i in 1 2 3; do echo "file $i" > "$work/tree/a/b/f$i"; done
echo top > "$work/tree/top"
s3 sync "$work/tree" s3://cli-test/tree
s3 sync s3://cli-test/tree "$work/tree.back"
diff -r "$work/tree" "$work/tree.back"
ok "sync both ways"

api get-object --bucket cli-test --key data/big.bin --range bytes=1048576-1048675 "$work/range" >/dev/null
cmp "$work/range" <(tail -c +1048577 "$work/big.bin" | head -c 100)
pages=$(api list-objects-v2 --bucket cli-test --page-size 2 --query 'Contents[].Key' --output text)
[ "$(wc -w <<<"$pages")" = 7 ] || { echo "listed: $pages"; exit 1; }
prefixes=$(api list-objects-v2 --bucket cli-test --delimiter / --query 'CommonPrefixes[].Prefix' --output text)
[ "$prefixes" = "data/	moved/	tree/" ] || { echo "prefixes: $prefixes"; exit 1; }
ok "s3api ranged get, paged listing, delimiter"

s3 rm --recursive s3://cli-test/
[ -z "$(s3 ls --recursive s3://cli-test/)" ]
s3 rb s3://cli-test
! s3 ls s3://cli-test 2>/dev/null
ok "rm --recursive, rb"
