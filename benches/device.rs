//! Device sessions: netrig's `Device` against a raw ssh2 (libssh2) read loop, on one fake
//! cisco_ios device (tests/fakedev, real SSH on loopback), measured in the same run.
//!
//! Three comparisons, each with its contenders interleaved in rounds so that a change in machine
//! load hits all of them alike:
//! 1. a short command (`show clock`): round trip per command;
//! 2. a 2 MB output (`show tech-support`, 20000 lines of 100 bytes with paging off);
//! 3. opening a session: netrig `Device::open` against raw connect + handshake + auth + PTY +
//!    shell + first prompt, and against raw with the same setup `open` does (paging off, width,
//!    enable with the secret); plus `Platform::named`, which the options carry already compiled
//!    but which a caller building options per device pays on every open.
//!
//! The raw contender is what a careful hand-written client does: one session, blocking reads into
//! a 32 KiB buffer until the tail of the buffer ends with the prompt. A contender is one closure
//! in a `Vec`, so the C ABI (`netrig_device_send_command`, later) is one more entry.
//!
//! Run: `cargo bench --bench device`. It prints medians, means and ratios and never fails on
//! timings; it panics when a contender's output differs from the others' (same lines, in order).
//! The fake device runs in this process, so its threads share the CPUs with the client.

use std::ffi::CString;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use fakedev::{DeviceInfo, Fleet, Group, Inventory};
use netrig::device::{Auth, Device, DeviceOptions, HostKeyPolicy, Platform};
use netrig::ffi;

/// The prompt of the fake cisco_ios device in enable mode, and in user mode.
const ENABLE_PROMPT: &[u8] = b"R1#";
const USER_PROMPT: &[u8] = b"R1>";
/// How much of the buffer's end the raw loop looks at for the prompt.
const TAIL: usize = 64;
const CHUNK: usize = 32 * 1024;

// ---------------------------------------------------------------------------------------------
// The raw baseline: plain ssh2 with blocking reads.

struct Raw {
    session: ssh2::Session,
    channel: ssh2::Channel,
}

/// Whether the last line of the buffer's tail is `prompt`.
fn ends_with_prompt(buf: &[u8], prompt: &[u8]) -> bool {
    let tail = &buf[buf.len().saturating_sub(TAIL)..];
    tail.rsplit(|&b| b == b'\n').next() == Some(prompt)
}

impl Raw {
    /// Connect, handshake, password auth, PTY, shell, and read up to the first (user-mode) prompt.
    fn connect(d: &DeviceInfo) -> Raw {
        let tcp = TcpStream::connect((d.host.as_str(), d.port)).expect("raw: TCP connect");
        tcp.set_nodelay(true).expect("raw: TCP_NODELAY");
        let mut session = ssh2::Session::new().expect("raw: session");
        session.set_tcp_stream(tcp);
        // A hang guard for every blocking call, not a deadline: the loop below never re-checks.
        session.set_timeout(30_000);
        session.handshake().expect("raw: handshake");
        session.userauth_password(&d.username, &d.password).expect("raw: auth");
        let mut channel = session.channel_session().expect("raw: channel");
        channel.request_pty("vt100", None, Some((511, 24, 0, 0))).expect("raw: pty");
        channel.shell().expect("raw: shell");
        let mut raw = Raw { session, channel };
        raw.read_until(USER_PROMPT, |b| ends_with_prompt(b, USER_PROMPT));
        raw
    }

    /// The same setup as netrig's `open` for cisco_ios: paging off, width, enable mode.
    fn setup(&mut self, d: &DeviceInfo) {
        self.exchange(b"terminal length 0\n", USER_PROMPT);
        self.exchange(b"terminal width 511\n", USER_PROMPT);
        self.write(b"enable\n");
        self.read_until(b"Password: ", |b| b.ends_with(b"Password: "));
        let secret = d.secret.as_deref().expect("the cisco_ios profile has an enable secret");
        self.exchange(format!("{secret}\n").as_bytes(), ENABLE_PROMPT);
    }

    fn write(&mut self, bytes: &[u8]) {
        // No flush(): ssh2's Channel::flush discards data already received.
        self.channel.write_all(bytes).expect("raw: write");
    }

    fn read_until(&mut self, what: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; CHUNK];
        while !done(&buf) {
            let n = self.channel.read(&mut chunk).expect("raw: read");
            assert!(n > 0, "raw: EOF before {:?}; got {}", String::from_utf8_lossy(what), tail(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
        buf
    }

    /// Sends one line and returns everything up to and including the prompt (echo included).
    fn exchange(&mut self, line: &[u8], prompt: &[u8]) -> Vec<u8> {
        self.write(line);
        self.read_until(prompt, |b| ends_with_prompt(b, prompt))
    }

    fn close(self) {
        let Raw { session, mut channel } = self;
        let _ = channel.close();
        let _ = session.disconnect(None, "bench done", None);
    }
}

fn tail(buf: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(&buf[buf.len().saturating_sub(80)..]))
}

// ---------------------------------------------------------------------------------------------
// Contenders, measurement and the table.

/// What a command contender returns. Turning it into lines happens outside the timed region.
enum Reply {
    /// Output as netrig returns it: echo, prompt and ANSI removed, "\n" line endings.
    Clean(String),
    /// What the raw loop read: echo line, output with "\r\n", prompt line.
    Raw(Vec<u8>),
}

impl Reply {
    fn lines(&self, command: &str) -> Vec<String> {
        match self {
            Reply::Clean(text) => text.lines().map(str::to_owned).collect(),
            Reply::Raw(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                let mut lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
                assert_eq!(lines.first().copied(), Some(command), "raw: the first line is not the echo");
                assert_eq!(lines.last().map(|l| l.as_bytes()), Some(ENABLE_PROMPT), "raw: no prompt at the end");
                lines.pop();
                lines.remove(0);
                lines.into_iter().map(str::to_owned).collect()
            }
        }
    }
}

/// One way of doing the operation under test.
struct Contender<'a, T> {
    name: &'static str,
    run: Box<dyn FnMut() -> T + 'a>,
}

fn contender<'a, T>(name: &'static str, run: impl FnMut() -> T + 'a) -> Contender<'a, T> {
    Contender { name, run: Box::new(run) }
}

/// Times `iterations` calls of `f` one by one; each result goes to `after`, untimed.
fn measure<T>(iterations: usize, f: &mut dyn FnMut() -> T, mut after: impl FnMut(T)) -> Vec<Duration> {
    (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let out = f();
            let took = start.elapsed();
            after(out);
            took
        })
        .collect()
}

struct Stats {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Stats {
    fn sorted_us(&self) -> Vec<f64> {
        let mut us: Vec<f64> = self.samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(|a, b| a.partial_cmp(b).unwrap());
        us
    }

    fn median_us(&self) -> f64 {
        let us = self.sorted_us();
        let n = us.len();
        if n % 2 == 1 {
            us[n / 2]
        } else {
            (us[n / 2 - 1] + us[n / 2]) / 2.0
        }
    }

    fn mean_us(&self) -> f64 {
        self.samples.iter().map(|d| d.as_secs_f64() * 1e6).sum::<f64>() / self.samples.len() as f64
    }

    fn percentile_us(&self, p: f64) -> f64 {
        let us = self.sorted_us();
        us[((us.len() - 1) as f64 * p).round() as usize]
    }
}

/// Runs every contender `warmup` times untimed, then `rounds` rounds of `per_round` timed calls
/// each, contenders taking turns. `check(contender, result)` sees every result, untimed.
fn compare<T>(
    contenders: &mut [Contender<'_, T>],
    warmup: usize,
    rounds: usize,
    per_round: usize,
    mut check: impl FnMut(&'static str, T),
) -> Vec<Stats> {
    for c in contenders.iter_mut() {
        let name = c.name;
        measure(warmup, &mut c.run, |out| check(name, out));
    }
    let mut stats: Vec<Stats> = contenders.iter().map(|c| Stats { name: c.name, samples: Vec::new() }).collect();
    for _ in 0..rounds {
        for (c, s) in contenders.iter_mut().zip(&mut stats) {
            let name = c.name;
            s.samples.extend(measure(per_round, &mut c.run, |out| check(name, out)));
        }
    }
    stats
}

/// Prints the table of one comparison; ratios are against `stats[baseline]`.
fn table(title: &str, stats: &[Stats], baseline: usize) {
    let base = &stats[baseline];
    println!("\n{title}");
    println!(
        "  {:<36} {:>5} {:>12} {:>12} {:>12} {:>12} {:>13}",
        "contender", "n", "median µs", "mean µs", "p10 µs", "p90 µs", "median ratio"
    );
    for s in stats {
        println!(
            "  {:<36} {:>5} {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>12.2}x",
            s.name,
            s.samples.len(),
            s.median_us(),
            s.mean_us(),
            s.percentile_us(0.1),
            s.percentile_us(0.9),
            s.median_us() / base.median_us()
        );
    }
}

/// The summary line of one comparison: `label / baseline: 1.12x (target <= 1.5x)`.
fn ratio_line(label: &str, s: &Stats, base: &Stats, target: Option<f64>) -> String {
    let ratio = s.median_us() / base.median_us();
    let mut line = format!("{label} / raw: {ratio:.2}x median, {:.2}x mean", s.mean_us() / base.mean_us());
    if let Some(t) = target {
        let verdict = if ratio <= t { "met" } else { "NOT met" };
        let _ = write!(line, " (target <= {t}x: {verdict})");
    }
    line
}

// ---------------------------------------------------------------------------------------------

fn options(d: &DeviceInfo) -> DeviceOptions {
    let mut o = DeviceOptions::new(
        &d.host,
        d.port,
        &d.username,
        Auth::Password(d.password.clone()),
        Platform::named("cisco_ios").expect("built-in platform"),
    );
    o.host_key = HostKeyPolicy::Pinned(d.host_key_fingerprint.clone());
    o.secret = d.secret.clone();
    o.timeout = Duration::from_secs(30);
    o
}

/// Checks that every reply of every contender has the same lines as the first reply seen, and
/// that the first one passes `sane`.
struct SameLines<'a> {
    command: &'a str,
    reference: Option<Vec<String>>,
    sane: fn(&[String]) -> bool,
    replies: usize,
}

impl SameLines<'_> {
    fn check(&mut self, contender: &str, reply: Reply) {
        let lines = reply.lines(self.command);
        self.replies += 1;
        match &self.reference {
            None => {
                assert!((self.sane)(&lines), "{contender}: '{}' gave unexpected output: {lines:?}", self.command);
                self.reference = Some(lines);
            }
            Some(want) if *want == lines => {}
            Some(want) => {
                let at = want.iter().zip(&lines).position(|(a, b)| a != b).unwrap_or(want.len().min(lines.len()));
                panic!(
                    "{contender}: '{}' output differs from the first reply at line {at} ({} vs {} lines): {:?} vs {:?}",
                    self.command,
                    lines.len(),
                    want.len(),
                    lines.get(at),
                    want.get(at)
                );
            }
        }
    }
}

fn bench_command(
    d: &DeviceInfo,
    command: &str,
    sane: fn(&[String]) -> bool,
    (warmup, rounds, per_round): (usize, usize, usize),
) -> Vec<Stats> {
    let dev = Device::open(&options(d)).expect("netrig: open");
    let mut raw = Raw::connect(d);
    raw.setup(d);
    let c_dev = CDevice::open(d);
    let line = format!("{command}\n");
    let c_command = CString::new(command).expect("no NUL");
    let stats = {
        let mut contenders = vec![
            contender("netrig Device::send_command", || {
                Reply::Clean(dev.send_command(command, None).expect("netrig: send_command").text)
            }),
            contender("raw ssh2 read loop", || Reply::Raw(raw.exchange(line.as_bytes(), ENABLE_PROMPT))),
            contender("C ABI netrig_device_send_command", || Reply::Clean(c_dev.send(&c_command))),
        ];
        let mut same = SameLines { command, reference: None, sane, replies: 0 };
        let stats = compare(&mut contenders, warmup, rounds, per_round, |name, reply| same.check(name, reply));
        assert_eq!(same.replies, contenders.len() * (warmup + rounds * per_round));
        stats
    };
    dev.close().expect("netrig: close");
    raw.close();
    drop(c_dev);
    stats
}

/// The same device through the C ABI, as a C or Python caller uses it: a handle, a result
/// object per command, the text copied out, the result freed.
struct CDevice(ffi::netrig_device);

impl CDevice {
    fn open(d: &DeviceInfo) -> CDevice {
        let c = |s: &str| CString::new(s).expect("no NUL");
        let (host, user, password) = (c(&d.host), c(&d.username), c(&d.password));
        let secret = c(d.secret.as_deref().expect("cisco_ios has a secret"));
        let (platform, fingerprint) = (c("cisco_ios"), c(&d.host_key_fingerprint));
        let mut o = std::mem::MaybeUninit::<ffi::netrig_device_options>::uninit();
        // SAFETY: a live out pointer and its size.
        assert_eq!(
            unsafe { ffi::netrig_device_options_default(o.as_mut_ptr(), size_of_val(&o)) },
            netrig::netrig_status::NETRIG_OK
        );
        // SAFETY: filled on NETRIG_OK.
        let mut o = unsafe { o.assume_init() };
        o.host = host.as_ptr();
        o.port = d.port;
        o.username = user.as_ptr();
        o.password = password.as_ptr();
        o.secret = secret.as_ptr();
        o.platform = platform.as_ptr();
        o.host_key_policy = ffi::NETRIG_HOSTKEY_PINNED;
        o.host_key_fingerprint = fingerprint.as_ptr();
        let mut dev = ffi::netrig_device { id: 0 };
        // SAFETY: the options' strings live until the call returns; `dev` is a valid out pointer.
        let st = unsafe { ffi::netrig_device_open(&o, &mut dev) };
        assert_eq!(st, netrig::netrig_status::NETRIG_OK, "C ABI open");
        CDevice(dev)
    }

    fn send(&self, command: &CString) -> String {
        let mut out = ffi::netrig_output { id: 0 };
        // SAFETY: a live NUL-terminated command and a valid out pointer.
        let st = unsafe { ffi::netrig_device_send_command(self.0, command.as_ptr(), 0, &mut out) };
        assert_eq!(st, netrig::netrig_status::NETRIG_OK, "C ABI send_command");
        let (mut text, mut len) = (std::ptr::null(), 0usize);
        // SAFETY: valid out pointers; the text stays valid until netrig_output_free below.
        let st = unsafe { ffi::netrig_output_text(out, &mut text, &mut len) };
        assert_eq!(st, netrig::netrig_status::NETRIG_OK);
        // SAFETY: `len` bytes at `text` belong to the live result.
        let bytes = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) };
        let s = String::from_utf8(bytes.to_vec()).expect("UTF-8 text");
        assert_eq!(ffi::netrig_output_free(out), netrig::netrig_status::NETRIG_OK);
        s
    }
}

impl Drop for CDevice {
    fn drop(&mut self) {
        ffi::netrig_device_free(self.0);
    }
}

/// What an open contender returns: the session, closed untimed.
enum Opened {
    Netrig(Box<Device>),
    Raw(Raw),
}

fn bench_open(d: &DeviceInfo, (warmup, rounds, per_round): (usize, usize, usize)) -> Vec<Stats> {
    let opts = options(d);
    let mut contenders = vec![
        contender("netrig Device::open", || Opened::Netrig(Box::new(Device::open(&opts).expect("netrig: open")))),
        contender("raw ssh2 to first prompt", || Opened::Raw(Raw::connect(d))),
        contender("raw ssh2 + open's setup", || {
            let mut raw = Raw::connect(d);
            raw.setup(d);
            Opened::Raw(raw)
        }),
    ];
    compare(&mut contenders, warmup, rounds, per_round, |name, opened| match opened {
        Opened::Netrig(dev) => {
            // In enable mode `enable` just prints the prompt again; in user mode it would ask
            // for the secret and this would time out.
            let out = dev.send_command("enable", Some(Duration::from_secs(5)));
            assert!(matches!(&out, Ok(o) if o.text.is_empty()), "{name}: not in enable mode after open: {out:?}");
            dev.close().expect("netrig: close");
        }
        Opened::Raw(raw) => raw.close(),
    })
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fleet = Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1)))
        .expect("start a fake cisco_ios device");
    let d = &fleet.devices()[0];
    println!(
        "netrig device benchmark: one fake cisco_ios device at {} (in this process), {cpus} CPUs; \
         contenders interleaved in rounds",
        d.addr()
    );
    let started = Instant::now();

    let short = bench_command(
        d,
        "show clock",
        |l| l.len() == 1 && l[0].contains("UTC"),
        (50, 10, 50), // 500 timed per contender
    );
    table("short command: 'show clock' round trip", &short, 1);

    let big = bench_command(
        d,
        "show tech-support",
        |l| l.len() == 20000 && l.iter().all(|l| l.len() >= 100),
        (2, 5, 2), // 10 timed per contender
    );
    table("2 MB output: 'show tech-support' (20000 lines x 100 bytes)", &big, 1);

    let open = bench_open(d, (2, 10, 2)); // 20 timed per contender
    table("open a session", &open, 2);
    // Not part of Device::open (the options carry a compiled Platform), but a caller that builds
    // options per device, as a C ABI open by platform name would, pays it on every open.
    let platform = Stats {
        name: "Platform::named(\"cisco_ios\")",
        samples: measure(5, &mut || Platform::named("cisco_ios").expect("built-in platform"), drop),
    };
    println!(
        "  {:<36} {:>5} {:>12.1} {:>12.1}",
        platform.name,
        platform.samples.len(),
        platform.median_us(),
        platform.mean_us()
    );

    println!();
    println!("{}", ratio_line("send_command 'show clock'", &short[0], &short[1], Some(1.5)));
    println!("{}", ratio_line("send_command 'show tech-support'", &big[0], &big[1], Some(1.3)));
    println!("{}", ratio_line("C ABI send_command 'show clock'", &short[2], &short[1], Some(1.5)));
    println!("{}", ratio_line("C ABI send_command 'show tech-support'", &big[2], &big[1], Some(1.3)));
    println!("{}", ratio_line("Device::open (same setup)", &open[0], &open[2], None));
    println!("{}", ratio_line("Device::open (to first prompt)", &open[0], &open[1], None));
    let mb_per_s = |s: &Stats| 2.0 * 1e6 / s.median_us();
    println!("2 MB throughput (median): netrig {:.0} MB/s, raw {:.0} MB/s", mb_per_s(&big[0]), mb_per_s(&big[1]));
    println!("\ntotal benchmark time {:.1} s", started.elapsed().as_secs_f64());
}
