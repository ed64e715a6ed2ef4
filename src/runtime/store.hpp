// The state store under --root: <root>/<id>/state.json (atomic writes), one flock per container directory,
// and a flock on <root> itself only while an id is allocated.
#pragma once
#include "base/result.hpp"
#include "runtime/state.hpp"
#include "spec/spec.hpp"
#include "sys/fs.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace lxcri::runtime {

// The longest id liblxc takes as a container name (NAME_MAX - 1: longer ones fail in lxc_container_new).
inline constexpr size_t kMaxIdLength = 254;

// runc's rule (^[\w+-\.]+$, i.e. letters, digits and _ + , - ., and not "." or ".."), narrowed to what liblxc
// takes: no ".." anywhere and at most kMaxIdLength characters. Errors name the rule that was broken.
Status validate_id(const std::string& id);

inline constexpr const char* kSpecFile = "config.json";
// How long a verb waits for another verb's lock on the same container: $LXCRI_LOCK_TIMEOUT seconds, else 60.
inline constexpr std::chrono::milliseconds kDefaultLockTimeout{60000};
std::chrono::milliseconds lock_timeout();

class Store {
  public:
    explicit Store(std::string root) : root_(std::move(root)) {}
    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }

    // Allocates <root>/<id> and returns its lock; "container with id exists: ID" if taken.
    Result<sys::FileLock> create(const std::string& id);
    // Locks an existing container; "container \"ID\" does not exist" if not.
    Result<sys::FileLock> lock(const std::string& id, bool exclusive = true);
    Result<State> load(const std::string& id) const;
    // Atomic for every reader (temp file + rename), without fsync: a runtime killed at any point loses
    // nothing (the page cache outlives it), and what a power loss would lose is moot, since the processes,
    // cgroups and namespaces the record names are gone after it too (runc and crun do not fsync their state
    // either; the state root is a tmpfs on most hosts, /run). durable: fsync the file and the directory,
    // for the first record of a container that holds something a reboot does not remove (a storage
    // driver's rootfs), so that `delete --force` can still find and release it afterwards.
    Status save(const State& s, bool durable = false) const;
    // The bundle's config.json as it was at create (runc keeps it in its state too): start, exec and the
    // poststop hooks use this copy, never the bundle's current file.
    Status save_spec(const std::string& id, std::string_view config_json) const;
    Result<spec::Spec> load_spec(const std::string& id) const;
    Status remove(const std::string& id) const;
    std::vector<std::string> list() const;

  private:
    std::string root_;
};

std::string not_exist_message(const std::string& id);

} // namespace lxcri::runtime
