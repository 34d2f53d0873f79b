"""HdfsCLI (PyPI `hdfs`) against Strata's WebHDFS face, unchanged, and the protocol beneath it
with `requests`: redirects, JSON shapes, RemoteException errors. Prints `ok ...` per group."""

import hashlib
import os
import tempfile

import requests
from hdfs import HdfsError, InsecureClient

URL = os.environ["STRATA_WEBHDFS"]
API = URL + "/webhdfs/v1"
client = InsecureClient(URL, user="alice")


def raises(exception, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except HdfsError as e:
        assert e.exception == exception, (e.exception, str(e))
        return str(e)
    raise AssertionError(f"{call.__name__}{args} did not fail")


# Directories, small files, status and listing.
client.makedirs("/data/in", permission="750")
client.write("/data/in/a.txt", data=b"hello webhdfs\n")
client.write("/data/in/b.txt", data="second file\n", encoding="utf-8", permission="600")
with client.read("/data/in/a.txt") as reader:
    assert reader.read() == b"hello webhdfs\n"
status = client.status("/data/in/a.txt")
assert status["type"] == "FILE" and status["length"] == 14, status
assert status["owner"] == "alice" and status["permission"] == "644", status
assert status["pathSuffix"] == "" and status["replication"] == 3, status
assert client.status("/data/in")["permission"] == "750"
assert client.status("/data/in/b.txt")["permission"] == "600"
assert client.status("/data/missing", strict=False) is None
names = client.list("/data/in")
assert names == ["a.txt", "b.txt"], names
listed = dict(client.list("/data/in", status=True))
assert listed["b.txt"]["length"] == 12 and listed["b.txt"]["type"] == "FILE", listed
content = client.content("/data")
assert content["length"] == 26 and content["fileCount"] == 2, content
assert content["directoryCount"] == 2, content
print("ok status, list and content summary")

# A large file streams both ways; ranged reads; append.
local = tempfile.mkdtemp()
big = os.path.join(local, "big.bin")
with open(big, "wb") as f:
    f.write(os.urandom(10 << 20) + b"tail")
client.upload("/data/big.bin", big)
back = os.path.join(local, "back.bin")
client.download("/data/big.bin", back)
digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
assert digest(big) == digest(back)
whole = open(big, "rb").read()
with client.read("/data/big.bin", offset=(4 << 20) - 7, length=100) as reader:
    assert reader.read() == whole[(4 << 20) - 7 : (4 << 20) + 93]
with client.read("/data/big.bin", offset=len(whole) - 4) as reader:
    assert reader.read() == b"tail"
client.write("/data/in/a.txt", data=b"more\n", append=True)
with client.read("/data/in/a.txt") as reader:
    assert reader.read() == b"hello webhdfs\nmore\n"
print("ok upload, download, ranged read and append of 10 MiB")

# Overwrite, rename, attributes, checksum, delete.
raises("FileAlreadyExistsException", client.write, "/data/in/a.txt", data=b"x")
client.write("/data/in/a.txt", data=b"replaced", overwrite=True)
with client.read("/data/in/a.txt") as reader:
    assert reader.read() == b"replaced"
client.rename("/data/in/a.txt", "/data/renamed.txt")
assert client.status("/data/in/a.txt", strict=False) is None
client.makedirs("/data/out")
client.rename("/data/renamed.txt", "/data/out")
assert client.status("/data/out/renamed.txt")["length"] == 8
client.set_permission("/data/out/renamed.txt", "640")
client.set_owner("/data/out/renamed.txt", owner="bob", group="analysts")
client.set_replication("/data/out/renamed.txt", 2)
client.set_times("/data/out/renamed.txt", access_time=1_600_000_000_000,
                 modification_time=1_500_000_000_000)
status = client.status("/data/out/renamed.txt")
assert status["permission"] == "640" and status["owner"] == "bob", status
assert status["group"] == "analysts" and status["replication"] == 2, status
assert status["modificationTime"] == 1_500_000_000_000, status
assert status["accessTime"] == 1_600_000_000_000, status
checksum = client.checksum("/data/big.bin")
assert checksum["algorithm"] == "MD5-of-1024MD5-of-4096CRC32C", checksum
assert checksum["length"] == 28 and checksum["bytes"].startswith("00001000" + "0" * 13 + "400"), checksum
assert client.checksum("/data/big.bin") == checksum
walked = [(d, sorted(fs)) for d, _, fs in client.walk("/data")]
assert ("/data/out", ["renamed.txt"]) in walked, walked
raises("PathIsNotEmptyDirectoryException", client.delete, "/data/out")
assert client.delete("/data/out", recursive=True) is True
assert client.delete("/data/out", recursive=True) is False
raises("FileNotFoundException", lambda: client.read("/data/missing").__enter__())
print("ok overwrite, rename, set attributes, checksum, walk and delete")

# The protocol beneath: the two steps, noredirect, users, errors.
step = requests.put(API + "/proto/f?op=CREATE&user.name=carol", allow_redirects=False)
assert step.status_code == 307, step
location = step.headers["Location"]
assert location.startswith("http://") and "/webhdfs/v1/proto/f?" in location, location
assert not location.startswith(URL), "the data goes to a worker, not the master"
done = requests.put(location, data=b"0123456789")
assert done.status_code == 201 and done.headers["Location"].endswith("/proto/f"), done
step = requests.get(API + "/proto/f?op=OPEN&offset=2&length=5&noredirect=true")
assert step.status_code == 200, step
location = step.json()["Location"]
assert "noredirect" not in location and "offset=2" in location, location
assert requests.get(location).content == b"23456"
assert requests.get(API + "/proto/f?op=OPEN&offset=8").content == b"89"
status = requests.get(API + "/proto/f?op=GETFILESTATUS").json()["FileStatus"]
assert status["owner"] == "carol" and status["length"] == 10, status
home = requests.get(API + "/?op=GETHOMEDIRECTORY&user.name=carol").json()
assert home == {"Path": "/user/carol"}, home
missing = requests.get(API + "/nothing?op=GETFILESTATUS")
assert missing.status_code == 404, missing
error = missing.json()["RemoteException"]
assert error["exception"] == "FileNotFoundException", error
assert error["javaClassName"] == "java.io.FileNotFoundException", error
past_end = requests.get(API + "/proto/f?op=OPEN&offset=11")
assert past_end.status_code == 403, past_end
assert past_end.json()["RemoteException"]["exception"] == "EOFException", past_end.text
past_end = requests.get(location.replace("offset=2", "offset=11"))
assert past_end.json()["RemoteException"]["exception"] == "EOFException", past_end.text
for bad in ["op=NOSUCHOP", "op=OPEN&offset=-1", "", "op=MKDIRS"]:
    answer = requests.get(API + "/proto/f?" + bad)
    assert answer.status_code == 400, (bad, answer.status_code, answer.text)
    assert answer.json()["RemoteException"]["exception"] == "IllegalArgumentException", bad
assert requests.put(location.split("?")[0] + "?op=MKDIRS").status_code == 400
print("ok two-step protocol, noredirect, user.name and errors")


# Block locations and batched listing.
blocks = requests.get(API + "/data/big.bin?op=GETFILEBLOCKLOCATIONS").json()
blocks = blocks["BlockLocations"]["BlockLocation"]
assert len(blocks) == 3, blocks
assert [b["offset"] for b in blocks] == [0, 4 << 20, 8 << 20], blocks
assert sum(b["length"] for b in blocks) == (10 << 20) + 4, blocks
assert all(len(b["hosts"]) == 3 and b["hosts"][0] == "127.0.0.1" for b in blocks), blocks
after, batches, seen = "", 0, []
while True:
    page = requests.get(API + "/many?op=LISTSTATUS_BATCH&startAfter=" + after).json()
    listing = page["DirectoryListing"]
    entries = listing["partialListing"]["FileStatuses"]["FileStatus"]
    seen += [e["pathSuffix"] for e in entries]
    batches += 1
    assert listing["remainingEntries"] == 1200 - len(seen), listing["remainingEntries"]
    if listing["remainingEntries"] == 0:
        break
    after = entries[-1]["pathSuffix"]
assert batches == 2 and seen == [f"d{i:04}" for i in range(1200)], (batches, seen[:3])
print("ok block locations and batched listing")

# TRUNCATE: inside a block (its kept bytes copied), on a block boundary, to zero.
for new_length in [(8 << 20) + 1000, 4 << 20, 4 << 20, 77, 0]:
    answer = requests.post(API + f"/data/big.bin?op=TRUNCATE&newlength={new_length}")
    assert answer.json() == {"boolean": True}, answer.text
    with client.read("/data/big.bin") as reader:
        assert reader.read() == whole[:new_length], new_length
    whole = whole[:new_length]
refused = requests.post(API + "/data/big.bin?op=TRUNCATE&newlength=10")
assert refused.status_code == 400, refused.text
print("ok truncate")
