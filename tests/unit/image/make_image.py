#!/usr/bin/python3
"""Builds a small OCI image layout for the image tests (no network, no tools but the standard library).

make_image.py OUT TAG [--layers KiB,KiB,...] [--arch amd64 --arch arm64] [--compress gzip|none] [--seed N]
One --arch: OUT/index.json points at an image manifest. Several: at an image index with one manifest per
platform (each with its own layers). Layer contents are pseudo-random (incompressible) files plus a
directory and a symlink.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile, time

def put_blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", d)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + d

def make_layer(rng, kib, idx, arch, compress):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo(f"layer{idx}")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        tar.addfile(d)
        payload = rng.randbytes(kib * 1024)
        f = tarfile.TarInfo(f"layer{idx}/data-{arch}.bin")
        f.size, f.mode, f.mtime = len(payload), 0o644, 1700000000
        tar.addfile(f, io.BytesIO(payload))
        s = tarfile.TarInfo(f"layer{idx}/link")
        s.type, s.linkname, s.mtime = tarfile.SYMTYPE, f"data-{arch}.bin", 1700000000
        tar.addfile(s)
    tar_bytes = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    if compress == "gzip":
        return gzip.compress(tar_bytes, compresslevel=1, mtime=0), diff_id, "application/vnd.oci.image.layer.v1.tar+gzip"
    return tar_bytes, diff_id, "application/vnd.oci.image.layer.v1.tar"

def make_manifest(out, rng, sizes, arch, compress, tag):
    layers, diff_ids = [], []
    for i, kib in enumerate(sizes):
        data, diff_id, mt = make_layer(rng, kib, i, arch, compress)
        layers.append({"mediaType": mt, "digest": put_blob(out, data), "size": len(data)})
        diff_ids.append(diff_id)
    config = {
        "created": "2024-01-01T00:00:00Z", "architecture": arch, "os": "linux",
        "config": {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hello"], "Env": ["PATH=/usr/bin:/bin", "A=1"],
                   "WorkingDir": "/work", "User": "1000:1000", "ExposedPorts": {"80/tcp": {}},
                   "Labels": {"org.test.tag": tag}, "StopSignal": "SIGINT"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    cdata = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put_blob(out, cdata),
                           "size": len(cdata)},
                "layers": layers}
    mdata = json.dumps(manifest).encode()
    return {"mediaType": manifest["mediaType"], "digest": put_blob(out, mdata), "size": len(mdata),
            "platform": {"os": "linux", "architecture": arch}}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("tag")
    ap.add_argument("--layers", default="64,128")
    ap.add_argument("--arch", action="append")
    ap.add_argument("--compress", default="gzip", choices=["gzip", "none"])
    ap.add_argument("--seed", type=int, default=int(time.time_ns() % 1000000007))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    sizes = [int(x) for x in a.layers.split(",")]
    archs = a.arch or ["amd64"]
    descs = [make_manifest(a.out, rng, sizes, arch, a.compress, a.tag) for arch in archs]
    if len(descs) == 1:
        top = dict(descs[0])
        top.pop("platform")
    else:
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": descs}).encode()
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put_blob(a.out, idx), "size": len(idx)}
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    print(json.dumps({"top": top["digest"], "manifests": [d["digest"] for d in descs]}))

main()
