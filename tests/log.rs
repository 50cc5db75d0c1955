//! The library's log (src/log.rs, src/ffi/log.rs) against the fake device fleet: which events
//! are logged at which level and target with which device name, the order of delivery, a
//! callback that calls netrig, replacing a callback, a full queue, the C ABI, and that no
//! password, key passphrase or enable secret reaches a record at any level.
#![cfg(feature = "ssh")]

use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fakedev::{Faults, Fleet, Group, Inventory, Profile};
use netrig::device::{Auth, Device};
use netrig::log::{self, Level, Target};
use netrig::netrig_status::*;
use netrig::pool::{Pool, PoolOptions};
use netrig::run::{OnFailure, Run, RunOptions, Step, Strategy};
use netrig::{Store, StoreOptions, Ttl, Value};

mod support;
use support::options;

/// The log is one per process: tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
struct Rec {
    level: Level,
    target: Target,
    device: Option<String>,
    message: String,
    time: u64,
    thread: u64,
}

type Records = Arc<Mutex<Vec<Rec>>>;

/// Sends records at `level` and above into a vector.
fn capture(level: Level) -> Records {
    let records: Records = Arc::default();
    let sink = Arc::clone(&records);
    log::set_callback(
        level,
        Some(Box::new(move |r| {
            sink.lock().unwrap().push(Rec {
                level: r.level(),
                target: r.target(),
                device: r.device().map(str::to_owned),
                message: r.message().to_owned(),
                time: r.unix_time_us(),
                thread: r.thread_id(),
            })
        })),
    )
    .unwrap();
    records
}

/// Clears the callback (which delivers what is queued) and returns what it got.
fn stop(records: &Records) -> Vec<Rec> {
    log::set_callback(Level::Off, None).unwrap();
    records.lock().unwrap().clone()
}

fn find<'a>(records: &'a [Rec], target: Target, text: &str) -> Vec<&'a Rec> {
    records.iter().filter(|r| r.target == target && r.message.contains(text)).collect()
}

/// The index of the first record whose message contains `text`, or a panic showing them all.
fn index(records: &[Rec], text: &str) -> usize {
    records
        .iter()
        .position(|r| r.message.contains(text))
        .unwrap_or_else(|| panic!("no record with {text:?} in {records:#?}"))
}

#[test]
fn device_pool_and_run_events_come_at_their_levels_with_the_device_name() {
    let _s = serial();
    let f = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 2).unwrap();
    let d = &f.devices()[0];
    let name = format!("{}:{}", d.host, d.port);
    let records = capture(Level::Debug);
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    dev.send_command("show version", None).unwrap();
    dev.close().unwrap();
    drop(dev);
    let got = stop(&records);
    let on_device: Vec<&Rec> = got.iter().filter(|r| r.device.as_deref() == Some(name.as_str())).collect();
    for (level, text) in [
        (Level::Debug, "TCP connected to"),
        (Level::Debug, "SSH handshake done"),
        (Level::Debug, "host key accepted (pinned SHA256:"),
        (Level::Debug, "auth method password as 'admin': accepted"),
        (Level::Debug, "authentication as 'admin': accepted"),
        (Level::Debug, "prompt found: R1>"),
        (Level::Debug, "setup command 'terminal length 0' done in"),
        (Level::Info, "opened (cisco_ios, user 'admin') in"),
        (Level::Debug, "command 'show version': started"),
        (Level::Debug, "command 'show version': ended in"),
        (Level::Info, "closed in"),
    ] {
        let hits: Vec<_> = on_device.iter().filter(|r| r.message.contains(text)).collect();
        assert_eq!(hits.len(), 1, "{text:?} once in {got:#?}");
        assert_eq!((hits[0].level, hits[0].target), (level, Target::Device), "{:?}", hits[0]);
    }
    // The negotiated algorithms are named.
    let hs = &find(&got, Target::Device, "SSH handshake done")[0].message;
    assert!(hs.contains("kex ") && hs.contains("host key ") && hs.contains("cipher ") && hs.contains("mac "), "{hs}");
    assert!(!hs.contains(" ?,"), "every algorithm is known: {hs}");
    assert!(find(&got, Target::Device, "command 'show version': ended in")[0].message.ends_with(", ok"));
    // Made in this order, delivered in this order, on this thread, times never going back.
    let order: Vec<usize> = [
        "TCP connected",
        "SSH handshake",
        "auth method",
        "prompt found",
        "opened (",
        "'show version': started",
        "'show version': ended",
        "closed in",
    ]
    .iter()
    .map(|t| index(&got, t))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {got:#?}");
    assert!(got.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(got.iter().map(|r| r.thread).collect::<std::collections::HashSet<_>>().len(), 1);
    assert!(got.iter().all(|r| r.level <= Level::Debug), "nothing at trace: {got:#?}");

    // Pool: a create, a reuse, a broken discard; a run: its start and end with totals.
    let records = capture(Level::Info);
    let pool = Arc::new(Pool::new(PoolOptions::default()).unwrap());
    let o = options(d, "cisco_ios");
    let lease = pool.checkout(&o, None).unwrap();
    lease.send_command("show version", None).unwrap();
    drop(lease);
    let lease = pool.checkout(&o, None).unwrap();
    lease.discard();
    let targets = f.devices().iter().map(|d| options(d, "cisco_ios").into()).collect();
    let report = Run::run(
        targets,
        vec![Step::command("show clock")],
        RunOptions { max_workers: 2, strategy: Strategy::Free, on_failure: OnFailure::SkipHost, events: false },
        Some(Arc::clone(&pool)),
        None,
    )
    .unwrap();
    assert_eq!(report.totals.succeeded, 2);
    drop(pool);
    let got = stop(&records);
    let created = find(&got, Target::Pool, "created a session for");
    assert_eq!(created.len(), 3, "one before the run, two in it: {got:#?}");
    assert!(created
        .iter()
        .all(|r| r.level == Level::Info && r.device.as_deref().is_some_and(|n| n.starts_with("127.0.0.1:"))));
    let reuse = find(&got, Target::Pool, "reuses an idle session");
    assert_eq!(reuse.len(), 1, "{got:#?}");
    assert_eq!(reuse[0].device.as_deref(), Some(name.as_str()));
    let broken = find(&got, Target::Pool, "discarded a broken session");
    assert_eq!((broken.len(), broken[0].device.as_deref()), (1, Some(name.as_str())), "{got:#?}");
    let started = find(&got, Target::Run, "run started: 2 targets, 1 steps, 2 workers");
    let ended = find(&got, Target::Run, "run ended in");
    assert_eq!((started.len(), ended.len()), (1, 1), "{got:#?}");
    assert!(
        ended[0].message.contains("hosts 2 ok, 0 failed") && ended[0].message.contains("steps 2 ok"),
        "{:?}",
        ended[0]
    );
    assert!(got.iter().all(|r| r.level <= Level::Info), "nothing below info: {got:#?}");
}

#[test]
fn durable_commits_are_traced_with_their_size() {
    let _s = serial();
    let dir = std::env::temp_dir().join(format!("netrig-log-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(dir.join("s.db"), StoreOptions::default(), Default::default()).unwrap();
    let records = capture(Level::Trace);
    store.set("dut1/state", Value::str("ready").unwrap(), Ttl::Default).unwrap();
    let got = stop(&records);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
    let commits = find(&got, Target::Store, "durable commit to");
    assert_eq!(commits.len(), 1, "{got:#?}");
    assert!(commits[0].message.contains("1 records, 15 bytes"), "{:?}", commits[0]);
    assert_eq!(commits[0].level, Level::Trace);
}

#[test]
fn records_are_delivered_in_order_and_replacing_the_callback_drains_the_old_one() {
    let _s = serial();
    let first = Arc::new(Mutex::new(Vec::new()));
    let replaced = Arc::new(AtomicBool::new(false));
    let late = Arc::new(AtomicUsize::new(0));
    {
        let (first, replaced, late) = (Arc::clone(&first), Arc::clone(&replaced), Arc::clone(&late));
        log::set_callback(
            Level::Info,
            Some(Box::new(move |r| {
                if replaced.load(Ordering::SeqCst) {
                    late.fetch_add(1, Ordering::SeqCst);
                }
                // A slow callback: records queue up behind it.
                std::thread::sleep(Duration::from_micros(200));
                first.lock().unwrap().push(r.message().to_owned());
            })),
        )
        .unwrap();
    }
    for i in 0..500 {
        netrig::log!(Level::Info, Target::Store, None, "record {i}");
    }
    let second = capture(Level::Info);
    replaced.store(true, Ordering::SeqCst);
    // Everything made before the replacement reached the old callback, in order, before
    // set_callback returned; the old one is never called again.
    let want: Vec<String> = (0..500).map(|i| format!("record {i}")).collect();
    assert_eq!(*first.lock().unwrap(), want);
    netrig::log!(Level::Info, Target::Store, None, "after");
    netrig::log!(Level::Debug, Target::Store, None, "below the min level");
    log::flush(Duration::from_secs(10)).unwrap();
    assert_eq!(late.load(Ordering::SeqCst), 0);
    let got = stop(&second);
    assert_eq!(got.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["after"]);
}

#[test]
fn a_full_queue_drops_records_and_says_how_many() {
    let _s = serial();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    log::set_callback(
        Level::Info,
        Some(Box::new(move |r| {
            if r.message() == "block" {
                entered_tx.send(()).unwrap();
                release_rx.lock().unwrap().recv().unwrap();
            }
            sink.lock().unwrap().push((r.level(), r.message().to_owned()));
        })),
    )
    .unwrap();
    netrig::log!(Level::Info, Target::Queue, None, "block");
    entered_rx.recv().unwrap();
    let n = log::QUEUE_LIMIT + 100;
    for i in 0..n {
        netrig::log!(Level::Info, Target::Queue, None, "r{i}");
    }
    // While the callback is blocked, a flush gives up at its deadline: in Rust and in C.
    let err = log::flush(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(&err, netrig::Error::Timeout(m) if m.contains("records still queued after 50 ms")), "{err}");
    assert_eq!(netrig::ffi::netrig_log_flush(50), NETRIG_E_TIMEOUT);
    assert!(support::abi::last_error().starts_with("netrig_log_flush: log flush: "), "{}", support::abi::last_error());
    release_tx.send(()).unwrap();
    // Room again once the queued records are delivered; the next record made carries the count.
    log::flush(Duration::from_secs(30)).unwrap();
    netrig::log!(Level::Info, Target::Queue, None, "last");
    log::flush(Duration::from_secs(30)).unwrap();
    log::set_callback(Level::Off, None).unwrap();
    let seen = seen.lock().unwrap();
    let delivered = seen.iter().filter(|(_, m)| m.starts_with('r')).count();
    assert_eq!(delivered, log::QUEUE_LIMIT, "the queue holds QUEUE_LIMIT records");
    let warn = seen.iter().position(|(l, m)| *l == Level::Warn && m == "100 log records dropped (queue full)");
    let last = seen.iter().position(|(_, m)| m == "last");
    assert_eq!((warn, last), (Some(seen.len() - 2), Some(seen.len() - 1)), "{:?}", &seen[seen.len() - 3..]);
}

#[test]
fn a_callback_may_call_netrig_including_the_log_itself() {
    let _s = serial();
    let f = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 1).unwrap();
    let store = Arc::new(Store::new(StoreOptions::default()).unwrap());
    let flushed = Arc::new(AtomicUsize::new(0));
    {
        let (store, flushed) = (Arc::clone(&store), Arc::clone(&flushed));
        log::set_callback(
            Level::Debug,
            Some(Box::new(move |r| {
                if r.target() == Target::Device && r.message().starts_with("opened") {
                    store.set("log/opened", Value::str(r.message()).unwrap(), Ttl::Default).unwrap();
                    // Neither waits for the callback it is called from.
                    log::set_level(Level::Info);
                    log::flush(Duration::from_secs(60)).unwrap();
                    flushed.fetch_add(1, Ordering::SeqCst);
                }
            })),
        )
        .unwrap();
    }
    let dev = Device::open(&options(&f.devices()[0], "cisco_ios")).unwrap();
    log::flush(Duration::from_secs(10)).unwrap();
    assert_eq!(flushed.load(Ordering::SeqCst), 1);
    let opened = store.get("log/opened").unwrap().value;
    assert!(matches!(&opened, Value::Str(s) if s.starts_with("opened (cisco_ios")), "{opened:?}");
    assert_eq!(log::level(), Level::Info, "set from inside the callback");
    dev.send_command("show clock", None).unwrap();
    log::set_callback(Level::Off, None).unwrap();
    assert_eq!(log::level(), Level::Off);
}

/// A copy of the cisco_ios profile whose password and enable secret are distinctive, with an
/// Ed25519 key (OpenSSH format, encrypted with the passphrase) authorised for its user.
struct SecretDevice {
    _fleet: Fleet,
    dir: std::path::PathBuf,
    info: fakedev::DeviceInfo,
    key: std::path::PathBuf,
}

const PASSWORD: &str = "Pw-7qX3-unseen";
const PASSPHRASE: &str = "Pp-Z9k2-unseen";
const SECRET: &str = "En-R4m8-unseen";

fn secret_device() -> SecretDevice {
    let dir = std::env::temp_dir().join(format!("netrig-log-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let profile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fakedev/profiles/cisco_ios.toml"))
            .unwrap()
            .replace("password = \"admin\"", &format!("password = \"{PASSWORD}\""))
            .replace("secret = \"enablepass\"", &format!("secret = \"{SECRET}\""));
    assert!(profile.contains(PASSWORD) && profile.contains(SECRET));
    let profile_path = dir.join("secret_ios.toml");
    std::fs::write(&profile_path, profile).unwrap();
    let key = dir.join("id_ed25519");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", PASSPHRASE, "-C", "log-test", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let group = Group::new(profile_path.to_str().unwrap(), 1).authorized_key(public.trim()).faults(Faults::default());
    let fleet = Fleet::start_inventory(&Inventory::default().group(group)).unwrap();
    let info = fleet.devices()[0].clone();
    assert_eq!((info.password.as_str(), info.secret.as_deref()), (PASSWORD, Some(SECRET)));
    SecretDevice { _fleet: fleet, dir, info, key }
}

#[test]
fn no_password_passphrase_or_secret_reaches_any_level() {
    let _s = serial();
    let sd = secret_device();
    for level in [Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error] {
        let records = capture(level);
        // A password login with the enable secret: open enters enable mode.
        let mut o = options(&sd.info, "cisco_ios");
        o.secret = Some(SECRET.into());
        let dev = Device::open(&o).unwrap();
        assert!(dev.send_command("show clock", None).unwrap().text.contains("UTC"), "enable mode");
        // An interactive exchange that sends the secret as an answer.
        dev.exit_enable(None).unwrap();
        dev.send_interactive(&[("enable", "Password: "), (SECRET, "")], None).unwrap();
        dev.close().unwrap();
        // A key with a passphrase.
        let mut o = options(&sd.info, "cisco_ios");
        o.auth = Auth::KeyFile { path: sd.key.clone(), passphrase: Some(PASSPHRASE.into()) };
        let dev = Device::open(&o).unwrap();
        dev.send_command("show version", None).unwrap();
        drop(dev);
        let got = stop(&records);
        for r in &got {
            for s in [PASSWORD, PASSPHRASE, SECRET] {
                assert!(!r.message.contains(s), "{s} at {level:?}: {r:?}");
                assert!(!r.device.as_deref().unwrap_or("").contains(s));
            }
        }
        assert!(got.iter().all(|r| r.level <= level));
        match level {
            Level::Trace => {
                // The enable exchange was traced, with the secret redacted.
                let asked = got.iter().position(|r| {
                    r.level == Level::Trace && r.message.starts_with("received") && r.message.contains("Password: ")
                });
                let answered = got.iter().position(|r| r.message == "sent 15 bytes: ********\\n");
                assert!(asked.is_some() && answered.is_some() && asked < answered, "{got:#?}");
                assert!(
                    got.iter().filter(|r| r.message.starts_with("sent ") && r.message.contains("********")).count()
                        >= 2,
                    "open's enable and the interactive answer"
                );
                assert!(find(&got, Target::Device, "auth method public key from")
                    .iter()
                    .any(|r| r.message.ends_with(": accepted")));
            }
            Level::Debug => assert!(!find(&got, Target::Device, "auth method public key from").is_empty()),
            Level::Info => assert_eq!(find(&got, Target::Device, "opened (").len(), 2, "{got:#?}"),
            _ => assert!(got.is_empty(), "nothing fails here: {got:#?}"),
        }
    }
    std::fs::remove_dir_all(&sd.dir).unwrap();
}

#[test]
fn the_session_log_gets_timestamps_and_directions_only_when_asked() {
    let _s = serial();
    let f = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 1).unwrap();
    let dir = std::env::temp_dir().join(format!("netrig-log-session-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut texts = Vec::new();
    for stamps in [false, true] {
        let path = dir.join(format!("session-{stamps}.log"));
        let mut o = options(&f.devices()[0], "cisco_ios");
        o.session_log = Some(path.clone());
        o.session_log_timestamps = stamps;
        let dev = Device::open(&o).unwrap();
        dev.send_command("show clock", None).unwrap();
        dev.close().unwrap();
        texts.push(std::fs::read_to_string(&path).unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let (plain, stamped) = (&texts[0], &texts[1]);
    assert!(plain.contains("show clock\r\n") && !plain.contains("<<]") && !plain.contains(">>]"), "{plain}");
    assert!(!plain.contains("enablepass") && plain.contains("********"));
    let marker = regex::Regex::new(r"(?m)^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (<<|>>)\] ").unwrap();
    assert!(stamped.contains("] show clock\n"), "the sent line with its marker: {stamped}");
    let sent = marker.captures_iter(stamped).filter(|c| &c[1] == ">>").count();
    let received = marker.captures_iter(stamped).filter(|c| &c[1] == "<<").count();
    assert!(sent >= 3 && received >= 3, "{sent} sent, {received} received: {stamped}");
    // Without the markers, the same bytes as the plain transcript would have (the times and
    // the newlines put before markers aside).
    let stripped = marker.replace_all(stamped, "");
    assert!(stripped.contains("********") && !stripped.contains("enablepass"));
    assert!(stripped.replace('\n', "").contains(&plain.replace('\n', "")[..40]));
}

// ---- the C ABI ----

/// What the C callback keeps of each record: level, target, device, message, struct_size, thread.
type Seen = Mutex<Vec<(u32, String, Option<String>, String, usize, u64)>>;

unsafe extern "C" fn c_collect(user_data: *mut c_void, record: *const netrig::ffi::netrig_log_record) {
    // SAFETY: user_data is the test's Mutex<Vec<..>>, alive until the callback is replaced;
    // the record and its strings are valid for the call.
    let (seen, r) = unsafe { (&*(user_data as *const Seen), &*record) };
    // SAFETY: as above.
    let text = |p: *const std::ffi::c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    let device = (!r.device.is_null()).then(|| text(r.device));
    seen.lock().unwrap().push((r.level as u32, text(r.target), device, text(r.message), r.struct_size, r.thread_id));
}

#[test]
fn c_callback_gets_records_and_replacing_it_drains() {
    use netrig::ffi::*;
    let _s = serial();
    let f = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 1).unwrap();
    let d = &f.devices()[0];
    // A bad level is refused, with a text naming it.
    for bad in [6u32, 99, u32::MAX] {
        // SAFETY: no pointer is read for a refused level.
        assert_eq!(
            unsafe { netrig_set_log_callback(bad, Some(c_collect), std::ptr::null_mut()) },
            NETRIG_E_INVALID_ARG
        );
        let text = support::abi::last_error();
        assert!(
            text.contains("netrig_set_log_callback: min_level") && text.contains("is not a netrig_log_level"),
            "{text}"
        );
        assert_eq!(netrig_set_log_level(bad), NETRIG_E_INVALID_ARG);
        assert!(support::abi::last_error().starts_with("netrig_set_log_level: level"));
    }
    let seen: Box<Seen> = Box::default();
    let user_data = &*seen as *const _ as *mut c_void;
    // SAFETY: user_data outlives the callback (it is replaced below, before `seen` drops).
    assert_eq!(
        unsafe { netrig_set_log_callback(netrig_log_level::NETRIG_LOG_INFO as u32, Some(c_collect), user_data) },
        NETRIG_OK
    );
    assert_eq!(netrig_get_log_level(), netrig_log_level::NETRIG_LOG_INFO);
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    assert_eq!(netrig_set_log_level(netrig_log_level::NETRIG_LOG_DEBUG as u32), NETRIG_OK);
    dev.send_command("show clock", None).unwrap();
    assert_eq!(netrig_log_flush(10_000), NETRIG_OK);
    // SAFETY: clearing reads no pointer.
    assert_eq!(
        unsafe { netrig_set_log_callback(netrig_log_level::NETRIG_LOG_OFF as u32, None, std::ptr::null_mut()) },
        NETRIG_OK
    );
    dev.send_command("show clock", None).unwrap();
    let got = std::mem::take(&mut *seen.lock().unwrap());
    drop(seen);
    let name = format!("{}:{}", d.host, d.port);
    let opened = got.iter().find(|r| r.3.starts_with("opened (")).expect("opened");
    assert_eq!((opened.0, opened.1.as_str(), opened.2.as_deref()), (3, "device", Some(name.as_str())));
    assert_eq!(opened.4, std::mem::size_of::<netrig_log_record>());
    assert!(opened.5 != 0);
    assert!(!got.iter().any(|r| r.3.contains("TCP connected")), "debug came only after set_log_level");
    let ended: Vec<_> = got.iter().filter(|r| r.3.starts_with("command 'show clock': ended")).collect();
    assert_eq!(ended.len(), 1, "one command while the callback was set: {got:#?}");
    assert_eq!(ended[0].0, 4);
    assert_eq!(netrig_get_log_level(), netrig_log_level::NETRIG_LOG_OFF);
}
