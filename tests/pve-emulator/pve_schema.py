"""Request validation against the PVE 9.1.3 API schema (schema.json beside this file).

Mirrors PVE::JSONSchema (proxmox/pve-common src/PVE/JSONSchema.pm): the same checks in the same order and the same
error texts where they are known (type check, enum, pattern, minimum/maximum, length, formats, property strings,
additionalProperties). Errors are collected per parameter, as PVE returns them in `errors` of a 400
"Parameter verification failed.".
"""

import ipaddress
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

# How many of each "[n]" parameter PVE accepts (pve-container Config.pm: MAX_LXC_NETWORKS 32, MAX_MOUNT_POINTS 256,
# MAX_UNUSED_DISKS 256, MAX_DEVICES 256).
INDEXED_MAX = {"net": 32, "mp": 256, "unused": 256, "dev": 256}


def load_schema(path=None):
    with open(path or os.path.join(HERE, "schema.json")) as f:
        return json.load(f)


def perl_regex(pattern):
    """Translates a Perl regex of the schema to Python's re. `(?^:X)` (Perl's default-flags group) is `(?:X)`."""
    return re.compile(pattern.replace("(?^:", "(?:"), re.S)


_regex_cache = {}


def _full_match(pattern, value):
    rx = _regex_cache.get(pattern)
    if rx is None:
        rx = _regex_cache[pattern] = perl_regex(pattern)
    # PVE: $value =~ m/^$pattern$/ ; Perl's $ also matches before a final newline, which we do not allow.
    return rx.fullmatch(value) is not None


class ParamError(Exception):
    pass


# ----------------------------------------------------------------------------------------------- formats

_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_DNS_LABEL = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)"


def _is_ipv6(s):
    try:
        ipaddress.IPv6Address(s)
        return True
    except ValueError:
        return False


def _cidr4(s):
    m = re.fullmatch("(" + _IPV4 + r")/(\d+)", s)
    return bool(m) and 0 < int(m.group(2)) <= 32


def _cidr6(s):
    m = re.fullmatch(r"([0-9a-fA-F:.]+)/(\d+)", s)
    return bool(m) and _is_ipv6(m.group(1)) and 0 < int(m.group(2)) <= 128


def check_format(fmt, value):
    """Raises ParamError with PVE's text when a value does not fit a named format; unknown formats pass."""
    if fmt == "pve-vmid":
        if not re.fullmatch(r"[1-9][0-9]{2,8}", value):
            raise ParamError("value does not look like a valid VM ID")
    elif fmt == "pve-node":
        if not re.fullmatch(r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])", value):
            raise ParamError("value does not look like a valid node name")
    elif fmt == "pve-storage-id":
        if not re.fullmatch(r"[a-z][a-z0-9\-_.]*[a-z0-9]", value, re.I):
            raise ParamError("storage ID '%s' contains illegal characters" % value)
    elif fmt == "pve-volume-id":
        if not re.fullmatch(r"(?:[a-z][a-z0-9\-_.]*[a-z0-9]):.+", value, re.I | re.S):
            raise ParamError("unable to parse volume ID '%s'" % value)
    elif fmt == "dns-name":
        if not re.fullmatch(r"(?:%s\.)*%s" % (_DNS_LABEL, _DNS_LABEL), value):
            raise ParamError("value does not look like a valid DNS name")
    elif fmt == "dns-name-list":
        for part in re.split(r"[;,\s]+", value.strip()):
            if part and not re.fullmatch(r"(?:%s\.)*%s" % (_DNS_LABEL, _DNS_LABEL), part):
                raise ParamError("value does not look like a valid DNS name")
    elif fmt == "ipv4":
        if not re.fullmatch(_IPV4, value):
            raise ParamError("value does not look like a valid IPv4 address")
    elif fmt == "ipv6":
        if not _is_ipv6(value):
            raise ParamError("value does not look like a valid IPv6 address")
    elif fmt == "pve-ipv4-config":
        if value not in ("dhcp", "manual") and not _cidr4(value):
            raise ParamError("value does not look like a valid ipv4 network configuration")
    elif fmt == "pve-ipv6-config":
        if value not in ("auto", "dhcp", "manual") and not _cidr6(value):
            raise ParamError("value does not look like a valid ipv6 network configuration")
    elif fmt == "mac-addr":
        if not re.fullmatch(r"[a-f0-9]{2}(?::[a-f0-9]{2}){5}", value, re.I) or int(value[:2], 16) & 1:
            raise ParamError("value does not look like a valid unicast MAC address")
    elif fmt == "disk-size":
        if not re.fullmatch(r"\d+(?:\.\d+)?[KMGT]?", value):
            raise ParamError("unable to parse size '%s'" % value)
    elif fmt == "pve-tag-list":
        for tag in re.split(r"[;,\s]+", value.strip()):
            if tag and not re.fullmatch(r"[a-z0-9_][a-z0-9_\-+.]*", tag, re.I):
                raise ParamError("invalid tag '%s'" % tag)
    elif fmt in ("pve-configid", "pve-poolid"):
        if not re.fullmatch(r"[a-z][a-z0-9_\-]+" if fmt == "pve-configid" else r"[A-Za-z0-9_\-]+", value, re.I):
            raise ParamError("invalid configuration ID '%s'" % value if fmt == "pve-configid" else
                             "pool name '%s' contains illegal characters" % value)
    elif fmt == "pve-configid-list":
        for item in re.split(r"[;,\s]+", value.strip()):
            if item and not re.fullmatch(r"[a-z][a-z0-9_\-]+", item, re.I):
                raise ParamError("invalid configuration ID '%s'" % item)
    elif fmt == "pve-storage-content":
        if value not in ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"):
            raise ParamError("invalid content type '%s'" % value)
    elif fmt == "pve-storage-content-list":
        for item in re.split(r"[;,\s]+", value.strip()):
            if item and item not in ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none"):
                raise ParamError("invalid content type '%s'" % item)
    elif fmt == "pve-lxc-mp-string":
        # pve-container Config.pm verify_lxc_mp_string
        if re.search(r"(?:^|/)\.\.?(?:/|$)", value):
            raise ParamError("'%s' contains illegal character sequences ('.' or '..' path components)" % value)
    elif fmt == "pve-lxc-dev-string":
        if not value.startswith("/dev/") or re.search(r"(?:^|/)\.\.?(?:/|$)", value):
            raise ParamError("not a valid device path '%s'" % value)
    elif fmt == "pve-ct-timezone":
        if value != "host" and not re.fullmatch(r"[A-Za-z0-9_+\-/]+", value):
            raise ParamError("invalid time zone '%s'" % value)


# ----------------------------------------------------------------------------------------------- values

_BOOL_TRUE = re.compile(r"(?:1|true|yes|on)", re.I)
_BOOL_FALSE = re.compile(r"(?:0|false|no|off)", re.I)


def _as_text(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


def check_value(schema, value):
    """Checks one value against one property schema; returns the normalized value or raises ParamError.

    Order and texts follow PVE::JSONSchema::check_prop / check_type."""
    typ = schema.get("type", "string")
    if isinstance(value, (list, dict)):
        raise ParamError("type check ('%s') failed - got %s" % (typ, "ARRAY" if isinstance(value, list) else "HASH"))
    if value is None:
        raise ParamError("type check ('%s') failed - got undef" % typ)
    text = _as_text(value)
    if not isinstance(text, str):
        raise ParamError("type check ('%s') failed" % typ)
    if typ == "boolean":
        if _BOOL_TRUE.fullmatch(text):
            return 1
        if _BOOL_FALSE.fullmatch(text):
            return 0
        raise ParamError("type check ('boolean') failed - got '%s'" % text)
    if typ == "integer":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ParamError("type check ('integer') failed - got '%s'" % text)
        num = int(text)
    elif typ == "number":
        if not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", text):
            raise ParamError("type check ('number') failed - got '%s'" % text)
        num = float(text)
    else:
        num = None
    if num is not None:
        if "minimum" in schema and num < float(schema["minimum"]):
            raise ParamError("value must have a minimum value of %s" % schema["minimum"])
        if "maximum" in schema and num > float(schema["maximum"]):
            raise ParamError("value must have a maximum value of %s" % schema["maximum"])
        return num
    # strings
    if "maxLength" in schema and len(text) > int(schema["maxLength"]):
        raise ParamError("value may only be %s characters long" % schema["maxLength"])
    if "minLength" in schema and len(text) < int(schema["minLength"]):
        raise ParamError("value must be at least %s characters long" % schema["minLength"])
    if "enum" in schema and text not in schema["enum"]:
        raise ParamError("value '%s' does not have a value in the enumeration '%s'" % (text, ", ".join(schema["enum"])))
    if "pattern" in schema and not _full_match(schema["pattern"], text):
        raise ParamError("value does not match the regex pattern")
    fmt = schema.get("format")
    if isinstance(fmt, dict):
        parse_property_string(fmt, text)
    elif isinstance(fmt, str):
        check_format(fmt, text)
    return text


def parse_property_string(fmt, text):
    """PVE::JSONSchema::parse_property_string: `k=v,k=v` with an optional default_key for a bare value.

    Returns the parsed dict or raises ParamError("invalid format - ...") with PVE's per-key lines."""
    default_key = next((k for k, s in fmt.items() if s.get("default_key")), None)
    res = {}
    errors = []
    for part in text.split(","):
        if part == "":
            continue
        if "=" in part:
            k, v = part.split("=", 1)
        elif default_key is not None:
            k, v = default_key, part
            if k in res:
                raise ParamError("invalid format - duplicate key in comma-separated list property: %s" % k)
        else:
            raise ParamError("invalid format - value without key, but schema does not define a default key")
        if k in res:
            raise ParamError("invalid format - duplicate key in comma-separated list property: %s" % k)
        res[k] = v
    for k, v in res.items():
        sub = fmt.get(k)
        if sub is None:
            errors.append("%s: property is not defined in schema and the schema does not allow additional properties"
                          % k)
            continue
        try:
            res[k] = check_value(sub, v)
        except ParamError as e:
            errors.append("%s: %s" % (k, e))
    for k, sub in fmt.items():
        if k not in res and not sub.get("optional"):
            errors.append("%s: property is missing and it is not optional" % k)
    if errors:
        raise ParamError("invalid format - format error\n" + "\n".join(errors))
    return res


def schema_for(params_schema, key):
    """The schema of a parameter name, resolving `net0` to `net[n]` within PVE's index limits."""
    if key in params_schema:
        return params_schema[key]
    m = re.fullmatch(r"([a-z]+)(\d+)", key)
    if m and m.group(1) + "[n]" in params_schema:
        limit = INDEXED_MAX.get(m.group(1), 256)
        if int(m.group(2)) < limit and (m.group(2) == "0" or not m.group(2).startswith("0")):
            return params_schema[m.group(1) + "[n]"]
    return None


def validate(method_schema, params):
    """Validates a request's parameters (path + query/body) against one method's schema.

    Returns (normalized_params, errors); errors is {param: message} as PVE's 400 carries it."""
    props = method_schema.get("params", {})
    errors = {}
    out = {}
    for key, value in params.items():
        sub = schema_for(props, key)
        if sub is None:
            if not method_schema.get("additionalProperties", 0):
                errors[key] = "property is not defined in schema and the schema does not allow additional properties"
            else:
                out[key] = value
            continue
        if isinstance(value, str) and value == "" and sub.get("optional") and sub.get("type", "string") != "string":
            # PVE drops empty optional non-string values from form posts.
            continue
        try:
            out[key] = check_value(sub, value)
        except ParamError as e:
            errors[key] = str(e)
    for key, sub in props.items():
        if "[n]" in key or sub.get("optional"):
            continue
        if key not in params and key not in errors:
            errors[key] = "property is missing and it is not optional"
    return out, errors
