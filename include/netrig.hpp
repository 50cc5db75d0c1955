/*
 * netrig.hpp — C++17 wrappers over the C ABI of netrig.h. Header-only and hand-written (not
 * generated): include it instead of netrig.h and link libnetrig as for C.
 *
 *   - Owners: one move-only class per handle kind (Store, Batch, Snapshot, StrList, Device,
 *     Output, Pool, Job, Run, Subscription, Change, Queue, Item). The destructor frees the
 *     handle and never throws; a moved-from owner holds nothing and frees nothing. get() gives
 *     the C handle for a netrig_* call, release() gives it up (the caller then frees it), and
 *     free() frees it now and throws if the library reports a failure (the destructor ignores
 *     that status: a durable Queue's last commit is the one worth checking).
 *   - Errors: every failing call throws netrig::Error (a std::runtime_error) with status() (the
 *     netrig_status) and what() (netrig_last_error(), read on the same thread right after the
 *     failing call). NotFoundError, ConflictError, BusyError and TimeoutError are its subclasses
 *     for the statuses callers often handle on their own. Calls that can come back empty
 *     return std::optional instead of throwing: Subscription::poll, Run::next_event and
 *     Queue::claim give std::nullopt when nothing came within the timeout, Store::find for a
 *     missing key.
 *   - Strings in are std::string_view. The C ABI takes NUL-terminated strings, so each is copied
 *     into a NUL-terminated buffer for the call; one holding a NUL byte throws Error
 *     (NETRIG_E_INVALID_ARG) rather than being cut short there. Bytes (payloads, bytes values)
 *     are passed as (pointer, length) directly. Strings out are std::string (copies), read with
 *     the library's needed-size protocol or from its result objects.
 *   - Options: DeviceOptions, PoolOptions, RunOptions, QueueOptions and StoreOptions have a
 *     field per C field, std::optional where the library has a default: an unset field keeps
 *     the default that netrig_X_options_default gives it. They own their strings.
 *   - Callbacks are std::function: a store subscription's change callback, a run's event
 *     callback and a file transfer's progress callback. Exceptions never cross into C: see
 *     "Callback exceptions" at Subscription and Run, and Device::put_file.
 *   - Threads: as in netrig.h, every object may be used from any thread, so every operation is
 *     a const member function; only the ownership calls (reset, release, free, discard, moves)
 *     change the C++ object and need the usual external synchronisation.
 *
 * The wrappers add no locks around netrig calls (the one mutex, inside a callback's state,
 * guards only the stored exception) and copy every string they keep.
 */
#ifndef NETRIG_HPP
#define NETRIG_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "netrig.h"

namespace netrig {

// ---------------------------------------------------------------------------------------------
// Constants and enums
// ---------------------------------------------------------------------------------------------

/// `timeout_ms` of the calls that wait: no limit.
inline constexpr uint32_t wait_forever = static_cast<uint32_t>(NETRIG_WAIT_FOREVER);
/// `ttl_ms`: the store's default TTL.
inline constexpr int64_t ttl_default = NETRIG_TTL_DEFAULT;
/// `ttl_ms`: never expire.
inline constexpr int64_t ttl_never = NETRIG_TTL_NEVER;

enum class Type : uint32_t {
    Bool = NETRIG_TYPE_BOOL,
    Int = NETRIG_TYPE_INT,
    Double = NETRIG_TYPE_DOUBLE,
    Str = NETRIG_TYPE_STR,
    Bytes = NETRIG_TYPE_BYTES,
};

enum class ChangeKind : uint32_t {
    Set = NETRIG_CHANGE_SET,
    Delete = NETRIG_CHANGE_DELETE,
    Expire = NETRIG_CHANGE_EXPIRE,
    Lagged = NETRIG_CHANGE_LAGGED,
};

enum class HostKeyPolicy : uint32_t {
    Strict = NETRIG_HOSTKEY_STRICT,
    Pinned = NETRIG_HOSTKEY_PINNED,
    AcceptNew = NETRIG_HOSTKEY_ACCEPT_NEW,
    InsecureAcceptAny = NETRIG_HOSTKEY_INSECURE_ACCEPT_ANY,
};

enum class Protocol : uint32_t { Sftp = NETRIG_PROTOCOL_SFTP, Scp = NETRIG_PROTOCOL_SCP };

enum class Durability : uint32_t {
    ProcessCrash = NETRIG_DURABLE_PROCESS_CRASH,
    PowerLoss = NETRIG_DURABLE_POWER_LOSS,
};

enum class Strategy : uint32_t { Free = NETRIG_STRATEGY_FREE, Linear = NETRIG_STRATEGY_LINEAR };

enum class OnFailure : uint32_t {
    Continue = NETRIG_ON_FAILURE_CONTINUE,
    SkipHost = NETRIG_ON_FAILURE_SKIP_HOST,
    Abort = NETRIG_ON_FAILURE_ABORT,
};

/// The NETRIG_STATE_* values of run results and events.
enum class State : uint32_t {
    None = NETRIG_STATE_NONE,
    Ok = NETRIG_STATE_OK,
    Failed = NETRIG_STATE_FAILED,
    TimedOut = NETRIG_STATE_TIMED_OUT,
    Cancelled = NETRIG_STATE_CANCELLED,
    Skipped = NETRIG_STATE_SKIPPED,
};

/// The NETRIG_ITEM_* statuses that Queue::fail reports.
enum class ItemStatus : uint32_t {
    Pending = NETRIG_ITEM_PENDING,
    Processing = NETRIG_ITEM_PROCESSING,
    Suspended = NETRIG_ITEM_SUSPENDED,
    Failed = NETRIG_ITEM_FAILED,
};

// Plain C structs the wrappers hand out as they are (no pointers inside).
using PoolStats = netrig_pool_stats;
using SubscriptionStats = netrig_subscription_stats;
using QueueCounts = netrig_queue_counts;
using RunTotals = netrig_run_totals;
using HostResult = netrig_host_result;
using StepResult = netrig_step_result;
using Event = netrig_event;
using TestInfo = netrig_test_info;
using ServiceInfo = netrig_service_info;

/// "MAJOR.MINOR.PATCH" of the library loaded.
inline std::string version() { return netrig_version(); }

/// The name of a status ("NETRIG_E_TYPE").
inline std::string status_name(netrig_status s) { return netrig_status_str(static_cast<int>(s)); }

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A failed netrig call: the status and the library's text for it.
class Error : public std::runtime_error {
public:
    Error(netrig_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    /// The netrig_status of the failure (never NETRIG_OK).
    netrig_status status() const noexcept { return status_; }
    /// Its name, "NETRIG_E_NOT_FOUND".
    const char *status_name() const noexcept { return netrig_status_str(static_cast<int>(status_)); }

private:
    netrig_status status_;
};

/// NETRIG_E_NOT_FOUND: a missing or expired key, item, host or step.
class NotFoundError : public Error {
public:
    using Error::Error;
};
/// NETRIG_E_CONFLICT: a compare-and-set or batch precondition found another version.
class ConflictError : public Error {
public:
    using Error::Error;
};
/// NETRIG_E_BUSY: a try_ form found the object in use, a test already running, a run not done.
class BusyError : public Error {
public:
    using Error::Error;
};
/// NETRIG_E_TIMEOUT: the deadline passed.
class TimeoutError : public Error {
public:
    using Error::Error;
};

/// NETRIG_E_COMMAND: the device refused a command (a line of its answer matches the error
/// patterns) or a configuration line. what() names the device and the command and quotes the
/// line; output() is all the device answered (copied from netrig_last_failed_output).
class CommandError : public Error {
public:
    CommandError(netrig_status status, const std::string &message, std::optional<std::string> output = std::nullopt,
                 std::string failure = std::string())
        : Error(status, message), output_(std::move(output)), failure_(std::move(failure)) {}
    /// The device's whole answer; nullopt when the failure was not an answer (a failed exec).
    const std::optional<std::string> &output() const noexcept { return output_; }
    /// The device's line that matched ("" without an output).
    const std::string &failure() const noexcept { return failure_; }

private:
    std::optional<std::string> output_;
    std::string failure_;
};

/// Throws the Error (or subclass) for `status` with `message`.
[[noreturn]] inline void throw_status(netrig_status status, const std::string &message) {
    switch (status) {
    case NETRIG_E_NOT_FOUND: throw NotFoundError(status, message);
    case NETRIG_E_CONFLICT: throw ConflictError(status, message);
    case NETRIG_E_BUSY: throw BusyError(status, message);
    case NETRIG_E_TIMEOUT: throw TimeoutError(status, message);
    case NETRIG_E_COMMAND: throw CommandError(status, message);
    default: throw Error(status, message);
    }
}

/// Throws the Error for `status` with this thread's netrig_last_error(). Call it right after
/// the failing call, before any other netrig call on the thread. A NETRIG_E_COMMAND takes the
/// refused command's output with it (netrig_last_failed_output).
[[noreturn]] inline void throw_last_error(netrig_status status) {
    const char *text = netrig_last_error();
    std::string message = text != nullptr && *text != '\0' ? std::string(text) : status_name(status);
    if (status == NETRIG_E_COMMAND) {
        netrig_output out{};
        if (netrig_last_failed_output(&out) == NETRIG_OK) {
            const char *t = nullptr, *f = nullptr;
            size_t len = 0, flen = 0;
            std::optional<std::string> output;
            std::string failure;
            if (netrig_output_text(out, &t, &len) == NETRIG_OK)
                output.emplace(t, len);
            if (netrig_output_failure(out, &f, &flen) == NETRIG_OK)
                failure.assign(f, flen);
            (void)netrig_output_free(out);
            throw CommandError(status, message, std::move(output), std::move(failure));
        }
    }
    throw_status(status, message);
}

/// Returns if `status` is NETRIG_OK, else throws it with the last error.
inline void check(netrig_status status) {
    if (status != NETRIG_OK)
        throw_last_error(status);
}

namespace detail {

/// A NUL-terminated copy of a string argument. `what` names the function and argument for the
/// error when the text holds a NUL byte (the C call would see a shorter string).
class CStr {
public:
    CStr(std::string_view text, const char *what) : s_(text) {
        const auto nul = text.find('\0');
        if (nul != std::string_view::npos)
            throw_status(NETRIG_E_INVALID_ARG, std::string(what) + " holds a NUL byte at offset " +
                                                   std::to_string(nul) +
                                                   "; netrig takes NUL-terminated strings (use bytes for binary data)");
    }
    const char *c_str() const noexcept { return s_.c_str(); }

private:
    std::string s_;
};

/// An optional string argument: NULL when not given.
class OptCStr {
public:
    OptCStr(const std::optional<std::string_view> &text, const char *what) {
        if (text)
            s_.emplace(*text, what);
    }
    const char *c_str() const noexcept { return s_ ? s_->c_str() : nullptr; }

private:
    std::optional<CStr> s_;
};

/// NUL-terminated copies of a list of strings, and the array of pointers the C ABI takes.
class CStrArray {
public:
    CStrArray(const std::vector<std::string> &items, const char *what) {
        copies_.reserve(items.size());
        for (const auto &item : items)
            copies_.emplace_back(item, what);
        for (const auto &c : copies_)
            ptrs_.push_back(c.c_str());
    }
    const char *const *data() const noexcept { return ptrs_.empty() ? nullptr : ptrs_.data(); }
    size_t size() const noexcept { return ptrs_.size(); }

private:
    std::vector<CStr> copies_;
    std::vector<const char *> ptrs_;
};

/// What a method of an empty owner (moved from, released or freed) throws, before any C call.
[[noreturn]] inline void throw_empty(const char *what) {
    throw_status(NETRIG_E_INVALID_HANDLE,
                 std::string(what) + ": the object holds no handle (moved from, released or freed)");
}

/// The library's caller-buffer protocol: `call(buf, buf_len, &len)` until the buffer is big
/// enough (NETRIG_E_BUFFER_TOO_SMALL sets the length needed; the object may grow in between,
/// so the retry leaves room).
template <typename Call>
std::string read_string(Call &&call, size_t first_try = 128) {
    std::string buf(first_try, '\0');
    for (;;) {
        size_t len = 0;
        const netrig_status s = call(&buf[0], buf.size(), &len);
        if (s == NETRIG_OK) {
            buf.resize(len);
            return buf;
        }
        if (s != NETRIG_E_BUFFER_TOO_SMALL)
            throw_last_error(s);
        buf.assign(len + len / 4 + 64, '\0');
    }
}

/// A move-only owner of one handle of type H, freed with Free.
template <typename H, netrig_status (*Free)(H)>
class Owner {
public:
    using handle_type = H;
    Owner() noexcept = default;
    /// Takes ownership of `h` (a zero handle is "none").
    explicit Owner(H h) noexcept : h_(h) {}
    Owner(const Owner &) = delete;
    Owner &operator=(const Owner &) = delete;
    Owner(Owner &&other) noexcept : h_(other.release()) {}
    Owner &operator=(Owner &&other) noexcept {
        if (this != &other) {
            reset();
            h_ = other.release();
        }
        return *this;
    }
    ~Owner() { reset(); }

    /// The C handle, still owned by this object.
    H get() const noexcept { return h_; }
    /// Gives the handle up: the caller frees it; this object then holds nothing.
    H release() noexcept { return std::exchange(h_, H{}); }
    /// True while it holds a handle.
    explicit operator bool() const noexcept { return h_.id != 0; }
    /// Frees the handle (if any), ignoring the status; never throws.
    void reset() noexcept {
        if (h_.id != 0)
            (void)Free(release());
    }
    /// Frees the handle now and throws if the free failed (the handle is given up either way).
    void free() {
        if (h_.id != 0)
            check(Free(release()));
    }

protected:
    /// For the owner's own methods: the handle, or NETRIG_E_INVALID_HANDLE for an empty owner
    /// (a moved-from one) before any C call is made.
    H use(const char *what) const {
        if (h_.id == 0)
            throw_empty(what);
        return h_;
    }

private:
    H h_{};
};

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// A typed store value: bool, int64, double, string or bytes. It owns its data.
class Value {
public:
    /// false.
    Value() noexcept = default;
    Value(bool b) noexcept : type_(Type::Bool), b_(b) {}
    template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Value(T i) noexcept : type_(Type::Int), i_(static_cast<int64_t>(i)) {}
    template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
    Value(T d) noexcept : type_(Type::Double), d_(static_cast<double>(d)) {}
    Value(std::string_view s) : type_(Type::Str), data_(s) {}
    Value(const char *s) : Value(std::string_view(s)) {}
    Value(const std::string &s) : Value(std::string_view(s)) {}
    /// A bytes value (any bytes, NULs included).
    static Value bytes(const void *data, size_t len) {
        Value v;
        v.type_ = Type::Bytes;
        v.data_.assign(static_cast<const char *>(data), len);
        return v;
    }
    static Value bytes(const std::vector<uint8_t> &b) { return bytes(b.data(), b.size()); }
    /// A copy of a value netrig filled in (snapshots, changes).
    static Value from_c(const netrig_value &v) {
        switch (v.kind) {
        case NETRIG_TYPE_BOOL: return Value(v.b != 0);
        case NETRIG_TYPE_INT: return Value(v.i);
        case NETRIG_TYPE_DOUBLE: return Value(v.d);
        case NETRIG_TYPE_STR: return Value(std::string_view(v.str != nullptr ? v.str : ""));
        case NETRIG_TYPE_BYTES: return bytes(v.bytes, v.bytes != nullptr ? v.bytes_len : 0);
        default: throw_status(NETRIG_E_TYPE, "netrig::Value::from_c: unknown kind " + std::to_string(v.kind));
        }
    }

    Type type() const noexcept { return type_; }
    bool as_bool() const { return expect(Type::Bool, "as_bool"), b_; }
    int64_t as_int() const { return expect(Type::Int, "as_int"), i_; }
    double as_double() const { return expect(Type::Double, "as_double"), d_; }
    const std::string &as_str() const { return expect(Type::Str, "as_str"), data_; }
    std::vector<uint8_t> as_bytes() const {
        expect(Type::Bytes, "as_bytes");
        return std::vector<uint8_t>(data_.begin(), data_.end());
    }

    /// The C view of this value, pointing into it (valid while it lives unchanged). A string
    /// holding a NUL throws, as a string argument does.
    netrig_value c_value() const {
        netrig_value v{};
        v.kind = static_cast<uint32_t>(type_);
        switch (type_) {
        case Type::Bool: v.b = b_ ? 1 : 0; break;
        case Type::Int: v.i = i_; break;
        case Type::Double: v.d = d_; break;
        case Type::Str:
            if (data_.find('\0') != std::string::npos)
                throw_status(NETRIG_E_INVALID_ARG, "netrig::Value: a string value holds a NUL byte; use Value::bytes");
            v.str = data_.c_str();
            break;
        case Type::Bytes:
            v.bytes = reinterpret_cast<const uint8_t *>(data_.data());
            v.bytes_len = data_.size();
            break;
        }
        return v;
    }

    friend bool operator==(const Value &a, const Value &b) noexcept {
        if (a.type_ != b.type_)
            return false;
        switch (a.type_) {
        case Type::Bool: return a.b_ == b.b_;
        case Type::Int: return a.i_ == b.i_;
        case Type::Double: return a.d_ == b.d_;
        default: return a.data_ == b.data_;
        }
    }
    friend bool operator!=(const Value &a, const Value &b) noexcept { return !(a == b); }

private:
    static const char *type_name(Type t) noexcept {
        switch (t) {
        case Type::Bool: return "bool";
        case Type::Int: return "int";
        case Type::Double: return "double";
        case Type::Str: return "str";
        case Type::Bytes: return "bytes";
        }
        return "unknown";
    }
    void expect(Type t, const char *fn) const {
        if (type_ != t)
            throw_status(NETRIG_E_TYPE, std::string("netrig::Value::") + fn + ": the value has type " +
                                            type_name(type_) + ", not " + type_name(t));
    }

    Type type_ = Type::Bool;
    bool b_ = false;
    int64_t i_ = 0;
    double d_ = 0;
    std::string data_;
};

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// netrig_store_options: unset fields keep the library's defaults.
struct StoreOptions {
    std::optional<uint64_t> max_entries;
    std::optional<uint64_t> max_bytes;
    std::optional<int64_t> default_ttl_ms;
    std::optional<uint32_t> max_key_len;

    netrig_store_options c() const {
        netrig_store_options o;
        check(netrig_store_options_default(&o, sizeof o));
        if (max_entries) o.max_entries = *max_entries;
        if (max_bytes) o.max_bytes = *max_bytes;
        if (default_ttl_ms) o.default_ttl_ms = *default_ttl_ms;
        if (max_key_len) o.max_key_len = *max_key_len;
        return o;
    }
};

/// netrig_device_options: unset fields keep the library's defaults (strings: NULL, "not
/// given"); host and username are required by netrig_device_open. The strings are owned here,
/// and the struct c() returns points into them: it is valid while this object lives unchanged.
struct DeviceOptions {
    std::optional<std::string> host;
    std::optional<uint16_t> port;
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::optional<std::string> private_key_file;
    std::optional<std::string> private_key;
    std::optional<std::string> passphrase;
    std::optional<bool> use_agent;
    std::optional<std::string> secret;
    std::optional<HostKeyPolicy> host_key_policy;
    std::optional<std::string> known_hosts;
    std::optional<std::string> host_key_fingerprint;
    std::optional<uint32_t> connect_timeout_ms;
    std::optional<uint32_t> auth_timeout_ms;
    std::optional<uint32_t> timeout_ms;
    std::optional<uint32_t> keepalive_ms;
    std::optional<std::string> platform;
    std::optional<std::string> prompt_pattern;
    std::optional<std::string> paging_off_command;
    std::optional<std::string> enable_command;
    std::optional<std::string> config_command;
    std::optional<std::string> config_exit_command;
    std::optional<std::string> config_prompt_pattern;
    std::optional<uint32_t> term_cols;
    std::optional<uint32_t> term_rows;
    std::optional<std::string> session_log;
    std::optional<bool> session_log_timestamps;
    /// A platform file (PLATFORMS.md) or its text, instead of a built-in `platform`.
    std::optional<std::string> platform_file;
    std::optional<std::string> platform_text;
    /// A regex for a line of output that means the device refused the command.
    std::optional<std::string> error_pattern;
    /// Whether a refused command throws CommandError (default true); a call's
    /// CommandOptions::check overrides it.
    std::optional<bool> check_errors;
    /// The TextFSM templates directory (an ntc-templates style index) for parsed runner steps.
    std::optional<std::string> templates;

    netrig_device_options c() const {
        netrig_device_options o;
        check(netrig_device_options_default(&o, sizeof o));
        str(o.host, host, "host");
        if (port) o.port = *port;
        str(o.username, username, "username");
        str(o.password, password, "password");
        str(o.private_key_file, private_key_file, "private_key_file");
        str(o.private_key, private_key, "private_key");
        str(o.passphrase, passphrase, "passphrase");
        if (use_agent) o.use_agent = *use_agent ? 1 : 0;
        str(o.secret, secret, "secret");
        if (host_key_policy) o.host_key_policy = static_cast<uint32_t>(*host_key_policy);
        str(o.known_hosts, known_hosts, "known_hosts");
        str(o.host_key_fingerprint, host_key_fingerprint, "host_key_fingerprint");
        if (connect_timeout_ms) o.connect_timeout_ms = *connect_timeout_ms;
        if (auth_timeout_ms) o.auth_timeout_ms = *auth_timeout_ms;
        if (timeout_ms) o.timeout_ms = *timeout_ms;
        if (keepalive_ms) o.keepalive_ms = *keepalive_ms;
        str(o.platform, platform, "platform");
        str(o.prompt_pattern, prompt_pattern, "prompt_pattern");
        str(o.paging_off_command, paging_off_command, "paging_off_command");
        str(o.enable_command, enable_command, "enable_command");
        str(o.config_command, config_command, "config_command");
        str(o.config_exit_command, config_exit_command, "config_exit_command");
        str(o.config_prompt_pattern, config_prompt_pattern, "config_prompt_pattern");
        if (term_cols) o.term_cols = *term_cols;
        if (term_rows) o.term_rows = *term_rows;
        str(o.session_log, session_log, "session_log");
        if (session_log_timestamps) o.session_log_timestamps = *session_log_timestamps ? 1 : 0;
        str(o.platform_file, platform_file, "platform_file");
        str(o.platform_text, platform_text, "platform_text");
        str(o.error_pattern, error_pattern, "error_pattern");
        if (check_errors) o.check_errors = *check_errors ? 1 : 0;
        str(o.templates, templates, "templates");
        return o;
    }

private:
    static void str(const char *&field, const std::optional<std::string> &value, const char *name) {
        if (!value)
            return;
        if (value->find('\0') != std::string::npos)
            throw_status(NETRIG_E_INVALID_ARG, std::string("netrig::DeviceOptions: ") + name + " holds a NUL byte");
        field = value->c_str();
    }
};

/// netrig_pool_options: unset fields keep the library's defaults.
struct PoolOptions {
    std::optional<uint32_t> max_per_host;
    std::optional<uint32_t> max_total;
    std::optional<uint32_t> idle_timeout_ms;
    std::optional<uint32_t> max_lifetime_ms;
    std::optional<uint32_t> checkout_timeout_ms;
    std::optional<uint32_t> health_check_after_ms;
    std::optional<uint32_t> health_check_timeout_ms;

    netrig_pool_options c() const {
        netrig_pool_options o;
        check(netrig_pool_options_default(&o, sizeof o));
        if (max_per_host) o.max_per_host = *max_per_host;
        if (max_total) o.max_total = *max_total;
        if (idle_timeout_ms) o.idle_timeout_ms = *idle_timeout_ms;
        if (max_lifetime_ms) o.max_lifetime_ms = *max_lifetime_ms;
        if (checkout_timeout_ms) o.checkout_timeout_ms = *checkout_timeout_ms;
        if (health_check_after_ms) o.health_check_after_ms = *health_check_after_ms;
        if (health_check_timeout_ms) o.health_check_timeout_ms = *health_check_timeout_ms;
        return o;
    }
};

/// netrig_run_options: unset fields keep the library's defaults.
struct RunOptions {
    std::optional<uint32_t> max_workers;
    std::optional<Strategy> strategy;
    std::optional<OnFailure> on_failure;
    /// Keep every event for Run::next_event.
    std::optional<bool> events;

    netrig_run_options c() const {
        netrig_run_options o;
        check(netrig_run_options_default(&o, sizeof o));
        if (max_workers) o.max_workers = *max_workers;
        if (strategy) o.strategy = static_cast<uint32_t>(*strategy);
        if (on_failure) o.on_failure = static_cast<uint32_t>(*on_failure);
        if (events) o.events = *events ? 1 : 0;
        return o;
    }
};

/// netrig_queue_options: unset fields keep the library's defaults.
struct QueueOptions {
    std::optional<size_t> max_items;
    std::optional<uint32_t> max_attempts;
    std::optional<uint32_t> lease_ms;
    std::optional<size_t> max_payload;

    netrig_queue_options c() const {
        netrig_queue_options o;
        check(netrig_queue_options_default(&o, sizeof o));
        if (max_items) o.max_items = *max_items;
        if (max_attempts) o.max_attempts = *max_attempts;
        if (lease_ms) o.lease_ms = *lease_ms;
        if (max_payload) o.max_payload = *max_payload;
        return o;
    }
};

// ---------------------------------------------------------------------------------------------
// Result objects: Output, Snapshot, StrList, Change
// ---------------------------------------------------------------------------------------------

/// A device operation's result (netrig_output).
class Output : public detail::Owner<netrig_output, netrig_output_free> {
public:
    using Owner::Owner;
    /// The output text (exec: stdout), which may hold NULs; valid until this object is freed.
    std::string_view text_view() const {
        const char *t = nullptr;
        size_t len = 0;
        check(netrig_output_text(use("netrig::Output::text"), &t, &len));
        return std::string_view(t, len);
    }
    std::string text() const { return std::string(text_view()); }
    /// Exec's stderr ("" for CLI operations). (Not named stderr, a macro of <cstdio>.)
    std::string stderr_text() const {
        const char *t = nullptr;
        size_t len = 0;
        check(netrig_output_stderr(use("netrig::Output::stderr_text"), &t, &len));
        return std::string(t, len);
    }
    int32_t exit_status() const {
        int32_t s = 0;
        check(netrig_output_exit_status(use("netrig::Output::exit_status"), &s));
        return s;
    }
    uint64_t elapsed_us() const {
        uint64_t us = 0;
        check(netrig_output_elapsed_us(use("netrig::Output::elapsed_us"), &us));
        return us;
    }
    /// Whether a line matches the device's error patterns (an output returned with
    /// Check::Off, or a device opened with check_errors false).
    bool failed() const {
        bool f = false;
        check(netrig_output_failed(use("netrig::Output::failed"), &f));
        return f;
    }
    /// That line ("" when the output did not fail).
    std::string failure() const {
        const char *t = nullptr;
        size_t len = 0;
        check(netrig_output_failure(use("netrig::Output::failure"), &t, &len));
        return std::string(t, len);
    }
};

/// One entry of a snapshot, copied out of it.
struct Entry {
    std::string key;
    Value value;
    uint64_t version = 0;
    /// ms left as of the snapshot, -1 for a key that never expires.
    int64_t ttl_remaining_ms = -1;
};

/// A consistent copy of a store's keys (netrig_snapshot).
class Snapshot : public detail::Owner<netrig_snapshot, netrig_snapshot_free> {
public:
    using Owner::Owner;
    size_t size() const {
        size_t n = 0;
        check(netrig_snapshot_len(use("netrig::Snapshot::size"), &n));
        return n;
    }
    /// Entry `index` in key order; NotFoundError past the end.
    Entry entry(size_t index) const {
        netrig_entry e{};
        check(netrig_snapshot_get(use("netrig::Snapshot::entry"), index, &e));
        return Entry{e.key, Value::from_c(e.value), e.version, e.ttl_remaining_ms};
    }
    std::vector<Entry> entries() const {
        std::vector<Entry> all;
        const size_t n = size();
        all.reserve(n);
        for (size_t i = 0; i < n; i++)
            all.push_back(entry(i));
        return all;
    }
    /// The snapshot as JSON (netrig_snapshot_json).
    std::string json() const {
        const char *j = nullptr;
        size_t len = 0;
        check(netrig_snapshot_json(use("netrig::Snapshot::json"), &j, &len));
        return std::string(j, len);
    }
};

/// A list of keys (netrig_strlist).
class StrList : public detail::Owner<netrig_strlist, netrig_strlist_free> {
public:
    using Owner::Owner;
    size_t size() const {
        size_t n = 0;
        check(netrig_strlist_len(use("netrig::StrList::size"), &n));
        return n;
    }
    std::string at(size_t index) const {
        const char *s = nullptr;
        check(netrig_strlist_get(use("netrig::StrList::at"), index, &s));
        return s;
    }
    std::vector<std::string> to_vector() const {
        std::vector<std::string> all;
        const size_t n = size();
        all.reserve(n);
        for (size_t i = 0; i < n; i++)
            all.push_back(at(i));
        return all;
    }
};

/// A borrowed view of a change (netrig_change_view): what a change callback gets, valid only
/// during the call (copy what you keep: key() and value() are copies).
class ChangeView {
public:
    explicit ChangeView(const netrig_change_view &v) noexcept : v_(&v) {}
    ChangeKind kind() const noexcept { return static_cast<ChangeKind>(v_->kind); }
    std::string key() const { return v_->key != nullptr ? v_->key : ""; }
    /// The new value (Set) or the removed one (Delete, Expire); unset (false) for Lagged.
    Value value() const { return kind() == ChangeKind::Lagged ? Value() : Value::from_c(v_->value); }
    uint64_t version() const noexcept { return v_->version; }
    /// For Lagged: how many changes were dropped there.
    uint64_t missed() const noexcept { return v_->missed; }
    const netrig_change_view &c_view() const noexcept { return *v_; }

private:
    const netrig_change_view *v_;
};

/// A change taken by Subscription::poll (netrig_change).
class Change : public detail::Owner<netrig_change, netrig_change_free> {
public:
    Change() noexcept = default;
    /// Takes ownership of `c` and reads its view.
    explicit Change(netrig_change c) : Owner(c) { check(netrig_change_get(c, &v_)); }
    /// The change's view, valid while this object holds it.
    ChangeView view() const {
        use("netrig::Change::view");
        return ChangeView(v_);
    }
    ChangeKind kind() const { return view().kind(); }
    std::string key() const { return view().key(); }
    Value value() const { return view().value(); }
    uint64_t version() const { return view().version(); }

private:
    netrig_change_view v_{};
};

// ---------------------------------------------------------------------------------------------
// Callback state
// ---------------------------------------------------------------------------------------------

namespace detail {

/// Exceptions thrown by a callback: counted, the first kept for the owner to rethrow.
class CallbackErrors {
public:
    void store(std::exception_ptr e) noexcept {
        count_.fetch_add(1, std::memory_order_relaxed);
        try {
            std::lock_guard<std::mutex> lock(m_);
            if (!first_)
                first_ = std::move(e);
        } catch (...) {
            // A mutex that cannot be locked: the count still tells.
        }
    }
    uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    void rethrow_first() {
        std::exception_ptr e;
        {
            std::lock_guard<std::mutex> lock(m_);
            e = std::exchange(first_, nullptr);
        }
        if (e)
            std::rethrow_exception(e);
    }

private:
    std::atomic<uint64_t> count_{0};
    std::mutex m_;
    std::exception_ptr first_;
};

/// A change callback's state, the user_data of netrig_store_subscribe_callback. The owner
/// (Subscription) deletes it after netrig_subscription_free returns, unless the callback is
/// running then (the free was made from inside it, or from a callback it is blocked in): then
/// the trampoline deletes it when the callback returns.
struct ChangeCallbackState {
    static constexpr unsigned in_call = 1, orphaned = 2;
    std::function<void(const ChangeView &)> fn;
    CallbackErrors errors;
    std::atomic<unsigned> flags{0};

    /// Called by the owner once netrig_subscription_free has returned.
    void orphan() noexcept {
        if ((flags.fetch_or(orphaned) & in_call) == 0)
            delete this;
    }
};

/// A run's event callback state, the user_data of netrig_run_start.
struct EventCallbackState {
    std::function<void(const Event &)> fn;
    CallbackErrors errors;
};

/// A file transfer's progress callback, for the duration of the call.
struct ProgressState {
    const std::function<bool(uint64_t, uint64_t)> *fn;
    std::exception_ptr error;
};

} // namespace detail
} // namespace netrig

namespace netrig {

/// netrig_log_level: how much netrig logs (README, "Logs").
enum class LogLevel : uint32_t {
    Off = NETRIG_LOG_OFF,
    Error = NETRIG_LOG_ERROR,
    Warn = NETRIG_LOG_WARN,
    Info = NETRIG_LOG_INFO,
    Debug = NETRIG_LOG_DEBUG,
    Trace = NETRIG_LOG_TRACE,
};

/// One log record, as set_log_callback's function sees it: the views are valid for the call
/// only (copy what you keep).
struct LogRecord {
    LogLevel level;
    std::string_view target;                ///< "device", "pool", "run", "store" or "queue"
    std::optional<std::string_view> device; ///< the device's name, where one applies
    std::string_view message;
    uint64_t unix_time_us;
    uint64_t thread_id;
};

namespace detail {

/// The log callback's state, the user_data of netrig_set_log_callback. set_log_callback
/// deletes the old one once netrig_set_log_callback has returned (every record for it delivered).
/// The globals are never destroyed: netrig's logging thread may still deliver at exit (they stay
/// reachable, so this is no leak).
struct LogState {
    std::function<void(const LogRecord &)> fn;
    CallbackErrors errors;
};
struct LogGlobals {
    std::mutex setter;  ///< serialises set_log_callback; held across netrig_set_log_callback
    std::mutex current_mutex; ///< guards `current`; never held across a netrig call
    std::unique_ptr<LogState> current;
};
inline LogGlobals &log_globals() {
    static LogGlobals *globals = new LogGlobals();
    return *globals;
}
/// True on netrig's logging thread while a C++ log callback runs.
inline thread_local bool in_log_callback = false;

} // namespace detail
} // namespace netrig

// The trampolines netrig calls: C linkage (the callback types are declared in extern "C"), and
// no exception ever leaves them.
extern "C" {
inline void netrig_cxx_change_trampoline(const netrig_change_view *change, void *user_data) {
    auto *state = static_cast<netrig::detail::ChangeCallbackState *>(user_data);
    state->flags.fetch_or(netrig::detail::ChangeCallbackState::in_call);
    try {
        state->fn(netrig::ChangeView(*change));
    } catch (...) {
        state->errors.store(std::current_exception());
    }
    if (state->flags.fetch_and(~netrig::detail::ChangeCallbackState::in_call) &
        netrig::detail::ChangeCallbackState::orphaned)
        delete state;
}

inline void netrig_cxx_event_trampoline(const netrig_event *event, void *user_data) {
    auto *state = static_cast<netrig::detail::EventCallbackState *>(user_data);
    try {
        state->fn(*event);
    } catch (...) {
        state->errors.store(std::current_exception());
    }
}

inline void netrig_cxx_log_trampoline(void *user_data, const netrig_log_record *r) {
    auto *state = static_cast<netrig::detail::LogState *>(user_data);
    netrig::detail::in_log_callback = true;
    try {
        netrig::LogRecord record{static_cast<netrig::LogLevel>(r->level),
                                 r->target != nullptr ? std::string_view(r->target) : std::string_view(),
                                 r->device != nullptr ? std::optional<std::string_view>(r->device) : std::nullopt,
                                 r->message != nullptr ? std::string_view(r->message) : std::string_view(),
                                 r->unix_time_us,
                                 r->thread_id};
        state->fn(record);
    } catch (...) {
        state->errors.store(std::current_exception());
    }
    netrig::detail::in_log_callback = false;
}

inline bool netrig_cxx_progress_trampoline(void *user_data, uint64_t done, uint64_t total) {
    auto *state = static_cast<netrig::detail::ProgressState *>(user_data);
    try {
        return (*state->fn)(done, total);
    } catch (...) {
        state->error = std::current_exception();
        return false;
    }
}
}

namespace netrig {

// ---------------------------------------------------------------------------------------------
// Subscription
// ---------------------------------------------------------------------------------------------

/// A subscription to a store's changes (netrig_subscription), polled or with a callback.
///
/// The callback (Store::subscribe with a function) runs on the subscription's "netrig-events"
/// thread, one call at a time. Its std::function lives in a heap object owned here, kept until
/// netrig_subscription_free has returned (which delivers the changes queued before it and waits
/// for the callback); destroying the Subscription from inside its own callback is safe too (the
/// state is then deleted when that call returns).
///
/// Callback exceptions: an exception thrown by the callback never reaches netrig. It is caught
/// on the dispatcher thread and swallowed for delivery: the change counts as delivered, later
/// changes go on to the callback. callback_exceptions() counts them, and
/// rethrow_callback_exception() rethrows the first one (then forgets it) on the caller's thread.
class Subscription {
public:
    Subscription() noexcept = default;
    /// Takes ownership of a polled subscription handle.
    explicit Subscription(netrig_subscription h) noexcept : h_(h) {}
    Subscription(const Subscription &) = delete;
    Subscription &operator=(const Subscription &) = delete;
    Subscription(Subscription &&o) noexcept
        : h_(std::exchange(o.h_, netrig_subscription{})), cb_(std::exchange(o.cb_, nullptr)) {}
    Subscription &operator=(Subscription &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, netrig_subscription{});
            cb_ = std::exchange(o.cb_, nullptr);
        }
        return *this;
    }
    ~Subscription() { reset(); }

    netrig_subscription get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_.id != 0; }
    /// Gives the handle up. For a callback subscription the callback's state is given up too and
    /// kept for the rest of the process (nothing else can tell when netrig stops using it).
    netrig_subscription release() noexcept {
        cb_ = nullptr;
        return std::exchange(h_, netrig_subscription{});
    }
    /// Unsubscribes (see netrig_subscription_free: a callback gets the queued changes first),
    /// then frees the callback's state. Never throws.
    void reset() noexcept {
        if (h_.id != 0)
            (void)netrig_subscription_free(std::exchange(h_, netrig_subscription{}));
        if (cb_ != nullptr)
            std::exchange(cb_, nullptr)->orphan();
    }
    /// As reset(), throwing if the free failed.
    void free() {
        netrig_status s = NETRIG_OK;
        if (h_.id != 0)
            s = netrig_subscription_free(std::exchange(h_, netrig_subscription{}));
        const std::string message = s != NETRIG_OK ? netrig_last_error() : "";
        if (cb_ != nullptr)
            std::exchange(cb_, nullptr)->orphan();
        if (s != NETRIG_OK)
            throw_status(s, message);
    }

    /// The next change, waiting up to `timeout_ms` (0 = only look, wait_forever); std::nullopt
    /// when none came in time. Throws Error NETRIG_E_LAGGED where changes were dropped (the
    /// message says how many; later changes follow) and NETRIG_E_CLOSED once the store is gone
    /// and the queue empty.
    std::optional<Change> poll(uint32_t timeout_ms) const {
        netrig_change c{};
        const netrig_status s = netrig_subscription_poll(use("netrig::Subscription::poll"), timeout_ms, &c);
        if (s == NETRIG_E_TIMEOUT)
            return std::nullopt;
        check(s);
        return Change(c);
    }
    SubscriptionStats stats() const {
        SubscriptionStats st{};
        check(netrig_subscription_get_stats(use("netrig::Subscription::stats"), &st));
        return st;
    }
    /// How many times the callback threw so far.
    uint64_t callback_exceptions() const noexcept { return cb_ != nullptr ? cb_->errors.count() : 0; }
    /// Rethrows the first exception the callback threw, if any (and forgets it).
    void rethrow_callback_exception() const {
        if (cb_ != nullptr)
            cb_->errors.rethrow_first();
    }

private:
    friend class Store;
    Subscription(netrig_subscription h, detail::ChangeCallbackState *cb) noexcept : h_(h), cb_(cb) {}
    netrig_subscription use(const char *what) const {
        if (h_.id == 0)
            detail::throw_empty(what);
        return h_;
    }

    netrig_subscription h_{};
    detail::ChangeCallbackState *cb_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Store and Batch
// ---------------------------------------------------------------------------------------------

/// Sets, deletes and version preconditions applied all-or-nothing (netrig_batch).
class Batch : public detail::Owner<netrig_batch, netrig_batch_free> {
public:
    using Owner::Owner;
    /// A new, empty batch.
    static Batch create() {
        netrig_batch b{};
        check(netrig_batch_new(&b));
        return Batch(b);
    }
    const Batch &set(std::string_view key, const Value &value, int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Batch::set: key");
        const netrig_value v = value.c_value();
        check(netrig_batch_set(use("netrig::Batch::set"), k.c_str(), &v, ttl_ms));
        return *this;
    }
    const Batch &remove(std::string_view key) const {
        const detail::CStr k(key, "netrig::Batch::remove: key");
        check(netrig_batch_delete(use("netrig::Batch::remove"), k.c_str()));
        return *this;
    }
    /// When applied, `key` must be at `version` (0 = must not exist), or nothing changes.
    const Batch &expect_version(std::string_view key, uint64_t version) const {
        const detail::CStr k(key, "netrig::Batch::expect_version: key");
        check(netrig_batch_expect_version(use("netrig::Batch::expect_version"), k.c_str(), version));
        return *this;
    }
    size_t size() const {
        size_t n = 0;
        check(netrig_batch_len(use("netrig::Batch::size"), &n));
        return n;
    }
    void clear() const { check(netrig_batch_clear(use("netrig::Batch::clear"))); }
};

/// The fields netrig_test_update changes; unset ones stay as they are.
struct TestFields {
    std::optional<std::string> script;
    std::optional<std::string> bin;
    std::optional<std::string> topology;
    std::optional<int64_t> pid;
    /// Extra fields: a value sets the field, std::nullopt removes it.
    std::vector<std::pair<std::string, std::optional<std::string>>> fields;
};

/// A service's state with its detail text.
struct ServiceState {
    ServiceInfo info{};
    std::string detail;
};

/// A status store (netrig_store), in memory or durable.
class Store : public detail::Owner<netrig_store, netrig_store_free> {
public:
    using Owner::Owner;
    /// An empty in-memory store.
    static Store create(const StoreOptions &options = {}) {
        const netrig_store_options o = options.c();
        netrig_store s{};
        check(netrig_store_new(&o, &s));
        return Store(s);
    }
    /// The store kept in the SQLite file `path` (created if missing).
    static Store open(std::string_view path, Durability durability = Durability::ProcessCrash,
                      const StoreOptions &options = {}) {
        const detail::CStr p(path, "netrig::Store::open: path");
        const netrig_store_options o = options.c();
        netrig_store s{};
        check(netrig_store_open(p.c_str(), &o, static_cast<uint32_t>(durability), &s));
        return Store(s);
    }

    void set_bool(std::string_view key, bool value, int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Store::set_bool: key");
        check(netrig_store_set_bool(use("netrig::Store::set_bool"), k.c_str(), value, ttl_ms));
    }
    void set_int(std::string_view key, int64_t value, int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Store::set_int: key");
        check(netrig_store_set_int(use("netrig::Store::set_int"), k.c_str(), value, ttl_ms));
    }
    void set_double(std::string_view key, double value, int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Store::set_double: key");
        check(netrig_store_set_double(use("netrig::Store::set_double"), k.c_str(), value, ttl_ms));
    }
    void set_str(std::string_view key, std::string_view value, int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Store::set_str: key");
        const detail::CStr v(value, "netrig::Store::set_str: value");
        check(netrig_store_set_str(use("netrig::Store::set_str"), k.c_str(), v.c_str(), ttl_ms));
    }
    void set_bytes(std::string_view key, const void *data, size_t len, int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Store::set_bytes: key");
        check(netrig_store_set_bytes(use("netrig::Store::set_bytes"), k.c_str(), static_cast<const uint8_t *>(data),
                                     len, ttl_ms));
    }
    void set_bytes(std::string_view key, const std::vector<uint8_t> &data, int64_t ttl_ms = ttl_default) const {
        set_bytes(key, data.data(), data.size(), ttl_ms);
    }
    /// Sets `key` to `value`, whatever its type.
    void set(std::string_view key, const Value &value, int64_t ttl_ms = ttl_default) const {
        switch (value.type()) {
        case Type::Bool: set_bool(key, value.as_bool(), ttl_ms); break;
        case Type::Int: set_int(key, value.as_int(), ttl_ms); break;
        case Type::Double: set_double(key, value.as_double(), ttl_ms); break;
        case Type::Str: set_str(key, value.as_str(), ttl_ms); break;
        case Type::Bytes: set_bytes(key, value.as_bytes(), ttl_ms); break;
        }
    }

    // Typed reads: NotFoundError for a missing or expired key, Error NETRIG_E_TYPE for another
    // type. `version` (may be null) receives the key's version.
    bool get_bool(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::get_bool: key");
        bool v = false;
        check(netrig_store_get_bool(use("netrig::Store::get_bool"), k.c_str(), &v, version));
        return v;
    }
    int64_t get_int(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::get_int: key");
        int64_t v = 0;
        check(netrig_store_get_int(use("netrig::Store::get_int"), k.c_str(), &v, version));
        return v;
    }
    double get_double(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::get_double: key");
        double v = 0;
        check(netrig_store_get_double(use("netrig::Store::get_double"), k.c_str(), &v, version));
        return v;
    }
    std::string get_str(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::get_str: key");
        const netrig_store h = use("netrig::Store::get_str");
        return detail::read_string([&](char *buf, size_t cap, size_t *len) {
            return netrig_store_get_str(h, k.c_str(), buf, cap, len, version);
        });
    }
    std::vector<uint8_t> get_bytes(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::get_bytes: key");
        const netrig_store h = use("netrig::Store::get_bytes");
        std::vector<uint8_t> buf(64);
        for (;;) {
            size_t len = 0;
            const netrig_status s = netrig_store_get_bytes(h, k.c_str(), buf.data(), buf.size(), &len, version);
            if (s == NETRIG_OK) {
                buf.resize(len);
                return buf;
            }
            if (s != NETRIG_E_BUFFER_TOO_SMALL)
                throw_last_error(s);
            buf.resize(len + len / 4 + 64);
        }
    }
    /// The value at `key`, whatever its type (type and value read together).
    Value get_value(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::get_value: key");
        const netrig_store h = use("netrig::Store::get_value");
        std::vector<uint8_t> buf(64);
        for (;;) {
            netrig_value v{};
            size_t len = 0;
            const netrig_status s = netrig_store_get_value(h, k.c_str(), &v, buf.data(), buf.size(), &len, version);
            if (s == NETRIG_OK) {
                if (v.kind == NETRIG_TYPE_STR)
                    return Value(std::string_view(reinterpret_cast<const char *>(buf.data()), len));
                if (v.kind == NETRIG_TYPE_BYTES)
                    return Value::bytes(buf.data(), len);
                return Value::from_c(v);
            }
            if (s != NETRIG_E_BUFFER_TOO_SMALL)
                throw_last_error(s);
            buf.resize(len + len / 4 + 64);
        }
    }
    /// As get_value(), but std::nullopt for a missing or expired key.
    std::optional<Value> find(std::string_view key, uint64_t *version = nullptr) const {
        try {
            return get_value(key, version);
        } catch (const NotFoundError &) {
            return std::nullopt;
        }
    }
    Type type(std::string_view key, uint64_t *version = nullptr) const {
        const detail::CStr k(key, "netrig::Store::type: key");
        netrig_type t{};
        check(netrig_store_get_type(use("netrig::Store::type"), k.c_str(), &t, version));
        return static_cast<Type>(t);
    }
    /// Compare-and-set: writes `value` only if the key is at `expected_version` (0 = must not
    /// exist); returns the new version. ConflictError (nothing changed) on a mismatch.
    uint64_t cas(std::string_view key, uint64_t expected_version, const Value &value,
                 int64_t ttl_ms = ttl_default) const {
        const detail::CStr k(key, "netrig::Store::cas: key");
        const netrig_value v = value.c_value();
        uint64_t version = 0;
        check(netrig_store_cas(use("netrig::Store::cas"), k.c_str(), expected_version, &v, ttl_ms, &version));
        return version;
    }
    /// Adds `delta` to the int at `key` (a missing key starts at 0); returns the new value.
    int64_t add_int(std::string_view key, int64_t delta) const {
        const detail::CStr k(key, "netrig::Store::add_int: key");
        int64_t v = 0;
        check(netrig_store_add_int(use("netrig::Store::add_int"), k.c_str(), delta, &v));
        return v;
    }
    /// Removes `key`; NotFoundError if it is missing.
    void remove(std::string_view key) const {
        const detail::CStr k(key, "netrig::Store::remove: key");
        check(netrig_store_delete(use("netrig::Store::remove"), k.c_str()));
    }
    bool contains(std::string_view key) const {
        const detail::CStr k(key, "netrig::Store::contains: key");
        bool found = false;
        check(netrig_store_contains(use("netrig::Store::contains"), k.c_str(), &found));
        return found;
    }
    size_t size() const {
        size_t n = 0;
        check(netrig_store_len(use("netrig::Store::size"), &n));
        return n;
    }
    /// Removes every key; returns how many.
    size_t clear() const {
        size_t n = 0;
        check(netrig_store_clear(use("netrig::Store::clear"), &n));
        return n;
    }
    size_t purge_expired() const {
        size_t n = 0;
        check(netrig_store_purge_expired(use("netrig::Store::purge_expired"), &n));
        return n;
    }
    /// Applies `batch` all-or-nothing (ConflictError when a precondition fails).
    void apply(const Batch &batch) const { check(netrig_store_apply(use("netrig::Store::apply"), batch.get())); }
    Snapshot snapshot(std::string_view prefix = "") const {
        const detail::CStr p(prefix, "netrig::Store::snapshot: prefix");
        netrig_snapshot s{};
        check(netrig_store_snapshot(use("netrig::Store::snapshot"), p.c_str(), &s));
        return Snapshot(s);
    }
    /// The live keys under `prefix`, sorted.
    std::vector<std::string> keys(std::string_view prefix = "") const {
        const detail::CStr p(prefix, "netrig::Store::keys: prefix");
        netrig_strlist l{};
        check(netrig_store_keys(use("netrig::Store::keys"), p.c_str(), &l));
        return StrList(l).to_vector();
    }

    /// A polled subscription to changes under `prefix` (capacity 0: 1024). `snapshot` (may be
    /// null) receives a snapshot of the prefix taken at the same instant.
    Subscription subscribe(std::string_view prefix, uint32_t capacity = 0, Snapshot *snapshot = nullptr) const {
        const detail::CStr p(prefix, "netrig::Store::subscribe: prefix");
        netrig_subscription sub{};
        netrig_snapshot snap{};
        check(netrig_store_subscribe(use("netrig::Store::subscribe"), p.c_str(), capacity, &sub,
                                     snapshot != nullptr ? &snap : nullptr));
        if (snapshot != nullptr)
            *snapshot = Snapshot(snap);
        return Subscription(sub);
    }
    /// A subscription whose changes go to `callback` on its "netrig-events" thread (see
    /// Subscription for its lifetime and what happens to exceptions it throws).
    Subscription subscribe(std::string_view prefix, std::function<void(const ChangeView &)> callback,
                           uint32_t capacity = 0, Snapshot *snapshot = nullptr) const {
        const detail::CStr p(prefix, "netrig::Store::subscribe: prefix");
        if (!callback)
            throw_status(NETRIG_E_NULL_ARG, "netrig::Store::subscribe: the callback is empty");
        auto state = std::make_unique<detail::ChangeCallbackState>();
        state->fn = std::move(callback);
        netrig_subscription sub{};
        netrig_snapshot snap{};
        check(netrig_store_subscribe_callback(use("netrig::Store::subscribe"), p.c_str(), capacity,
                                              netrig_cxx_change_trampoline, state.get(), &sub,
                                              snapshot != nullptr ? &snap : nullptr));
        if (snapshot != nullptr)
            *snapshot = Snapshot(snap);
        return Subscription(sub, state.release());
    }

    // Test-execution state (keys under "netrig/test/").
    TestInfo test_start(std::string_view script, int64_t pid, std::string_view bin, std::string_view topology,
                        const std::vector<std::pair<std::string, std::string>> &fields = {}) const {
        const detail::CStr s(script, "netrig::Store::test_start: script");
        const detail::CStr b(bin, "netrig::Store::test_start: bin");
        const detail::CStr t(topology, "netrig::Store::test_start: topology");
        std::vector<std::string> names, values;
        for (const auto &f : fields) {
            names.push_back(f.first);
            values.push_back(f.second);
        }
        const detail::CStrArray n(names, "netrig::Store::test_start: a field name");
        const detail::CStrArray v(values, "netrig::Store::test_start: a field value");
        TestInfo info{};
        check(netrig_test_start(use("netrig::Store::test_start"), s.c_str(), pid, b.c_str(), t.c_str(), n.data(),
                                v.data(), n.size(), &info));
        return info;
    }
    TestInfo test_stop() const {
        TestInfo info{};
        check(netrig_test_stop(use("netrig::Store::test_stop"), &info));
        return info;
    }
    TestInfo test_update(const TestFields &update) const {
        const detail::OptCStr s(update.script, "netrig::Store::test_update: script");
        const detail::OptCStr b(update.bin, "netrig::Store::test_update: bin");
        const detail::OptCStr t(update.topology, "netrig::Store::test_update: topology");
        std::vector<detail::CStr> names;
        std::vector<detail::OptCStr> values;
        names.reserve(update.fields.size());
        values.reserve(update.fields.size());
        for (const auto &f : update.fields) {
            names.emplace_back(f.first, "netrig::Store::test_update: a field name");
            values.emplace_back(f.second ? std::optional<std::string_view>(*f.second) : std::nullopt,
                                "netrig::Store::test_update: a field value");
        }
        std::vector<const char *> np, vp;
        for (size_t i = 0; i < names.size(); i++) {
            np.push_back(names[i].c_str());
            vp.push_back(values[i].c_str());
        }
        netrig_test_fields f{};
        f.script = s.c_str();
        f.bin = b.c_str();
        f.topology = t.c_str();
        f.set_pid = update.pid ? 1 : 0;
        f.pid = update.pid.value_or(0);
        f.field_names = np.empty() ? nullptr : np.data();
        f.field_values = vp.empty() ? nullptr : vp.data();
        f.field_count = np.size();
        TestInfo info{};
        check(netrig_test_update(use("netrig::Store::test_update"), &f, &info));
        return info;
    }
    TestInfo test_info() const {
        TestInfo info{};
        check(netrig_test_get_info(use("netrig::Store::test_info"), &info));
        return info;
    }
    std::string test_json() const {
        const netrig_store h = use("netrig::Store::test_json");
        return detail::read_string([&](char *buf, size_t cap, size_t *len) {
            return netrig_test_json(h, buf, cap, len);
        });
    }

    // Service state (keys under "netrig/service/<name>/").
    void service_set(std::string_view name, bool running, std::string_view detail) const {
        const detail::CStr n(name, "netrig::Store::service_set: name");
        const detail::CStr d(detail, "netrig::Store::service_set: detail");
        check(netrig_service_set(use("netrig::Store::service_set"), n.c_str(), running ? 1 : 0, d.c_str()));
    }
    /// NotFoundError for a service never set.
    ServiceState service_get(std::string_view name) const {
        const detail::CStr n(name, "netrig::Store::service_get: name");
        const netrig_store h = use("netrig::Store::service_get");
        ServiceState st;
        st.detail = detail::read_string([&](char *buf, size_t cap, size_t *len) {
            return netrig_service_get(h, n.c_str(), &st.info, buf, cap, len);
        });
        return st;
    }
    void service_remove(std::string_view name) const {
        const detail::CStr n(name, "netrig::Store::service_remove: name");
        check(netrig_service_remove(use("netrig::Store::service_remove"), n.c_str()));
    }
    std::string services_json() const {
        const netrig_store h = use("netrig::Store::services_json");
        return detail::read_string([&](char *buf, size_t cap, size_t *len) {
            return netrig_services_json(h, buf, cap, len);
        });
    }
};

// ---------------------------------------------------------------------------------------------
// Device and Pool
// ---------------------------------------------------------------------------------------------

/// NETRIG_CHECK_*: whether a refused command throws (the device's default, on, off).
enum class Check : uint32_t {
    Default = NETRIG_CHECK_DEFAULT,
    On = NETRIG_CHECK_ON,
    Off = NETRIG_CHECK_OFF,
};

/// The options of one command (netrig_command_options); unset fields take their defaults.
struct CommandOptions {
    /// 0: the device's timeout.
    uint32_t timeout_ms = 0;
    /// Read until this regex instead of the prompt (send_command_with only).
    std::optional<std::string> expect;
    /// Read until the device is quiet this long (send_command_with only).
    uint32_t quiet_ms = 0;
    Check check = Check::Default;
    /// Replaces the error patterns for this call.
    std::optional<std::string> error_pattern;

    /// The C struct and the strings it points into, alive for one call.
    struct C {
        C(const CommandOptions &options, const char *what)
            : expect(options.expect, what), error_pattern(options.error_pattern, what) {
            netrig::check(netrig_command_options_default(&o, sizeof o));
            o.timeout_ms = options.timeout_ms;
            o.expect = expect.c_str();
            o.quiet_ms = options.quiet_ms;
            o.check = static_cast<uint32_t>(options.check);
            o.error_pattern = error_pattern.c_str();
        }
        detail::OptCStr expect, error_pattern;
        netrig_command_options o{};
    };
};

/// An open SSH session (netrig_device), opened directly or checked out of a Pool. Timeouts are
/// in ms; 0 means the device's default.
class Device : public detail::Owner<netrig_device, netrig_device_free> {
public:
    using Owner::Owner;
    /// Opens a session (Error NETRIG_E_CONNECT, NETRIG_E_AUTH, NETRIG_E_HOSTKEY, TimeoutError...).
    static Device open(const DeviceOptions &options) {
        const netrig_device_options o = options.c();
        netrig_device d{};
        check(netrig_device_open(&o, &d));
        return Device(d);
    }
    /// Closes the session; the object stays valid until freed (later operations: NETRIG_E_CLOSED).
    void close() const { check(netrig_device_close(use("netrig::Device::close"))); }
    /// Cancels the running operation (from another thread): it throws NETRIG_E_CANCELLED.
    void cancel() const { check(netrig_device_cancel(use("netrig::Device::cancel"))); }
    /// For a pooled session: closes it instead of returning it to the pool, and frees the handle.
    /// Error NETRIG_E_INVALID_ARG (the handle kept) for a session from Device::open.
    void discard() {
        check(netrig_pool_discard(use("netrig::Device::discard")));
        (void)release();
    }

    Output send_command(std::string_view command, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Device::send_command: command");
        netrig_output out{};
        check(netrig_device_send_command(use("netrig::Device::send_command"), c.c_str(), timeout_ms, &out));
        return Output(out);
    }
    /// BusyError at once when another operation is running.
    Output try_send_command(std::string_view command, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Device::try_send_command: command");
        netrig_output out{};
        check(netrig_device_try_send_command(use("netrig::Device::try_send_command"), c.c_str(), timeout_ms, &out));
        return Output(out);
    }
    Output send_command_expect(std::string_view command, std::string_view expect, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Device::send_command_expect: command");
        const detail::CStr e(expect, "netrig::Device::send_command_expect: expect");
        netrig_output out{};
        check(netrig_device_send_command_expect(use("netrig::Device::send_command_expect"), c.c_str(), e.c_str(),
                                                timeout_ms, &out));
        return Output(out);
    }
    Output send_command_timing(std::string_view command, uint32_t quiet_ms, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Device::send_command_timing: command");
        netrig_output out{};
        check(netrig_device_send_command_timing(use("netrig::Device::send_command_timing"), c.c_str(), quiet_ms,
                                                timeout_ms, &out));
        return Output(out);
    }
    /// send_command with options: an expect pattern or a quiet period to read to, the timeout,
    /// and the check of the answer (CommandError, or with Check::Off an Output whose failed()
    /// says so).
    Output send_command_with(std::string_view command, const CommandOptions &options) const {
        const detail::CStr c(command, "netrig::Device::send_command_with: command");
        const CommandOptions::C o(options, "netrig::Device::send_command_with");
        netrig_output out{};
        check(netrig_device_send_command_with(use("netrig::Device::send_command_with"), c.c_str(), &o.o, &out));
        return Output(out);
    }
    /// send_interactive with options (timeout, check, error_pattern; not expect or quiet_ms).
    Output send_interactive_with(const std::vector<std::pair<std::string, std::string>> &steps,
                                 const CommandOptions &options) const {
        std::vector<std::string> sends, expects;
        for (const auto &s : steps) {
            sends.push_back(s.first);
            expects.push_back(s.second);
        }
        const detail::CStrArray sa(sends, "netrig::Device::send_interactive_with: a send");
        const detail::CStrArray ea(expects, "netrig::Device::send_interactive_with: an expect");
        const CommandOptions::C o(options, "netrig::Device::send_interactive_with");
        netrig_output out{};
        check(netrig_device_send_interactive_with(use("netrig::Device::send_interactive_with"), sa.data(), ea.data(),
                                                  sa.size(), &o.o, &out));
        return Output(out);
    }
    /// send_config_set with options (timeout, check, error_pattern): with Check::Off every line
    /// is sent and the Output's failed() tells whether one was rejected.
    Output send_config_set_with(const std::vector<std::string> &lines, uint32_t flags,
                                const CommandOptions &options) const {
        const detail::CStrArray la(lines, "netrig::Device::send_config_set_with: a line");
        const CommandOptions::C o(options, "netrig::Device::send_config_set_with");
        netrig_output out{};
        check(netrig_device_send_config_set_with(use("netrig::Device::send_config_set_with"), la.data(), la.size(),
                                                 flags, &o.o, &out));
        return Output(out);
    }
    /// A dialogue: each pair is (what to send, the regex to read until; "" = the prompt).
    Output send_interactive(const std::vector<std::pair<std::string, std::string>> &steps,
                            uint32_t timeout_ms = 0) const {
        std::vector<std::string> sends, expects;
        for (const auto &s : steps) {
            sends.push_back(s.first);
            expects.push_back(s.second);
        }
        const detail::CStrArray sa(sends, "netrig::Device::send_interactive: a send");
        const detail::CStrArray ea(expects, "netrig::Device::send_interactive: an expect");
        netrig_output out{};
        check(netrig_device_send_interactive(use("netrig::Device::send_interactive"), sa.data(), ea.data(), sa.size(),
                                             timeout_ms, &out));
        return Output(out);
    }
    /// Configuration lines; `flags` are NETRIG_CONFIG_* bits. Error NETRIG_E_COMMAND names a
    /// rejected line.
    Output send_config_set(const std::vector<std::string> &lines, uint32_t flags = 0, uint32_t timeout_ms = 0) const {
        const detail::CStrArray la(lines, "netrig::Device::send_config_set: a line");
        netrig_output out{};
        check(netrig_device_send_config_set(use("netrig::Device::send_config_set"), la.data(), la.size(), flags,
                                            timeout_ms, &out));
        return Output(out);
    }
    Output save_config(uint32_t timeout_ms = 0) const {
        netrig_output out{};
        check(netrig_device_save_config(use("netrig::Device::save_config"), timeout_ms, &out));
        return Output(out);
    }
    void enable(uint32_t timeout_ms = 0) const {
        check(netrig_device_enable(use("netrig::Device::enable"), timeout_ms));
    }
    void exit_enable(uint32_t timeout_ms = 0) const {
        check(netrig_device_exit_enable(use("netrig::Device::exit_enable"), timeout_ms));
    }
    void config_mode(uint32_t timeout_ms = 0) const {
        check(netrig_device_config_mode(use("netrig::Device::config_mode"), timeout_ms));
    }
    void exit_config_mode(uint32_t timeout_ms = 0) const {
        check(netrig_device_exit_config_mode(use("netrig::Device::exit_config_mode"), timeout_ms));
    }
    /// The platform the device is driven with: the one named, or the one detected when the
    /// options said "autodetect".
    std::string platform() const {
        const netrig_device h = use("netrig::Device::platform");
        return detail::read_string(
            [&](char *buf, size_t cap, size_t *len) { return netrig_device_platform(h, buf, cap, len); }, 32);
    }
    /// A real round trip: false when the prompt did not come back or the session is closed.
    bool is_alive(uint32_t timeout_ms = 0) const {
        bool alive = false;
        check(netrig_device_is_alive(use("netrig::Device::is_alive"), timeout_ms, &alive));
        return alive;
    }
    /// Runs `command` on its own channel (Linux targets): text() is stdout, with stderr_text()
    /// and exit_status().
    Output exec(std::string_view command, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Device::exec: command");
        netrig_output out{};
        check(netrig_device_exec(use("netrig::Device::exec"), c.c_str(), timeout_ms, &out));
        return Output(out);
    }

    /// Progress of a transfer: (bytes done, total); return false to cancel it.
    using Progress = std::function<bool(uint64_t done, uint64_t total)>;

    /// Copies a local file to the device; returns the bytes sent. `progress` (may be empty) runs
    /// on this thread after each chunk. An exception it throws cancels the transfer and is
    /// rethrown here, once netrig has returned.
    uint64_t put_file(std::string_view local_path, std::string_view remote_path, Protocol protocol = Protocol::Sftp,
                      const Progress &progress = {}, uint32_t timeout_ms = 0) const {
        const detail::CStr l(local_path, "netrig::Device::put_file: local_path");
        const detail::CStr r(remote_path, "netrig::Device::put_file: remote_path");
        return transfer(netrig_device_put_file, "netrig::Device::put_file", l.c_str(), r.c_str(), protocol, progress,
                        timeout_ms);
    }
    /// Copies a file from the device (as put_file; nothing is left locally on failure).
    uint64_t get_file(std::string_view remote_path, std::string_view local_path, Protocol protocol = Protocol::Sftp,
                      const Progress &progress = {}, uint32_t timeout_ms = 0) const {
        const detail::CStr r(remote_path, "netrig::Device::get_file: remote_path");
        const detail::CStr l(local_path, "netrig::Device::get_file: local_path");
        return transfer(netrig_device_get_file, "netrig::Device::get_file", r.c_str(), l.c_str(), protocol, progress,
                        timeout_ms);
    }

private:
    template <typename F>
    uint64_t transfer(F fn, const char *what, const char *from, const char *to, Protocol protocol,
                      const Progress &progress, uint32_t timeout_ms) const {
        detail::ProgressState state{&progress, nullptr};
        uint64_t bytes = 0;
        const netrig_status s = fn(use(what), from, to, static_cast<uint32_t>(protocol),
                                   progress ? netrig_cxx_progress_trampoline : nullptr,
                                   progress ? &state : nullptr, timeout_ms, &bytes);
        if (state.error)
            std::rethrow_exception(state.error);
        check(s);
        return bytes;
    }
};

/// What Pool::prewarm did for each target.
struct PrewarmResult {
    /// NETRIG_OK when every target opened, else the first failed target's status.
    netrig_status status = NETRIG_OK;
    /// One per target, in order.
    std::vector<netrig_status> statuses;
    size_t failed = 0;
    /// The library's text listing every failed host ("" when none failed).
    std::string message;
};

/// A pool of device sessions (netrig_pool).
class Pool : public detail::Owner<netrig_pool, netrig_pool_free> {
public:
    using Owner::Owner;
    static Pool create(const PoolOptions &options = {}) {
        const netrig_pool_options o = options.c();
        netrig_pool p{};
        check(netrig_pool_new(&o, &p));
        return Pool(p);
    }
    /// Lends a session (0 = the pool's checkout_timeout_ms); the Device's destructor returns it.
    Device checkout(const DeviceOptions &options, uint32_t timeout_ms = 0) const {
        const netrig_device_options o = options.c();
        netrig_device d{};
        check(netrig_pool_checkout(use("netrig::Pool::checkout"), &o, timeout_ms, &d));
        return Device(d);
    }
    /// By key, for a device the pool has seen (NotFoundError otherwise); no platform = generic.
    Device checkout_key(std::string_view host, uint16_t port, std::string_view username,
                        std::optional<std::string_view> platform = std::nullopt, uint32_t timeout_ms = 0) const {
        const detail::CStr h(host, "netrig::Pool::checkout_key: host");
        const detail::CStr u(username, "netrig::Pool::checkout_key: username");
        const detail::OptCStr p(platform, "netrig::Pool::checkout_key: platform");
        netrig_device d{};
        check(netrig_pool_checkout_key(use("netrig::Pool::checkout_key"), h.c_str(), port, u.c_str(), p.c_str(),
                                       timeout_ms, &d));
        return Device(d);
    }
    /// Opens a session to each target, `parallel` at a time, and leaves them idle. Per-target
    /// failures are in the result, not thrown; argument errors throw.
    PrewarmResult prewarm(const std::vector<DeviceOptions> &targets, uint32_t parallel) const {
        std::vector<netrig_device_options> c;
        c.reserve(targets.size());
        for (const auto &t : targets)
            c.push_back(t.c());
        PrewarmResult r;
        r.statuses.assign(targets.size(), NETRIG_OK);
        constexpr size_t unset = static_cast<size_t>(-1);
        size_t failed = unset;
        r.status = netrig_pool_prewarm(use("netrig::Pool::prewarm"), c.empty() ? nullptr : c.data(), c.size(), parallel,
                                       r.statuses.empty() ? nullptr : r.statuses.data(), &failed);
        if (r.status != NETRIG_OK && failed == unset)
            throw_last_error(r.status);
        if (r.status != NETRIG_OK)
            r.message = netrig_last_error();
        r.failed = failed == unset ? 0 : failed;
        return r;
    }
    PoolStats stats() const {
        PoolStats s{};
        check(netrig_pool_get_stats(use("netrig::Pool::stats"), &s));
        return s;
    }
    /// Closes every idle session now.
    void close_all() const { check(netrig_pool_close_all(use("netrig::Pool::close_all"))); }
};

// ---------------------------------------------------------------------------------------------
// Job and Run
// ---------------------------------------------------------------------------------------------

class Run;

/// Targets and steps to run (netrig_job). Steps' timeouts: 0 = the device's timeout_ms.
class Job : public detail::Owner<netrig_job, netrig_job_free> {
public:
    using Owner::Owner;
    static Job create() {
        netrig_job j{};
        check(netrig_job_new(&j));
        return Job(j);
    }
    const Job &add_target(const DeviceOptions &options) const {
        const netrig_device_options o = options.c();
        check(netrig_job_add_target(use("netrig::Job::add_target"), &o));
        return *this;
    }
    /// A target under `name` (nullopt: "host:port") with `data_json` (nullopt: {}), which the
    /// run's results, events and JSON report carry.
    const Job &add_target_named(std::optional<std::string_view> name, const DeviceOptions &options,
                                std::optional<std::string_view> data_json = std::nullopt) const {
        const detail::OptCStr n(name, "netrig::Job::add_target_named: name");
        const detail::OptCStr d(data_json, "netrig::Job::add_target_named: data_json");
        const netrig_device_options o = options.c();
        check(netrig_job_add_target_named(use("netrig::Job::add_target_named"), n.c_str(), &o, d.c_str()));
        return *this;
    }
    /// Adds the hosts of a Nornir-style inventory that `filter` takes (see
    /// netrig_job_add_inventory for the files and the filter syntax); returns how many.
    size_t add_inventory(std::string_view hosts, std::optional<std::string_view> groups = std::nullopt,
                         std::optional<std::string_view> defaults = std::nullopt,
                         std::optional<std::string_view> filter = std::nullopt) const {
        const detail::CStr h(hosts, "netrig::Job::add_inventory: hosts");
        const detail::OptCStr g(groups, "netrig::Job::add_inventory: groups");
        const detail::OptCStr d(defaults, "netrig::Job::add_inventory: defaults");
        const detail::OptCStr f(filter, "netrig::Job::add_inventory: filter");
        size_t n = 0;
        check(netrig_job_add_inventory(use("netrig::Job::add_inventory"), h.c_str(), g.c_str(), d.c_str(), f.c_str(), &n));
        return n;
    }
    const Job &add_target_key(std::string_view host, uint16_t port, std::string_view username,
                        std::optional<std::string_view> platform = std::nullopt) const {
        const detail::CStr h(host, "netrig::Job::add_target_key: host");
        const detail::CStr u(username, "netrig::Job::add_target_key: username");
        const detail::OptCStr p(platform, "netrig::Job::add_target_key: platform");
        check(netrig_job_add_target_key(use("netrig::Job::add_target_key"), h.c_str(), port, u.c_str(), p.c_str()));
        return *this;
    }
    const Job &add_command(std::string_view command, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Job::add_command: command");
        check(netrig_job_add_command(use("netrig::Job::add_command"), c.c_str(), timeout_ms));
        return *this;
    }
    const Job &add_config(const std::vector<std::string> &lines, uint32_t flags = 0, uint32_t timeout_ms = 0) const {
        const detail::CStrArray la(lines, "netrig::Job::add_config: a line");
        check(netrig_job_add_config(use("netrig::Job::add_config"), la.data(), la.size(), flags, timeout_ms));
        return *this;
    }
    const Job &add_exec(std::string_view command, uint32_t timeout_ms = 0) const {
        const detail::CStr c(command, "netrig::Job::add_exec: command");
        check(netrig_job_add_exec(use("netrig::Job::add_exec"), c.c_str(), timeout_ms));
        return *this;
    }
    const Job &add_put(std::string_view local, std::string_view remote, Protocol protocol = Protocol::Sftp,
                 uint32_t timeout_ms = 0) const {
        const detail::CStr l(local, "netrig::Job::add_put: local");
        const detail::CStr r(remote, "netrig::Job::add_put: remote");
        check(netrig_job_add_put(use("netrig::Job::add_put"), l.c_str(), r.c_str(), static_cast<uint32_t>(protocol),
                                 timeout_ms));
        return *this;
    }
    /// `{name}`, `{host}` and `{port}` in `local` are replaced by each target's.
    const Job &add_get(std::string_view remote, std::string_view local, Protocol protocol = Protocol::Sftp,
                 uint32_t timeout_ms = 0) const {
        const detail::CStr r(remote, "netrig::Job::add_get: remote");
        const detail::CStr l(local, "netrig::Job::add_get: local");
        check(netrig_job_add_get(use("netrig::Job::add_get"), r.c_str(), l.c_str(), static_cast<uint32_t>(protocol),
                                 timeout_ms));
        return *this;
    }
};

/// A run of a job (netrig_run). Results are read once wait() returned true.
///
/// The event callback runs on the run's worker threads, several at once: it must be
/// thread-safe. Its std::function lives in a heap object owned here. Destroying (or reset())
/// a Run with a callback cancels it if it still runs and waits for it to end, so that the
/// callback is never called after its state is freed (a cancel takes about 100 ms; connects in
/// flight finish or time out first). Do not destroy a Run from inside its own callback (cancel()
/// is fine there): the wait cannot happen then, and the callback's state is kept for the rest
/// of the process instead.
///
/// Callback exceptions: caught on the worker thread and swallowed for the run (the run goes on
/// as if the callback had returned); callback_exceptions() counts them and
/// rethrow_callback_exception() rethrows the first on the caller's thread.
class Run {
public:
    using Callback = std::function<void(const Event &)>;

    Run() noexcept = default;
    /// Takes ownership of a run handle started without a callback.
    explicit Run(netrig_run h) noexcept : h_(h) {}
    Run(const Run &) = delete;
    Run &operator=(const Run &) = delete;
    Run(Run &&o) noexcept : h_(std::exchange(o.h_, netrig_run{})), cb_(std::exchange(o.cb_, nullptr)) {}
    Run &operator=(Run &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, netrig_run{});
            cb_ = std::exchange(o.cb_, nullptr);
        }
        return *this;
    }
    ~Run() { reset(); }

    /// Starts `job` (copied: it may change at once), with sessions of `pool` if given.
    static Run start(const Job &job, const RunOptions &options = {}, Callback callback = {},
                     const Pool *pool = nullptr) {
        const netrig_run_options o = options.c();
        std::unique_ptr<detail::EventCallbackState> state;
        if (callback) {
            state = std::make_unique<detail::EventCallbackState>();
            state->fn = std::move(callback);
        }
        netrig_run r{};
        check(netrig_run_start(job.get(), pool != nullptr ? pool->get() : netrig_pool{}, &o,
                               state ? netrig_cxx_event_trampoline : nullptr, state.get(), &r));
        return Run(r, state.release());
    }
    static Run start(const Job &job, const Pool &pool, const RunOptions &options = {}, Callback callback = {}) {
        return start(job, options, std::move(callback), &pool);
    }

    netrig_run get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_.id != 0; }
    /// Gives the handle up; a callback's state is then kept for the rest of the process.
    netrig_run release() noexcept {
        cb_ = nullptr;
        return std::exchange(h_, netrig_run{});
    }
    /// Frees the run (cancelling it if it runs; with a callback, waiting for it to end first).
    void reset() noexcept {
        if (h_.id != 0) {
            const netrig_run h = std::exchange(h_, netrig_run{});
            if (cb_ != nullptr) {
                (void)netrig_run_cancel(h);
                if (netrig_run_wait(h, wait_forever) != NETRIG_OK)
                    cb_ = nullptr; // called from its own callback: keep the state (see above)
            }
            (void)netrig_run_free(h);
        }
        delete std::exchange(cb_, nullptr);
    }

    /// Waits up to `timeout_ms` (0 = only check): true once the run has ended (results ready,
    /// callback done), false while it still runs.
    bool wait(uint32_t timeout_ms = wait_forever) const {
        const netrig_status s = netrig_run_wait(use("netrig::Run::wait"), timeout_ms);
        if (s == NETRIG_E_TIMEOUT)
            return false;
        check(s);
        return true;
    }
    void cancel() const { check(netrig_run_cancel(use("netrig::Run::cancel"))); }
    /// The next event of a run started with RunOptions::events; std::nullopt when none came in
    /// time. Error NETRIG_E_CLOSED once every event (RUN_FINISHED last) was taken.
    std::optional<Event> next_event(uint32_t timeout_ms) const {
        Event e{};
        const netrig_status s = netrig_run_next_event(use("netrig::Run::next_event"), timeout_ms, &e);
        if (s == NETRIG_E_TIMEOUT)
            return std::nullopt;
        check(s);
        return e;
    }

    // Results (BusyError while the run runs; NotFoundError for a host or step out of range).
    RunTotals totals() const {
        RunTotals t{};
        check(netrig_run_get_totals(use("netrig::Run::totals"), &t));
        return t;
    }
    HostResult host(size_t index) const {
        HostResult r{};
        check(netrig_run_host(use("netrig::Run::host"), index, &r));
        return r;
    }
    /// "host:port" (available while the run runs, too).
    std::string host_name(size_t index) const {
        const netrig_run h = use("netrig::Run::host_name");
        return detail::read_string(
            [&](char *buf, size_t cap, size_t *len) { return netrig_run_host_name(h, index, buf, cap, len); }, 64);
    }
    StepResult step(size_t host, size_t step) const {
        StepResult r{};
        check(netrig_run_step(use("netrig::Run::step"), host, step, &r));
        return r;
    }
    Output step_output(size_t host, size_t step) const {
        netrig_output out{};
        check(netrig_run_step_output(use("netrig::Run::step_output"), host, step, &out));
        return Output(out);
    }
    /// The error text of the host's connect (`step` -1) or of a step; "" when it succeeded.
    std::string error(size_t host, int64_t step) const {
        const netrig_run h = use("netrig::Run::error");
        return detail::read_string(
            [&](char *buf, size_t cap, size_t *len) { return netrig_run_error(h, host, step, buf, cap, len); });
    }
    /// The whole report as JSON.
    std::string json() const {
        netrig_output out{};
        check(netrig_run_json(use("netrig::Run::json"), &out));
        return Output(out).text();
    }

    uint64_t callback_exceptions() const noexcept { return cb_ != nullptr ? cb_->errors.count() : 0; }
    void rethrow_callback_exception() const {
        if (cb_ != nullptr)
            cb_->errors.rethrow_first();
    }

private:
    Run(netrig_run h, detail::EventCallbackState *cb) noexcept : h_(h), cb_(cb) {}
    netrig_run use(const char *what) const {
        if (h_.id == 0)
            detail::throw_empty(what);
        return h_;
    }

    netrig_run h_{};
    detail::EventCallbackState *cb_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Queue and Item
// ---------------------------------------------------------------------------------------------

/// A claimed item (netrig_item): an immutable copy, readable after settling and after its
/// queue is freed. Freeing it does not settle it.
class Item : public detail::Owner<netrig_item, netrig_item_free> {
public:
    using Owner::Owner;
    uint64_t id() const {
        uint64_t v = 0;
        check(netrig_item_id(use("netrig::Item::id"), &v));
        return v;
    }
    /// The payload bytes, valid until this object is freed.
    std::string_view payload_view() const {
        const uint8_t *data = nullptr;
        size_t len = 0;
        check(netrig_item_payload(use("netrig::Item::payload"), &data, &len));
        return std::string_view(reinterpret_cast<const char *>(data), len);
    }
    std::string payload() const { return std::string(payload_view()); }
    int32_t priority() const {
        int32_t v = 0;
        check(netrig_item_priority(use("netrig::Item::priority"), &v));
        return v;
    }
    /// 1 for the first claim, 2 after one failed or expired claim, ...
    uint32_t attempt() const {
        uint32_t v = 0;
        check(netrig_item_attempt(use("netrig::Item::attempt"), &v));
        return v;
    }
};

/// A work queue (netrig_queue), in memory or durable.
class Queue : public detail::Owner<netrig_queue, netrig_queue_free> {
public:
    using Owner::Owner;
    static Queue create(const QueueOptions &options = {}) {
        const netrig_queue_options o = options.c();
        netrig_queue q{};
        check(netrig_queue_new(&o, &q));
        return Queue(q);
    }
    /// The durable queue `name` in the SQLite file `path`.
    static Queue open(std::string_view path, std::string_view name, Durability durability = Durability::ProcessCrash,
                      const QueueOptions &options = {}) {
        const detail::CStr p(path, "netrig::Queue::open: path");
        const detail::CStr n(name, "netrig::Queue::open: name");
        const netrig_queue_options o = options.c();
        netrig_queue q{};
        check(netrig_queue_open(p.c_str(), n.c_str(), &o, static_cast<uint32_t>(durability), &q));
        return Queue(q);
    }
    /// Claims waiting now return, later pushes and claims throw NETRIG_E_CLOSED.
    void close() const { check(netrig_queue_close(use("netrig::Queue::close"))); }
    /// Appends an item (bytes, NULs included); returns its id.
    uint64_t push(const void *payload, size_t len, int32_t priority) const {
        uint64_t id = 0;
        check(netrig_queue_push(use("netrig::Queue::push"), static_cast<const uint8_t *>(payload), len, priority, &id));
        return id;
    }
    uint64_t push(std::string_view payload, int32_t priority = 0) const {
        return push(payload.data(), payload.size(), priority);
    }
    /// The next pending item under the queue's lease, waiting up to `timeout_ms` (0 = only
    /// look); std::nullopt when none came in time, Error NETRIG_E_CLOSED when closed.
    std::optional<Item> claim(uint32_t timeout_ms) const {
        netrig_item it{};
        const netrig_status s = netrig_queue_claim(use("netrig::Queue::claim"), timeout_ms, &it);
        if (s == NETRIG_E_TIMEOUT)
            return std::nullopt;
        check(s);
        return Item(it);
    }
    std::optional<Item> claim_with_lease(uint32_t timeout_ms, uint32_t lease_ms) const {
        netrig_item it{};
        const netrig_status s =
            netrig_queue_claim_with_lease(use("netrig::Queue::claim_with_lease"), timeout_ms, lease_ms, &it);
        if (s == NETRIG_E_TIMEOUT)
            return std::nullopt;
        check(s);
        return Item(it);
    }
    /// Settles as done; Error NETRIG_E_LEASE (nothing changed) when the lease is no longer held.
    void complete(const Item &item) const { check(netrig_queue_complete(use("netrig::Queue::complete"), item.get())); }
    /// Settles as failed; returns ItemStatus::Pending (retried) or ItemStatus::Failed.
    ItemStatus fail(const Item &item, bool retry, std::string_view error) const {
        const detail::CStr e(error, "netrig::Queue::fail: error");
        uint32_t status = 0;
        check(netrig_queue_fail(use("netrig::Queue::fail"), item.get(), retry, e.c_str(), &status));
        return static_cast<ItemStatus>(status);
    }
    void extend(const Item &item, uint32_t lease_ms) const {
        check(netrig_queue_extend(use("netrig::Queue::extend"), item.get(), lease_ms));
    }
    void suspend(uint64_t id) const { check(netrig_queue_suspend(use("netrig::Queue::suspend"), id)); }
    void resume(uint64_t id) const { check(netrig_queue_resume(use("netrig::Queue::resume"), id)); }
    size_t resume_all() const {
        size_t n = 0;
        check(netrig_queue_resume_all(use("netrig::Queue::resume_all"), &n));
        return n;
    }
    size_t retry_failed() const {
        size_t n = 0;
        check(netrig_queue_retry_failed(use("netrig::Queue::retry_failed"), &n));
        return n;
    }
    size_t purge_failed() const {
        size_t n = 0;
        check(netrig_queue_purge_failed(use("netrig::Queue::purge_failed"), &n));
        return n;
    }
    QueueCounts counts() const {
        QueueCounts c{};
        check(netrig_queue_get_counts(use("netrig::Queue::counts"), &c));
        return c;
    }
    /// The queue as JSON, taken at one instant.
    std::string snapshot_json() const {
        const netrig_queue h = use("netrig::Queue::snapshot_json");
        return detail::read_string(
            [&](char *buf, size_t cap, size_t *len) { return netrig_queue_snapshot_json(h, buf, cap, len); }, 4096);
    }
};

// ---------------------------------------------------------------------------------------------
// Logs (README, "Logs"; netrig_set_log_callback in netrig.h for the rules)

/// Sends netrig's log records at `min_level` and above to `fn`, on netrig's logging thread
/// ("netrig-log"), one at a time, in order; `fn` may call netrig, but not set_log_callback
/// (NETRIG_E_INVALID_ARG: it could not wait for itself). An empty
/// `fn` or LogLevel::Off clears it (records then go to stderr if NETRIG_LOG is set). Records
/// still queued for the previous function reach it before this returns. An exception thrown by `fn` is caught: the record is lost, the
/// exception counted, and the first one is kept for rethrow_log_callback_exception().
inline void set_log_callback(LogLevel min_level, std::function<void(const LogRecord &)> fn) {
    if (detail::in_log_callback)
        throw_status(NETRIG_E_INVALID_ARG,
                     "netrig::set_log_callback: called from inside the log callback, where it cannot wait for "
                     "the records still queued for it; call it from another thread");
    detail::LogGlobals &g = detail::log_globals();
    std::lock_guard<std::mutex> setter(g.setter);
    std::unique_ptr<detail::LogState> next;
    if (fn && min_level != LogLevel::Off) {
        next = std::make_unique<detail::LogState>();
        next->fn = std::move(fn);
    }
    // netrig delivers the old callback's queued records before it returns; the logging thread
    // never takes `setter`, so holding it here cannot block that.
    check(netrig_set_log_callback(static_cast<uint32_t>(min_level), next ? netrig_cxx_log_trampoline : nullptr,
                                  next.get()));
    std::unique_ptr<detail::LogState> old;
    {
        std::lock_guard<std::mutex> lock(g.current_mutex);
        old = std::exchange(g.current, std::move(next));
    }
    // `old` is deleted here: netrig calls it no more.
}

/// Stops the log callback (set_log_callback(LogLevel::Off, {})).
inline void clear_log_callback() { set_log_callback(LogLevel::Off, {}); }

/// The current sink's min level (netrig_set_log_level).
inline void set_log_level(LogLevel level) { check(netrig_set_log_level(static_cast<uint32_t>(level))); }

/// The current min level (netrig_get_log_level).
inline LogLevel log_level() noexcept { return static_cast<LogLevel>(netrig_get_log_level()); }

/// Waits until the records made before the call reached the callback (TimeoutError after
/// `timeout_ms`).
inline void log_flush(uint32_t timeout_ms = 10000) { check(netrig_log_flush(timeout_ms)); }

/// How many exceptions the current log callback has thrown.
inline uint64_t log_callback_exceptions() {
    detail::LogGlobals &g = detail::log_globals();
    std::lock_guard<std::mutex> lock(g.current_mutex);
    return g.current ? g.current->errors.count() : 0;
}

/// Rethrows the first exception the current log callback threw (and forgets it); nothing if none.
inline void rethrow_log_callback_exception() {
    detail::LogGlobals &g = detail::log_globals();
    std::lock_guard<std::mutex> lock(g.current_mutex);
    if (g.current)
        g.current->errors.rethrow_first();
}

} // namespace netrig

#endif // NETRIG_HPP
