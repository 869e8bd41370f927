// SPDX-License-Identifier: GPL-2.0
//! The control socket's commands: one line in, one line out ("ok ..." or
//! "err ...").

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::thread;

/// Misbehaviours that happen once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// A used entry whose id is the queue size (injected now).
    IdRange,
    /// A used entry whose id is no request in flight (injected now).
    IdFree,
    /// The next request is completed twice.
    Dup,
    /// The next request's used length is larger than its buffers.
    Len,
    /// The next request is completed without its status byte written.
    NoStatus,
}

impl Hostile {
    pub fn name(self) -> &'static str {
        match self {
            Hostile::IdRange => "id-range",
            Hostile::IdFree => "id-free",
            Hostile::Dup => "dup",
            Hostile::Len => "len",
            Hostile::NoStatus => "nostatus",
        }
    }

    /// Injected into the used ring at once, rather than on the next request.
    pub fn immediate(self) -> bool {
        matches!(self, Hostile::IdRange | Hostile::IdFree)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    Hold(bool),
    Lose(u64),
    IgnoreKick(u64),
    Slow(Option<u64>),
    Hostile(Hostile, u16),
    Kick(u16),
    Notify(u16),
    Vanish,
    Status,
    Release,
    Help,
}

pub const HELP: &str = "hold on|off, lose N, ignore-kick N, slow MS|off, \
hostile id-range|id-free|dup|len|nostatus [QUEUE], kick [QUEUE], notify [QUEUE], \
release, vanish, status, help";

fn number(word: Option<&str>, what: &str) -> Result<u64, String> {
    let w = word.ok_or_else(|| format!("{what} is missing"))?;
    crate::args::parse_u64(w).map_err(|e| format!("{what}: {e}"))
}

fn queue(word: Option<&str>) -> Result<u16, String> {
    match word {
        None => Ok(0),
        Some(w) => {
            let n = crate::args::parse_u64(w).map_err(|e| format!("queue: {e}"))?;
            u16::try_from(n).map_err(|_| format!("queue {n} is out of range"))
        }
    }
}

pub fn parse(line: &str) -> Result<Cmd, String> {
    let mut w = line.split_whitespace();
    let name = w.next().unwrap_or("");
    let a1 = w.next();
    let a2 = w.next();
    let cmd = match name {
        "hold" => match a1 {
            Some("on") => Cmd::Hold(true),
            Some("off") => Cmd::Hold(false),
            _ => return Err("usage: hold on|off".into()),
        },
        "lose" => Cmd::Lose(number(a1, "lose N")?),
        "ignore-kick" => Cmd::IgnoreKick(number(a1, "ignore-kick N")?),
        "slow" => match a1 {
            Some("off") => Cmd::Slow(None),
            _ => {
                let ms = number(a1, "slow MS")?;
                if ms == 0 {
                    return Err("slow 0: say slow off".into());
                }
                Cmd::Slow(Some(ms))
            }
        },
        "hostile" => {
            let kind = match a1 {
                Some("id-range") => Hostile::IdRange,
                Some("id-free") => Hostile::IdFree,
                Some("dup") => Hostile::Dup,
                Some("len") => Hostile::Len,
                Some("nostatus") => Hostile::NoStatus,
                _ => return Err("usage: hostile id-range|id-free|dup|len|nostatus [QUEUE]".into()),
            };
            Cmd::Hostile(kind, queue(a2)?)
        }
        "kick" => Cmd::Kick(queue(a1)?),
        "notify" => Cmd::Notify(queue(a1)?),
        "vanish" => Cmd::Vanish,
        "status" => Cmd::Status,
        "release" => Cmd::Release,
        "help" => Cmd::Help,
        "" => return Err("empty request".into()),
        _ => return Err(format!("unknown command '{name}' ({HELP})")),
    };
    let extra = match cmd {
        Cmd::Hold(_) | Cmd::Lose(_) | Cmd::IgnoreKick(_) | Cmd::Slow(_) => a2,
        Cmd::Hostile(..) => w.next(),
        Cmd::Kick(_) | Cmd::Notify(_) => a2,
        _ => a1,
    };
    if let Some(x) = extra {
        return Err(format!("unexpected '{x}'"));
    }
    Ok(cmd)
}

/// What carries out the commands.
pub trait Handler: Send + Sync + 'static {
    /// The reply's payload, or the error message.
    fn control(&self, cmd: Cmd) -> Result<String, String>;
}

/// Serve the control socket at `path`, a thread per connection.
pub fn serve<H: Handler>(path: &str, handler: Arc<H>) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(conn) => {
                        let h = handler.clone();
                        let _ = thread::Builder::new()
                            .name("control-conn".into())
                            .spawn(move || connection(conn, h));
                    }
                    Err(e) => log::warn!("control socket: accept: {e}"),
                }
            }
        })?;
    Ok(())
}

fn connection<H: Handler>(conn: UnixStream, handler: Arc<H>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { return };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = parse(line);
        let vanish = parsed == Ok(Cmd::Vanish);
        let reply = match parsed.and_then(|c| handler.control(c)) {
            Ok(p) => format!("ok {p}"),
            Err(e) => format!("err {e}"),
        };
        if line == "status" {
            log::debug!("control: {line} -> {reply}");
        } else {
            log::info!("control: {line} -> {reply}");
        }
        if out
            .write_all(format!("{}\n", reply.trim_end()).as_bytes())
            .is_err()
        {
            return;
        }
        if vanish {
            let _ = out.flush();
            log::warn!("vanish: exiting, which closes the vhost-user socket");
            std::process::exit(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("hold on"), Ok(Cmd::Hold(true)));
        assert_eq!(parse("  hold   off "), Ok(Cmd::Hold(false)));
        assert_eq!(parse("lose 3"), Ok(Cmd::Lose(3)));
        assert_eq!(parse("ignore-kick 0x2"), Ok(Cmd::IgnoreKick(2)));
        assert_eq!(parse("slow 50"), Ok(Cmd::Slow(Some(50))));
        assert_eq!(parse("slow off"), Ok(Cmd::Slow(None)));
        assert_eq!(parse("hostile dup"), Ok(Cmd::Hostile(Hostile::Dup, 0)));
        assert_eq!(
            parse("hostile id-range 1"),
            Ok(Cmd::Hostile(Hostile::IdRange, 1))
        );
        assert_eq!(parse("kick"), Ok(Cmd::Kick(0)));
        assert_eq!(parse("notify 2"), Ok(Cmd::Notify(2)));
        assert_eq!(parse("status"), Ok(Cmd::Status));
        assert_eq!(parse("release"), Ok(Cmd::Release));
        assert_eq!(parse("vanish"), Ok(Cmd::Vanish));
    }

    #[test]
    fn refuses() {
        for bad in [
            "",
            "hold",
            "hold maybe",
            "lose",
            "lose -1",
            "lose x",
            "slow 0",
            "slow",
            "hostile",
            "hostile evil",
            "hostile dup 70000",
            "status now",
            "hold on now",
            "bogus",
            "lose 1 2",
            "hostile dup 0 0",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
