// cxx_header_test: what include/netrig.hpp itself promises, against the real library and a fake
// fleet (tests/fakedev): owners that move without a double free (valgrind proves it, `make -C
// examples-c valgrind`), exceptions with the right status and message on real failures,
// std::string_view arguments that are substrings of a larger buffer or hold a NUL, strings out
// of any length, and what happens to exceptions thrown by callbacks.
//
// Usage: cxx_header_test FLEET_FILE, as cxx_tour takes it (one device that behaves, one that
// refuses the login and one that hangs on "show version"):
//
//     ./with_fleet.sh --devices 12 --auth-failures 1 --hangs 1 --drops 1 ./build/cxx_header_test-shared
//
// Prints one line per test and "cxx_header_test: N passed, N failed"; exits 0 only when every
// test passed, 2 on bad usage.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netrig.hpp"

namespace {

// --- a small harness: a failed CHECK marks the test failed and it goes on --------------------

int g_checks_failed_in_test = 0;

void check_at(bool ok, const char *expr, int line) {
    if (!ok) {
        std::fprintf(stderr, "  cxx_header_test.cpp:%d: CHECK failed: %s\n", line, expr);
        g_checks_failed_in_test++;
    }
}
#define CHECK(cond) check_at((cond), #cond, __LINE__)

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// Runs `fn`, which must throw an E (netrig::Error or a subclass) with `status` and a message
// containing `part`; returns the message ("" when it did not).
template <typename E = netrig::Error>
std::string expect_error(netrig_status status, const std::string &part, const std::function<void()> &fn, int line) {
    try {
        fn();
        std::fprintf(stderr, "  cxx_header_test.cpp:%d: no exception, want %s\n", line,
                     netrig::status_name(status).c_str());
    } catch (const E &e) {
        if (e.status() == status && contains(e.what(), part))
            return e.what();
        std::fprintf(stderr, "  cxx_header_test.cpp:%d: %s: %s, want %s with '%s'\n", line, e.status_name(), e.what(),
                     netrig::status_name(status).c_str(), part.c_str());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "  cxx_header_test.cpp:%d: %s (%s), want %s %s\n", line, e.what(), typeid(e).name(),
                     typeid(E).name(), netrig::status_name(status).c_str());
    }
    g_checks_failed_in_test++;
    return "";
}
#define EXPECT_ERROR(E, status, part, body) expect_error<E>((status), (part), [&]() { body; }, __LINE__)

// Waits for a flag set by another thread (a signal, with a bound that only a failure reaches).
class Signal {
public:
    void set() {
        std::lock_guard<std::mutex> lock(m_);
        set_ = true;
        cv_.notify_all();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(m_);
        return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return set_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool set_ = false;
};

struct FleetDevice {
    std::string name, host, username, password, secret, fingerprint, faults;
    uint16_t port = 0;

    netrig::DeviceOptions options() const {
        netrig::DeviceOptions o;
        o.host = host;
        o.port = port;
        o.username = username;
        o.password = password;
        if (secret != "-")
            o.secret = secret;
        o.platform = "cisco_ios";
        o.host_key_policy = netrig::HostKeyPolicy::Pinned;
        o.host_key_fingerprint = fingerprint;
        o.connect_timeout_ms = 20000; // room for the SSH handshake under valgrind
        o.timeout_ms = 20000;
        return o;
    }
};

std::vector<FleetDevice> g_fleet;

const FleetDevice &device_with(const std::string &faults) {
    for (const auto &d : g_fleet)
        if (d.faults == faults)
            return d;
    throw std::invalid_argument("the fleet has no device with faults '" + faults + "'");
}

const char *const clock_text = "*10:42:13.123 UTC Sat Nov 21 2026\n";
// How long a wait for something that must come may take (only a failure reaches it).
constexpr uint32_t wait_ms = 30000;

// A directory removed (with what is in it) at the end of the scope.
struct RemoveDir {
    std::string path;
    ~RemoveDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

std::string make_temp_dir() {
    char dir_template[] = "/tmp/netrig-cxx-test.XXXXXX";
    const char *made = mkdtemp(dir_template);
    if (made == nullptr)
        throw std::runtime_error("mkdtemp failed");
    return made;
}

// One fake Linux board (exec channels and SFTP), which the cisco_ios fleet of with_fleet.sh does
// not have: tests/fakedev's binary ($FAKEDEV, which with_fleet.sh sets; else
// ../target/release/fakedev from examples-c), started here and stopped by closing its stdin, as
// with_fleet.sh does.
class FakeLinux {
public:
    FakeLinux() {
        const char *env = std::getenv("FAKEDEV");
        const std::string path = env != nullptr && *env != '\0' ? env : "../target/release/fakedev";
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0)
            throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        for (int fd : {in[0], in[1], out[0], out[1]})
            posix_spawn_file_actions_addclose(&fa, fd);
        std::string a0 = path, a1 = "--profile", a2 = "linux", a3 = "--count", a4 = "1";
        char *argv[] = {&a0[0], &a1[0], &a2[0], &a3[0], &a4[0], nullptr};
        const int err = posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(out[1]);
        stdin_ = in[1];
        std::string inventory;
        char buf[4096];
        ssize_t n = 0;
        while (err == 0 && !contains(inventory, "\n]") && (n = read(out[0], buf, sizeof buf)) > 0)
            inventory.append(buf, static_cast<size_t>(n));
        close(out[0]);
        if (err != 0 || !contains(inventory, "\n]")) {
            stop();
            throw std::runtime_error("cannot start " + path +
                                     " --profile linux (build it: cargo build --release -p fakedev, or set FAKEDEV)");
        }
        device.name = field(inventory, "name");
        device.host = field(inventory, "host");
        device.port = static_cast<uint16_t>(std::stoul(field(inventory, "port")));
        device.username = field(inventory, "username");
        device.password = field(inventory, "password");
        device.secret = "-";
        device.fingerprint = field(inventory, "host_key_fingerprint");
        device.faults = "-";
    }
    FakeLinux(const FakeLinux &) = delete;
    FakeLinux &operator=(const FakeLinux &) = delete;
    ~FakeLinux() { stop(); }

    netrig::DeviceOptions options() const {
        netrig::DeviceOptions o = device.options();
        o.platform = "linux";
        return o;
    }

    FleetDevice device;

private:
    // `"key": value` of the one device of the pretty-printed inventory.
    static std::string field(const std::string &json, const std::string &key) {
        const size_t at = json.find("\"" + key + "\": ");
        if (at == std::string::npos)
            throw std::runtime_error("no " + key + " in fakedev's inventory");
        size_t start = at + key.size() + 4, end = 0;
        if (json[start] == '"')
            end = json.find('"', ++start);
        else
            end = json.find_first_of(",\n", start);
        return json.substr(start, end - start);
    }
    void stop() {
        if (stdin_ >= 0)
            close(stdin_); // EOF: fakedev stops
        stdin_ = -1;
        if (pid_ > 0)
            waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    pid_t pid_ = -1;
    int stdin_ = -1;
};

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}

// --- owners ------------------------------------------------------------------------------------

void test_move_semantics() {
    netrig::Store a = netrig::Store::create();
    a.set_int("k", 1);
    const netrig_store raw = a.get();

    // Move construction: the source holds nothing, and its destructor frees nothing.
    netrig::Store b(std::move(a));
    CHECK(!a && a.get().id == 0);
    CHECK(b && b.get().id == raw.id && b.get_int("k") == 1);
    // A moved-from owner's methods throw before any C call.
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_HANDLE, "netrig::Store::get_int: the object holds no handle",
                 a.get_int("k"));

    // Move assignment frees what the target held.
    netrig::Store c = netrig::Store::create();
    const netrig_store old_c = c.get();
    c = std::move(b);
    size_t n = 0;
    CHECK(netrig_store_len(old_c, &n) == NETRIG_E_INVALID_HANDLE);
    CHECK(!b && c.get().id == raw.id && c.get_int("k") == 1);
    netrig::Store &alias = c;
    c = std::move(alias); // self-move keeps the handle
    CHECK(c.get().id == raw.id && c.get_int("k") == 1);

    // release(): the caller frees; reset() of an empty owner does nothing.
    const netrig_store released = c.release();
    CHECK(!c);
    c.reset();
    CHECK(netrig_store_len(released, &n) == NETRIG_OK && n == 1);
    CHECK(netrig_store_free(released) == NETRIG_OK);
    // free() reports the library's status: this handle is already freed.
    netrig::Store stale(released);
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_HANDLE, "netrig_store_free", stale.free());
    CHECK(!stale);

    // Owners in a growing vector are moved on every reallocation; each is freed once.
    std::vector<netrig::Queue> queues;
    for (int i = 0; i < 40; i++) {
        queues.push_back(netrig::Queue::create());
        queues.back().push("item " + std::to_string(i));
    }
    bool all_hold_theirs = true;
    for (size_t i = 0; i < queues.size(); i++) {
        std::optional<netrig::Item> it = queues[i].claim(0);
        all_hold_theirs = all_hold_theirs && it && it->payload() == "item " + std::to_string(i);
    }
    CHECK(all_hold_theirs);

    // An Item moved out of its optional, and an Output moved around, stay readable.
    netrig::Queue q = netrig::Queue::create();
    q.push("payload");
    netrig::Item item = std::move(*q.claim(0));
    netrig::Item other;
    other = std::move(item);
    CHECK(!item && other.payload() == "payload");
    q.complete(other);
    q = netrig::Queue(); // frees the queue; the item stays readable
    CHECK(other.payload() == "payload" && other.attempt() == 1);
}

void test_callback_owners_move() {
    netrig::Store store = netrig::Store::create();
    std::atomic<int> calls{0};
    netrig::Subscription first = store.subscribe("m/", [&](const netrig::ChangeView &) { calls.fetch_add(1); });
    netrig::Subscription moved(std::move(first));
    CHECK(!first);
    store.set_int("m/1", 1);
    netrig::Subscription target = store.subscribe("", [&](const netrig::ChangeView &) {});
    target = std::move(moved); // frees target's own subscription and its callback
    store.set_int("m/2", 2);
    target.reset(); // delivers both changes first
    CHECK(calls.load() == 2);
    first.reset(); // empty: nothing to do
}

// --- errors ------------------------------------------------------------------------------------

void test_errors_carry_status_and_message() {
    // A forged handle: the library's own status and text.
    netrig::Store forged(netrig_store{0xdeadbeef});
    const std::string bad =
        EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_HANDLE, "netrig_store_get_int", forged.get_int("k"));
    std::printf("  forged handle: %s\n", bad.c_str());
    (void)forged.release(); // not ours to free

    netrig::Store store = netrig::Store::create();
    // A missing key: NotFoundError, also caught as netrig::Error and std::runtime_error.
    const std::string missing = EXPECT_ERROR(netrig::NotFoundError, NETRIG_E_NOT_FOUND, "key 'dut/x/temp' not found",
                                             store.get_int("dut/x/temp"));
    CHECK(contains(missing, "netrig_store_get_int"));
    try {
        store.remove("dut/x/temp");
        CHECK(false);
    } catch (const std::runtime_error &e) {
        const auto *ne = dynamic_cast<const netrig::Error *>(&e);
        CHECK(ne != nullptr && ne->status() == NETRIG_E_NOT_FOUND &&
              std::string(ne->status_name()) == "NETRIG_E_NOT_FOUND");
    }
    // Another type: a plain Error with NETRIG_E_TYPE, not a NotFoundError.
    store.set_str("dut/x/state", "up");
    try {
        store.get_int("dut/x/state");
        CHECK(false);
    } catch (const netrig::NotFoundError &) {
        CHECK(false);
    } catch (const netrig::Error &e) {
        CHECK(e.status() == NETRIG_E_TYPE && contains(e.what(), "has type str, not int"));
    }
    // A stale version: ConflictError; a second test start: BusyError.
    uint64_t version = 0;
    store.get_str("dut/x/state", &version);
    store.cas("dut/x/state", version, "down");
    EXPECT_ERROR(netrig::ConflictError, NETRIG_E_CONFLICT, "netrig_store_cas",
                 store.cas("dut/x/state", version, "again"));
    store.test_start("a.sh", 1, "bin", "topo");
    EXPECT_ERROR(netrig::BusyError, NETRIG_E_BUSY, "a.sh", store.test_start("b.sh", 2, "bin", "topo"));
    // check() itself.
    netrig::check(NETRIG_OK);
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_HANDLE, "netrig_batch_len", {
        size_t n = 0;
        netrig::check(netrig_batch_len(netrig_batch{42}, &n));
    });
    // Options are checked by the library: a key longer than max_key_len.
    netrig::StoreOptions so;
    so.max_key_len = 8;
    netrig::Store small = netrig::Store::create(so);
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "netrig_store_set_int", small.set_int("123456789", 1));
    netrig::QueueOptions qo;
    qo.max_payload = 4;
    netrig::Queue q = netrig::Queue::create(qo);
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "netrig_queue_push", q.push("12345"));
}

void test_device_errors() {
    // A refused login.
    const FleetDevice &refusing = device_with("auth_always_fails");
    const std::string refused = EXPECT_ERROR(netrig::Error, NETRIG_E_AUTH, "netrig_device_open",
                                             netrig::Device::open(refusing.options()));
    std::printf("  refused login: %s\n", refused.c_str());
    // Options without a host.
    netrig::DeviceOptions no_host = refusing.options();
    no_host.host.reset();
    EXPECT_ERROR(netrig::Error, NETRIG_E_NULL_ARG, "host", netrig::Device::open(no_host));
    // A device that never answers: TimeoutError, and the session is then closed or usable.
    const FleetDevice &hanging = device_with("hang");
    netrig::Device dev = netrig::Device::open(hanging.options());
    EXPECT_ERROR(netrig::TimeoutError, NETRIG_E_TIMEOUT, "show version", dev.send_command("show version", 1500));
    // A pooled session that is discarded is gone; a direct one cannot be discarded.
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "netrig_pool_discard", dev.discard());
    CHECK(static_cast<bool>(dev));
    // A refused command: CommandError with the device's whole answer; with Check::Off the
    // Output says it failed.
    netrig::Device good = netrig::Device::open(device_with("-").options());
    const std::string refusal = EXPECT_ERROR(netrig::CommandError, NETRIG_E_COMMAND, "command 'show bogus' failed",
                                             good.send_command("show bogus"));
    std::printf("  refused command: %s\n", refusal.c_str());
    try {
        good.send_command("show bogus");
        CHECK(false);
    } catch (const netrig::CommandError &e) {
        CHECK(e.output() && contains(*e.output(), "^\n% Invalid input"));
        CHECK(e.failure() == "% Invalid input detected at '^' marker.");
    }
    netrig::CommandOptions off;
    off.check = netrig::Check::Off;
    const netrig::Output out = good.send_command_with("show bogus", off);
    CHECK(out.failed() && out.failure() == "% Invalid input detected at '^' marker.");
    CHECK(!good.send_command("show clock").failed());
    off.expect = "marker";
    CHECK(good.send_command_with("show bogus", off).failed());
    EXPECT_ERROR(netrig::CommandError, NETRIG_E_COMMAND, "config line 1 'bogus x' was rejected",
                 good.send_config_set({"bogus x"}));
    off.expect.reset();
    CHECK(good.send_config_set_with({"bogus x", "hostname R1"}, 0, off).failed());
    CHECK(good.send_interactive_with({{"delete flash:old.bin", "\\? $"}, {"", "confirm"}, {"n", ""}}, off).failed());
}

// --- the log callback --------------------------------------------------------------------------

void test_log_callback() {
    const FleetDevice &good = device_with("-");
    struct Seen {
        std::mutex m;
        std::vector<std::string> lines; // "LEVEL target device: message"
    };
    auto seen = std::make_shared<Seen>();
    std::atomic<int> throws{0};
    std::atomic<int> inner_status{0};
    netrig::set_log_callback(netrig::LogLevel::Debug, [seen, &throws, &inner_status](const netrig::LogRecord &r) {
        std::lock_guard<std::mutex> lock(seen->m);
        seen->lines.push_back(std::to_string(static_cast<unsigned>(r.level)) + " " + std::string(r.target) + " " +
                              std::string(r.device.value_or("-")) + ": " + std::string(r.message));
        // Replacing the callback from inside it is refused (it could not wait for itself).
        if (seen->lines.size() == 1) {
            try {
                netrig::clear_log_callback();
            } catch (const netrig::Error &e) {
                inner_status = e.status();
            }
        }
        if (contains(std::string(r.message), "closed") && throws++ == 0)
            throw std::runtime_error("a log handler that throws");
    });
    CHECK(netrig::log_level() == netrig::LogLevel::Debug);
    const std::string name = good.host + ":" + std::to_string(good.port);
    {
        netrig::Device dev = netrig::Device::open(good.options());
        dev.send_command("show clock");
    }
    netrig::log_flush(20000);
    // The records reached the callback, with the device's name, before the replacement returns.
    netrig::set_log_callback(netrig::LogLevel::Info, [](const netrig::LogRecord &) {});
    {
        std::lock_guard<std::mutex> lock(seen->m);
        bool opened = false, debug_step = false, closed = false;
        for (const std::string &l : seen->lines) {
            opened |= l.rfind("3 device " + name + ": ", 0) == 0 && contains(l, "opened");
            debug_step |= l.rfind("4 device " + name + ": ", 0) == 0;
            closed |= l.rfind("3 device " + name + ": ", 0) == 0 && contains(l, "closed");
        }
        CHECK(opened);
        CHECK(debug_step);
        CHECK(closed);
        for (const std::string &l : seen->lines)
            CHECK(!contains(l, good.password) || good.password == good.username);
    }
    CHECK(inner_status == NETRIG_E_INVALID_ARG);
    CHECK(throws == 1);
    CHECK(netrig::log_level() == netrig::LogLevel::Info);
    netrig::clear_log_callback();
    CHECK(netrig::log_level() == netrig::LogLevel::Off || std::getenv("NETRIG_LOG") != nullptr);
}

// --- string_view in, std::string out --------------------------------------------------------

void test_string_views() {
    netrig::Store store = netrig::Store::create();
    // A key and a value that are substrings of larger buffers: no NUL after them.
    const std::string buffer = "[[dut/7/temp]]<<running hot>>";
    const std::string_view key = std::string_view(buffer).substr(2, 10);
    const std::string_view value = std::string_view(buffer).substr(16, 11);
    store.set_str(key, value);
    CHECK(store.keys("") == std::vector<std::string>{"dut/7/temp"});
    CHECK(store.get_str(std::string("dut/7/temp")) == "running hot");
    CHECK(store.keys(key.substr(0, 4)) == std::vector<std::string>{"dut/7/temp"});
    store.set_int(key.substr(0, 5), 5); // "dut/7"
    CHECK(store.get_int("dut/7") == 5 && store.size() == 2);

    // A NUL inside a string argument is refused, not cut short there.
    const std::string_view with_nul("dut/8\0evil", 10);
    const std::string err = EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "holds a NUL byte at offset 5",
                                         store.set_int(with_nul, 1));
    CHECK(contains(err, "netrig::Store::set_int: key"));
    CHECK(!store.contains("dut/8") && store.size() == 2);
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "netrig::Store::set_str: value",
                 store.set_str("dut/8", std::string_view("a\0b", 3)));
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "use Value::bytes",
                 store.cas("dut/8", 0, netrig::Value(std::string_view("a\0b", 3))));
    CHECK(!store.contains("dut/8"));

    // Bytes keep their NULs, through (pointer, length).
    const std::string raw("a\0b\0", 4);
    store.set_bytes("blob", raw.data(), raw.size());
    const std::vector<uint8_t> back = store.get_bytes("blob");
    CHECK(back.size() == 4 && back[1] == 0 && back[2] == 'b');
    const netrig::Value v = store.get_value("blob");
    CHECK(v.type() == netrig::Type::Bytes && v == netrig::Value::bytes(raw.data(), raw.size()));
    netrig::Queue q = netrig::Queue::create();
    q.push(std::string_view("x\0y", 3));
    std::optional<netrig::Item> item = q.claim(0);
    CHECK(item && item->payload() == std::string("x\0y", 3));

    // Strings out of any length: the needed-size protocol retries with a bigger buffer.
    const std::string big(100000, 'z');
    store.set_str("big", big);
    CHECK(store.get_str("big") == big && store.get_value("big").as_str() == big);
    const std::vector<uint8_t> big_bytes(70000, 7);
    store.set_bytes("bigb", big_bytes);
    CHECK(store.get_bytes("bigb") == big_bytes && store.get_value("bigb").as_bytes() == big_bytes);
    store.service_set("uploader", true, std::string(5000, 'd'));
    CHECK(store.service_get("uploader").detail == std::string(5000, 'd'));
    for (int i = 0; i < 200; i++)
        q.push("queued item " + std::to_string(i));
    const std::string json = q.snapshot_json();
    CHECK(json.size() > 4096 && contains(json, "queued item 199"));

    // A device command from a substring.
    const FleetDevice &good = device_with("-");
    netrig::Device dev = netrig::Device::open(good.options());
    const std::string commands = "XXshow clockYY";
    CHECK(dev.send_command(std::string_view(commands).substr(2, 10)).text() == clock_text);
}

// --- callbacks ---------------------------------------------------------------------------------

void test_change_callback_exceptions() {
    netrig::Store store = netrig::Store::create();
    std::mutex m;
    std::vector<std::string> seen;
    Signal ended;
    netrig::Subscription sub = store.subscribe("ev/", [&](const netrig::ChangeView &c) {
        const std::string key = c.key();
        if (key == "ev/boom")
            throw std::runtime_error("boom from the callback");
        if (key == "ev/int")
            throw 42; // not a std::exception: caught all the same
        std::lock_guard<std::mutex> lock(m);
        seen.push_back(key);
        if (key == "ev/end")
            ended.set();
    });
    store.set_int("ev/1", 1);
    store.set_int("ev/boom", 2);
    store.set_int("ev/int", 3);
    store.set_int("ev/2", 4);
    store.set_int("ev/end", 5);
    CHECK(ended.wait());
    {
        std::lock_guard<std::mutex> lock(m);
        CHECK((seen == std::vector<std::string>{"ev/1", "ev/2", "ev/end"})); // later changes still came
    }
    CHECK(sub.callback_exceptions() == 2);
    try {
        sub.rethrow_callback_exception();
        CHECK(false);
    } catch (const std::runtime_error &e) {
        CHECK(std::string(e.what()) == "boom from the callback"); // the first one
    }
    sub.rethrow_callback_exception(); // forgotten once rethrown: nothing now
    CHECK(sub.stats().delivered == 5);
}

void test_subscription_freed_from_its_own_callback() {
    netrig::Store store = netrig::Store::create();
    netrig::Subscription sub;
    Signal freed;
    std::atomic<int> calls_after{0};
    std::atomic<bool> was_empty{false};
    sub = store.subscribe("self/", [&](const netrig::ChangeView &c) {
        if (c.key() == "self/stop") {
            sub.reset(); // netrig_subscription_free from inside: the state outlives this call
            was_empty = !sub;
            freed.set();
        } else if (was_empty.load()) {
            calls_after.fetch_add(1);
        }
    });
    store.set_int("self/stop", 1);
    CHECK(freed.wait());
    store.set_int("self/after", 2);
    CHECK(was_empty.load() && !sub);
    CHECK(calls_after.load() == 0);
}

void test_run_callback_exceptions() {
    // An empty job: its only event, RUN_FINISHED, comes on this thread inside Run::start.
    netrig::Job empty = netrig::Job::create();
    std::atomic<int> events{0};
    netrig::Run run = netrig::Run::start(empty, {}, [&](const netrig::Event &e) {
        events.fetch_add(1);
        if (e.kind == NETRIG_EVENT_RUN_FINISHED)
            throw std::logic_error("finished badly");
    });
    CHECK(events.load() == 1 && run.wait(0));
    CHECK(run.callback_exceptions() == 1);
    try {
        run.rethrow_callback_exception();
        CHECK(false);
    } catch (const std::logic_error &e) {
        CHECK(std::string(e.what()) == "finished badly");
    }

    // A callback that throws on every event does not disturb the run.
    const FleetDevice &good = device_with("-");
    netrig::Job job = netrig::Job::create();
    job.add_target(good.options()).add_command("show clock");
    netrig::Run r = netrig::Run::start(job, {}, [](const netrig::Event &) { throw std::runtime_error("every time"); });
    CHECK(r.wait());
    CHECK(r.host(0).state == NETRIG_STATE_OK && r.step_output(0, 0).text() == clock_text);
    CHECK(r.callback_exceptions() == 6); // host started, connected, step started/finished, host and run finished

    // Destroying a running Run with a callback cancels it and waits for its end, so the
    // callback never runs on freed state.
    const FleetDevice &hanging = device_with("hang");
    netrig::Job slow = netrig::Job::create();
    slow.add_target(hanging.options()).add_command("show version", 20000);
    std::atomic<bool> finished{false};
    std::atomic<int> step_started{0};
    Signal started;
    {
        netrig::Run doomed = netrig::Run::start(slow, {}, [&](const netrig::Event &e) {
            if (e.kind == NETRIG_EVENT_STEP_STARTED && step_started.fetch_add(1) == 0)
                started.set();
            if (e.kind == NETRIG_EVENT_RUN_FINISHED)
                finished = true;
        });
        CHECK(started.wait());
    }
    CHECK(finished.load());
}

// --- every wrapper once, against what the library documents ------------------------------

void test_store_wrappers() {
    netrig::Store store = netrig::Store::create();
    store.set_int("snap/a", 1);
    // A polled subscription with the snapshot taken at the same instant.
    netrig::Snapshot snap;
    netrig::Subscription sub = store.subscribe("snap/", 0, &snap);
    CHECK(snap && snap.size() == 1);
    const netrig::Entry e = snap.entry(0);
    CHECK(e.key == "snap/a" && e.value == netrig::Value(1) && e.version > 0 && e.ttl_remaining_ms == -1);
    CHECK(snap.entries().size() == 1 && contains(snap.json(), "\"snap/a\""));
    EXPECT_ERROR(netrig::NotFoundError, NETRIG_E_NOT_FOUND, "netrig_snapshot_get", snap.entry(1));
    CHECK(!sub.poll(0).has_value()); // nothing yet: std::nullopt, not an exception
    store.set_str("snap/b", "two");
    store.remove("snap/a");
    std::optional<netrig::Change> c1 = sub.poll(wait_ms);
    CHECK(c1 && c1->kind() == netrig::ChangeKind::Set && c1->key() == "snap/b" && c1->value() == netrig::Value("two"));
    std::optional<netrig::Change> c2 = sub.poll(wait_ms);
    CHECK(c2 && c2->kind() == netrig::ChangeKind::Delete && c2->key() == "snap/a" && c2->value() == netrig::Value(1));
    CHECK(sub.stats().delivered == 2);

    // A full queue drops changes: the poll at that point throws NETRIG_E_LAGGED.
    netrig::Subscription small = store.subscribe("lag/", 1);
    for (int i = 1; i <= 3; i++)
        store.set_int("lag/" + std::to_string(i), i);
    std::optional<netrig::Change> first = small.poll(0);
    CHECK(first && first->key() == "lag/1");
    EXPECT_ERROR(netrig::Error, NETRIG_E_LAGGED, "2", small.poll(0));
    CHECK(!small.poll(0).has_value() && small.stats().dropped == 2);

    // Types, counters, keys.
    CHECK(store.type("snap/b") == netrig::Type::Str);
    CHECK(store.add_int("count", 5) == 5 && store.add_int("count", -2) == 3);
    store.set_int("max", INT64_MAX);
    EXPECT_ERROR(netrig::Error, NETRIG_E_OVERFLOW, "netrig_store_add_int", store.add_int("max", 1));
    store.set_double("volts", 3.5);
    store.set_bool("up", false);
    CHECK(store.get_value("volts") == netrig::Value(3.5) && store.get_value("up") == netrig::Value(false));
    CHECK(store.find("count").value_or(netrig::Value()) == netrig::Value(3));
    CHECK((store.keys("lag/") == std::vector<std::string>{"lag/1", "lag/2", "lag/3"}));
    netrig::Value any("text");
    EXPECT_ERROR(netrig::Error, NETRIG_E_TYPE, "has type str, not int", any.as_int());
    store.set("typed", netrig::Value::bytes(std::vector<uint8_t>{1, 2}));
    CHECK(store.get_bytes("typed") == (std::vector<uint8_t>{1, 2}));
    CHECK(store.purge_expired() == 0);
    const size_t before = store.size();
    CHECK(store.clear() == before && store.size() == 0);

    // Test and service state.
    netrig::TestInfo info = store.test_start("burn.sh", 10, "burnin", "4x100G", {{"board", "b1"}});
    CHECK(info.running == 1 && info.pid == 10 && store.test_info().run == 1);
    netrig::TestFields up;
    up.topology = "2x400G";
    up.pid = 77;
    up.fields = {{"board", std::nullopt}, {"lane", std::string("4")}};
    info = store.test_update(up);
    CHECK(info.pid == 77);
    const std::string tj = store.test_json();
    CHECK(contains(tj, "\"topology\":\"2x400G\"") && contains(tj, "\"lane\":\"4\"") && !contains(tj, "board"));
    CHECK(store.test_stop().running == 0);
    EXPECT_ERROR(netrig::NotFoundError, NETRIG_E_NOT_FOUND, "netrig_test_stop", store.test_stop());
    store.service_set("svc", true, "pid 7");
    const netrig::ServiceState st = store.service_get("svc");
    CHECK(st.info.running == 1 && st.detail == "pid 7" && contains(store.services_json(), "\"svc\""));
    store.service_remove("svc");
    EXPECT_ERROR(netrig::NotFoundError, NETRIG_E_NOT_FOUND, "svc", store.service_get("svc"));
}

void test_queue_wrappers() {
    netrig::Queue q = netrig::Queue::create();
    const uint64_t a = q.push("a"), b = q.push("b");
    std::optional<netrig::Item> ia = q.claim_with_lease(0, 60000);
    CHECK(ia && ia->id() == a && ia->priority() == 0);
    q.extend(*ia, 60000);
    q.suspend(b);
    CHECK(!q.claim(0).has_value()); // b is suspended
    q.resume(b);
    std::optional<netrig::Item> ib = q.claim(0);
    CHECK(ib && ib->id() == b);
    CHECK(q.fail(*ib, false, "no retry") == netrig::ItemStatus::Failed);
    CHECK(q.counts().failed == 1 && q.retry_failed() == 1);
    ib = q.claim(0);
    CHECK(ib && ib->id() == b && ib->attempt() == 1);
    q.fail(*ib, false, "again");
    CHECK(q.purge_failed() == 1 && q.resume_all() == 0);
    q.complete(*ia);
    EXPECT_ERROR(netrig::Error, NETRIG_E_LEASE, "item 1", q.extend(*ia, 1000));
    q.close();
    EXPECT_ERROR(netrig::Error, NETRIG_E_CLOSED, "netrig_queue_claim", q.claim(0));
    EXPECT_ERROR(netrig::Error, NETRIG_E_CLOSED, "netrig_queue_push", q.push("late"));
    const netrig::QueueCounts c = q.counts();
    CHECK(c.completed == 1 && c.pending == 0 && c.failed == 0);

    // Durable store and queue: what returned is in the file, and a reopen sees it.
    const RemoveDir dir{make_temp_dir()};
    const std::string store_path = dir.path + "/store.db", queue_path = dir.path + "/queue.db";
    {
        netrig::Store s = netrig::Store::open(store_path, netrig::Durability::ProcessCrash);
        s.set_str("kept", "yes");
        s.free();
        netrig::Queue dq = netrig::Queue::open(queue_path, "jobs");
        dq.push("durable job", 3);
        EXPECT_ERROR(netrig::BusyError, NETRIG_E_BUSY, "jobs", netrig::Queue::open(queue_path, "jobs"));
        dq.free();
    }
    netrig::Store s = netrig::Store::open(store_path);
    CHECK(s.get_str("kept") == "yes");
    netrig::Queue dq = netrig::Queue::open(queue_path, "jobs");
    std::optional<netrig::Item> it = dq.claim(0);
    CHECK(it && it->payload() == "durable job" && it->priority() == 3);
}

void test_device_pool_run_wrappers() {
    const FleetDevice &good = device_with("-");
    const FleetDevice &refusing = device_with("auth_always_fails");
    {
        netrig::Device dev = netrig::Device::open(good.options());
        const netrig::Output out = dev.try_send_command("show clock");
        CHECK(out.text() == clock_text && out.exit_status() == 0 && out.stderr_text().empty() && out.elapsed_us() > 0);
        CHECK(dev.platform() == "cisco_ios");
        netrig::DeviceOptions detect = good.options();
        detect.platform = "autodetect";
        CHECK(netrig::Device::open(detect).platform() == "cisco_ios");
        CHECK(contains(dev.send_command_expect("show clock", "UTC").text(), "10:42:13"));
        CHECK(dev.send_command_timing("show clock", 300).text().find("10:42:13") != std::string::npos);
        const netrig::Output reload = dev.send_interactive({{"reload", "\\[yes/no\\]: $"}, {"no", ""}});
        CHECK(contains(reload.text(), "Reload aborted."));
        dev.config_mode();
        dev.exit_config_mode();
        dev.exit_enable();
        dev.enable();
        CHECK(contains(dev.save_config().text(), "[OK]"));
        const netrig::Output cfg = dev.send_config_set({"interface GigabitEthernet0/2", "description cxx", "exit"});
        CHECK(contains(cfg.text(), "description cxx"));
        dev.cancel(); // nothing runs: no effect on what follows
        CHECK(dev.is_alive());
        dev.close();
        EXPECT_ERROR(netrig::Error, NETRIG_E_CLOSED, "netrig_device_send_command", dev.send_command("show clock"));
    }

    netrig::PoolOptions po;
    po.max_per_host = 1;
    po.checkout_timeout_ms = 500;
    netrig::Pool pool = netrig::Pool::create(po);
    const netrig::PrewarmResult pre = pool.prewarm({good.options(), refusing.options()}, 2);
    CHECK(pre.status == NETRIG_E_AUTH && pre.failed == 1 && pre.statuses.size() == 2);
    CHECK(pre.statuses[0] == NETRIG_OK && pre.statuses[1] == NETRIG_E_AUTH &&
          contains(pre.message, "1 of 2 targets failed"));
    {
        netrig::Device lent = pool.checkout_key(good.host, good.port, good.username, std::string_view("cisco_ios"));
        CHECK(lent.send_command("show clock").text() == clock_text);
        // The host's one session is lent out: a second checkout times out.
        EXPECT_ERROR(netrig::TimeoutError, NETRIG_E_TIMEOUT, "netrig_pool_checkout",
                     pool.checkout(good.options(), 300));
        lent.discard();
        CHECK(!lent);
    }
    EXPECT_ERROR(netrig::NotFoundError, NETRIG_E_NOT_FOUND, "netrig_pool_checkout_key",
                 pool.checkout_key("127.0.0.1", 1, "nobody"));
    const netrig::PoolStats ps = pool.stats();
    CHECK(ps.discarded_broken == 1 && ps.in_use == 0 && ps.connect_failures == 1);

    // A job by pool key, events polled with next_event.
    netrig::Job job = netrig::Job::create();
    job.add_target_key(good.host, good.port, good.username, std::string_view("cisco_ios"))
        .add_command("show clock")
        .add_config({"interface GigabitEthernet0/3", "description by key", "exit"});
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "pool", netrig::Run::start(job));
    netrig::RunOptions ro;
    ro.events = true;
    ro.strategy = netrig::Strategy::Linear;
    ro.on_failure = netrig::OnFailure::Continue;
    ro.max_workers = 2;
    netrig::Run run = netrig::Run::start(job, pool, ro);
    std::vector<uint32_t> kinds;
    for (;;) {
        std::optional<netrig::Event> ev = run.next_event(wait_ms);
        CHECK(ev.has_value());
        if (!ev)
            break;
        kinds.push_back(ev->kind);
        if (ev->kind == NETRIG_EVENT_RUN_FINISHED)
            break;
    }
    CHECK(kinds.size() == 8 && kinds.front() == NETRIG_EVENT_HOST_STARTED); // 1 + 1 + 2 x 2 + 1 + 1
    EXPECT_ERROR(netrig::Error, NETRIG_E_CLOSED, "netrig_run_next_event", run.next_event(0));
    CHECK(run.wait(0));
    const netrig::RunTotals t = run.totals();
    CHECK(t.hosts == 1 && t.succeeded == 1 && t.steps_succeeded == 2);
    CHECK(run.step(0, 1).state == NETRIG_STATE_OK && run.error(0, 1).empty() && run.error(0, -1).empty());
    CHECK(run.host_name(0) == good.host + ":" + std::to_string(good.port));
    EXPECT_ERROR(netrig::NotFoundError, NETRIG_E_NOT_FOUND, "netrig_run_host", run.host(1));
    CHECK(contains(run.json(), "\"succeeded\""));
    pool.close_all();
    CHECK(pool.stats().idle == 0);
}

void test_linux_exec_and_transfers() {
    FakeLinux board;
    const RemoveDir dir{make_temp_dir()};
    netrig::Device dev = netrig::Device::open(board.options());
    const netrig::Output out = dev.exec("echo out; cat /nonexistent; exit 3");
    CHECK(out.text() == "out\n" && contains(out.stderr_text(), "cat: /nonexistent") && out.exit_status() == 3);

    // A transfer with a progress lambda, and back.
    const std::string local = dir.path + "/up.bin", back = dir.path + "/back.bin";
    std::string data(300000, '\0');
    for (size_t i = 0; i < data.size(); i++)
        data[i] = static_cast<char>(i * 7);
    std::ofstream(local, std::ios::binary) << data;
    uint64_t calls = 0, last_done = 0, last_total = 0;
    const uint64_t sent = dev.put_file(local, "up.bin", netrig::Protocol::Sftp, [&](uint64_t done, uint64_t total) {
        calls++;
        last_done = done;
        last_total = total;
        return true;
    });
    CHECK(sent == data.size() && calls >= 1 && last_done == data.size() && last_total == data.size());
    CHECK(dev.get_file("up.bin", back) == data.size() && read_file(back) == data);

    // Returning false cancels; an exception cancels too and comes out of put_file itself.
    EXPECT_ERROR(netrig::Error, NETRIG_E_CANCELLED, "netrig_device_put_file",
                 dev.put_file(local, "no.bin", netrig::Protocol::Sftp, [](uint64_t, uint64_t) { return false; }));
    try {
        dev.put_file(local, "no.bin", netrig::Protocol::Sftp,
                     [](uint64_t, uint64_t) -> bool { throw std::out_of_range("disk quota"); });
        CHECK(false);
    } catch (const std::out_of_range &e) {
        CHECK(std::string(e.what()) == "disk quota");
    }
    CHECK(dev.exec("echo still here").text() == "still here\n");
    // exec keeps stdout's bytes, NULs included: text_view() and text() have their length.
    CHECK(dev.exec("cat up.bin").text() == data);

    // The same through a job: put, exec, get (with {host} and {port} in the local name). (The
    // fake board's exec channel has no scp, so SFTP both ways.)
    netrig::Job job = netrig::Job::create();
    job.add_target(board.options())
        .add_put(local, "job.bin")
        .add_exec("echo job ran")
        .add_get("job.bin", dir.path + "/got-{host}-{port}.bin");
    netrig::Run run = netrig::Run::start(job);
    CHECK(run.wait());
    CHECK(run.host(0).state == NETRIG_STATE_OK);
    CHECK(run.step_output(0, 0).text() == std::to_string(data.size()) + " bytes");
    CHECK(run.step_output(0, 1).text() == "job ran\n" && run.step(0, 1).exit_status == 0);
    CHECK(read_file(dir.path + "/got-" + board.device.host + "-" + std::to_string(board.device.port) + ".bin") == data);
}

void test_named_targets_and_inventory() {
    const FleetDevice &good = device_with("-");
    const RemoveDir dir{make_temp_dir()};
    std::ofstream(dir.path + "/hosts.yaml") << "inv1:\n  port: " << good.port << "\n  fingerprint: '" << good.fingerprint
                                            << "'\n  data: {rack: 7}\nother:\n  port: 1\n";
    std::ofstream(dir.path + "/defaults.yaml") << "hostname: " << good.host << "\nusername: " << good.username
                                               << "\npassword: " << good.password
                                               << "\nplatform: cisco_ios\nconnect_timeout: 20\ntimeout: 20\n";
    netrig::Job job = netrig::Job::create();
    job.add_target_named(std::string_view("sw1"), good.options(), std::string_view(R"({"site": "lab"})"))
        .add_command("show clock");
    CHECK(job.add_inventory(dir.path + "/hosts.yaml", std::nullopt, dir.path + "/defaults.yaml",
                            std::string_view("name=inv*")) == 1);
    std::ofstream(dir.path + "/bad.yaml") << "inv1:\n  groups: [core]\n";
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "bad.yaml, line 2: inv1.groups: group 'core' is not defined",
                 job.add_inventory(dir.path + "/bad.yaml"));
    EXPECT_ERROR(netrig::Error, NETRIG_E_INVALID_ARG, "data_json is not JSON",
                 job.add_target_named(std::nullopt, good.options(), std::string_view("{")));
    netrig::Run run = netrig::Run::start(job);
    CHECK(run.wait());
    CHECK(run.host_name(0) == "sw1" && run.host_name(1) == "inv1");
    CHECK(run.host(0).state == NETRIG_STATE_OK && run.host(1).state == NETRIG_STATE_OK);
    const std::string json = run.json();
    CHECK(contains(json, R"("name":"sw1","data":{"site":"lab"})") && contains(json, R"("name":"inv1","data":{"rack":7})"));
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: cxx_header_test FLEET_FILE"
                             " (examples-c/with_fleet.sh --devices N ... appends it)\n");
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::ifstream in(argv[1]);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        FleetDevice d;
        long port = 0;
        if (f >> d.name >> d.host >> port >> d.username >> d.password >> d.secret >> d.fingerprint >> d.faults) {
            d.port = static_cast<uint16_t>(port);
            g_fleet.push_back(d);
        }
    }
    if (g_fleet.empty()) {
        std::fprintf(stderr, "cxx_header_test: no devices in %s\n", argv[1]);
        return 2;
    }

    const std::pair<const char *, void (*)()> tests[] = {
        {"move_semantics", test_move_semantics},
        {"callback_owners_move", test_callback_owners_move},
        {"errors_carry_status_and_message", test_errors_carry_status_and_message},
        {"device_errors", test_device_errors},
        {"log_callback", test_log_callback},
        {"string_views", test_string_views},
        {"change_callback_exceptions", test_change_callback_exceptions},
        {"subscription_freed_from_its_own_callback", test_subscription_freed_from_its_own_callback},
        {"run_callback_exceptions", test_run_callback_exceptions},
        {"store_wrappers", test_store_wrappers},
        {"queue_wrappers", test_queue_wrappers},
        {"device_pool_run_wrappers", test_device_pool_run_wrappers},
        {"linux_exec_and_transfers", test_linux_exec_and_transfers},
        {"named_targets_and_inventory", test_named_targets_and_inventory},
    };
    int passed = 0, failed = 0;
    for (const auto &t : tests) {
        g_checks_failed_in_test = 0;
        try {
            t.second();
        } catch (const netrig::Error &e) {
            std::fprintf(stderr, "  uncaught netrig::Error %s: %s\n", e.status_name(), e.what());
            g_checks_failed_in_test++;
        } catch (const std::exception &e) {
            std::fprintf(stderr, "  uncaught exception: %s\n", e.what());
            g_checks_failed_in_test++;
        } catch (...) {
            std::fprintf(stderr, "  uncaught exception that is not a std::exception\n");
            g_checks_failed_in_test++;
        }
        const bool ok = g_checks_failed_in_test == 0;
        (ok ? passed : failed)++;
        std::printf("%s %s\n", ok ? "ok  " : "FAIL", t.first);
    }
    std::printf("cxx_header_test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
