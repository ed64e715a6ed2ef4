// Test fixtures: temp dirs, a real docker-registry on 127.0.0.1:<free port> (optionally with htpasswd basic
// auth), images built by make_image.py and pushed with skopeo, and the proxy.py front (bearer tokens,
// redirects, interrupted transfers). Servers are stopped (SIGTERM, then SIGKILL) when their object dies.
#pragma once
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lxcri::image::test {

inline const std::string kSrc = std::string(LXCRI_SOURCE_DIR) + "/tests/unit/image";
inline const std::string kPython = "/usr/bin/python3";

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/lxcri-image-test.XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() { (void)sys::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// A size-limited tmpfs on path (a disk that fills up), unmounted on destruction.
struct Tmpfs {
    std::string path;
    int error = 0;
    Tmpfs(const std::string& p, const std::string& size) : path(p) {
        if (::mount("tmpfs", path.c_str(), "tmpfs", 0, ("size=" + size).c_str()) < 0) error = errno;
    }
    ~Tmpfs() {
        if (!error) ::umount2(path.c_str(), MNT_DETACH);
    }
};

// The first non-loopback IPv4 address of this machine ("" if none): a registry name that is not "local".
inline std::string outside_ip() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) < 0) return "";
    std::string out;
    for (ifaddrs* i = list; i && out.empty(); i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
        if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
        char buf[INET_ADDRSTRLEN];
        out = ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    }
    ::freeifaddrs(list);
    return out;
}

inline int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

inline bool port_open(const std::string& ip, int port) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}

// A background process, killed on destruction.
class Daemon {
  public:
    Daemon() = default;
    Daemon(const std::vector<std::string>& argv, const std::string& log) {
        pid_ = ::fork();
        if (pid_ == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> args;
            for (auto& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    Daemon(Daemon&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
    Daemon& operator=(Daemon&& o) noexcept {
        stop();
        pid_ = std::exchange(o.pid_, -1);
        return *this;
    }
    ~Daemon() { stop(); }
    pid_t pid() const { return pid_; }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

  private:
    pid_t pid_ = -1;
};

inline sys::RunResult run_ok(const std::vector<std::string>& argv, int timeout_s = 120) {
    auto r = sys::run(argv, {}, "", std::chrono::seconds(timeout_s));
    if (!r) throw std::runtime_error(argv[0] + ": " + r.error().message());
    if (r->status != 0)
        throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed: " + r->err);
    return *r;
}

// What make_image.py printed: the top-level digest (index or manifest) and the manifests.
struct Built {
    std::string dir, tag, top;
    std::vector<std::string> manifests;
};

inline Built make_image(const std::string& dir, const std::string& tag, const std::string& layers_kib,
                        const std::vector<std::string>& archs = {"amd64"},
                        const std::string& compress = "gzip") {
    std::vector<std::string> argv = {
        kPython, kSrc + "/make_image.py", dir, tag, "--layers", layers_kib, "--compress", compress};
    for (auto& a : archs)
        argv.insert(argv.end(), {"--arch", a});
    auto r = run_ok(argv);
    auto j = nlohmann::json::parse(r.out);
    Built b{dir, tag, j["top"].get<std::string>(), {}};
    for (auto& m : j["manifests"])
        b.manifests.push_back(m.get<std::string>());
    return b;
}

struct RegistryConfig {
    std::string user, password; // non-empty user: htpasswd basic auth (bcrypt via python's crypt)
    std::string listen = "127.0.0.1";
    std::string cert, key; // TLS when set
};

class Registry {
  public:
    explicit Registry(const std::string& dir, RegistryConfig rc = {})
        : dir_(dir), listen_(rc.listen), port_(free_port()) {
        (void)sys::mkdir_p(dir_ + "/data");
        std::string cfg = "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                          "storage:\n  filesystem:\n    rootdirectory: " +
                          dir_ + "/data\n  delete:\n    enabled: true\nhttp:\n  addr: " + host() + "\n";
        if (!rc.cert.empty()) cfg += "  tls:\n    certificate: " + rc.cert + "\n    key: " + rc.key + "\n";
        if (!rc.user.empty()) {
            auto hash = run_ok({kPython, "-W", "ignore", "-c",
                                "import crypt,sys; print(crypt.crypt(sys.argv[1], "
                                "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
                                rc.password});
            (void)sys::write_file_atomic(dir_ + "/htpasswd", rc.user + ":" + hash.out);
            cfg += "auth:\n  htpasswd:\n    realm: test-realm\n    path: " + dir_ + "/htpasswd\n";
        }
        (void)sys::write_file_atomic(dir_ + "/config.yml", cfg);
        d_ = Daemon({"/usr/bin/docker-registry", "serve", dir_ + "/config.yml"}, dir_ + "/registry.log");
        for (int i = 0; i < 500 && !port_open(listen_, port_); i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!port_open(listen_, port_))
            throw std::runtime_error("docker-registry did not start, see " + dir_ + "/registry.log");
    }
    std::string host() const { return listen_ + ":" + std::to_string(port_); }
    int port() const { return port_; }
    const std::string& dir() const { return dir_; }
    void stop() { d_.stop(); }

    // skopeo copy oci:LAYOUT:TAG docker://HOST/REPO (repo includes the tag); extra e.g. {"--all"}.
    void push(const Built& b, const std::string& repo, const std::vector<std::string>& extra = {},
              const std::string& creds = "") const {
        std::vector<std::string> argv = {"/usr/bin/skopeo", "copy", "--quiet", "--dest-tls-verify=false"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        if (!creds.empty()) argv.insert(argv.end(), {"--dest-creds", creds});
        argv.push_back("oci:" + b.dir + ":" + b.tag);
        argv.push_back("docker://" + host() + "/" + repo);
        run_ok(argv, 300);
    }

  private:
    std::string dir_, listen_;
    int port_;
    Daemon d_;
};

class Proxy {
  public:
    Proxy(const std::string& dir, const std::string& upstream_host, const std::vector<std::string>& flags,
          const std::string& listen = "127.0.0.1")
        : dir_(dir), listen_(listen) {
        std::string port_file = dir_ + "/proxy.port";
        ::unlink(port_file.c_str());
        std::vector<std::string> argv = {kPython,       kSrc + "/proxy.py",
                                         "--upstream",  "http://" + upstream_host,
                                         "--port-file", port_file,
                                         "--log",       dir_ + "/proxy.log",
                                         "--listen",    listen};
        argv.insert(argv.end(), flags.begin(), flags.end());
        d_ = Daemon(argv, dir_ + "/proxy.err");
        for (int i = 0; i < 500 && !sys::exists(port_file); i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        auto p = sys::read_file(port_file);
        if (!p) throw std::runtime_error("proxy.py did not start, see " + dir_ + "/proxy.err");
        port_ = std::stoi(*p);
    }
    std::string host() const { return listen_ + ":" + std::to_string(port_); }
    std::string log() const { return sys::read_file(dir_ + "/proxy.log").value_or(""); }

  private:
    std::string dir_, listen_;
    int port_ = 0;
    Daemon d_;
};

} // namespace lxcri::image::test
