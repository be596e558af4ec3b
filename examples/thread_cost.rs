//! What a thread per connection costs, on its own: start a thread the way postie's
//! listener does (a name, a 256 KiB stack), let it touch a little of its stack, and
//! wait for it to end, many times over.
//!
//! ```console
//! cargo run --release --example thread_cost
//! ```
//!
//! Prints the wall-clock time and, on Linux, the CPU time (user + system, read from
//! `/proc/self/stat`) of one start and end. The performance chapter compares it with
//! what one whole message costs postie (`benches/cost.sh`).

use std::hint::black_box;
use std::time::Instant;

/// As `CLIENT_STACK` in `src/wire/listener.rs`.
const STACK: usize = 256 * 1024;
const THREADS: u32 = 20_000;

/// This process's CPU time so far, in seconds, or `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux architecture that postie runs on.
    Some(ticks / 100.0)
}

fn main() {
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    for i in 0..THREADS {
        let spawned = std::thread::Builder::new()
            .name(format!("smtp client {i}"))
            .stack_size(STACK)
            .spawn(|| {
                // A connection's stack frames touch a few pages; so does this.
                black_box([0u8; 8 * 1024]);
            });
        match spawned.map(|handle| handle.join()) {
            Ok(Ok(())) => {}
            _ => {
                eprintln!("thread_cost: cannot start or join thread {i}");
                std::process::exit(1);
            }
        }
    }
    let wall = start.elapsed().as_secs_f64() * 1e6 / f64::from(THREADS);
    print!("start and end of one thread ({THREADS} in a row): {wall:.1} us wall-clock");
    match (cpu_before, cpu_seconds()) {
        (Some(before), Some(after)) => {
            println!(
                ", {:.1} us CPU",
                (after - before) * 1e6 / f64::from(THREADS)
            );
        }
        _ => println!(),
    }
}
