#!/usr/bin/env python3
"""Unit tests of the emulator's request validator (pve_schema.py) on good and bad inputs from the PVE 9.1 schema.

Run: python3 -m unittest discover -s tests/pve-emulator -p 'test_*.py'   (or python3 tests/pve-emulator/test_schema.py)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pve_schema  # noqa: E402

SCHEMA = pve_schema.load_schema()
CREATE = SCHEMA["paths"]["/nodes/{node}/lxc"]["POST"]
PUT_CONFIG = SCHEMA["paths"]["/nodes/{node}/lxc/{vmid}/config"]["PUT"]
UPLOAD = SCHEMA["paths"]["/nodes/{node}/storage/{storage}/upload"]["POST"]
NEXTID = SCHEMA["paths"]["/cluster/nextid"]["GET"]
SHUTDOWN = SCHEMA["paths"]["/nodes/{node}/lxc/{vmid}/status/shutdown"]["POST"]
RESOURCES = SCHEMA["paths"]["/cluster/resources"]["GET"]


def create(**kw):
    p = {"node": "pve", "vmid": "100", "ostemplate": "local:vztmpl/bb.tar.gz"}
    p.update({k.replace("_", "-"): v for k, v in kw.items()})
    return pve_schema.validate(CREATE, p)


class TestSchemaFile(unittest.TestCase):
    def test_source_note_and_paths(self):
        self.assertIn("PVE 9.1.3", SCHEMA["source"])
        for path in ("/nodes/{node}/lxc", "/nodes/{node}/lxc/{vmid}/config", "/nodes/{node}/tasks/{upid}/status",
                     "/nodes/{node}/storage/{storage}/upload", "/cluster/nextid", "/access/ticket"):
            self.assertIn(path, SCHEMA["paths"])

    def test_perl_regex_translation(self):
        rx = pve_schema.perl_regex("(?^:\\d+(?:;\\d+)*)")
        self.assertTrue(rx.fullmatch("1;2;30"))
        self.assertFalse(rx.fullmatch("1;;2"))


class TestCreate(unittest.TestCase):
    def test_good_minimal(self):
        out, errors = create()
        self.assertEqual(errors, {})
        self.assertEqual(out["vmid"], 100)

    def test_good_full(self):
        out, errors = create(
            hostname="ct-1.example", memory="512", swap=0, cores=2, cpulimit="1.5", cpuunits=100,
            net0="name=eth0,bridge=vmbr0,ip=dhcp,tag=10,firewall=1,hwaddr=BC:24:11:00:00:01,mtu=1500",
            rootfs="local:8", features="nesting=1,keyctl=1", unprivileged="1", console="0", cmode="console",
            entrypoint="/.lxcri/init --attach /.lxcri/attach.sock", env="A=1\0PATH=/bin:/usr/bin",
            tags="lxcri;oci-abc", description="x", ostype="unmanaged", start="0", arch="amd64")
        self.assertEqual(errors, {})
        self.assertEqual(out["unprivileged"], 1)
        self.assertEqual(out["cpulimit"], 1.5)

    def test_json_types(self):
        # JSON bodies carry real numbers and booleans
        out, errors = create(memory=256, unprivileged=True, cpulimit=2, console=False)
        self.assertEqual(errors, {})
        self.assertEqual(out["unprivileged"], 1)
        self.assertEqual(out["console"], 0)

    def test_missing_required(self):
        _, errors = pve_schema.validate(CREATE, {"node": "pve", "vmid": "100"})
        self.assertEqual(errors, {"ostemplate": "property is missing and it is not optional"})

    def test_unknown_param(self):
        _, errors = create(foo="1")
        self.assertEqual(errors["foo"],
                         "property is not defined in schema and the schema does not allow additional properties")

    def test_indexed_limits(self):
        self.assertEqual(create(net31="name=eth31")[1], {})
        self.assertIn("net32", create(net32="name=eth0")[1])
        self.assertIn("mp256", create(mp256="local:1,mp=/x")[1])
        self.assertIn("net01", create(net01="name=eth0")[1])

    def test_types(self):
        _, errors = create(memory="lots", cpulimit="x", unprivileged="maybe", cores="1.5")
        self.assertEqual(errors["memory"], "type check ('integer') failed - got 'lots'")
        self.assertEqual(errors["cpulimit"], "type check ('number') failed - got 'x'")
        self.assertEqual(errors["unprivileged"], "type check ('boolean') failed - got 'maybe'")
        self.assertEqual(errors["cores"], "type check ('integer') failed - got '1.5'")

    def test_booleans_pve_spellings(self):
        for v, want in (("1", 1), ("0", 0), ("true", 1), ("off", 0), ("YES", 1), ("no", 0)):
            out, errors = create(unprivileged=v)
            self.assertEqual(errors, {}, v)
            self.assertEqual(out["unprivileged"], want, v)

    def test_ranges(self):
        _, errors = create(memory="8", cores="0", cpuunits="500001", tty="7")
        self.assertEqual(errors["memory"], "value must have a minimum value of 16")
        self.assertEqual(errors["cores"], "value must have a minimum value of 1")
        self.assertEqual(errors["cpuunits"], "value must have a maximum value of 500000")
        self.assertEqual(errors["tty"], "value must have a maximum value of 6")
        self.assertIn("vmid", pve_schema.validate(CREATE, {"node": "pve", "vmid": "99", "ostemplate": "x"})[1])

    def test_enum(self):
        _, errors = create(cmode="serial", arch="sparc")
        self.assertEqual(errors["cmode"], "value 'serial' does not have a value in the enumeration 'shell, console, tty'")
        self.assertIn("arch", errors)

    def test_pattern(self):
        _, errors = create(env="not an env")
        self.assertEqual(errors["env"], "value does not match the regex pattern")
        _, errors = create(entrypoint="/bin/sh\x01")
        self.assertEqual(errors["entrypoint"], "value does not match the regex pattern")

    def test_max_length(self):
        _, errors = create(ostemplate="x" * 256)
        self.assertEqual(errors["ostemplate"], "value may only be 255 characters long")

    def test_formats(self):
        _, errors = create(hostname="bad_host!", hookscript="no-volume-id", node="bad node")
        self.assertEqual(errors["hostname"], "value does not look like a valid DNS name")
        self.assertEqual(errors["hookscript"], "unable to parse volume ID 'no-volume-id'")
        self.assertEqual(errors["node"], "value does not look like a valid node name")
        _, errors = create(storage="9bad")
        self.assertEqual(errors["storage"], "storage ID '9bad' contains illegal characters")
        _, errors = create(vmid="1000000000")
        self.assertIn("vmid", errors)

    def test_net_property_string(self):
        _, errors = create(net0="name=eth0,bridge=vmbr0,colour=red")
        self.assertTrue(errors["net0"].startswith("invalid format - format error\n"))
        self.assertIn("colour: property is not defined in schema", errors["net0"])
        _, errors = create(net0="bridge=vmbr0")  # name is required
        self.assertIn("name: property is missing and it is not optional", errors["net0"])
        _, errors = create(net0="name=eth0,ip=300.1.1.1/24")
        self.assertIn("ip: value does not look like a valid ipv4 network configuration", errors["net0"])
        _, errors = create(net0="name=eth0,tag=5000")
        self.assertIn("tag: value must have a maximum value of 4094", errors["net0"])
        _, errors = create(net0="name=eth0,type=macvlan")
        self.assertIn("type: value 'macvlan' does not have a value in the enumeration 'veth'", errors["net0"])
        _, errors = create(net0="name=eth0,hwaddr=01:00:00:00:00:01")  # multicast
        self.assertIn("hwaddr: value does not look like a valid unicast MAC address", errors["net0"])
        _, errors = create(net0="eth0")  # net[n] has no default key
        self.assertEqual(errors["net0"], "invalid format - value without key, but schema does not define a default key")
        _, errors = create(net0="name=eth0,name=eth1")
        self.assertIn("duplicate key", errors["net0"])
        out, errors = create(net0="name=eth0,ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto")
        self.assertEqual(errors, {})

    def test_rootfs_and_mp_property_strings(self):
        self.assertEqual(create(rootfs="local:8,mountoptions=noatime;nodev,quota=0")[1], {})
        self.assertEqual(create(rootfs="volume=local:8,size=8G")[1], {})
        _, errors = create(rootfs="local:8,mountoptions=exec")
        self.assertIn("mountoptions: value does not match the regex pattern", errors["rootfs"])
        _, errors = create(rootfs="local:8,size=big")
        self.assertIn("size", errors["rootfs"])
        _, errors = create(mp0="local:1")  # mp= is required
        self.assertIn("mp: property is missing and it is not optional", errors["mp0"])
        self.assertEqual(create(mp0="local:1,mp=/data,backup=1")[1], {})
        _, errors = create(mp0="local:1,mp=/data/../etc")
        self.assertIn("mp:", errors["mp0"])

    def test_features_property_string(self):
        self.assertEqual(create(features="nesting=1")[1], {})
        _, errors = create(features="nesting=2")
        self.assertIn("nesting: type check ('boolean') failed - got '2'", errors["features"])
        _, errors = create(features="warp=1")
        self.assertIn("warp: property is not defined", errors["features"])

    def test_dev_property_string(self):
        self.assertEqual(create(dev0="/dev/fuse,mode=0666")[1], {})
        _, errors = create(dev0="/dev/fuse,mode=666")
        self.assertIn("mode: value does not match the regex pattern", errors["dev0"])


class TestOtherMethods(unittest.TestCase):
    def test_put_config(self):
        ok = {"node": "pve", "vmid": "100", "memory": "1024", "delete": "net0,swap", "digest": "a" * 40}
        self.assertEqual(pve_schema.validate(PUT_CONFIG, ok)[1], {})
        _, errors = pve_schema.validate(PUT_CONFIG, {"node": "pve", "vmid": "100", "ostemplate": "x"})
        self.assertIn("ostemplate", errors)  # only at create
        _, errors = pve_schema.validate(PUT_CONFIG, {"node": "pve", "vmid": "100", "digest": "a" * 41})
        self.assertEqual(errors["digest"], "value may only be 40 characters long")

    def test_upload(self):
        ok = {"node": "pve", "storage": "local", "content": "vztmpl", "filename": "a.tar.gz"}
        self.assertEqual(pve_schema.validate(UPLOAD, ok)[1], {})
        _, errors = pve_schema.validate(UPLOAD, dict(ok, content="rootdir"))
        self.assertIn("content", errors)
        _, errors = pve_schema.validate(UPLOAD, dict(ok, **{"checksum-algorithm": "crc32"}))
        self.assertIn("checksum-algorithm", errors)

    def test_nextid_and_shutdown_and_resources(self):
        self.assertEqual(pve_schema.validate(NEXTID, {})[1], {})
        self.assertEqual(pve_schema.validate(NEXTID, {"vmid": "100"})[0], {"vmid": 100})
        self.assertIn("vmid", pve_schema.validate(NEXTID, {"vmid": "abc"})[1])
        self.assertIn("timeout", pve_schema.validate(SHUTDOWN, {"node": "pve", "vmid": "100", "timeout": "-1"})[1])
        self.assertEqual(pve_schema.validate(RESOURCES, {"type": "vm"})[1], {})
        self.assertIn("type", pve_schema.validate(RESOURCES, {"type": "lxc"})[1])


if __name__ == "__main__":
    unittest.main()
