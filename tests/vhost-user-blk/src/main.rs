// SPDX-License-Identifier: GPL-2.0
//! rvirtio-vub: a vhost-user-blk backend for rvirtio's guest tests.
//!
//! A correct disk by default; its control socket makes it misbehave on
//! demand (Documentation/testing.rst, "The vhost-user-blk test device").

mod args;
mod config;
mod control;
mod device;
mod disk;
mod request;

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use vhost::vhost_user::Listener;
use vhost_user_backend::VhostUserDaemon;
use vm_memory::{GuestMemoryAtomic, GuestMemoryMmap};

use control::Handler;

struct Logger {
    start: Instant,
    level: log::LevelFilter,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let t = self.start.elapsed();
            let _ = writeln!(
                std::io::stderr(),
                "[{:5}.{:03}] rvirtio-vub: {}: {}",
                t.as_secs(),
                t.subsec_millis(),
                r.level().as_str().to_lowercase(),
                r.args()
            );
        }
    }

    fn flush(&self) {}
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("rvirtio-vub: {msg}");
    std::process::exit(1);
}

fn main() {
    let opts = match args::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(args::ArgError::Help) => {
            print!("{}", args::USAGE);
            return;
        }
        Err(e) => {
            eprint!("rvirtio-vub: {e}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    let level = if opts.verbose {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    };
    let logger = Box::leak(Box::new(Logger {
        start: Instant::now(),
        level,
    }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }

    let disk = match &opts.file {
        Some(path) => disk::Disk::file(path, opts.size, opts.read_only),
        None => disk::Disk::ram(opts.size.unwrap_or(256 << 20)),
    }
    .unwrap_or_else(|e| fail(format!("backing store: {e}")));
    log::info!(
        "{} bytes ({}), {} queue(s) of up to {}, features {:#x}",
        disk.size(),
        opts.file.as_deref().unwrap_or("RAM"),
        opts.num_queues,
        opts.queue_size,
        config::features(&opts)
    );

    let mem = GuestMemoryAtomic::new(GuestMemoryMmap::new());
    let dev = Arc::new(device::Device::new(opts.clone(), disk, mem.clone()));
    for cmd in &opts.exec {
        let r = control::parse(cmd).and_then(|c| dev.control(c));
        match r {
            Ok(p) => log::info!("--exec {cmd}: {p}"),
            Err(e) => fail(format!("--exec {cmd}: {e}")),
        }
    }
    dev.start_slow_thread()
        .unwrap_or_else(|e| fail(format!("slow thread: {e}")));
    if let Some(path) = &opts.control {
        control::serve(path, dev.clone())
            .unwrap_or_else(|e| fail(format!("control socket {path}: {e}")));
    }

    let mut daemon = VhostUserDaemon::new("rvirtio-vub".into(), dev.clone(), mem)
        .unwrap_or_else(|e| fail(format!("daemon: {e}")));
    let mut listener = Listener::new(&opts.socket, true)
        .unwrap_or_else(|e| fail(format!("socket {}: {e}", opts.socket)));
    if let Some(ready) = &opts.ready {
        std::fs::write(ready, b"").unwrap_or_else(|e| fail(format!("ready file {ready}: {e}")));
    }
    log::info!("listening on {}", opts.socket);
    daemon
        .start(&mut listener)
        .unwrap_or_else(|e| fail(format!("accepting the frontend: {e}")));
    log::info!("frontend connected");
    let res = daemon.wait();
    // QEMU does not come back to a server socket: this is the end.
    match res {
        Ok(())
        | Err(vhost_user_backend::Error::HandleRequest(
            vhost::vhost_user::Error::Disconnected | vhost::vhost_user::Error::PartialMessage,
        )) => log::info!("frontend disconnected"),
        Err(e) => log::warn!("frontend connection ended: {e}"),
    }
}
