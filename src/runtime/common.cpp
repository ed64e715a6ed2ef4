#include "runtime/common.hpp"

#include "runtime/image.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

namespace lxcri::runtime {

Status write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return ok();
    return sys::write_file_atomic(absolute_path(path), std::to_string(pid), 0644);
}

Result<int> connect_console_socket(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("console socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("console socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        int e = errno;
        close(fd);
        return fail("connect to console socket " + path, e);
    }
    return fd;
}

Result<Container> open_container(const Store& store, const std::string& id, bool exclusive) {
    auto lock = TRY(const_cast<Store&>(store).lock(id, exclusive));
    auto c = TRY(peek_container(store, id));
    c.lock = std::move(lock);
    return c;
}

Result<Container> peek_container(const Store& store, const std::string& id) {
    TRY(validate_id(id));
    auto st = TRY(store.load(id));
    auto be = TRY_CTX(backend::open(st.backend), "container " + id);
    return Container{sys::FileLock(), std::move(st), std::move(be), store.dir(id)};
}

Result<Container> new_container(Store& store, const std::string& id, const std::string& bundle,
                                const plan::Plan& plan, std::unique_ptr<backend::Backend> be,
                                std::string backend_name) {
    auto lock = TRY(store.create(id));
    Container c{std::move(lock), State{}, std::move(be), store.dir(id)};
    State& st = c.state;
    st.id = id;
    st.bundle = bundle;
    st.rootfs = plan.rootfs;
    st.created = log::rfc3339_now();
    st.annotations = plan.annotations;
    st.creating = true;
    st.backend = std::move(backend_name);
    return c;
}

Status destroy_container(const Store& store, Container& c) {
    const State& st = c.state;
    TRY(c.backend->destroy(c.handle(), backend::after(kDestroyTimeout)));
    // poststop hooks: failures are logged, not fatal (runtime-spec).
    if (auto spec = store.load_spec(st.id); spec && !spec->hooks.poststop.empty()) {
        if (auto r = run_hooks(spec->hooks.poststop, "poststop", oci_state_json(st, RunState::Stopped, 0));
            !r)
            log::warn(r.error().message());
    }
    // A container made from an image (runtime/create_image.cpp): its rootfs goes with it.
    if (st.storage) TRY_CTX(release_storage(*st.storage), "release rootfs of " + st.id);
    return store.remove(st.id);
}

} // namespace lxcri::runtime
