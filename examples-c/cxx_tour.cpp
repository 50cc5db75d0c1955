// cxx_tour: netrig from C++17 through include/netrig.hpp. Copy the patterns you need:
//
//   - a store:        typed set/get, a Value of any type, a missing key (NotFoundError, or
//                     std::nullopt from find), compare-and-set and an all-or-nothing batch;
//   - a subscription: a lambda called on the "netrig-events" thread for each change;
//   - a device:       open with a pinned host key and an enable secret, a command, a rejected
//                     configuration line and a refused login, both as netrig::Error;
//   - a pool and run: a checkout returned by the destructor, then a parallel run of every device
//                     through the same pool with a progress lambda, its per-host results and report;
//   - a queue:        push with priorities, claim, complete, fail with a retry, the counts.
//
// Every handle is an owner (netrig::Store, netrig::Device, ...) freed by its destructor, so no
// path leaks one; every failure is a netrig::Error with the status and netrig_last_error().
//
// Usage: cxx_tour FLEET_FILE, as parallel_demo takes it (NAME HOST PORT USERNAME PASSWORD SECRET
// SHA256-FINGERPRINT FAULTS per line; FAULTS "-", auth_always_fails, hang or drop). It needs at
// least one device that behaves and one that refuses the login; examples-c/with_fleet.sh starts
// such a fake fleet and appends the file:
//
//     ./with_fleet.sh --devices 12 --auth-failures 1 --hangs 1 --drops 1 ./build/cxx_tour-shared
//
// NETRIG_PARALLEL_WORKERS (default 16) and NETRIG_PARALLEL_STEP_TIMEOUT_MS (the deadline of
// "show version", default 2000) as for parallel_demo.
// Exits 0 when every answer is the expected one, 1 otherwise (with the reason), 2 on bad usage.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "netrig.hpp"

namespace {

// The fake cisco_ios device's answer to "show clock".
const char *const clock_text = "*10:42:13.123 UTC Sat Nov 21 2026\n";

// A wrong answer: main reports it and exits 1.
void expect(bool ok, const std::string &what) {
    if (!ok)
        throw std::runtime_error("unexpected: " + what);
}

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
            o.secret = secret; // open enters enable mode with it
        o.platform = "cisco_ios";
        o.host_key_policy = netrig::HostKeyPolicy::Pinned;
        o.host_key_fingerprint = fingerprint;
        o.connect_timeout_ms = 20000; // room for the SSH handshake under valgrind
        o.timeout_ms = 20000;
        return o;
    }
    // What a run of "show clock" then "show version" makes of this device's faults.
    netrig::State want_state() const {
        if (faults == "-") return netrig::State::Ok;
        if (faults == "hang") return netrig::State::TimedOut;
        return netrig::State::Failed;
    }
    netrig_status want_status() const {
        if (faults == "-") return NETRIG_OK;
        if (faults == "auth_always_fails") return NETRIG_E_AUTH;
        if (faults == "hang") return NETRIG_E_TIMEOUT;
        return NETRIG_E_CLOSED; // drop
    }
};

std::vector<FleetDevice> read_fleet(const char *path) {
    std::ifstream in(path);
    if (!in)
        throw std::invalid_argument(std::string("cannot read ") + path);
    std::vector<FleetDevice> fleet;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream fields(line);
        FleetDevice d;
        long port = 0;
        fields >> d.name >> d.host >> port >> d.username >> d.password >> d.secret >> d.fingerprint >> d.faults;
        if (!fields || port < 1 || port > 65535)
            throw std::invalid_argument(std::string(path) + ": want NAME HOST PORT USERNAME PASSWORD SECRET" +
                                        " FINGERPRINT FAULTS, got: " + line);
        if (d.faults != "-" && d.faults != "auth_always_fails" && d.faults != "hang" && d.faults != "drop")
            throw std::invalid_argument(std::string(path) + ": faults '" + d.faults +
                                        "': the tour knows -, auth_always_fails, hang and drop");
        d.port = static_cast<uint16_t>(port);
        fleet.push_back(d);
    }
    return fleet;
}

const FleetDevice &first_with(const std::vector<FleetDevice> &fleet, const std::string &faults) {
    for (const auto &d : fleet)
        if (d.faults == faults)
            return d;
    throw std::invalid_argument("the fleet has no device with faults '" + faults + "'");
}

long env_number(const char *name, long fallback) {
    const char *text = std::getenv(name);
    return text != nullptr && *text != '\0' ? std::strtol(text, nullptr, 10) : fallback;
}

// --- the store ------------------------------------------------------------------------------

void store_tour() {
    std::printf("store:\n");
    netrig::Store store = netrig::Store::create();

    // Typed writes and reads; keys and strings are std::string_view.
    store.set_int("dut/1/temp_c", 41);
    store.set_double("dut/1/voltage", 11.98);
    store.set_bool("dut/1/up", true);
    store.set_str("dut/1/state", "running");
    uint64_t version = 0;
    expect(store.get_int("dut/1/temp_c", &version) == 41 && version > 0, "dut/1/temp_c reads back 41");
    expect(store.get_str("dut/1/state") == "running", "dut/1/state reads back 'running'");
    expect(store.get_bool("dut/1/up") && store.get_double("dut/1/voltage") == 11.98, "bool and double read back");
    // A Value carries any type; find() gives std::nullopt for a missing key.
    const netrig::Value state = store.get_value("dut/1/state");
    expect(state.type() == netrig::Type::Str && state.as_str() == "running", "get_value() returns the string value");
    expect(!store.find("dut/9/temp_c").has_value(), "find() of a missing key is empty");
    std::printf("  dut/1: temp %lld C (version %llu), state %s, %zu keys\n",
                static_cast<long long>(store.get_int("dut/1/temp_c")), static_cast<unsigned long long>(version),
                state.as_str().c_str(), store.size());

    // Errors are exceptions with the status and the library's message.
    try {
        store.get_int("dut/9/temp_c");
        expect(false, "get_int of a missing key threw nothing");
    } catch (const netrig::NotFoundError &e) {
        expect(e.status() == NETRIG_E_NOT_FOUND, "NotFoundError carries NETRIG_E_NOT_FOUND");
        std::printf("  missing key: %s: %s\n", e.status_name(), e.what());
    }

    // Compare-and-set: the write happens only at the version read.
    const uint64_t v2 = store.cas("dut/1/temp_c", version, 42);
    try {
        store.cas("dut/1/temp_c", version, 99); // the old version again: refused
        expect(false, "a stale compare-and-set succeeded");
    } catch (const netrig::ConflictError &e) {
        std::printf("  stale cas: %s\n", e.status_name());
    }
    expect(store.get_int("dut/1/temp_c") == 42, "the refused cas changed nothing");

    // A batch is all-or-nothing: its precondition fails, so neither write happens.
    netrig::Batch batch = netrig::Batch::create();
    batch.expect_version("dut/1/temp_c", v2 + 100).set("dut/1/state", "stopped").set("dut/1/owner", "ci");
    try {
        store.apply(batch);
        expect(false, "a batch with a wrong precondition applied");
    } catch (const netrig::ConflictError &) {
    }
    expect(store.get_str("dut/1/state") == "running" && !store.contains("dut/1/owner"),
           "the failed batch changed nothing");
    batch.clear();
    batch.expect_version("dut/1/temp_c", v2).set("dut/1/state", "stopped").set("dut/1/owner", "ci").remove("dut/1/up");
    store.apply(batch);
    expect(store.get_str("dut/1/state") == "stopped" && store.get_str("dut/1/owner") == "ci" &&
               !store.contains("dut/1/up"),
           "the batch applied all of its operations");
    std::printf("  batch of %zu operations applied at once\n", batch.size());

    // A subscription with a lambda, on the subscription's "netrig-events" thread.
    std::mutex m;
    std::vector<std::string> seen;
    netrig::Subscription sub = store.subscribe("lab/", [&](const netrig::ChangeView &c) {
        std::lock_guard<std::mutex> lock(m);
        const bool deleted = c.kind() == netrig::ChangeKind::Delete;
        seen.push_back(c.key() + (deleted ? " deleted" : " = " + std::to_string(c.value().as_int())));
    });
    for (int i = 1; i <= 3; i++)
        store.set_int("lab/rack" + std::to_string(i), i * 10);
    store.remove("lab/rack2");
    store.set_int("other/key", 1); // not under the prefix
    // Freeing the subscription delivers every change written before it, then stops the thread.
    sub.reset();
    std::lock_guard<std::mutex> lock(m);
    const std::vector<std::string> want = {"lab/rack1 = 10", "lab/rack2 = 20", "lab/rack3 = 30", "lab/rack2 deleted"};
    expect(seen == want, "the subscription saw the four lab/ changes in order");
    std::printf("  subscription: %zu changes, the last '%s'\n", seen.size(), seen.back().c_str());
}

// --- one device -------------------------------------------------------------------------------

void device_tour(const std::vector<FleetDevice> &fleet) {
    const FleetDevice &good = first_with(fleet, "-");
    std::printf("device %s (%s:%u):\n", good.name.c_str(), good.host.c_str(), good.port);
    netrig::Device dev = netrig::Device::open(good.options());
    const netrig::Output clock = dev.send_command("show clock");
    expect(clock.text() == clock_text, "show clock answers the fake device's clock");
    std::printf("  show clock: %s", clock.text().c_str());

    // A rejected configuration line: NETRIG_E_COMMAND, the message names the line.
    try {
        dev.send_config_set({"interface GigabitEthernet0/1", "description uplink", "bogus shutdown-all", "exit"});
        expect(false, "a rejected config line threw nothing");
    } catch (const netrig::Error &e) {
        expect(e.status() == NETRIG_E_COMMAND, std::string("config set failed with ") + e.status_name());
        expect(std::string(e.what()).find("config line 3 'bogus shutdown-all'") != std::string::npos,
               "the message names config line 3");
        std::printf("  config set: %s\n", e.status_name());
    }
    expect(dev.is_alive(), "the session is usable after the rejected line");

    // A device that refuses the login.
    const FleetDevice &refusing = first_with(fleet, "auth_always_fails");
    try {
        netrig::Device::open(refusing.options());
        expect(false, "the refusing device let us in");
    } catch (const netrig::Error &e) {
        expect(e.status() == NETRIG_E_AUTH, std::string("the refused login failed with ") + e.status_name());
        std::printf("  %s refuses the login: %s\n", refusing.name.c_str(), e.status_name());
    }
}

// --- a pool and a parallel run -----------------------------------------------------------------

const char *state_name(uint32_t state) {
    switch (static_cast<netrig::State>(state)) {
    case netrig::State::Ok: return "ok";
    case netrig::State::Failed: return "failed";
    case netrig::State::TimedOut: return "timed_out";
    case netrig::State::Cancelled: return "cancelled";
    case netrig::State::Skipped: return "skipped";
    default: return "none";
    }
}

void pool_and_run_tour(const std::vector<FleetDevice> &fleet) {
    std::printf("pool and run over %zu devices:\n", fleet.size());
    netrig::PoolOptions po;
    po.max_per_host = 2;
    const netrig::Pool pool = netrig::Pool::create(po);

    const FleetDevice &good = first_with(fleet, "-");
    {
        netrig::Device lent = pool.checkout(good.options());
        expect(lent.send_command("show clock").text() == clock_text, "the checked-out session answers");
    } // the destructor gives the session back to the pool

    netrig::Job job = netrig::Job::create();
    for (const auto &d : fleet)
        job.add_target(d.options());
    const auto version_timeout = static_cast<uint32_t>(env_number("NETRIG_PARALLEL_STEP_TIMEOUT_MS", 2000));
    job.add_command("show clock").add_command("show version", version_timeout);

    netrig::RunOptions ro;
    ro.max_workers = static_cast<uint32_t>(env_number("NETRIG_PARALLEL_WORKERS", 16));
    std::atomic<size_t> hosts_done{0};
    // Called on the run's worker threads, several at once: only atomics here.
    netrig::Run run = netrig::Run::start(job, pool, ro, [&](const netrig::Event &e) {
        if (e.kind == NETRIG_EVENT_HOST_FINISHED)
            hosts_done.fetch_add(1);
    });
    expect(run.wait(), "the run ended");
    expect(hosts_done.load() == fleet.size(), "a HOST_FINISHED event per device");

    for (size_t h = 0; h < fleet.size(); h++) {
        const netrig::HostResult r = run.host(h);
        const FleetDevice &d = fleet[h];
        expect(r.state == static_cast<uint32_t>(d.want_state()) && r.status == d.want_status(),
               d.name + " (faults " + d.faults + ") ended " + state_name(r.state) + "/" +
                   netrig::status_name(r.status));
        if (r.state == NETRIG_STATE_OK) {
            const std::string version = run.step_output(h, 1).text();
            expect(version.rfind("Cisco IOS Software", 0) == 0, d.name + "'s show version");
        } else {
            const int64_t where = r.connect_state == NETRIG_STATE_OK ? 1 : -1;
            const std::string error = run.error(h, where);
            expect(!error.empty(), d.name + " has an error text");
            std::printf("  %-12s %-22s %-9s %s\n", d.name.c_str(), run.host_name(h).c_str(), state_name(r.state),
                        netrig::status_name(r.status).c_str());
        }
    }
    const netrig::RunTotals t = run.totals();
    size_t want_ok = 0;
    for (const auto &d : fleet)
        want_ok += d.faults == "-";
    expect(t.hosts == fleet.size() && t.succeeded == want_ok, "the totals count every good device as succeeded");
    const std::string report = run.json();
    expect(report.find("\"failed_hosts\"") != std::string::npos, "the JSON report lists the failed hosts");
    const netrig::PoolStats s = pool.stats();
    expect(s.hits >= 1 && s.in_use == 0, "the run reused the session the checkout gave back");
    std::printf("  %zu of %zu hosts ok in %.0f ms; report %zu bytes of JSON; pool: %llu opened, %llu reused\n",
                t.succeeded, t.hosts, static_cast<double>(t.wall_us) / 1000.0, report.size(),
                static_cast<unsigned long long>(s.created), static_cast<unsigned long long>(s.hits));
}

// --- a queue ------------------------------------------------------------------------------------

void queue_tour() {
    std::printf("queue:\n");
    netrig::QueueOptions qo;
    qo.max_attempts = 2;
    const netrig::Queue queue = netrig::Queue::create(qo);
    queue.push("upload dut1.log", 0);
    queue.push("upload dut2.log", 0);
    const uint64_t urgent = queue.push("reboot dut3", 5); // higher priority: claimed first

    std::optional<netrig::Item> item = queue.claim(0);
    expect(item && item->id() == urgent && item->payload() == "reboot dut3", "the urgent item comes first");
    queue.complete(*item);

    // A failure with a retry puts the item back; its next claim is attempt 2.
    item = queue.claim(0);
    expect(item && item->payload() == "upload dut1.log" && item->attempt() == 1, "then the oldest other one");
    expect(queue.fail(*item, true, "link down") == netrig::ItemStatus::Pending,
           "a failed item with attempts left is pending");
    item = queue.claim(0);
    expect(item && item->payload() == "upload dut1.log" && item->attempt() == 2,
           "the retried item comes back, attempt 2");
    queue.complete(*item);
    // Settling again: the lease is gone, an Error with NETRIG_E_LEASE.
    try {
        queue.complete(*item);
        expect(false, "a second complete succeeded");
    } catch (const netrig::Error &e) {
        expect(e.status() == NETRIG_E_LEASE, std::string("a second complete failed with ") + e.status_name());
    }

    const netrig::QueueCounts c = queue.counts();
    expect(c.pending == 1 && c.processing == 0 && c.completed == 2, "one pending, two completed");
    const std::string json = queue.snapshot_json();
    expect(json.find("upload dut2.log") != std::string::npos, "the snapshot lists the pending item");
    std::printf("  %llu completed, %llu pending; snapshot %zu bytes of JSON\n",
                static_cast<unsigned long long>(c.completed), static_cast<unsigned long long>(c.pending), json.size());
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: cxx_tour FLEET_FILE\n"
                             "       (examples-c/with_fleet.sh --devices N --auth-failures 1 ... appends it)\n");
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        const std::vector<FleetDevice> fleet = read_fleet(argv[1]);
        std::printf("netrig %s from C++17 (netrig.hpp)\n", netrig::version().c_str());
        store_tour();
        device_tour(fleet);
        pool_and_run_tour(fleet);
        queue_tour();
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "cxx_tour: %s\n", e.what());
        return 2;
    } catch (const netrig::Error &e) {
        std::fprintf(stderr, "cxx_tour: FAILED: %s: %s\n", e.status_name(), e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cxx_tour: FAILED: %s\n", e.what());
        return 1;
    }
    std::printf("cxx_tour: every answer was the expected one\n");
    return 0;
}
