#!/usr/bin/env python3
"""An emulator of the Proxmox VE 9.1 REST API (the LXC part), with CTs that really run through liblxc.

    python3 tests/pve-emulator/pve_emulator.py --listen 127.0.0.1:PORT --node pve \
        --token 'root@pam!lxcri=SECRET' [--user root@pam:PASSWORD] --data-dir DIR [--lxcpath DIR] \
        [--storage local:dir:PATH:vztmpl,rootdir,images] ... [--cert F --key F] [--ready-file F]

Every request is checked against schema.json (a copy of the PVE 9.1.3 API schema, see pve_schema.py) and answered
with PVE's envelope and error shapes. See README.md beside this file for what is emulated and what is not.
Python 3 stdlib only.
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pve_schema  # noqa: E402

VERSION = {"release": "9.1", "repoid": "e2b8d3d5", "version": "9.1.3", "console": "xtermjs"}
TICKET_LIFETIME = 7200  # pve-access-control AccessControl.pm: 2 hours


# ============================================================================================ errors

class PVEError(Exception):
    """An API error as PVE answers it: HTTP status, message (the reason phrase is its first line), errors{}."""

    def __init__(self, code, message, errors=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors


def die(msg):
    """A plain `die` in PVE's Perl: HTTP 500 with the text."""
    return PVEError(500, msg)


def perm_exc(what):
    """PVE::Exception::raise_perm_exc."""
    return PVEError(403, "Permission check failed (%s)" % what)


def param_exc(errors):
    return PVEError(400, "Parameter verification failed.", errors)


# ============================================================================================ helpers

def run(cmd, timeout=60):
    """Runs a command; returns (rc, combined output)."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return -1, "command '%s' timed out" % " ".join(cmd)
    except OSError as e:
        return -1, str(e)


def proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return int(data[data.rindex(")") + 2:].split()[19])
    except (OSError, ValueError):
        return None


def pid_alive(pid, start=None):
    if not pid:
        return False
    st = proc_starttime(pid)
    return st is not None and (start is None or st == start)


def format_pve_config(conf):
    """PVE's /etc/pve/lxc/VMID.conf: description as '#' lines, then sorted keys, then lxc.* raw keys."""
    out = []
    desc = conf.get("description")
    if desc:
        for line in str(desc).split("\n"):
            out.append("#" + urllib.parse.quote(line, safe=" !\"$&'()*+,-./:;<=>?@[\\]^_`{|}~"))
    for k in sorted(conf):
        if k in ("description", "digest") or k.startswith("lxc"):
            continue
        out.append("%s: %s" % (k, conf[k]))
    for k, v in conf.get("lxc", []):
        out.append("%s: %s" % (k, v))
    return "\n".join(out) + "\n"


def config_digest(conf):
    return hashlib.sha1(format_pve_config(conf).encode()).hexdigest()


# ============================================================================================ storage

class Storage:
    def __init__(self, spec, data_dir):
        # NAME:dir:PATH:CONTENT,CONTENT
        parts = spec.split(":", 3)
        if len(parts) < 3 or parts[1] != "dir":
            raise SystemExit("--storage %s: expected NAME:dir:PATH[:CONTENT,...] (only 'dir' storages)" % spec)
        self.name = parts[0]
        self.type = "dir"
        self.path = os.path.abspath(parts[2] or os.path.join(data_dir, "storage", self.name))
        self.content = (parts[3] if len(parts) > 3 else "vztmpl,rootdir,images,iso").split(",")
        for d in ("template/cache", "template/iso", "images", "dump"):
            os.makedirs(os.path.join(self.path, d), exist_ok=True)

    def template_path(self, fname):
        return os.path.join(self.path, "template", "cache", fname)

    def volume_path(self, volname):
        # volname: vztmpl/NAME or VMID/subvol-VMID-disk-N.subvol
        if volname.startswith("vztmpl/"):
            return self.template_path(volname[len("vztmpl/"):])
        if volname.startswith("iso/"):
            return os.path.join(self.path, "template", "iso", volname[4:])
        return os.path.join(self.path, "images", volname)

    def usage(self):
        st = os.statvfs(self.path)
        total = st.f_blocks * st.f_frsize
        avail = st.f_bavail * st.f_frsize
        return total, total - st.f_bfree * st.f_frsize, avail


def parse_volid(volid):
    m = re.fullmatch(r"([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)", volid, re.I | re.S)
    if not m:
        raise die("unable to parse volume ID '%s'\n" % volid)
    return m.group(1), m.group(2)


# ============================================================================================ tasks

class Task:
    def __init__(self, emu, ttype, tid, user):
        self.emu = emu
        self.type = ttype
        self.id = tid
        self.user = user
        self.lines = []
        self.warnings = 0
        self.status = "running"
        self.exitstatus = None
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.started = threading.Event()
        self.pid = None
        self.pstart = None
        self.starttime = int(time.time())
        self.upid = None
        self.thread = None

    def log(self, text):
        with self.lock:
            for line in str(text).rstrip("\n").split("\n"):
                self.lines.append(line)

    def warn(self, text):
        """A Perl `warn` in a PVE worker: a "WARN: " line, and the task ends in "TASK WARNINGS: N"."""
        self.warnings += 1
        self.log("WARN: %s" % text)

    def status_dict(self):
        user, tokenid = self.user, None
        if "!" in user:
            user, tokenid = user.split("!", 1)
        d = {"upid": self.upid, "node": self.emu.node, "pid": self.pid, "pstart": self.pstart,
             "starttime": self.starttime, "type": self.type, "id": self.id, "user": user, "status": self.status}
        if tokenid:
            d["tokenid"] = tokenid
        if self.status == "stopped":
            d["exitstatus"] = self.exitstatus
        return d


def upid_decode(upid):
    # pve-common src/PVE/UPID.pm (pstart may have 8 or 9 hex digits)
    m = re.fullmatch(r"UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
                     r"([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):", upid)
    if not m:
        return None
    return {"node": m.group(1), "pid": int(m.group(3), 16), "pstart": int(m.group(4), 16),
            "starttime": int(m.group(5), 16), "type": m.group(6), "id": m.group(7), "user": m.group(8)}


# ============================================================================================ CTs

class CT:
    def __init__(self, vmid, conf):
        self.vmid = vmid
        self.conf = conf  # PVE config keys (strings/ints), 'lxc': [(k, v)]
        self.flock = threading.Lock()  # pve-config-VMID.lock
        self.proc = None  # the lxc-start -F process
        self.init_pid = None
        self.init_start = None
        self.started_at = None
        self.frozen = False
        self.snapshots = {}


# ============================================================================================ emulator

class Emulator:
    def __init__(self, args):
        self.args = args
        self.node = args.node
        self.data_dir = os.path.abspath(args.data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.lxcpath = os.path.abspath(args.lxcpath or os.path.join(self.data_dir, "lxc"))
        os.makedirs(self.lxcpath, exist_ok=True)
        self.conf_dir = os.path.join(self.data_dir, "pve", "nodes", self.node, "lxc")
        os.makedirs(self.conf_dir, exist_ok=True)
        self.cgroup_prefix = args.cgroup_prefix
        self.schema = pve_schema.load_schema(args.schema)
        self.routes = []
        for path, methods in self.schema["paths"].items():
            rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
            self.routes.append((re.compile(rx), path, methods))
        self.tokens = {}
        for t in args.token:
            m = re.fullmatch(r"([^!@\s]+@[^!\s]+)!([^=\s]+)=(\S+)", t)
            if not m:
                raise SystemExit("--token %s: expected USER@REALM!TOKENID=SECRET" % t)
            self.tokens["%s!%s" % (m.group(1), m.group(2))] = m.group(3)
        self.users = {}
        for u in args.user:
            name, _, pw = u.partition(":")
            if "@" not in name or not pw:
                raise SystemExit("--user %s: expected USER@REALM:PASSWORD" % u)
            self.users[name] = pw
        self.ticket_key = secrets.token_bytes(32)
        self.ticket_epoch = 0  # bumped by the expire_tickets fault
        self.storages = {}
        for spec in args.storage or ["local:dir::vztmpl,rootdir,images,iso"]:
            s = Storage(spec, self.data_dir)
            self.storages[s.name] = s
        self.cts = {}
        self.cts_lock = threading.Lock()
        self.tasks = {}
        self.tasks_lock = threading.Lock()
        self.faults = {}
        self.faults_lock = threading.Lock()
        self.req_log = open(os.path.join(self.data_dir, "requests.log"), "a", buffering=1)
        self.req_log_lock = threading.Lock()
        self.start_time = time.time()
        self.cgv1 = self._cgroup_v1_controllers()
        rc, out = run(["lxc-start", "--version"], timeout=10)
        m = re.match(r"\s*(\d+)\.", out)
        self.lxc_major = int(m.group(1)) if rc == 0 and m else 0
        self.stopping = False
        self.started_vmids = set()  # whose cgroups to remove at exit
        self._load_configs()

    # ------------------------------------------------------------------------------------- state files

    def _cgroup_v1_controllers(self):
        v1 = set()
        try:
            with open("/proc/self/cgroup") as f:
                for line in f:
                    parts = line.strip().split(":", 2)
                    if len(parts) == 3 and parts[1]:
                        v1.update(parts[1].split(","))
        except OSError:
            pass
        return v1

    def conf_path(self, vmid):
        return os.path.join(self.conf_dir, "%d.conf" % vmid)

    def _load_configs(self):
        for name in os.listdir(self.conf_dir):
            m = re.fullmatch(r"(\d+)\.conf", name)
            if not m:
                continue
            conf = {"lxc": []}
            desc = []
            with open(os.path.join(self.conf_dir, name)) as f:
                for line in f:
                    line = line.rstrip("\n")
                    if line.startswith("["):
                        break  # snapshot sections are not reloaded
                    if line.startswith("#"):
                        desc.append(urllib.parse.unquote(line[1:]))
                    elif ": " in line:
                        k, v = line.split(": ", 1)
                        if k.startswith("lxc."):
                            conf["lxc"].append((k, v))
                        else:
                            conf[k] = v
            if desc:
                conf["description"] = "\n".join(desc)
            ct = CT(int(m.group(1)), conf)
            self.cts[ct.vmid] = ct
            self._adopt_running(ct)

    def _adopt_running(self, ct):
        rc, out = run(["lxc-info", "-n", str(ct.vmid), "-P", self.lxcpath, "-p"], timeout=10)
        mp = re.search(r"^PID:\s+(\d+)", out, re.M)
        if rc == 0 and mp:
            ct.init_pid = int(mp.group(1))
            ct.init_start = proc_starttime(ct.init_pid)
            ct.started_at = time.time()
            self.started_vmids.add(ct.vmid)

    def write_conf(self, ct):
        tmp = self.conf_path(ct.vmid) + ".tmp"
        with open(tmp, "w") as f:
            f.write(format_pve_config(ct.conf))
            for name, snap in ct.snapshots.items():
                f.write("\n[%s]\n" % name)
                f.write(format_pve_config(snap))
        os.replace(tmp, self.conf_path(ct.vmid))

    # ------------------------------------------------------------------------------------- faults

    def fault(self, name):
        with self.faults_lock:
            return self.faults.get(name)

    def task_fault(self, ttype):
        f = self.fault("task_error")
        return f is True or f == ttype or (isinstance(f, list) and ttype in f)

    # ------------------------------------------------------------------------------------- tasks

    def fork_worker(self, ttype, tid, user, func):
        """PVE::RESTEnvironment::fork_worker: runs func(task) in a worker; returns the UPID at once."""
        task = Task(self, ttype, str(tid) if tid is not None else "", user)

        def body():
            task.pid = threading.get_native_id()
            task.pstart = proc_starttime_thread(task.pid) or 0
            task.upid = "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (self.node, task.pid, task.pstart, task.starttime,
                                                              ttype, task.id, user)
            task.started.set()
            err = None
            try:
                slow = self.fault("slow_task_ms")
                if slow:
                    time.sleep(int(slow) / 1000.0)
                if ttype not in ("vzcreate", "vzclone") and self.task_fault(ttype):
                    raise die("emulated fault: task %s failed\n" % ttype)
                func(task)
            except PVEError as e:
                err = e.message
            except Exception as e:  # a bug in the emulator: still a task error, with the trace in the log
                err = "emulator internal error: %s" % e
                task.log(traceback.format_exc())
            if err:
                err = err.rstrip("\n").split("\n")[0] if err.strip() else "unknown error"
                task.log("TASK ERROR: %s" % err)
                task.exitstatus = err
            elif task.warnings:
                # pve-common RESTEnvironment fork_worker; UPID.pm status: "WARNINGS: N"
                task.log("TASK WARNINGS: %d" % task.warnings)
                task.exitstatus = "WARNINGS: %d" % task.warnings
            else:
                task.log("TASK OK")
                task.exitstatus = "OK"
            task.status = "stopped"
            self._save_task_log(task)
            task.done.set()

        t = threading.Thread(target=body, name="task-%s-%s" % (ttype, tid), daemon=True)
        task.thread = t
        t.start()
        task.started.wait()
        with self.tasks_lock:
            self.tasks[task.upid] = task
        return task.upid

    def _save_task_log(self, task):
        d = os.path.join(self.data_dir, "tasks")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, task.upid.replace(":", "_").rstrip("_")), "w") as f:
            f.write("\n".join(task.lines) + "\n")

    # ------------------------------------------------------------------------------------- CT helpers

    def get_ct(self, vmid):
        ct = self.cts.get(vmid)
        if ct is None:
            # PVE::LXC::Config->load_config
            raise die("Configuration file 'nodes/%s/lxc/%d.conf' does not exist\n" % (self.node, vmid))
        return ct

    @contextlib.contextmanager
    def lock_config(self, ct, timeout=10):
        # PVE::AbstractConfig->lock_config: flock with a timeout
        if not ct.flock.acquire(timeout=timeout):
            raise die("can't lock file '/run/lock/lxc/pve-config-%d.lock' - got timeout\n" % ct.vmid)
        try:
            yield
        finally:
            ct.flock.release()

    @staticmethod
    def check_lock(ct):
        if ct.conf.get("lock"):
            raise die("CT is locked (%s)\n" % ct.conf["lock"])

    def is_running(self, ct):
        if ct.init_pid and pid_alive(ct.init_pid, ct.init_start):
            return True
        return False

    def ct_volumes(self, conf):
        vols = []
        for k, v in conf.items():
            if k == "rootfs" or re.fullmatch(r"mp\d+|unused\d+", k):
                vol = str(v).split(",")[0]
                if vol.startswith("volume="):
                    vol = vol[7:]
                if not vol.startswith("/"):
                    vols.append(vol)
        return vols

    def rootfs_dir(self, ct):
        if "rootfs" not in ct.conf:
            raise die("missing 'rootfs' configuration\n")
        vol = str(ct.conf["rootfs"]).split(",")[0]
        if vol.startswith("volume="):
            vol = vol[7:]
        if vol.startswith("/"):
            return vol
        sid, volname = parse_volid(vol)
        st = self.storages.get(sid)
        if st is None:
            raise die("storage '%s' does not exist\n" % sid)
        return st.volume_path(volname)

    # ------------------------------------------------------------------------------------- LXC config

    def lxc_config(self, ct):
        """PVE::LXC::update_lxc_config (pve-container src/PVE/LXC.pm), for this machine."""
        conf, vmid = ct.conf, ct.vmid
        raw = []
        prefix = self.cgroup_prefix
        raw.append("lxc.cgroup.relative = 0")
        raw.append("lxc.cgroup.dir.monitor = %s.monitor/%d" % (prefix, vmid))
        raw.append("lxc.cgroup.dir.container = %s/%d" % (prefix, vmid))
        raw.append("lxc.cgroup.dir.container.inner = ns")
        raw.append("lxc.arch = %s" % conf.get("arch", "amd64"))
        unpriv = str(conf.get("unprivileged", "0")) == "1"
        ostype = conf.get("ostype", "unmanaged")
        inc = "/usr/share/lxc/config/%s.common.conf" % ostype
        if not os.path.exists(inc):
            inc = "/usr/share/lxc/config/common.conf"
        raw.append("lxc.include = %s" % inc)
        if unpriv:
            inc = "/usr/share/lxc/config/%s.userns.conf" % ostype
            if not os.path.exists(inc):
                inc = "/usr/share/lxc/config/userns.conf"
            raw.append("lxc.include = %s" % inc)
        # make_apparmor_config: this machine has no AppArmor.
        raw.append("lxc.apparmor.profile = unconfined")
        features = {}
        if conf.get("features"):
            features = pve_schema.parse_property_string(
                self.schema["paths"]["/nodes/{node}/lxc"]["POST"]["params"]["features"]["format"], conf["features"])
        if unpriv and not features.get("force_rw_sys"):
            raw.append("lxc.mount.auto = sys:mixed")
        if features.get("fuse"):
            raw.append("lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0")
        raw.append("lxc.monitor.unshare = 1")
        if unpriv:
            raw.append("lxc.idmap = u 0 100000 65536")
            raw.append("lxc.idmap = g 0 100000 65536")
        if str(conf.get("console", "1")) == "0":
            raw.append("lxc.console.path = none")
            raw.append("lxc.cgroup.devices.deny = c 5:1 rwm" if "devices" in self.cgv1 else
                       "lxc.cgroup2.devices.deny = c 5:1 rwm")
        raw.append("lxc.tty.max = %s" % conf.get("tty", 2))  # get_tty_count
        if self.lxc_major < 6:
            # Debian 12's liblxc 5.0 cannot create common.conf's lxc.tty.dir (/dev/lxc) on the autodev /dev:
            # the ttys go to /dev/ttyN instead.
            raw.append("lxc.tty.dir =")
        raw.append("lxc.environment = TERM=linux")
        raw.append("lxc.uts.name = %s" % (conf.get("hostname") or "CT%d" % vmid))
        memory = int(conf.get("memory", 512))
        swap = int(conf.get("swap", 512))
        if "memory" in self.cgv1:
            raw.append("lxc.cgroup.memory.limit_in_bytes = %d" % (memory * 1024 * 1024))
            if os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
                raw.append("lxc.cgroup.memory.memsw.limit_in_bytes = %d" % ((memory + swap) * 1024 * 1024))
        else:
            raw.append("lxc.cgroup2.memory.max = %d" % (memory * 1024 * 1024))
            raw.append("lxc.cgroup2.memory.high = %d" % int(memory * 1024 * 1024 * 0.99))  # calculate_memory_constraints
            raw.append("lxc.cgroup2.memory.swap.max = %d" % (swap * 1024 * 1024))
        cpulimit = float(conf.get("cpulimit", 0) or 0)
        cpuunits = conf.get("cpuunits")
        if "cpu" in self.cgv1:
            if cpulimit:
                raw.append("lxc.cgroup.cpu.cfs_period_us = 100000")
                raw.append("lxc.cgroup.cpu.cfs_quota_us = %d" % int(100000 * cpulimit))
            shares = int(cpuunits) if cpuunits is not None else 1024
            raw.append("lxc.cgroup.cpu.shares = %d" % min(max(shares, 2), 262144))  # clamp_cpu_shares v1
        else:
            if cpulimit:
                raw.append("lxc.cgroup2.cpu.max = %d 100000" % int(100000 * cpulimit))
            if cpuunits is not None:
                raw.append("lxc.cgroup2.cpu.weight = %d" % min(max(int(cpuunits), 1), 10000))
        raw.append("lxc.rootfs.path = %s" % self.rootfs_dir(ct))
        # mount points: PVE's prestart hook mounts them under the rootfs; liblxc's mount entries do the same inside
        # the CT's mount namespace (nothing mounted on the host). In the order of their paths, as PVE mounts them.
        mp_fmt = self.schema["paths"]["/nodes/{node}/lxc"]["POST"]["params"]["mp[n]"]["format"]
        mounts = []
        for k in conf:
            if re.fullmatch(r"mp\d+", k):
                mpp = pve_schema.parse_property_string(mp_fmt, str(conf[k]))
                mounts.append((mpp["mp"], mpp))
        for mpath, mpp in sorted(mounts, key=lambda t: t[0]):
            vol = mpp["volume"]
            if vol.startswith("/"):
                if not os.path.isdir(vol):
                    raise die("directory '%s' does not exist\n" % vol)
                src, opts = vol, "rbind"
            else:
                sid, volname = parse_volid(vol)
                st = self.storages.get(sid)
                if st is None:
                    raise die("storage '%s' does not exist\n" % sid)
                src, opts = st.volume_path(volname), "bind"
            if str(mpp.get("ro", 0)) == "1":
                opts += ",ro"
            rel = re.sub(r"/+", "/", mpath).strip("/")
            esc = lambda x: x.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")  # noqa: E731
            raw.append("lxc.mount.entry = %s %s none %s,create=dir 0 0" % (esc(src), esc(rel), opts))
        for k in sorted(conf):
            m = re.fullmatch(r"net(\d+)", k)
            if not m:
                continue
            ind = m.group(1)
            net = pve_schema.parse_property_string(
                self.schema["paths"]["/nodes/{node}/lxc"]["POST"]["params"]["net[n]"]["format"], conf[k])
            bridge = net.get("bridge")
            raw.append("lxc.net.%s.type = veth" % ind)
            raw.append("lxc.net.%s.veth.pair = veth%di%s" % (ind, vmid, ind))
            if net.get("hwaddr"):
                raw.append("lxc.net.%s.hwaddr = %s" % (ind, net["hwaddr"]))
            raw.append("lxc.net.%s.name = %s" % (ind, net["name"]))
            if bridge:
                # PVE::Network::read_bridge_mtu
                try:
                    with open("/sys/class/net/%s/mtu" % bridge) as f:
                        bridge_mtu = int(f.read().strip())
                except OSError:
                    raise die("bridge '%s' does not exist\n" % bridge)
                mtu = int(net.get("mtu") or bridge_mtu)
                if mtu > bridge_mtu:
                    raise die("%s: MTU size '%d' is bigger than bridge MTU '%d'\n" % (k, mtu, bridge_mtu))
                raw.append("lxc.net.%s.mtu = %d" % (ind, mtu))
                # PVE plugs the veth with its lxcnetaddbr up-script; liblxc's own `link` does the same here.
                raw.append("lxc.net.%s.link = %s" % (ind, bridge))
                if not net.get("link_down"):
                    raw.append("lxc.net.%s.flags = up" % ind)
            if net.get("host-managed") and net.get("ip") not in (None, "dhcp", "manual"):
                raw.append("lxc.net.%s.ipv4.address = %s" % (ind, net["ip"]))
                if net.get("gw"):
                    raw.append("lxc.net.%s.ipv4.gateway = %s" % (ind, net["gw"]))
        for k, v in conf.get("lxc", []):
            raw.append("%s = %s" % (k, v))
        cores = conf.get("cores")
        ncpu = os.cpu_count() or 1
        if cores and int(cores) < ncpu and not any(k.endswith("cpuset.cpus") for k, _ in conf.get("lxc", [])):
            ver = "" if "cpuset" in self.cgv1 else "2"
            raw.append("lxc.cgroup%s.cpuset.cpus = %s" % (ver, "0" if int(cores) == 1 else "0-%d" % (int(cores) - 1)))
        # PVE 9.1 (pve-container 6.0): entrypoint and env of application containers.
        entry = conf.get("entrypoint")
        if entry:
            raw.append("lxc.init.cmd = %s" % entry)
        env = conf.get("env")
        if env:
            # lxc.environment.runtime is lxc 6.0's (lxc-pve in PVE 9.1); Debian 12's liblxc 5.0 refuses the key,
            # so on an older liblxc the same variables go to lxc.environment (init and attach alike).
            key = "lxc.environment.runtime" if self.lxc_major >= 6 else "lxc.environment"
            for e in str(env).split("\0"):
                if e:
                    raw.append("%s = %s" % (key, e))
        d = os.path.join(self.lxcpath, str(vmid))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.tmp"), "w") as f:
            f.write("\n".join(raw) + "\n")
        os.replace(os.path.join(d, "config.tmp"), os.path.join(d, "config"))

    # ------------------------------------------------------------------------------------- start/stop

    def vm_start(self, ct, task):
        """PVE::LXC::vm_start: regenerate the LXC config, then what pve-container@VMID.service runs."""
        self.lxc_config(ct)
        stderr_path = os.path.join(self.data_dir, "ct-%d.stderr" % ct.vmid)
        try:
            os.unlink(stderr_path)
        except FileNotFoundError:
            pass
        errf = open(stderr_path, "wb")
        cmd = ["lxc-start", "-F", "-n", str(ct.vmid), "-P", self.lxcpath]
        entry = ct.conf.get("entrypoint")
        if entry and ("'" in entry or '"' in entry):
            # PVE 9.1's lxc (lxc-pve 6.0) splits lxc.init.cmd with lxc_string_split_quoted; Debian's liblxc 5.0
            # splits on spaces only. Hand the quoted split to lxc-start, which takes it over lxc.init.cmd.
            try:
                cmd += ["--"] + shlex.split(entry)
            except ValueError as e:
                raise die("entrypoint: %s\n" % e)
        # As root, liblxc writes id maps through newuidmap/newgidmap when they are on PATH, and those refuse the
        # ranges /etc/subuid does not grant to root (a PVE node grants root:100000:65536; this machine does not).
        # Root may write the maps itself: start lxc-start by its full path without PATH (as src/backend/lxc does).
        cmd[0] = shutil.which("lxc-start") or "/usr/bin/lxc-start"
        env = {k: v for k, v in os.environ.items() if k != "PATH"}
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf,
                                start_new_session=True, close_fds=True, env=env)
        errf.close()
        ct.proc = proc
        self.started_vmids.add(ct.vmid)
        # PVE waits up to 10 s on the monitor socket for the state change.
        deadline = time.time() + 10
        pid = None
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            rc, out = run(["lxc-info", "-n", str(ct.vmid), "-P", self.lxcpath, "-s", "-p"], timeout=10)
            ms = re.search(r"^State:\s+(\S+)", out, re.M)
            mp = re.search(r"^PID:\s+(\d+)", out, re.M)
            if rc == 0 and ms and ms.group(1) == "RUNNING" and mp:
                pid = int(mp.group(1))
                break
            time.sleep(0.02)
        if pid is None:
            if proc.poll() is None:
                # stop it through liblxc (the monitor then removes the CT's cgroups); SIGKILL only as a last resort
                run(["lxc-stop", "-k", "-n", str(ct.vmid), "-P", self.lxcpath], timeout=30)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            try:
                with open(stderr_path, errors="replace") as f:
                    tail = f.read()[-2000:]
            except OSError:
                tail = ""
            if tail:
                task.log(tail)
            ct.proc = None
            raise die("startup for container '%d' failed\n" % ct.vmid)
        ct.init_pid = pid
        ct.init_start = proc_starttime(pid)
        ct.started_at = time.time()
        ct.frozen = False
        threading.Thread(target=self._reap, args=(ct, proc), daemon=True).start()

    def _reap(self, ct, proc):
        proc.wait()
        if ct.proc is proc:
            ct.proc = None
            ct.init_pid = None
            ct.init_start = None
            ct.frozen = False

    def vm_stop(self, ct, task, kill=True, timeout=None):
        if ct.frozen:
            run(["lxc-unfreeze", "-n", str(ct.vmid), "-P", self.lxcpath], timeout=30)
            ct.frozen = False
        cmd = ["lxc-stop", "-n", str(ct.vmid), "-P", self.lxcpath]
        if kill:
            cmd.append("-k")
        else:
            cmd += ["--nokill", "--timeout", str(timeout if timeout is not None else 60)]
        rc, out = run(cmd, timeout=(timeout or 60) + 30)
        if rc != 0 and self.is_running(ct):
            if out.strip():
                task.log(out)
            raise die("command '%s' failed: exit code %d\n" % (" ".join(
                c for c in cmd if c not in ("-P", self.lxcpath)), rc if rc > 0 else 1))
        proc = ct.proc
        if proc is not None:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        ct.init_pid = None
        ct.init_start = None
        ct.proc = None

    def destroy_ct(self, ct, task):
        """PVE::LXC::destroy_lxc_container: free the volumes, the LXC dir, the config."""
        for vol in self.ct_volumes(ct.conf):
            try:
                sid, volname = parse_volid(vol)
            except PVEError:
                continue
            st = self.storages.get(sid)
            if st is None:
                continue
            m = re.match(r"(\d+)/", volname)
            if m and int(m.group(1)) != ct.vmid:
                task.warn("ignore deletion of '%s', CT %d isn't the owner!" % (vol, ct.vmid))
                continue
            path = st.volume_path(volname)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=False)
            elif os.path.exists(path):
                os.unlink(path)
            try:
                os.rmdir(os.path.dirname(path))
            except OSError:
                pass
        d = os.path.join(self.lxcpath, str(ct.vmid))
        shutil.rmtree(d, ignore_errors=True)
        try:
            os.unlink(os.path.join(self.data_dir, "ct-%d.stderr" % ct.vmid))
        except FileNotFoundError:
            pass
        try:
            os.unlink(self.conf_path(ct.vmid))
        except FileNotFoundError:
            pass
        with self.cts_lock:
            if self.cts.get(ct.vmid) is ct:
                del self.cts[ct.vmid]

    def shutdown(self):
        """SIGTERM: stop every CT (lxc-stop -k) and remove this emulator's cgroup directories."""
        self.stopping = True
        for ct in list(self.cts.values()):
            if ct.proc is not None or self.is_running(ct):
                run(["lxc-unfreeze", "-n", str(ct.vmid), "-P", self.lxcpath], timeout=10) if ct.frozen else None
                run(["lxc-stop", "-n", str(ct.vmid), "-P", self.lxcpath, "-k"], timeout=30)
                if ct.proc is not None:
                    try:
                        ct.proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        ct.proc.kill()
        self.remove_cgroups()

    def remove_cgroups(self):
        for _ in range(20):
            if self._remove_cgroups_once():
                return
            time.sleep(0.1)

    def _remove_cgroups_once(self):
        """Removes the cgroup directories of the CTs this emulator started (PREFIX/VMID with what liblxc and the
        CT made below it, PREFIX.monitor/VMID), then PREFIX and PREFIX.monitor when empty. Nothing else: other
        users of the machine may have their own directories there."""
        ok = True
        roots = ["/sys/fs/cgroup"] + [os.path.join("/sys/fs/cgroup", d) for d in os.listdir("/sys/fs/cgroup")]
        for root in roots:
            for name in (self.cgroup_prefix, self.cgroup_prefix + ".monitor"):
                top = os.path.join(root, name)
                if not os.path.isdir(top) or os.path.islink(top):
                    continue
                for vmid in sorted(self.started_vmids):
                    base = os.path.join(top, str(vmid))
                    if not os.path.isdir(base):
                        continue
                    for dirpath, _, _ in sorted(os.walk(base, topdown=False), key=lambda t: -len(t[0])):
                        try:
                            os.rmdir(dirpath)
                        except FileNotFoundError:
                            pass
                        except OSError:
                            ok = False
                try:
                    os.rmdir(top)
                except OSError:
                    pass
        return ok


def proc_starttime_thread(tid):
    try:
        with open("/proc/self/task/%d/stat" % tid) as f:
            data = f.read()
        return int(data[data.rindex(")") + 2:].split()[19])
    except (OSError, ValueError):
        return None


# ============================================================================================ API handlers

class API:
    """The handlers, one per (method, schema path). Each gets (req, params) and returns the data."""

    def __init__(self, emu):
        self.emu = emu
        self.handlers = {
            ("GET", "/version"): self.version,
            ("GET", "/cluster/nextid"): self.nextid,
            ("GET", "/cluster/resources"): self.resources,
            ("GET", "/nodes"): self.nodes,
            ("GET", "/nodes/{node}"): self.node_index,
            ("GET", "/nodes/{node}/status"): self.node_status,
            ("GET", "/nodes/{node}/lxc"): self.lxc_list,
            ("POST", "/nodes/{node}/lxc"): self.lxc_create,
            ("GET", "/nodes/{node}/lxc/{vmid}"): self.lxc_index,
            ("DELETE", "/nodes/{node}/lxc/{vmid}"): self.lxc_destroy,
            ("GET", "/nodes/{node}/lxc/{vmid}/config"): self.lxc_config_get,
            ("PUT", "/nodes/{node}/lxc/{vmid}/config"): self.lxc_config_put,
            ("GET", "/nodes/{node}/lxc/{vmid}/status"): self.lxc_status_index,
            ("GET", "/nodes/{node}/lxc/{vmid}/status/current"): self.lxc_status_current,
            ("POST", "/nodes/{node}/lxc/{vmid}/status/start"): self.lxc_start,
            ("POST", "/nodes/{node}/lxc/{vmid}/status/stop"): self.lxc_stop,
            ("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown"): self.lxc_shutdown,
            ("POST", "/nodes/{node}/lxc/{vmid}/status/reboot"): self.lxc_reboot,
            ("POST", "/nodes/{node}/lxc/{vmid}/status/suspend"): self.lxc_suspend,
            ("POST", "/nodes/{node}/lxc/{vmid}/status/resume"): self.lxc_resume,
            ("GET", "/nodes/{node}/lxc/{vmid}/snapshot"): self.snapshot_list,
            ("POST", "/nodes/{node}/lxc/{vmid}/snapshot"): self.snapshot_create,
            ("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}"): self.snapshot_index,
            ("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}"): self.snapshot_delete,
            ("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback"): self.snapshot_rollback,
            ("POST", "/nodes/{node}/lxc/{vmid}/template"): self.lxc_template,
            ("POST", "/nodes/{node}/lxc/{vmid}/clone"): self.lxc_clone,
            ("GET", "/nodes/{node}/tasks"): self.task_list,
            ("GET", "/nodes/{node}/tasks/{upid}"): self.task_index,
            ("DELETE", "/nodes/{node}/tasks/{upid}"): self.task_stop,
            ("GET", "/nodes/{node}/tasks/{upid}/status"): self.task_status,
            ("GET", "/nodes/{node}/tasks/{upid}/log"): self.task_log,
            ("GET", "/nodes/{node}/storage"): self.storage_list,
            ("GET", "/nodes/{node}/storage/{storage}"): self.storage_index,
            ("GET", "/nodes/{node}/storage/{storage}/status"): self.storage_status,
            ("GET", "/nodes/{node}/storage/{storage}/content"): self.storage_content,
            ("GET", "/nodes/{node}/storage/{storage}/content/{volume}"): self.volume_info,
            ("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}"): self.volume_delete,
            ("POST", "/nodes/{node}/storage/{storage}/upload"): self.upload,
        }

    # ------------------------------------------------------------------------------------- common

    def check_node(self, p):
        if p.get("node") != self.emu.node:
            # pveproxy proxies a request for another node to it: PVE::Cluster::remote_node_ip falls back to a DNS
            # lookup of the name, which fails for a node that does not exist.
            n = p.get("node")
            raise die("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known\n"
                      % (n, n))

    def storage(self, sid):
        st = self.emu.storages.get(sid)
        if st is None:
            raise die("storage '%s' does not exist\n" % sid)
        return st

    # ------------------------------------------------------------------------------------- cluster

    def version(self, req, p):
        return dict(VERSION)

    def nextid(self, req, p):
        if "vmid" in p:
            vmid = int(p["vmid"])
            if vmid in self.emu.cts:
                raise PVEError(400, "Parameter verification failed.", {"vmid": "VM %d already exists" % vmid})
            return vmid
        vmid = 100
        while vmid in self.emu.cts:
            vmid += 1
        return vmid

    def ct_entry(self, ct, cluster=False):
        e = self.status_of(ct)
        if cluster:
            e = {"id": "lxc/%d" % ct.vmid, "type": "lxc", "vmid": ct.vmid, "node": self.emu.node,
                 "name": e["name"], "status": e["status"], "maxmem": e["maxmem"], "mem": e["mem"],
                 "maxdisk": e["maxdisk"], "disk": e["disk"], "cpu": e["cpu"], "maxcpu": e["cpus"],
                 "uptime": e["uptime"], "template": e.get("template", 0), "tags": ct.conf.get("tags", ""),
                 "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
            if ct.conf.get("lock"):
                e["lock"] = ct.conf["lock"]
        return e

    def node_entry(self):
        total, used = mem_info()
        return {"id": "node/%s" % self.emu.node, "type": "node", "node": self.emu.node, "status": "online",
                "cpu": load_cpu(), "maxcpu": os.cpu_count() or 1, "mem": used, "maxmem": total,
                "uptime": int(time.time() - self.emu.start_time), "level": "", "ssl_fingerprint": self.emu.fpr}

    def storage_entry(self, st, cluster=False):
        total, used, avail = st.usage()
        if cluster:
            return {"id": "storage/%s/%s" % (self.emu.node, st.name), "type": "storage", "storage": st.name,
                    "node": self.emu.node, "status": "available", "plugintype": st.type, "shared": 0,
                    "content": ",".join(st.content), "maxdisk": total, "disk": used}
        return {"storage": st.name, "type": st.type, "content": ",".join(st.content), "active": 1, "enabled": 1,
                "shared": 0, "total": total, "used": used, "avail": avail,
                "used_fraction": (used / total) if total else 0}

    def resources(self, req, p):
        t = p.get("type")
        out = []
        if t in (None, "vm"):
            out += [self.ct_entry(ct, True) for ct in sorted(self.emu.cts.values(), key=lambda c: c.vmid)]
        if t in (None, "node"):
            out.append(self.node_entry())
        if t in (None, "storage"):
            out += [self.storage_entry(s, True) for s in self.emu.storages.values()]
        return out

    def nodes(self, req, p):
        e = self.node_entry()
        return [{"node": e["node"], "status": "online", "cpu": e["cpu"], "maxcpu": e["maxcpu"], "mem": e["mem"],
                 "maxmem": e["maxmem"], "uptime": e["uptime"], "level": "", "id": e["id"], "type": "node",
                 "ssl_fingerprint": self.emu.fpr}]

    def node_index(self, req, p):
        self.check_node(p)
        return [{"name": n} for n in ("lxc", "qemu", "status", "storage", "tasks", "version")]

    def node_status(self, req, p):
        self.check_node(p)
        total, used = mem_info()
        u = os.uname()
        return {"uptime": int(time.time() - self.emu.start_time), "cpu": load_cpu(),
                "loadavg": ["%.2f" % x for x in os.getloadavg()],
                "memory": {"total": total, "used": used, "free": total - used},
                "cpuinfo": {"cpus": os.cpu_count() or 1, "sockets": 1, "model": "emulated"},
                "kversion": "%s %s %s" % (u.sysname, u.release, u.version), "pveversion": "pve-manager/9.1.3/emulated",
                "rootfs": {}, "swap": {"total": 0, "used": 0, "free": 0}}

    # ------------------------------------------------------------------------------------- LXC list/status

    def status_of(self, ct):
        """pve-container PVE::LXC::vmstatus for one CT."""
        running = self.emu.is_running(ct)
        conf = ct.conf
        d = {"vmid": ct.vmid, "type": "lxc", "status": "running" if running else "stopped",
             "name": re.sub(r"\s", "", conf.get("hostname") or "CT%d" % ct.vmid)}
        cpus = conf.get("cores") or conf.get("cpulimit")
        d["cpus"] = (float(cpus) if "." in str(cpus) else int(cpus)) if cpus and float(cpus) else (os.cpu_count() or 1)
        if conf.get("tags"):
            d["tags"] = conf["tags"]
        maxdisk = 4 * 1024 * 1024 * 1024  # "use 4GB by default ??"
        m = re.search(r"size=(\d+(?:\.\d+)?)([KMGT]?)", str(conf.get("rootfs", "")))
        if m:
            maxdisk = int(float(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[
                m.group(2)])
        d.update({"disk": 0, "maxdisk": maxdisk, "mem": 0, "swap": 0,
                  "maxmem": int(conf.get("memory") or 512) * 1024 * 1024,
                  "maxswap": int(conf.get("swap") or 0) * 1024 * 1024, "uptime": 0, "cpu": 0, "netout": 0,
                  "netin": 0, "diskread": 0, "diskwrite": 0})
        if str(conf.get("template", "0")) == "1":
            d["template"] = 1
        if conf.get("lock"):
            d["lock"] = conf["lock"]
        if running:
            d["pid"] = ct.init_pid
            d["mem"] = cgroup_mem(ct.init_pid)
            st = ct.init_start
            if st is not None:
                with open("/proc/uptime") as f:
                    up = float(f.read().split()[0])
                d["uptime"] = max(0, int(up - st / os.sysconf("SC_CLK_TCK")))
        return d

    def lxc_list(self, req, p):
        self.check_node(p)
        return [self.status_of(ct) for ct in sorted(self.emu.cts.values(), key=lambda c: c.vmid)]

    def lxc_index(self, req, p):
        self.check_node(p)
        self.emu.get_ct(p["vmid"])
        return [{"subdir": s} for s in ("config", "status", "vncproxy", "termproxy", "vncwebsocket", "spiceproxy",
                                       "migrate", "clone", "rrd", "rrddata", "firewall", "snapshot", "resize",
                                       "interfaces", "pending")]

    def lxc_status_index(self, req, p):
        self.check_node(p)
        self.emu.get_ct(p["vmid"])
        return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "suspend", "resume", "reboot")]

    def lxc_status_current(self, req, p):
        """pve-container API2/LXC/Status.pm vm_status: vmstatus plus the HA state."""
        self.check_node(p)
        ct = self.emu.get_ct(p["vmid"])
        d = self.status_of(ct)
        d["ha"] = {"managed": 0}
        return d

    # ------------------------------------------------------------------------------------- create

    def check_ct_modify_config_perm(self, req, newconf, oldconf=None, delete=(), unprivileged=False):
        """pve-container PVE::LXC::check_ct_modify_config_perm: the checks that only root@pam passes."""
        if req.authuser == "root@pam":
            return
        mp_fmt = self.emu.schema["paths"]["/nodes/{node}/lxc"]["POST"]["params"]
        for opt in list(newconf) + list(delete):
            is_delete = opt in delete and opt not in newconf
            if opt == "rootfs" or re.fullmatch(r"mp\d+", opt):
                if is_delete:
                    continue
                fmt = mp_fmt["rootfs" if opt == "rootfs" else "mp[n]"]["format"]
                data = pve_schema.parse_property_string(fmt, str(newconf[opt]))
                vol = data.get("volume", "")
                mtype = "volume"
                if vol.startswith("/"):
                    mtype = "device" if vol.startswith("/dev/") else "bind"
                if mtype != "volume":
                    raise perm_exc("mount point type %s is only allowed for root@pam" % mtype)
            elif re.fullmatch(r"dev\d+", opt):
                raise perm_exc("configuring device passthrough is only allowed for root@pam")
            elif opt == "features":
                if not unprivileged:
                    raise perm_exc("changing feature flags for privileged container is only allowed for root@pam")
                fmt = mp_fmt["features"]["format"]
                new = {} if is_delete else pve_schema.parse_property_string(fmt, str(newconf[opt]))
                old = pve_schema.parse_property_string(fmt, str(oldconf[opt])) if oldconf and oldconf.get(opt) else {}
                other = any(str(old.get(f, "")) != str(new.get(f, "")) for f in set(old) | set(new) if f != "nesting")
                if other:
                    raise perm_exc("changing feature flags (except nesting) is only allowed for root@pam")
            elif opt == "hookscript":
                raise perm_exc("changing the hookscript is only allowed for root@pam")

    def lxc_create(self, req, p):
        """pve-container PVE::API2::LXC create_vm."""
        emu = self.emu
        self.check_node(p)
        vmid = int(p["vmid"])
        if "restore" in p and p["restore"]:
            raise die("restore is not emulated\n")
        ostemplate = p["ostemplate"]
        if ostemplate.startswith("/") and req.authuser != "root@pam":
            raise perm_exc("Only root can pass arbitrary filesystem paths.")
        unprivileged = int(p.get("unprivileged", 0))
        newconf = {k: v for k, v in p.items() if k not in (
            "node", "vmid", "ostemplate", "storage", "force", "start", "password", "ssh-public-keys", "restore",
            "unique", "ha-managed", "bwlimit", "ignore-unpack-errors", "pool")}
        self.check_ct_modify_config_perm(req, newconf, None, (), unprivileged)
        storage = p.get("storage", "local")
        st = self.storage(storage)
        if "rootdir" not in st.content:
            raise die("storage '%s' does not support container directories\n" % storage)
        # the template volume
        if ostemplate.startswith("/"):
            archive = ostemplate
        else:
            sid, volname = parse_volid(ostemplate)
            tst = self.storage(sid)
            if not volname.startswith("vztmpl/"):
                raise die("can't use volume '%s' as ostemplate (wrong content type)\n" % ostemplate)
            archive = tst.volume_path(volname)
        if not os.path.isfile(archive):
            raise die("volume '%s' does not exist\n" % ostemplate)
        rootfs = p.get("rootfs", "%s:4" % storage)
        rootfs_fmt = emu.schema["paths"]["/nodes/{node}/lxc"]["POST"]["params"]["rootfs"]["format"]
        rparsed = pve_schema.parse_property_string(rootfs_fmt, str(rootfs))
        m = re.fullmatch(r"(?:([^\s:]+):)?(\d+(?:\.\d+)?)", rparsed["volume"])  # NEW_DISK_RE
        if not m and not rparsed["volume"].startswith("/"):
            raise die("rootfs: creating a CT from an existing volume is not emulated ('%s')\n" % rparsed["volume"])
        mp_fmt = emu.schema["paths"]["/nodes/{node}/lxc"]["POST"]["params"]["mp[n]"]["format"]
        mps = {}
        for k in sorted(newconf):
            if not re.fullmatch(r"mp\d+", k):
                continue
            mpp = pve_schema.parse_property_string(mp_fmt, str(newconf[k]))
            vol = mpp["volume"]
            mm = re.fullmatch(r"(?:([^\s:]+):)?(\d+(?:\.\d+)?)", vol)
            if mm:
                msid = mm.group(1) or storage
                mst = self.storage(msid)
                if "rootdir" not in mst.content and "images" not in mst.content:
                    raise die("storage '%s' does not support container directories\n" % msid)
            elif vol.startswith("/dev/"):
                raise die("%s: device mount points are not emulated\n" % k)
            elif not vol.startswith("/"):
                raise die("%s: mounting an existing volume is not emulated ('%s')\n" % (k, vol))
            mps[k] = (mpp, mm)
        if m:
            rsid = m.group(1) or storage
            rst = self.storage(rsid)
            if "rootdir" not in rst.content:
                raise die("storage '%s' does not support container directories\n" % rsid)
        with emu.cts_lock:
            if vmid in emu.cts:
                # PVE::Cluster::check_vmid_unused
                raise die("unable to create CT %d - CT %d already exists on node '%s'\n" % (vmid, vmid, emu.node))
            conf = {"lock": "create", "arch": p.get("arch", "amd64"), "memory": p.get("memory", 512),
                    "swap": p.get("swap", 512)}
            ct = CT(vmid, conf)
            emu.cts[vmid] = ct
            emu.write_conf(ct)
        start = int(p.get("start", 0))

        def worker(task):
            volid = None
            allocated = {}
            try:
                with emu.lock_config(ct, 5):
                    if m:
                        rsid = m.group(1) or storage
                        rst = self.storage(rsid)
                        volname = "%d/subvol-%d-disk-0.subvol" % (vmid, vmid)
                        volid = "%s:%s" % (rsid, volname)
                        path = rst.volume_path(volname)
                        os.makedirs(path, exist_ok=False)
                        size = float(m.group(2))
                        rootfs_str = "%s,size=%s" % (volid, ("%dG" % size) if size == int(size) else
                                                     "%dM" % int(size * 1024))
                        for k in ("acl", "mountoptions", "quota", "replicate", "ro", "shared"):
                            if k in rparsed:
                                rootfs_str += ",%s=%s" % (k, rparsed[k])
                    else:
                        path = rparsed["volume"]
                        rootfs_str = str(rootfs)
                    # mount point volumes: subvols disk-1, disk-2, ... (PVE allocates them before extracting)
                    mp_strs = {}
                    for n, (key, (mpp, mm)) in enumerate(sorted(mps.items()), start=1):
                        rest = ",".join(["mp=%s" % mpp["mp"]] + ["%s=%s" % (a, b) for a, b in sorted(mpp.items())
                                                                   if a not in ("volume", "size", "mp")])
                        if mm:
                            mst = self.storage(mm.group(1) or storage)
                            mvolname = "%d/subvol-%d-disk-%d.subvol" % (vmid, vmid, n)
                            mpath = mst.volume_path(mvolname)
                            os.makedirs(mpath, exist_ok=False)
                            allocated[key] = "%s:%s" % (mst.name, mvolname)
                            if unprivileged:
                                os.chown(mpath, 100000, 100000)
                            msize = float(mm.group(2))
                            mp_strs[key] = "%s:%s,%s,size=%s" % (mst.name, mvolname, rest, (
                                "%dG" % msize) if msize == int(msize) else "%dM" % int(msize * 1024))
                        else:
                            mp_strs[key] = ",".join([mpp["volume"], rest] + (
                                ["size=%s" % mpp["size"]] if "size" in mpp else []))
                    task.log("extracting archive '%s'" % archive)
                    nbytes = extract_template(archive, path, 100000 if unprivileged else 0, task)
                    task.log("Total bytes read: %d (%.1fMiB, %.1fMiB/s)" % (nbytes, nbytes / 1048576.0,
                                                                          nbytes / 1048576.0))
                    ostype = p.get("ostype") or detect_ostype(path, task)
                    task.log("Detected container architecture: %s" % conf["arch"])
                    newc = dict(newconf)
                    newc.pop("lock", None)
                    newc["rootfs"] = rootfs_str
                    newc.update(mp_strs)
                    newc["ostype"] = ostype
                    newc["arch"] = conf["arch"]
                    newc.setdefault("memory", 512)
                    newc.setdefault("swap", 512)
                    for k in list(newc):
                        newc[k] = fmt_conf_value(newc[k])
                    if ostype != "unmanaged":
                        setup_managed(path, newc, vmid, task)
                    newc["lock"] = "create"
                    ct.conf = newc
                    emu.write_conf(ct)
                    if emu.task_fault("vzcreate"):
                        raise die("emulated fault: task vzcreate failed\n")
                    del ct.conf["lock"]
                    emu.write_conf(ct)
            except Exception:
                # PVE: on a failed create the CT's volumes and config are destroyed.
                ct.conf.pop("lock", None)
                if volid:
                    ct.conf.setdefault("rootfs", volid)
                for key, v in allocated.items():
                    ct.conf.setdefault(key, v)
                emu.destroy_ct(ct, task)
                raise
            if start:
                task.log("starting CT %d" % vmid)
                with emu.lock_config(ct):
                    emu.vm_start(ct, task)

        return emu.fork_worker("vzcreate", vmid, req.upid_user, worker)

    # ------------------------------------------------------------------------------------- config

    def lxc_config_get(self, req, p):
        self.check_node(p)
        ct = self.emu.get_ct(p["vmid"])
        if p.get("snapshot"):
            snap = ct.snapshots.get(p["snapshot"])
            if snap is None:
                raise die("snapshot '%s' does not exist\n" % p["snapshot"])
            conf = dict(snap)
        else:
            conf = dict(ct.conf)
        out = {}
        for k, v in conf.items():
            if k == "lxc":
                if v:
                    out["lxc"] = [[a, b] for a, b in v]
                continue
            out[k] = typed_value(k, v, self.emu.schema)
        out["digest"] = config_digest(ct.conf)
        return out

    def lxc_config_put(self, req, p):
        """pve-container PVE::API2::LXC::Config update_vm: synchronous, answers null."""
        emu = self.emu
        self.check_node(p)
        ct = emu.get_ct(p["vmid"])
        delete = [d for d in re.split(r"[,;\s]+", p.get("delete", "")) if d]
        revert = [d for d in re.split(r"[,;\s]+", p.get("revert", "")) if d]
        digest = p.get("digest")
        newconf = {k: v for k, v in p.items() if k not in ("node", "vmid", "delete", "revert", "digest")}
        for opt in delete:
            if opt in newconf:
                raise param_exc({"delete": "cannot set and delete property '%s' at the same time" % opt})
        with emu.lock_config(ct):
            if digest and digest != config_digest(ct.conf):
                raise die("detected modified configuration - file changed by other user? Try again.\n")
            if "lock" not in newconf:
                emu.check_lock(ct)
            self.check_ct_modify_config_perm(req, newconf, ct.conf, delete,
                                             str(newconf.get("unprivileged", ct.conf.get("unprivileged", 0))) == "1")
            running = emu.is_running(ct)
            for opt in delete:
                if opt in ("hostname", "memory", "rootfs"):
                    raise die("unable to delete required option '%s'\n" % opt)
                ct.conf.pop(opt, None)
            for k, v in newconf.items():
                if k in ("unprivileged", "rootfs", "arch", "ostype") and running:
                    raise die("unable to modify read-only option: '%s'\n" % k)
                ct.conf[k] = fmt_conf_value(v)
            emu.write_conf(ct)
            if running:
                apply_hotplug(ct, newconf)
        return None

    # ------------------------------------------------------------------------------------- status changes

    def _simple_vm_task(self, req, p, ttype, pre, work, skiplock_ok=True):
        emu = self.emu
        self.check_node(p)
        if p.get("skiplock") and req.authuser != "root@pam":
            raise PVEError(400, "Parameter verification failed.", {"skiplock": "Only root may use this option."})
        ct = emu.get_ct(p["vmid"])
        pre(ct)

        def worker(task):
            with emu.lock_config(ct):
                if not p.get("skiplock"):
                    emu.check_lock(ct)
                work(ct, task)

        return emu.fork_worker(ttype, ct.vmid, req.upid_user, worker)

    def lxc_start(self, req, p):
        emu = self.emu

        def pre(ct):
            if emu.is_running(ct):
                raise die("CT %d already running\n" % ct.vmid)

        def work(ct, task):
            if str(ct.conf.get("template", "0")) == "1":
                raise die("you can't start a CT if it's a template\n")
            if emu.is_running(ct):
                raise die("CT %d already running\n" % ct.vmid)
            emu.vm_start(ct, task)

        return self._simple_vm_task(req, p, "vzstart", pre, work)

    def _need_running(self, ct):
        if not self.emu.is_running(ct):
            raise die("CT %d not running\n" % ct.vmid)

    def lxc_stop(self, req, p):
        def work(ct, task):
            self._need_running(ct)
            self.emu.vm_stop(ct, task, kill=True)

        return self._simple_vm_task(req, p, "vzstop", self._need_running, work)

    def lxc_shutdown(self, req, p):
        timeout = int(p.get("timeout", 60))
        force = int(p.get("forceStop", 0))

        def work(ct, task):
            self._need_running(ct)
            try:
                self.emu.vm_stop(ct, task, kill=False, timeout=timeout)
            except PVEError:
                if not force:
                    raise
                task.log("shutdown failed - forcing stop")
                self.emu.vm_stop(ct, task, kill=True)

        return self._simple_vm_task(req, p, "vzshutdown", self._need_running, work)

    def lxc_reboot(self, req, p):
        def work(ct, task):
            self._need_running(ct)
            self.emu.vm_stop(ct, task, kill=False, timeout=int(p.get("timeout", 60)))
            self.emu.vm_start(ct, task)

        return self._simple_vm_task(req, p, "vzreboot", self._need_running, work)

    def lxc_suspend(self, req, p):
        def work(ct, task):
            self._need_running(ct)
            rc, out = run(["lxc-freeze", "-n", str(ct.vmid), "-P", self.emu.lxcpath], timeout=60)
            if rc != 0:
                task.log(out)
                raise die("command 'lxc-freeze -n %d' failed: exit code %d\n" % (ct.vmid, rc))
            ct.frozen = True

        return self._simple_vm_task(req, p, "vzsuspend", self._need_running, work)

    def lxc_resume(self, req, p):
        def work(ct, task):
            self._need_running(ct)
            rc, out = run(["lxc-unfreeze", "-n", str(ct.vmid), "-P", self.emu.lxcpath], timeout=60)
            if rc != 0:
                task.log(out)
                raise die("command 'lxc-unfreeze -n %d' failed: exit code %d\n" % (ct.vmid, rc))
            ct.frozen = False

        return self._simple_vm_task(req, p, "vzresume", self._need_running, work)

    # ------------------------------------------------------------------------------------- destroy

    def lxc_destroy(self, req, p):
        """pve-container PVE::API2::LXC destroy_vm."""
        emu = self.emu
        self.check_node(p)
        ct = emu.get_ct(p["vmid"])
        force = int(p.get("force", 0))
        if str(ct.conf.get("protection", "0")) == "1":
            raise die("can't remove CT %d - protection mode enabled\n" % ct.vmid)
        emu.check_lock(ct)
        if not force and emu.is_running(ct):
            raise die("unable to destroy CT %d - container is running\n" % ct.vmid)

        def worker(task):
            with emu.lock_config(ct):
                emu.check_lock(ct)
                if emu.is_running(ct) or ct.proc is not None:
                    if not force:
                        raise die("unable to destroy CT %d - container is running\n" % ct.vmid)
                    task.warn("forced to stop CT %d before destroying!" % ct.vmid)
                    emu.vm_stop(ct, task, kill=True)
                emu.destroy_ct(ct, task)
                if p.get("destroy-unreferenced-disks"):
                    # every volume of this VMID on every storage, referenced or not
                    for st in emu.storages.values():
                        d = os.path.join(st.path, "images", str(ct.vmid))
                        if os.path.isdir(d):
                            for name in sorted(os.listdir(d)):
                                task.log("destroying unreferenced disk %s:%d/%s" % (st.name, ct.vmid, name))
                            shutil.rmtree(d)
                if p.get("purge"):
                    task.log("purging CT %d from related configurations.." % ct.vmid)

        return emu.fork_worker("vzdestroy", ct.vmid, req.upid_user, worker)

    # ------------------------------------------------------------------------------------- snapshots

    def snapshot_list(self, req, p):
        self.check_node(p)
        ct = self.emu.get_ct(p["vmid"])
        out = [{"name": n, "description": s.get("description", ""), "snaptime": int(s.get("snaptime", 0))}
               for n, s in ct.snapshots.items()]
        out.append({"name": "current", "description": "You are here!", "running": int(self.emu.is_running(ct)),
                    "digest": config_digest(ct.conf)})
        return out

    def _dir_snapshot_unavailable(self, req, p, ttype):
        """Every volume here is a subvol on a dir storage, which has no snapshot feature (pve-storage DirPlugin
        volume_has_feature): the worker dies as PVE's does."""
        emu = self.emu
        self.check_node(p)
        ct = emu.get_ct(p["vmid"])
        snapname = p["snapname"]

        def worker(task):
            with emu.lock_config(ct):
                if ttype == "vzsnapshot":
                    emu.check_lock(ct)
                    if snapname in ct.snapshots or snapname == "current":
                        raise die("snapshot name '%s' already used\n" % snapname)
                    raise die("snapshot feature is not available\n")
                raise die("snapshot '%s' does not exist\n" % snapname)

        return emu.fork_worker(ttype, ct.vmid, req.upid_user, worker)

    def snapshot_create(self, req, p):
        return self._dir_snapshot_unavailable(req, p, "vzsnapshot")

    def snapshot_index(self, req, p):
        self.check_node(p)
        ct = self.emu.get_ct(p["vmid"])
        if p["snapname"] not in ct.snapshots:
            raise die("snapshot '%s' does not exist\n" % p["snapname"])
        return [{"cmd": "rollback"}, {"cmd": "config"}]

    def snapshot_delete(self, req, p):
        return self._dir_snapshot_unavailable(req, p, "vzdelsnapshot")

    def snapshot_rollback(self, req, p):
        return self._dir_snapshot_unavailable(req, p, "vzrollback")

    # ------------------------------------------------------------------------------------- template, clone

    def lxc_template(self, req, p):
        """pve-container API2/LXC.pm template: checks, then a vztemplate worker whose UPID is not returned."""
        emu = self.emu
        self.check_node(p)
        ct = emu.get_ct(p["vmid"])
        if str(ct.conf.get("template", "0")) == "1":
            raise die("you can't convert a template to a template\n")
        if emu.is_running(ct):
            raise die("you can't convert a CT to template if the CT is running\n")
        emu.check_lock(ct)
        if ct.snapshots:
            raise die("you can't convert a CT with snapshots to a template\n")

        def worker(task):
            with emu.lock_config(ct):
                emu.check_lock(ct)
                vol = str(ct.conf["rootfs"]).split(",")
                sid, volname = parse_volid(vol[0])
                st = self.storage(sid)
                newname = re.sub(r"/subvol-", "/basevol-", volname)
                if newname != volname:
                    os.rename(st.volume_path(volname), st.volume_path(newname))
                vol[0] = "%s:%s" % (sid, newname)
                ct.conf["rootfs"] = ",".join(vol)
                ct.conf["template"] = "1"
                emu.write_conf(ct)
                try:
                    os.unlink(os.path.join(emu.lxcpath, str(ct.vmid), "config"))
                except FileNotFoundError:
                    pass

        emu.fork_worker("vztemplate", ct.vmid, req.upid_user, worker)
        return None

    def lxc_clone(self, req, p):
        """pve-container API2/LXC.pm clone_vm, for dir storages (full copies only)."""
        emu = self.emu
        self.check_node(p)
        src = emu.get_ct(p["vmid"])
        newid = int(p["newid"])
        if p.get("target") and p["target"] != emu.node:
            raise die("target node '%s' is not emulated\n" % p["target"])
        is_template = str(src.conf.get("template", "0")) == "1"
        full = int(p["full"]) if "full" in p else (0 if is_template else 1)
        if not full and p.get("storage"):
            raise die("parameter 'storage' not allowed for linked clones\n")
        emu.check_lock(src)
        running = emu.is_running(src)
        snapname = p.get("snapname")
        if snapname and snapname not in src.snapshots:
            raise die("snapshot '%s' does not exist\n" % snapname)
        vol = str(src.conf.get("rootfs", "")).split(",")
        if full and running and not snapname:
            raise die("Full clone of a running container is only possible from a snapshot\n")
        if not full:
            raise die("Linked clone feature for '%s' is not available\n" % vol[0])
        sid, volname = parse_volid(vol[0])
        target_sid = p.get("storage") or sid
        tst = self.storage(target_sid)
        with emu.cts_lock:
            if newid in emu.cts:
                raise die("unable to create CT %d - CT %d already exists on node '%s'\n" % (newid, newid, emu.node))
            new = CT(newid, {"lock": "create", "arch": src.conf.get("arch", "amd64"),
                             "memory": src.conf.get("memory", 512), "swap": src.conf.get("swap", 512)})
            emu.cts[newid] = new
            emu.write_conf(new)
        if not is_template:
            src.conf["lock"] = "disk"
            emu.write_conf(src)

        def worker(task):
            newvolname = "%d/subvol-%d-disk-0.subvol" % (newid, newid)
            try:
                with emu.lock_config(new):
                    srcpath = self.storage(sid).volume_path(volname)
                    dst = tst.volume_path(newvolname)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    task.log("create full clone of mountpoint rootfs (%s)" % vol[0])
                    rc, out = run(["cp", "-a", "--reflink=auto", srcpath, dst], timeout=3600)
                    if rc != 0:
                        task.log(out)
                        raise die("copy of '%s' failed\n" % vol[0])
                    conf = {k: v for k, v in src.conf.items() if k not in ("lock", "template", "lxc")}
                    conf["rootfs"] = ",".join(["%s:%s" % (target_sid, newvolname)] + vol[1:])
                    if p.get("hostname"):
                        conf["hostname"] = p["hostname"]
                    for k in list(conf):
                        if re.fullmatch(r"net\d+", k):
                            # the clone gets a new MAC
                            conf[k] = re.sub(r"hwaddr=[0-9A-Fa-f:]+", "hwaddr=BC:24:11:%02X:%02X:%02X" % tuple(
                                secrets.token_bytes(3)), str(conf[k]))
                    conf["lock"] = "create"
                    new.conf = conf
                    emu.write_conf(new)
                    if emu.task_fault("vzclone"):
                        raise die("emulated fault: task vzclone failed\n")
                    del new.conf["lock"]
                    emu.write_conf(new)
            except Exception:
                new.conf.pop("lock", None)
                new.conf["rootfs"] = "%s:%s" % (target_sid, newvolname)
                emu.destroy_ct(new, task)
                raise
            finally:
                if not is_template:
                    with emu.lock_config(src):
                        src.conf.pop("lock", None)
                        emu.write_conf(src)

        return emu.fork_worker("vzclone", src.vmid, req.upid_user, worker)

    # ------------------------------------------------------------------------------------- tasks

    def _task(self, p):
        upid = p["upid"]
        info = upid_decode(upid)
        if info is None:
            raise param_exc({"upid": "unable to parse worker upid '%s'" % upid})
        if info["node"] != self.emu.node:
            raise die("no such task\n")
        with self.emu.tasks_lock:
            task = self.emu.tasks.get(upid)
        if task is None:
            raise die("no such task\n")
        return task

    def task_list(self, req, p):
        self.check_node(p)
        with self.emu.tasks_lock:
            tasks = list(self.emu.tasks.values())
        out = []
        if p.get("vmid"):
            tasks = [t for t in tasks if t.id == str(p["vmid"])]
        if p.get("typefilter"):
            tasks = [t for t in tasks if t.type == p["typefilter"]]
        if p.get("errors"):
            tasks = [t for t in tasks if t.status == "stopped" and t.exitstatus != "OK"]
        if p.get("source") == "active":
            tasks = [t for t in tasks if t.status == "running"]
        start = int(p.get("start", 0))
        for t in sorted(tasks, key=lambda t: -t.starttime)[start:start + int(p.get("limit", 50))]:
            d = t.status_dict()
            if t.status == "stopped":
                d["status"] = t.exitstatus
            out.append(d)
        return out

    def task_index(self, req, p):
        self.check_node(p)
        self._task(p)
        return [{"name": "log"}, {"name": "status"}]

    def task_stop(self, req, p):
        self.check_node(p)
        self._task(p)
        return None

    def task_status(self, req, p):
        self.check_node(p)
        return self._task(p).status_dict()

    def task_log(self, req, p):
        self.check_node(p)
        task = self._task(p)
        start = int(p.get("start", 0))
        limit = int(p.get("limit", 50))
        with task.lock:
            lines = list(task.lines)
        if not lines:
            lines = ["no content"]
        req.total = len(lines)
        return [{"n": i + 1, "t": t} for i, t in enumerate(lines) if start <= i < start + limit]

    # ------------------------------------------------------------------------------------- storage

    def storage_list(self, req, p):
        self.check_node(p)
        out = []
        want = p.get("content")
        for st in self.emu.storages.values():
            if p.get("storage") and p["storage"] != st.name:
                continue
            if want and not set(re.split(r"[,;\s]+", want)) & set(st.content):
                continue
            out.append(self.storage_entry(st))
        return out

    def storage_index(self, req, p):
        self.check_node(p)
        self.storage(p["storage"])
        return [{"subdir": s} for s in ("content", "download-url", "file-restore", "import-metadata",
                                        "oci-registry-pull", "prunebackups", "rrd", "rrddata", "status", "upload")]

    def storage_status(self, req, p):
        self.check_node(p)
        e = self.storage_entry(self.storage(p["storage"]))
        return {k: e[k] for k in ("type", "content", "active", "enabled", "shared", "total", "used", "avail")}

    def _volumes(self, st):
        out = []
        tdir = os.path.join(st.path, "template", "cache")
        for name in sorted(os.listdir(tdir)):
            if name.startswith(".") or not re.search(r"\.tar(\.(gz|xz|zst|bz2))?$", name):
                continue
            sb = os.stat(os.path.join(tdir, name))
            ext = re.search(r"\.(tar(?:\.(?:gz|xz|zst|bz2))?)$", name).group(1)
            fmt = {"tar": "tar", "tar.gz": "tgz", "tar.xz": "txz", "tar.zst": "tzst", "tar.bz2": "tbz2"}[ext]
            out.append({"volid": "%s:vztmpl/%s" % (st.name, name), "content": "vztmpl", "format": fmt,
                        "size": sb.st_size, "ctime": int(sb.st_mtime)})
        idir = os.path.join(st.path, "images")
        for vmid in sorted(os.listdir(idir)):
            if not vmid.isdigit():
                continue
            for name in sorted(os.listdir(os.path.join(idir, vmid))):
                mm = re.fullmatch(r"(subvol|vm|base)-\d+-disk-\d+(?:\.(raw|subvol))?", name)
                if not mm:
                    continue
                out.append({"volid": "%s:%s/%s" % (st.name, vmid, name), "content": "rootdir", "format": "subvol",
                            "size": 0, "used": 0, "vmid": int(vmid),
                            "ctime": int(os.stat(os.path.join(idir, vmid, name)).st_mtime)})
        return out

    def storage_content(self, req, p):
        self.check_node(p)
        st = self.storage(p["storage"])
        out = self._volumes(st)
        if p.get("content"):
            out = [v for v in out if v["content"] == p["content"]]
        if p.get("vmid"):
            out = [v for v in out if v.get("vmid") == int(p["vmid"])]
        return out

    def _volume(self, p):
        st = self.storage(p["storage"])
        vol = p["volume"]
        if ":" in vol:
            sid, volname = parse_volid(vol)
            if sid != st.name:
                st = self.storage(sid)
        else:
            volname = vol
        if ".." in volname.split("/"):
            raise die("unable to parse volume name '%s'\n" % volname)
        path = st.volume_path(volname)
        if not os.path.exists(path):
            raise die("volume '%s:%s' does not exist\n" % (st.name, volname))
        return st, volname, path

    def volume_info(self, req, p):
        self.check_node(p)
        st, volname, path = self._volume(p)
        sb = os.stat(path)
        return {"path": path, "size": sb.st_size, "used": sb.st_size, "format": "tgz" if path.endswith(".gz") else "raw",
                "volid": "%s:%s" % (st.name, volname), "ctime": int(sb.st_mtime)}

    def volume_delete(self, req, p):
        emu = self.emu
        self.check_node(p)
        st, volname, path = self._volume(p)
        m = re.match(r"(\d+)/", volname)
        if m and int(m.group(1)) in emu.cts:
            ct = emu.cts[int(m.group(1))]
            if "%s:%s" % (st.name, volname) in emu.ct_volumes(ct.conf):
                raise die("unable to delete volume '%s:%s' - volume is still in use (CT %s)\n" % (
                    st.name, volname, m.group(1)))

        def worker(task):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            task.log("Removed volume '%s:%s'" % (st.name, volname))

        return emu.fork_worker("imgdel", "", req.upid_user, worker)

    def upload(self, req, p):
        """pve-storage PVE::API2::Storage::Status upload: the file was streamed to a temp file by the HTTP layer."""
        emu = self.emu
        self.check_node(p)
        st = self.storage(p["storage"])
        content = p["content"]
        tmp = req.upload_tmp
        if tmp is None:
            raise param_exc({"filename": "missing file upload"})
        if content not in st.content:
            raise die("storage '%s' does not support '%s' content\n" % (st.name, content))
        fname = p["filename"]
        # PVE::Storage::normalize_content_filename + the extension checks of upload
        fname = re.sub(r"[^a-zA-Z0-9_.\-]", "_", os.path.basename(fname))
        if content == "vztmpl" and not re.search(r"\.tar(\.(gz|xz|zst|bz2))?$", fname):
            raise param_exc({"filename": "wrong file extension"})
        if content == "iso" and not re.search(r"\.(iso|img)$", fname, re.I):
            raise param_exc({"filename": "wrong file extension"})
        target = st.volume_path(("vztmpl/" if content == "vztmpl" else "iso/") + fname)
        checksum = p.get("checksum")
        algo = p.get("checksum-algorithm")
        if bool(checksum) != bool(algo):
            raise param_exc({"checksum-algorithm": "'checksum-algorithm' and 'checksum' must be used together"}
                            if checksum else {"checksum": "'checksum-algorithm' and 'checksum' must be used together"})
        req.upload_tmp = None  # the task owns it now
        volid = "%s:%s/%s" % (st.name, content, fname)

        def worker(task):
            try:
                task.log("starting file import from: %s" % tmp)
                if checksum:
                    task.log("calculating checksum...")
                    h = hashlib.new(algo)
                    with open(tmp, "rb") as f:
                        while True:
                            b = f.read(1 << 20)
                            if not b:
                                break
                            h.update(b)
                    if h.hexdigest().lower() != checksum.lower():
                        raise die("checksum mismatch: got '%s' != expect '%s'\n" % (h.hexdigest(), checksum.lower()))
                    task.log("checksum verified")
                task.log("target node: %s" % emu.node)
                task.log("target file: %s" % target)
                task.log("file size is: %d" % os.path.getsize(tmp))
                os.replace(tmp, target)
                task.log("finished file import successfully")
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

        return emu.fork_worker("imgcopy", "", req.upid_user, worker)


# ============================================================================================ helpers 2

def mem_info():
    total = free = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
            elif line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    return total, total - free


def load_cpu():
    return round(os.getloadavg()[0] / (os.cpu_count() or 1), 4)


def cgroup_mem(pid):
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                parts = line.strip().split(":", 2)
                if len(parts) == 3 and "memory" in parts[1].split(","):
                    with open("/sys/fs/cgroup/memory%s/memory.usage_in_bytes" % parts[2].rsplit("/ns", 1)[0]) as g:
                        return int(g.read().strip())
    except (OSError, ValueError):
        pass
    return 0


def fmt_conf_value(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v) if not isinstance(v, str) else v


def typed_value(k, v, schema):
    """Config values come back typed as in the schema (integers and booleans as numbers)."""
    props = schema["paths"]["/nodes/{node}/lxc/{vmid}/config"]["PUT"]["params"]
    sub = pve_schema.schema_for(props, k)
    if sub is None:
        return v
    t = sub.get("type")
    try:
        if t in ("integer", "boolean"):
            return int(v)
        if t == "number":
            f = float(v)
            return int(f) if f.is_integer() else f
    except (TypeError, ValueError):
        pass
    return v


def apply_hotplug(ct, newconf):
    """Memory/CPU changes of a running CT go to its cgroup, as PVE's hotplug does (best effort)."""
    if not ct.init_pid:
        return
    try:
        with open("/proc/%d/cgroup" % ct.init_pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        path = parts[2].rsplit("/ns", 1)[0]
        if "memory" in parts[1].split(",") and "memory" in newconf:
            try:
                with open("/sys/fs/cgroup/memory%s/memory.limit_in_bytes" % path, "w") as g:
                    g.write(str(int(newconf["memory"]) * 1024 * 1024))
            except OSError:
                pass


def detect_ostype(rootdir, task):
    """PVE::LXC::Setup autodetect_type (pve-container src/PVE/LXC/Setup.pm)."""
    osr = {}
    try:
        with open(os.path.join(rootdir, "etc/os-release")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    osr[k] = v.strip('"')
    except OSError:
        osr = None
    if osr and osr.get("ID") in ("ubuntu", "debian", "devuan", "alpine", "fedora", "centos", "archlinux", "opensuse",
                                 "gentoo", "nixos"):
        return osr["ID"]
    checks = [("etc/debian_version", "debian"), ("etc/devuan_version", "devuan"), ("etc/SuSE-release", "opensuse"),
              ("etc/fedora-release", "fedora"), ("etc/centos-release", "centos"), ("etc/redhat-release", "centos"),
              ("etc/arch-release", "archlinux"), ("etc/alpine-release", "alpine"), ("etc/gentoo-release", "gentoo")]
    for path, t in checks:
        if os.path.isfile(os.path.join(rootdir, path)):
            return t
    if osr is not None:
        raise die("unable to detect OS distribution\n")
    task.warn("/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'")
    return "unmanaged"


def setup_managed(rootdir, conf, vmid, task):
    """The part of PVE::LXC::Setup's post_create_hook that matters here: /etc/hostname and /etc/hosts."""
    hostname = conf.get("hostname") or "CT%d" % vmid
    etc = os.path.join(rootdir, "etc")
    if os.path.isdir(etc) and not os.path.islink(etc):
        for name, text in (("hostname", hostname + "\n"),
                           ("hosts", "127.0.0.1 localhost.localdomain localhost\n127.0.1.1 %s\n" % hostname)):
            p = os.path.join(etc, name)
            if not os.path.islink(p):
                with open(p, "w") as f:
                    f.write(text)


def extract_template(archive, dest, idshift, task):
    """Unpacks a (gzip'd) tar into dest, refusing absolute or `..` members and links leaving the tree.

    With idshift (unprivileged CTs) every uid/gid is shifted by it, as PVE's `tar --numeric-owner` under
    lxc-usernsexec does."""
    nbytes = os.path.getsize(archive)
    try:
        tf = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as e:
        raise die("unable to open template archive '%s': %s\n" % (archive, e))
    with tf:
        for ti in tf:
            name = ti.name
            while name.startswith("./"):
                name = name[2:]
            if name in ("", "."):
                if ti.isdir():
                    os.chown(dest, ti.uid + idshift, ti.gid + idshift)
                    os.chmod(dest, ti.mode & 0o7777)
                continue
            if name.startswith("/") or ".." in name.split("/"):
                raise die("refusing to extract '%s' from the template: absolute path or '..'\n" % ti.name)
            if ti.islnk():
                ln = ti.linkname
                while ln.startswith("./"):
                    ln = ln[2:]
                if ln.startswith("/") or ".." in ln.split("/"):
                    raise die("refusing to extract hard link '%s' -> '%s' from the template\n" % (ti.name, ti.linkname))
                ti.linkname = ln
            # parents must be real directories inside dest (no symlink escape)
            parent = dest
            for comp in name.split("/")[:-1]:
                parent = os.path.join(parent, comp)
                if os.path.islink(parent):
                    raise die("refusing to extract '%s' through the symlink '%s'\n" % (ti.name, comp))
            ti.name = name
            target = os.path.join(dest, name)
            if ti.isdir() and os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, ti.mode & 0o7777)
                os.chown(target, ti.uid + idshift, ti.gid + idshift)
                continue
            if os.path.lexists(target) and not os.path.isdir(target):
                os.unlink(target)
            ti.uid += idshift
            ti.gid += idshift
            try:
                tf.extract(ti, dest, set_attrs=True, numeric_owner=True)
            except TypeError:
                tf.extract(ti, dest, set_attrs=True)
            except (OSError, tarfile.TarError) as e:
                raise die("error extracting '%s': %s\n" % (ti.name, e))
    return nbytes


# ============================================================================================ HTTP

def parse_multipart_stream(rfile, length, boundary, tmp_dir):
    made = []
    try:
        return _parse_multipart(rfile, length, boundary, tmp_dir, made)
    except BaseException:
        for p in made:
            if os.path.exists(p):
                os.unlink(p)
        raise


def _parse_multipart(rfile, length, boundary, tmp_dir, made):
    """Reads a multipart/form-data body of `length` bytes from rfile; the file part goes to a temp file in
    tmp_dir chunk by chunk (never whole in memory). Returns (fields, tmp_path or None)."""
    delim = b"--" + boundary
    fields = {}
    tmp_path = None
    remaining = length
    buf = b""
    chunk = 1 << 16

    def fill():
        nonlocal buf, remaining
        if remaining <= 0:
            return False
        data = rfile.read(min(chunk, remaining))
        if not data:
            raise PVEError(400, "unexpected end of upload")
        remaining -= len(data)
        buf += data
        return True

    # preamble up to the first delimiter
    while delim not in buf:
        if not fill():
            raise PVEError(400, "multipart: no boundary")
    buf = buf[buf.index(delim) + len(delim):]
    while True:
        while len(buf) < 2:
            if not fill():
                break
        if buf.startswith(b"--"):
            break  # closing delimiter
        while b"\r\n\r\n" not in buf:
            if not fill():
                raise PVEError(400, "multipart: truncated headers")
            if len(buf) > 65536:
                raise PVEError(400, "multipart: headers too long")
        head, buf = buf.split(b"\r\n\r\n", 1)
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        nm = re.search(r'\bname="([^"]*)"', disp)
        fn = re.search(r'\bfilename="([^"]*)"', disp)
        name = nm.group(1) if nm else ""
        sep = b"\r\n" + delim
        out = None
        value = b""
        if fn is not None:
            if tmp_path is not None:
                raise PVEError(400, "multipart: more than one file")
            fd, tmp_path = tempfile_in(tmp_dir)
            made.append(tmp_path)
            out = os.fdopen(fd, "wb")
        try:
            while True:
                idx = buf.find(sep)
                if idx >= 0:
                    part, buf = buf[:idx], buf[idx + len(sep):]
                    if out:
                        out.write(part)
                    else:
                        value += part
                    break
                keep = len(sep)
                if len(buf) > keep:
                    part, buf = buf[:-keep], buf[-keep:]
                    if out:
                        out.write(part)
                    else:
                        value += part
                        if len(value) > 1 << 20:
                            raise PVEError(400, "multipart: field '%s' too long" % name)
                if not fill():
                    raise PVEError(400, "multipart: truncated part")
        finally:
            if out:
                out.close()
        if fn is None:
            fields[name] = value.decode("utf-8", "replace")
        elif "filename" not in fields:
            fields.setdefault("__upload_filename", fn.group(1))
    # drain the rest
    while remaining > 0:
        fill()
        buf = b""
    return fields, tmp_path


def tempfile_in(d):
    os.makedirs(d, exist_ok=True)
    while True:
        path = os.path.join(d, "pveupload-%s" % secrets.token_hex(8))
        try:
            return os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), path
        except FileExistsError:
            continue


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""

    def version_string(self):
        return self.server_version
    emu = None
    api = None

    def log_message(self, fmt, *args):  # quiet: requests.log has what matters
        pass

    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def do_PUT(self):
        self.handle_api("PUT")

    def do_DELETE(self):
        self.handle_api("DELETE")

    # ------------------------------------------------------------------------------------- plumbing

    def send_json(self, code, obj, reason=None, extra_headers=()):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", self.date_time_string())
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_obj(self, err):
        msg = err.message
        reason = msg.rstrip("\n").split("\n")[0].replace("\r", " ")
        reason = reason.encode("latin-1", "replace").decode("latin-1")  # the status line is latin-1
        obj = {"data": None, "message": msg if msg.endswith("\n") else msg + "\n"}
        if err.errors:
            obj["errors"] = err.errors
        self.send_json(err.code, obj, reason)

    def read_body(self, ctype):
        self.body_read = True
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise PVEError(501, "chunked transfer encoding not supported")
        if ctype.startswith("multipart/form-data"):
            m = re.search(r'boundary="?([^";]+)"?', ctype)
            if not m:
                raise PVEError(400, "multipart/form-data without boundary")
            try:
                fields, tmp = parse_multipart_stream(self.rfile, length, m.group(1).encode(),
                                                     os.path.join(self.emu.data_dir, "upload-tmp"))
            except PVEError:
                self.close_connection = True
                raise
            self.upload_tmp = tmp
            fields.pop("__upload_filename", None)
            return fields
        if length > 64 * 1024 * 1024:
            raise PVEError(413, "request too large")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        if ctype.startswith("application/json"):
            try:
                obj = json.loads(raw.decode())
            except ValueError as e:
                raise PVEError(400, "unable to parse JSON body - %s" % e)
            if not isinstance(obj, dict):
                raise PVEError(400, "JSON body must be an object")
            return obj
        return dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

    # ------------------------------------------------------------------------------------- auth

    def make_ticket(self, user):
        ts = "%08X" % int(time.time())
        data = "PVE:%s:%s" % (user, ts)
        sig = base64.b64encode(hmac.new(self.emu.ticket_key + str(self.emu.ticket_epoch).encode(), data.encode(),
                                        hashlib.sha256).digest()).decode().rstrip("=")
        return data + "::" + sig

    def verify_ticket(self, ticket):
        m = re.fullmatch(r"PVE:([^:\s]+):([0-9A-F]{8})::(\S+)", ticket or "")
        if not m:
            return None
        data = "PVE:%s:%s" % (m.group(1), m.group(2))
        sig = base64.b64encode(hmac.new(self.emu.ticket_key + str(self.emu.ticket_epoch).encode(), data.encode(),
                                        hashlib.sha256).digest()).decode().rstrip("=")
        if not hmac.compare_digest(sig, m.group(3)):
            return None
        age = time.time() - int(m.group(2), 16)
        if age < -300 or age > TICKET_LIFETIME:
            return None
        return m.group(1)

    def csrf_token(self, user, ts=None):
        ts = ts or "%08X" % int(time.time())
        sig = base64.b64encode(hmac.new(self.emu.ticket_key, ("%s:%s" % (ts, user)).encode(),
                                        hashlib.sha256).digest()).decode().rstrip("=")
        return "%s:%s" % (ts, sig)

    def authenticate(self, method):
        """PVE::APIServer::AnyEvent / PVE::HTTPServer auth_handler. Sets authuser and upid_user."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("PVEAPIToken"):
            m = re.fullmatch(r"PVEAPIToken[= ]([^!@\s]+@[^!\s]+)!([^=\s]+)[=:](\S+)", auth)
            if not m:
                raise PVEError(401, "authentication failure")
            tid = "%s!%s" % (m.group(1), m.group(2))
            secret = self.emu.tokens.get(tid)
            if secret is None or not hmac.compare_digest(secret, m.group(3)):
                raise PVEError(401, "authentication failure")
            self.authuser = tid
            self.upid_user = tid
            return
        ticket = None
        for part in self.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "PVEAuthCookie":
                ticket = urllib.parse.unquote(v)
        if ticket is None:
            raise PVEError(401, "No ticket")
        user = self.verify_ticket(ticket)
        if user is None:
            raise PVEError(401, "authentication failure")
        if method != "GET":
            token = self.headers.get("CSRFPreventionToken", "")
            ok = False
            mm = re.fullmatch(r"([0-9A-F]{8}):(\S+)", token)
            if mm:
                ok = hmac.compare_digest(self.csrf_token(user, mm.group(1)), token) and \
                    time.time() - int(mm.group(1), 16) <= TICKET_LIFETIME
            if not ok:
                raise PVEError(401, "Permission denied - invalid csrf token")
        self.authuser = user
        self.upid_user = user

    def create_ticket(self, params):
        """POST /access/ticket (pve-access-control API2/AccessControl.pm create_ticket)."""
        props = self.emu.schema["paths"]["/access/ticket"]["POST"]
        params, errors = pve_schema.validate(props, params)
        if errors:
            raise param_exc(errors)
        user = params["username"]
        if "@" not in user and params.get("realm"):
            user = "%s@%s" % (user, params["realm"])
        pw = self.emu.users.get(user)
        # a valid ticket of the same user as password renews it (pve-access-control verify_ticket)
        renew = pw is not None and self.verify_ticket(params["password"]) == user
        if pw is None or not (renew or hmac.compare_digest(pw, params["password"])):
            raise PVEError(401, "authentication failure")
        ticket = self.make_ticket(user)
        data = {"username": user, "ticket": ticket, "CSRFPreventionToken": self.csrf_token(user),
                "cap": {"vms": {}, "storage": {}, "nodes": {}, "access": {}, "dc": {}}}
        return data, [("Set-Cookie", "PVEAuthCookie=%s; path=/; secure; SameSite=Lax" % urllib.parse.quote(ticket))]

    # ------------------------------------------------------------------------------------- dispatch

    def handle_api(self, method):
        t0 = time.monotonic()
        status = 500
        self.upload_tmp = None
        self.total = None
        self.body_read = False
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            if path == "/emulator/fault":
                status = self.handle_fault(method)
                return
            if not path.startswith("/api2/json/"):
                if path.startswith("/api2/extjs/") or path.startswith("/api2/html/"):
                    raise PVEError(501, "format not supported by the emulator")
                raise PVEError(501, "Method '%s %s' not implemented" % (method, path))
            apipath = path[len("/api2/json"):]
            if apipath != "/" and apipath.endswith("/"):
                apipath = apipath.rstrip("/")
            ctype = self.headers.get("Content-Type", "")
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            h500 = self.emu.fault("http500")
            if h500 and apipath.startswith(h500):
                raise PVEError(500, "emulated fault: internal server error")
            if apipath == "/access/ticket" and method == "POST":
                params = self.read_body(ctype)
                data, headers = self.create_ticket(params)
                status = 200
                self.send_json(200, {"data": data}, extra_headers=headers)
                return
            # route, then authenticate, then read the body (an upload is refused before it is read)
            route = None
            for rx, tmpl, methods in self.emu.routes:
                mm = rx.match(apipath)
                if mm:
                    route = (tmpl, methods, mm.groupdict())
                    break
            if route is None or method not in route[1] or (method, route[0]) not in self.api.handlers:
                raise PVEError(501, "Method '%s %s' not implemented" % (method, apipath))
            tmpl, methods, pathvars = route
            self.authenticate(method)
            if method in ("POST", "PUT"):
                params = self.read_body(ctype)
                for k, v in query.items():
                    params.setdefault(k, v)
            else:
                self.discard_body()
                params = query
            for k, v in pathvars.items():
                pathvars[k] = urllib.parse.unquote(v)
            for k in pathvars:
                if k in params:
                    raise param_exc({k: "duplicate parameter (already defined in URI)"})
            allp = dict(params)
            allp.update(pathvars)
            norm, errors = pve_schema.validate(methods[method], allp)
            if errors:
                raise param_exc(errors)
            data = self.api.handlers[(method, tmpl)](self, norm)
            obj = {"data": data}
            if self.total is not None:
                obj["total"] = self.total
            status = 200
            self.send_json(200, obj)
        except PVEError as e:
            status = e.code
            if not self.body_read and int(self.headers.get("Content-Length") or 0) > 0:
                self.close_connection = True  # the unread body would be taken for the next request
            self.send_error_obj(e)
        except (BrokenPipeError, ConnectionResetError):
            status = 499
            self.close_connection = True
        except Exception as e:  # an emulator bug: PVE's shape, with the trace on stderr
            traceback.print_exc()
            status = 500
            try:
                self.send_error_obj(PVEError(500, "emulator internal error: %s" % e))
            except Exception:
                self.close_connection = True
        finally:
            if self.upload_tmp and os.path.exists(self.upload_tmp):
                os.unlink(self.upload_tmp)
            ms = (time.monotonic() - t0) * 1000.0
            with self.emu.req_log_lock:
                self.emu.req_log.write("%s %s %d %.3f\n" % (method, path, status, ms))

    def discard_body(self):
        self.body_read = True
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            b = self.rfile.read(min(length, 65536))
            if not b:
                break
            length -= len(b)

    def handle_fault(self, method):
        """POST /emulator/fault (JSON): not part of the PVE API; sets or clears faults. GET shows them."""
        emu = self.emu
        if method == "GET":
            with emu.faults_lock:
                self.send_json(200, {"data": dict(emu.faults)})
            return 200
        if method != "POST":
            raise PVEError(501, "Method '%s /emulator/fault' not implemented" % method)
        length = int(self.headers.get("Content-Length") or 0)
        self.body_read = True
        try:
            obj = json.loads(self.rfile.read(length).decode() or "{}")
        except ValueError as e:
            raise PVEError(400, "fault: bad JSON - %s" % e)
        known = {"clear", "http500", "task_error", "slow_task_ms", "expire_tickets"}
        if not isinstance(obj, dict) or set(obj) - known:
            raise PVEError(400, "fault: unknown keys %s (known: %s)" % (
                sorted(set(obj) - known) if isinstance(obj, dict) else obj, ", ".join(sorted(known))))
        with emu.faults_lock:
            if obj.get("clear"):
                emu.faults.clear()
            for k in ("http500", "task_error", "slow_task_ms"):
                if k in obj:
                    if obj[k] in (None, "", 0, False):
                        emu.faults.pop(k, None)
                    else:
                        emu.faults[k] = obj[k]
            if obj.get("expire_tickets"):
                emu.ticket_epoch += 1  # every ticket issued so far fails verification
            self.send_json(200, {"data": dict(emu.faults)})
        return 200


# ============================================================================================ main

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    ssl_ctx = None

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the request's thread, not in the accept loop.
        request.settimeout(300)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle wait between headers and body
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def make_cert(data_dir):
    cert = os.path.join(data_dir, "pve-ssl.pem")
    key = os.path.join(data_dir, "pve-ssl.key")
    if not (os.path.exists(cert) and os.path.exists(key)):
        rc, out = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                       "-nodes", "-keyout", key, "-out", cert, "-days", "3650", "-subj", "/CN=pve-emulator",
                       "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        if rc != 0:
            raise SystemExit("openssl failed: %s" % out)
    return cert, key


def pubkey_pin(cert):
    """curl's --pinnedpubkey form of the key: sha256//BASE64(SHA-256 of the DER SubjectPublicKeyInfo)."""
    try:
        pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], capture_output=True, check=True)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub.stdout, capture_output=True,
                             check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return "sha256//" + base64.b64encode(hashlib.sha256(der.stdout).digest()).decode()


def fingerprint(cert):
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Proxmox VE 9.1 API emulator (LXC subset) with real LXC CTs")
    ap.add_argument("--listen", default="127.0.0.1:8006", help="HOST:PORT (port 0: any free port)")
    ap.add_argument("--node", default="pve")
    ap.add_argument("--token", action="append", default=[], help="USER@REALM!TOKENID=SECRET (repeatable)")
    ap.add_argument("--user", action="append", default=[], help="USER@REALM:PASSWORD for /access/ticket")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--lxcpath", help="LXC path of the CTs (default DATA-DIR/lxc; /var/lib/lxc on a real node)")
    ap.add_argument("--storage", action="append",
                    help="NAME:dir:PATH:CONTENT,... (default local:dir:DATA-DIR/storage/local:vztmpl,rootdir,images,iso)")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ready-file")
    ap.add_argument("--schema", help="schema.json to serve (default: beside this file)")
    ap.add_argument("--cgroup-prefix", default="lxc",
                    help="cgroup directory of the CTs (PVE: lxc/VMID and lxc.monitor/VMID); tests use a unique one")
    args = ap.parse_args(argv)
    if not args.token and not args.user:
        ap.error("give at least one --token or --user")
    emu = Emulator(args)
    cert, key = (args.cert, args.key) if args.cert and args.key else make_cert(emu.data_dir)
    emu.fpr = fingerprint(cert)
    host, _, port = args.listen.rpartition(":")
    Handler.emu = emu
    Handler.api = API(emu)
    httpd = Server((host or "127.0.0.1", int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.ssl_ctx = ctx
    real_port = httpd.server_address[1]

    def on_term(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"url": "https://%s:%d" % (host or "127.0.0.1", real_port), "fingerprint": emu.fpr,
                       "pinnedpubkey": pubkey_pin(cert),
                       "lxcpath": emu.lxcpath, "pid": os.getpid(), "port": real_port, "node": emu.node,
                       "data_dir": emu.data_dir}, f)
            f.write("\n")
        os.replace(tmp, args.ready_file)
    sys.stderr.write("pve-emulator: listening on https://%s:%d (node %s, fingerprint %s)\n" % (
        host or "127.0.0.1", real_port, emu.node, emu.fpr))
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        emu.shutdown()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
