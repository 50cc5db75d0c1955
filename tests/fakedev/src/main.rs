//! `fakedev --profile cisco_ios --count 500`, or `fakedev --inventory fleet.toml`: starts a
//! fleet, prints its JSON inventory on stdout, and runs until SIGINT/SIGTERM or until stdin
//! closes. A line `stats` on stdin prints one JSON line of per-device counters.

use std::io::BufRead;

fn usage() -> ! {
    eprintln!(
        "usage: fakedev [--profile NAME|PATH.toml] [--count N] [--host-key PATH] | --inventory PATH.toml\n\
         stdin: 'stats' prints per-device counters as one JSON line; EOF stops the fleet"
    );
    std::process::exit(2)
}

fn fail(e: String) -> ! {
    eprintln!("fakedev: {e}");
    std::process::exit(1)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut inventory = fakedev::Inventory::default();
    let (mut profile, mut count, mut from_file) = ("cisco_ios".to_owned(), 1usize, false);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--profile" => profile = value(),
            "--count" => count = value().parse().unwrap_or_else(|_| usage()),
            "--host-key" => inventory.host_key = Some(value().into()),
            "--inventory" => {
                inventory = fakedev::Inventory::load(std::path::Path::new(&value())).unwrap_or_else(|e| fail(e));
                from_file = true;
            }
            _ => usage(),
        }
    }
    if !from_file {
        inventory = inventory.group(fakedev::Group::new(&profile, count));
    }
    let fleet = fakedev::Fleet::start_inventory(&inventory).unwrap_or_else(|e| fail(format!("cannot start: {e}")));
    println!("{}", fleet.inventory_json());

    let (tx, rx) = std::sync::mpsc::channel::<&str>();
    let stdin_tx = tx.clone();
    let (stats_tx, stats_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "stats" => drop(stats_tx.send(())),
                Ok(_) => {}
                Err(_) => break,
            }
        }
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
    let why = loop {
        if let Ok(why) = rx.recv_timeout(std::time::Duration::from_millis(50)) {
            break why;
        }
        while stats_rx.try_recv().is_ok() {
            println!("{}", fleet.stats_json());
        }
    };
    eprintln!("fakedev: {why}, stopping {} devices", fleet.devices().len());
    drop(fleet);
}
