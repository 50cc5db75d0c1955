//! `fakedev --profile cisco_ios --count 500`: starts a fleet, prints its JSON inventory on
//! stdout, and runs until SIGINT/SIGTERM or until stdin closes.

use std::io::Read;

fn usage() -> ! {
    eprintln!("usage: fakedev [--profile NAME | --profile-file PATH] [--count N]");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut profile, mut count) = (None, 1usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => profile = Some(fakedev::Profile::builtin(&args.next().unwrap_or_else(|| usage()))),
            "--profile-file" => {
                let path = args.next().unwrap_or_else(|| usage());
                profile = Some(fakedev::Profile::load(std::path::Path::new(&path)));
            }
            "--count" => count = args.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    let profile = match profile.unwrap_or_else(|| fakedev::Profile::builtin("cisco_ios")) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fakedev: {e}");
            std::process::exit(2)
        }
    };
    let fleet = fakedev::Fleet::start(profile, count).unwrap_or_else(|e| {
        eprintln!("fakedev: cannot start the fleet: {e}");
        std::process::exit(1)
    });
    println!("{}", fleet.inventory_json());

    // Stop when stdin closes (the parent died or closed the pipe) or on a signal.
    let (tx, rx) = std::sync::mpsc::channel::<&str>();
    let stdin_tx = tx.clone();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = stdin_tx.send("stdin closed");
    });
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("signal runtime");
        rt.block_on(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        let _ = tx.send("signal");
    });
    let why = rx.recv().unwrap_or("channel closed");
    eprintln!("fakedev: {why}, stopping {} devices", fleet.devices().len());
    drop(fleet);
}
