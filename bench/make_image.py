#!/usr/bin/python3
"""Builds the benchmark image as an OCI layout, deterministically (same seed: same bytes, same digests).

make_image.py OUT TAG [--layers N] [--big-mib M] [--small N] [--seed S]

Layer 0: a busybox rootfs (/bin/busybox from busybox-static, applet symlinks, /etc/passwd, /tmp ...).
Layers 1..N: data/layerI/big.bin (M MiB of seeded random bytes) and N small files of 1-8 KiB (random bytes
and text) in a few directories, so both bandwidth and per-file costs show. Every mtime is fixed and gzip
headers carry no time. The config runs `/bin/sh -c "echo hello"`. Prints {"digest": ..., "bytes": ...}.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile

MTIME = 1700000000
APPLETS = ["sh", "echo", "true", "false", "cat", "ls", "id", "sleep", "hostname", "env", "du", "df"]


def put_blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def info(name, kind=tarfile.REGTYPE, mode=0o644, size=0, link=""):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.size, t.linkname, t.mtime = kind, mode, size, link, MTIME
    t.uid = t.gid = 0
    t.uname = t.gname = "root"
    return t


def add_file(tar, name, data, mode=0o644):
    tar.addfile(info(name, size=len(data), mode=mode), io.BytesIO(data))


def busybox_layer(tar):
    for d, mode in [("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("proc", 0o755), ("sys", 0o755),
                    ("dev", 0o755), ("root", 0o700), ("data", 0o755)]:
        tar.addfile(info(d, tarfile.DIRTYPE, mode))
    with open("/bin/busybox", "rb") as f:
        add_file(tar, "bin/busybox", f.read(), 0o755)
    for a in APPLETS:
        tar.addfile(info("bin/" + a, tarfile.SYMTYPE, 0o777, link="busybox"))
    add_file(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    add_file(tar, "etc/group", b"root:x:0:\n")


def data_layer(tar, rng, idx, big_mib, small):
    top = f"data/layer{idx}"
    tar.addfile(info(top, tarfile.DIRTYPE, 0o755))
    add_file(tar, top + "/big.bin", rng.randbytes(big_mib << 20))
    for d in range(8):
        tar.addfile(info(f"{top}/d{d}", tarfile.DIRTYPE, 0o755))
    for i in range(small):
        size = rng.randint(1024, 8192)
        body = rng.randbytes(size) if i % 2 else ("line %d\n" % i).encode() * (size // 8)
        add_file(tar, f"{top}/d{i % 8}/f{i}", body)


def layer_blob(out, fill):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        fill(tar)
    data = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    gz = gzip.compress(data, compresslevel=1, mtime=0)
    desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put_blob(out, gz),
            "size": len(gz)}
    return desc, diff_id


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("tag")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--big-mib", type=int, default=20)
    ap.add_argument("--small", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    fills = [busybox_layer] + [lambda t, i=i: data_layer(t, rng, i, a.big_mib, a.small)
                               for i in range(1, a.layers + 1)]
    layers, diff_ids = [], []
    for fill in fills:
        desc, diff_id = layer_blob(a.out, fill)
        layers.append(desc)
        diff_ids.append(diff_id)
    config = {"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
              "config": {"Cmd": ["/bin/sh", "-c", "echo hello"], "Env": ["PATH=/bin"], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdata = json.dumps(config, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put_blob(a.out, cdata), "size": len(cdata)},
                "layers": layers}
    mdata = json.dumps(manifest, sort_keys=True).encode()
    mdigest = put_blob(a.out, mdata)
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": manifest["mediaType"], "digest": mdigest, "size": len(mdata),
         "annotations": {"org.opencontainers.image.ref.name": a.tag}}]}
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f)
    total = len(cdata) + sum(l["size"] for l in layers)
    print(json.dumps({"digest": mdigest, "bytes": total}))


if __name__ == "__main__":
    main()
