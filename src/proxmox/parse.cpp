#include "proxmox/parse.hpp"

#include "base/parse.hpp"
#include "spec/input.hpp"

namespace lxcri::proxmox {

namespace {

Result<Json> parse_body(std::string_view body) {
    if (body.size() > kMaxBody) return fail("answer larger than " + std::to_string(kMaxBody) + " bytes");
    TRY(spec::json::check_depth(body, kMaxDepth));
    try {
        return Json::parse(body.begin(), body.end());
    } catch (const std::exception&) {
        return fail("answer is not JSON");
    }
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '.' || s.back() == '\n'))
        s.pop_back();
    return s;
}

bool hex(std::string_view s) {
    if (s.empty() || s.size() > 16) return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

} // namespace

std::string clean(std::string_view s, size_t max) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        if (c == '\n' || c == '\r' || c == '\t')
            out += ' ';
        else if (c < 0x20 || c == 0x7f)
            out += '?';
        else
            out += static_cast<char>(c);
    }
    return out;
}

Result<Json> parse_response(std::string_view method, std::string_view path, const HttpResponse& r) {
    std::string where = "PVE " + std::string(method) + " " + clean(path, 200);
    auto j = parse_body(r.body);
    if (r.status >= 200 && r.status < 300) {
        if (!j) return fail(where + ": " + std::to_string(r.status) + ": " + j.error().message());
        if (!j->is_object() || !j->contains("data"))
            return fail(where + ": " + std::to_string(r.status) + ": answer has no \"data\"");
        return std::move((*j)["data"]);
    }
    // An error: the message (PVE >= 8.3 puts it in the body too), else the reason phrase.
    std::string msg;
    std::string detail;
    if (j && j->is_object()) {
        if (auto m = j->find("message"); m != j->end() && m->is_string()) msg = m->get<std::string>();
        if (auto e = j->find("errors"); e != j->end() && e->is_object()) {
            size_t n = 0;
            for (auto it = e->begin(); it != e->end() && n < 20; ++it, ++n) {
                if (!detail.empty()) detail += "; ";
                detail += clean(it.key(), 60) + ": " +
                          trim(clean(it->is_string() ? it->get<std::string>() : it->dump(), 200));
            }
        }
    }
    if (msg.empty()) msg = r.reason;
    // The first line only (the reason phrase is that line too).
    if (auto nl = msg.find('\n'); nl != std::string::npos && nl + 1 < msg.size()) {
        std::string rest = msg.substr(nl + 1);
        msg = msg.substr(0, nl);
        if (detail.empty()) detail = trim(clean(rest, 300));
    }
    msg = trim(clean(msg));
    std::string text = where + ": " + (r.status ? std::to_string(r.status) : std::string("no status"));
    if (!msg.empty()) text += " " + msg;
    if (!detail.empty()) text += ": " + detail;
    ErrorKind kind = ErrorKind::System;
    if (r.status == 401 || r.status == 403)
        kind = ErrorKind::Invalid;
    else if (r.status == 404 || msg.find("does not exist") != std::string::npos)
        kind = ErrorKind::NotFound;
    else if (msg.find("already exists") != std::string::npos)
        kind = ErrorKind::Exists;
    else if (r.status == 400)
        kind = ErrorKind::Invalid;
    return fail(kind, text);
}

Result<Upid> parse_upid(std::string_view s) {
    // UPID:node:pid:pstart:starttime:type:id:user: (pid 8 hex, pstart 8-9 hex, starttime 8 hex).
    auto bad = [&] { return fail("not a UPID: \"" + clean(s, 120) + "\""); };
    if (s.size() > 512 || !s.starts_with("UPID:")) return bad();
    std::vector<std::string_view> f;
    size_t pos = 5;
    while (pos < s.size()) {
        auto c = s.find(':', pos);
        if (c == std::string_view::npos) return bad();
        f.push_back(s.substr(pos, c - pos));
        pos = c + 1;
    }
    if (f.size() != 7 || f[0].empty() || !hex(f[1]) || !hex(f[2]) || !hex(f[3]) || f[4].empty()) return bad();
    for (char c : f[0])
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return bad();
    return Upid{std::string(s), std::string(f[0]), std::string(f[4]), std::string(f[5]), std::string(f[6])};
}

Result<Upid> task_of(const Json& data) {
    if (!data.is_string()) return fail("expected a task id (UPID), got " + clean(data.dump(), 80));
    return parse_upid(data.get<std::string>());
}

Result<TaskStatus> parse_task_status(const Json& d) {
    if (!d.is_object()) return fail("task status: expected an object");
    auto st = d.find("status");
    if (st == d.end() || !st->is_string()) return fail("task status: no \"status\"");
    TaskStatus t;
    std::string s = st->get<std::string>();
    if (s == "running") {
        t.running = true;
        return t;
    }
    if (s != "stopped") return fail("task status: unknown status \"" + clean(s, 40) + "\"");
    auto ex = d.find("exitstatus");
    t.exitstatus =
        ex != d.end() && ex->is_string() ? clean(ex->get<std::string>(), 500) : "unexpected status";
    return t;
}

Result<std::vector<std::string>> parse_task_log(const Json& d) {
    if (!d.is_array()) return fail("task log: expected an array");
    std::vector<std::string> out;
    for (auto& e : d) {
        if (!e.is_object()) continue;
        auto t = e.find("t");
        if (t != e.end() && t->is_string()) out.push_back(clean(t->get<std::string>(), 300));
        if (out.size() >= 10000) break;
    }
    return out;
}

Result<CtStatus> parse_ct_status(const Json& d) {
    if (!d.is_object()) return fail("CT status: expected an object");
    CtStatus c;
    auto st = d.find("status");
    if (st == d.end() || !st->is_string()) return fail("CT status: no \"status\"");
    c.status = clean(st->get<std::string>(), 40);
    if (auto p = d.find("pid"); p != d.end()) {
        if (p->is_number_integer() && p->get<int64_t>() > 0 && p->get<int64_t>() < (1 << 22))
            c.pid = static_cast<pid_t>(p->get<uint64_t>());
        else if (p->is_string()) {
            auto n = parse_number<uint32_t>(p->get<std::string>());
            if (n && *n < (1u << 22)) c.pid = static_cast<pid_t>(*n);
        }
    }
    if (auto l = d.find("lock"); l != d.end() && l->is_string()) c.lock = clean(l->get<std::string>(), 40);
    for (const char* k : {"qmpstatus", "status"})
        if (auto q = d.find(k); q != d.end() && q->is_string() && (*q == "paused" || *q == "frozen"))
            c.suspended = true;
    return c;
}

Result<uint32_t> parse_vmid(const Json& d, std::string_view what) {
    uint64_t v = 0;
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
        return fail(std::string(what) + ": negative");
    if (d.is_number_integer())
        v = d.get<uint64_t>();
    else if (d.is_string()) {
        auto n = parse_number<uint32_t>(d.get<std::string>());
        if (!n) return fail(std::string(what) + ": " + n.error().message());
        v = *n;
    } else {
        return fail(std::string(what) + ": expected a number");
    }
    if (v < 100 || v > 999999999)
        return fail(std::string(what) + ": " + std::to_string(v) + " is out of range");
    return static_cast<uint32_t>(v);
}

Result<std::vector<Resource>> parse_resources(const Json& d) {
    if (!d.is_array()) return fail("cluster resources: expected an array");
    std::vector<Resource> out;
    auto s = [](const Json& e, const char* k) -> std::string {
        auto it = e.find(k);
        return it != e.end() && it->is_string() ? clean(it->get<std::string>(), 200) : std::string();
    };
    for (auto& e : d) {
        if (!e.is_object()) continue;
        Resource r;
        r.type = s(e, "type");
        if (r.type != "node" && r.type != "lxc") continue;
        r.node = s(e, "node");
        r.status = s(e, "status");
        r.name = s(e, "name");
        r.tags = s(e, "tags");
        r.lock = s(e, "lock");
        if (r.type == "lxc") {
            auto v = e.find("vmid");
            if (v == e.end()) continue;
            auto id = parse_vmid(*v);
            if (!id) continue;
            r.vmid = *id;
        }
        out.push_back(std::move(r));
        if (out.size() >= 100000) break;
    }
    return out;
}

} // namespace lxcri::proxmox
