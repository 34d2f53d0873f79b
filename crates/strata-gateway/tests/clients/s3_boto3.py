"""boto3 against Strata's S3 endpoint: every call a real client makes, bytes compared.

Run by tests/s3/clients.rs with STRATA_S3_ENDPOINT, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY set; exits non-zero on the first check that fails.
"""

import hashlib
import os
import sys
import tempfile
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["STRATA_S3_ENDPOINT"]
BUCKET = "boto3-test"


def client(**extra):
    return boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", **extra)


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded where it should fail")


STARTED = time.monotonic()


def check(name):
    print(f"ok {name} ({time.monotonic() - STARTED:.1f} s)", flush=True)


def buckets(s3):
    s3.create_bucket(Bucket=BUCKET)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert BUCKET in names, names
    assert not any(n.startswith(".") for n in names), names
    s3.head_bucket(Bucket=BUCKET)
    assert error_code(s3.create_bucket, Bucket=BUCKET) == "BucketAlreadyOwnedByYou"
    assert error_code(s3.head_bucket, Bucket="no-such-bucket") in ("404", "NoSuchBucket")
    assert error_code(s3.list_objects_v2, Bucket="no-such-bucket") == "NoSuchBucket"
    check("buckets")


def put_get_range(s3):
    data = os.urandom(3 * 1024 * 1024 + 17)
    put = s3.put_object(
        Bucket=BUCKET,
        Key="dir/sub/object.bin",
        Body=data,
        ContentType="application/x-strata-test",
        Metadata={"colour": "blue"},
    )
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"', put["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key="dir/sub/object.bin")
    assert got["Body"].read() == data
    assert got["ContentType"] == "application/x-strata-test"
    assert got["Metadata"] == {"colour": "blue"}, got["Metadata"]
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=BUCKET, Key="dir/sub/object.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == put["ETag"]
    for spec, expect in [
        ("bytes=0-0", data[0:1]),
        ("bytes=1000-1999999", data[1000:2000000]),
        ("bytes=-100", data[-100:]),
        (f"bytes={len(data) - 5}-", data[-5:]),
        (f"bytes=10-{len(data) + 100}", data[10:]),
    ]:
        part = s3.get_object(Bucket=BUCKET, Key="dir/sub/object.bin", Range=spec)
        assert part["Body"].read() == expect, spec
        assert part["ContentRange"].endswith(f"/{len(data)}"), part["ContentRange"]
    assert (
        error_code(s3.get_object, Bucket=BUCKET, Key="dir/sub/object.bin", Range=f"bytes={len(data)}-")
        == "InvalidRange"
    )
    # A second put replaces the object whole.
    s3.put_object(Bucket=BUCKET, Key="dir/sub/object.bin", Body=b"short")
    assert s3.get_object(Bucket=BUCKET, Key="dir/sub/object.bin")["Body"].read() == b"short"
    s3.put_object(Bucket=BUCKET, Key="empty", Body=b"")
    assert s3.get_object(Bucket=BUCKET, Key="empty")["Body"].read() == b""
    assert error_code(s3.get_object, Bucket=BUCKET, Key="missing") == "NoSuchKey"
    assert error_code(s3.head_object, Bucket=BUCKET, Key="missing") in ("404", "NoSuchKey")
    assert error_code(s3.get_object, Bucket=BUCKET, Key="dir/sub") == "NoSuchKey"
    etag = s3.head_object(Bucket=BUCKET, Key="empty")["ETag"]
    assert error_code(s3.get_object, Bucket=BUCKET, Key="empty", IfNoneMatch=etag) in ("304", "NotModified")
    assert error_code(s3.get_object, Bucket=BUCKET, Key="empty", IfMatch='"other"') in ("412", "PreconditionFailed")
    assert error_code(s3.put_object, Bucket=BUCKET, Key="empty", Body=b"x", IfNoneMatch="*") in ("412", "PreconditionFailed")
    check("put, get, range get, head, conditions")


def keys_that_cannot_be_paths(s3):
    for key in ["a//b", "a/../b", "./a", "/lead"]:
        assert error_code(s3.put_object, Bucket=BUCKET, Key=key, Body=b"x") == "InvalidArgument", key
    s3.put_object(Bucket=BUCKET, Key="file", Body=b"x")
    assert error_code(s3.put_object, Bucket=BUCKET, Key="file/under", Body=b"x") == "KeyConflictsWithPath"
    assert error_code(s3.put_object, Bucket=BUCKET, Key="dir", Body=b"x") == "KeyConflictsWithPath"
    assert s3.get_object(Bucket=BUCKET, Key="file")["Body"].read() == b"x"
    s3.delete_object(Bucket=BUCKET, Key="file")
    check("keys that cannot be paths get clear errors")


def listing(s3):
    bucket = "boto3-list"
    s3.create_bucket(Bucket=bucket)
    keys = sorted(
        ["a-b", "a/b", "a/c/d", "a/c/e", "a.txt", "b", "c/x y+z%.txt", "c/ü.txt"]
        + [f"many/{i:03}" for i in range(25)]
    )
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    everything = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert everything == keys, everything
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a-b", "a.txt", "b"], top["Contents"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "c/", "many/"]
    under_a = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in under_a["Contents"]] == ["a/b"]
    assert [p["Prefix"] for p in under_a["CommonPrefixes"]] == ["a/c/"]
    partial = s3.list_objects_v2(Bucket=bucket, Prefix="a")
    assert [o["Key"] for o in partial["Contents"]] == [k for k in keys if k.startswith("a")]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="a/c/d")
    assert [o["Key"] for o in after["Contents"]] == [k for k in keys if k > "a/c/d"]
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 4}
        )
    )
    assert len(pages) == -(-len(keys) // 4), len(pages)
    assert all(p["KeyCount"] <= 4 for p in pages)
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == keys
    folded = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    lines = [o["Key"] for p in folded for o in p.get("Contents", [])]
    lines += [c["Prefix"] for p in folded for c in p.get("CommonPrefixes", [])]
    assert sorted(lines) == ["a-b", "a.txt", "a/", "b", "c/", "many/"], lines
    v1 = s3.list_objects(Bucket=bucket, Prefix="many/", MaxKeys=10)
    assert v1["IsTruncated"] and len(v1["Contents"]) == 10
    assert s3.get_object(Bucket=bucket, Key="c/x y+z%.txt")["Body"].read() == b"c/x y+z%.txt"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="nothing/").get("Contents") is None
    assert s3.list_objects_v2(Bucket=bucket, Prefix="a//").get("Contents") is None
    check("list with prefix, delimiter, start-after and pagination")
    return bucket, keys


def folders(s3):
    s3.put_object(Bucket=BUCKET, Key="folder/", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="folder/inner", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="folder/inner")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="folder")["Contents"]]
    assert keys == ["folder/"], keys
    assert s3.head_object(Bucket=BUCKET, Key="folder/")["ContentLength"] == 0
    s3.put_object(Bucket=BUCKET, Key="implicit/deep/key", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="implicit/deep/key")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="implicit").get("Contents") is None
    s3.delete_object(Bucket=BUCKET, Key="folder/")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="folder").get("Contents") is None
    check("folder objects, and directories that vanish with their last key")


def copy_and_delete(s3, list_bucket, keys):
    data = os.urandom(2 * 1024 * 1024)
    source = s3.put_object(Bucket=BUCKET, Key="copy/source", Body=data, ContentType="text/x-a")
    copied = s3.copy_object(Bucket=list_bucket, Key="copied/target", CopySource={"Bucket": BUCKET, "Key": "copy/source"})
    assert copied["CopyObjectResult"]["ETag"] == source["ETag"]
    target = s3.get_object(Bucket=list_bucket, Key="copied/target")
    assert target["Body"].read() == data
    assert target["ContentType"] == "text/x-a"
    s3.copy_object(
        Bucket=BUCKET,
        Key="copy/replaced",
        CopySource={"Bucket": BUCKET, "Key": "copy/source"},
        MetadataDirective="REPLACE",
        ContentType="text/x-b",
    )
    assert s3.head_object(Bucket=BUCKET, Key="copy/replaced")["ContentType"] == "text/x-b"
    assert error_code(s3.copy_object, Bucket=BUCKET, Key="x", CopySource={"Bucket": BUCKET, "Key": "nope"}) == "NoSuchKey"
    assert error_code(s3.delete_bucket, Bucket=list_bucket) == "BucketNotEmpty"
    s3.delete_object(Bucket=list_bucket, Key="never-there")
    gone = s3.delete_objects(
        Bucket=list_bucket,
        Delete={"Objects": [{"Key": k} for k in keys + ["copied/target", "a//b"]]},
    )
    assert sorted(d["Key"] for d in gone["Deleted"]) == sorted(keys + ["copied/target"])
    assert [e["Key"] for e in gone["Errors"]] == ["a//b"], gone["Errors"]
    assert s3.list_objects_v2(Bucket=list_bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=list_bucket)
    assert list_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check("copy, delete, delete many, delete bucket")


def multipart(s3):
    size = 100 * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.bin")
        block = os.urandom(1024 * 1024)
        with open(path, "wb") as f:
            for i in range(size // len(block)):
                f.write(bytes([i % 251]) + block[1:])
        config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024)
        s3.upload_file(path, BUCKET, "multi/big.bin", Config=config)
        head = s3.head_object(Bucket=BUCKET, Key="multi/big.bin")
        assert head["ContentLength"] == size
        assert head["ETag"].endswith('-7"'), head["ETag"]
        back = os.path.join(tmp, "back.bin")
        s3.download_file(BUCKET, "multi/big.bin", back)
        with open(path, "rb") as a, open(back, "rb") as b:
            assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()
    # The calls one by one: list uploads and parts, replace a part, complete, abort.
    key = "multi/manual"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ContentType="text/x-m")["UploadId"]
    first = os.urandom(5 * 1024 * 1024)
    s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"replaced")
    p1 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=first)
    p2 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=2, Body=b"tail")
    uploads = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(key, upload)], uploads
    parts = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [
        (1, len(first), p1["ETag"]),
        (2, 4, p2["ETag"]),
    ], parts
    assert error_code(
        s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": p2["ETag"]}, {"PartNumber": 1, "ETag": p1["ETag"]}]},
    ) == "InvalidPartOrder"
    assert error_code(
        s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]},
    ) == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]},
    )
    md5s = bytes.fromhex(p1["ETag"].strip('"')) + bytes.fromhex(p2["ETag"].strip('"'))
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"', done["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == first + b"tail"
    assert got["ContentType"] == "text/x-m"
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads") in (None, [])
    aborted = s3.create_multipart_upload(Bucket=BUCKET, Key="multi/aborted")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="multi/aborted", UploadId=aborted, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="multi/aborted", UploadId=aborted)
    assert error_code(s3.list_parts, Bucket=BUCKET, Key="multi/aborted", UploadId=aborted) == "NoSuchUpload"
    assert error_code(s3.head_object, Bucket=BUCKET, Key="multi/aborted") in ("404", "NoSuchKey")
    check("multipart upload of 100 MiB, parts listed, completed and aborted")


def signatures():
    anonymous = client(config=Config(signature_version=UNSIGNED))
    assert error_code(anonymous.list_objects_v2, Bucket=BUCKET) == "AccessDenied"
    wrong = client(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
    assert error_code(wrong.list_objects_v2, Bucket=BUCKET) == "SignatureDoesNotMatch"
    unknown = client(aws_access_key_id="nobody", aws_secret_access_key="x")
    code = error_code(unknown.list_buckets)
    assert code in ("InvalidAccessKeyId", "AccessDenied", "SignatureDoesNotMatch", "NotSignedUp"), code
    check("unsigned and wrongly signed requests refused")


def main():
    s3 = client()
    buckets(s3)
    put_get_range(s3)
    keys_that_cannot_be_paths(s3)
    list_bucket, keys = listing(s3)
    folders(s3)
    copy_and_delete(s3, list_bucket, keys)
    multipart(s3)
    signatures()
    return 0


if __name__ == "__main__":
    sys.exit(main())
