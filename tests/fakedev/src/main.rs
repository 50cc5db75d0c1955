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

    let (tx, rx) = std::sync::mpsc::channel::<&str>();
    // Signal handlers are in place before the inventory is printed, so a parent that sends
    // SIGTERM as soon as it has read the inventory always gets a clean stop.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let signal_tx = tx.clone();
    std::thread::spawn(move || {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("signal runtime");
        rt.block_on(async {
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
            let _ = ready_tx.send(());
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        });
        let _ = signal_tx.send("signal");
    });
    let _ = ready_rx.recv();
    println!("{}", fleet.inventory_json());

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
    let why = loop {
        let stop = rx.recv_timeout(std::time::Duration::from_millis(50));
        // A `stats` read before the stop (e.g. "stats" then end of input) is still answered.
        while stats_rx.try_recv().is_ok() {
            println!("{}", fleet.stats_json());
        }
        if let Ok(why) = stop {
            break why;
        }
    };
    eprintln!("fakedev: {why}, stopping {} devices", fleet.devices().len());
    drop(fleet);
}
