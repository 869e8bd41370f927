// SPDX-License-Identifier: GPL-2.0
//! The command line: what the device is and how absurd its configuration is.

use std::fmt;

/// Everything the command line sets. The `cfg_*` fields are virtio-blk
/// configuration space values; `None` leaves the field (and its feature bit)
/// out, or at its default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The vhost-user socket this backend listens on (QEMU connects).
    pub socket: String,
    /// The control socket (one line request, one line reply).
    pub control: Option<String>,
    /// Created once both sockets listen.
    pub ready: Option<String>,
    /// Backing file instead of RAM.
    pub file: Option<String>,
    /// Size of the backing store in bytes (RAM, or the file's if not given).
    pub size: Option<u64>,
    /// GET_ID answer (up to 20 bytes).
    pub serial: String,
    /// Virtqueues the backend serves (GET_QUEUE_NUM).
    pub num_queues: u16,
    /// Largest ring the backend accepts (SET_VRING_NUM).
    pub queue_size: u16,
    /// The capacity the config space reports, in 512-byte sectors; default:
    /// the backing store's size.
    pub capacity: Option<u64>,
    pub seg_max: u32,
    pub size_max: Option<u32>,
    pub blk_size: u32,
    pub physical_block_exp: Option<u8>,
    pub alignment_offset: Option<u8>,
    pub min_io_size: Option<u16>,
    pub opt_io_size: Option<u32>,
    /// The config's num_queues field (default: num_queues). QEMU overwrites it.
    pub config_num_queues: Option<u16>,
    pub geometry: Option<(u16, u8, u8)>,
    pub read_only: bool,
    pub flush: bool,
    pub config_wce: bool,
    pub discard: bool,
    pub write_zeroes: bool,
    pub event_idx: bool,
    pub indirect: bool,
    /// Control commands run before QEMU connects (e.g. "hold on").
    pub exec: Vec<String>,
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            socket: String::new(),
            control: None,
            ready: None,
            file: None,
            size: None,
            serial: String::new(),
            num_queues: 8,
            queue_size: 1024,
            capacity: None,
            seg_max: 126,
            size_max: None,
            blk_size: 512,
            physical_block_exp: None,
            alignment_offset: None,
            min_io_size: None,
            opt_io_size: None,
            config_num_queues: None,
            geometry: None,
            read_only: false,
            flush: true,
            config_wce: false,
            discard: false,
            write_zeroes: false,
            event_idx: true,
            indirect: true,
            exec: Vec::new(),
            verbose: false,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ArgError {
    Help,
    Bad(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Help => write!(f, "help"),
            ArgError::Bad(s) => write!(f, "{s}"),
        }
    }
}

pub const USAGE: &str = "\
usage: rvirtio-vub --socket PATH [OPTIONS]

A vhost-user-blk backend for rvirtio's guest tests: a correct RAM- or
file-backed disk by default, whose misbehaviour the control socket switches
on at run time (hold, lose, ignore-kick, slow, hostile, vanish; see
Documentation/testing.rst).

  --socket PATH          vhost-user socket to listen on (QEMU connects)
  --control PATH         control socket: one line request, one line reply
  --ready FILE           create FILE once both sockets listen
  --size N               backing store size (bytes; K, M, G suffixes); 256M
                         for RAM, the file's size with --file
  --file PATH            serve this file instead of RAM
  --serial S             the GET_ID answer (at most 20 bytes)
  --num-queues N         virtqueues served at most, 0..64 (8; QEMU uses its
                         num-queues, by default one per vCPU)
  --queue-size N         largest ring accepted, power of 2 up to 32768 (1024)
  --ro                   offer VIRTIO_BLK_F_RO, refuse writes
  --no-flush             do not offer VIRTIO_BLK_F_FLUSH
  --wce                  offer VIRTIO_BLK_F_CONFIG_WCE (writeback at start)
  --discard              offer DISCARD (the range reads back as zeroes)
  --write-zeroes         offer WRITE_ZEROES
  --no-event-idx         do not offer VIRTIO_RING_F_EVENT_IDX
  --no-indirect          do not offer VIRTIO_RING_F_INDIRECT_DESC
  --exec 'CMD'           run a control command before QEMU connects
                         (repeatable), e.g. --exec 'slow 50'
  --verbose              log every request
Configuration space (any value, absurd ones included):
  --capacity SECTORS     reported capacity (default: the size / 512)
  --seg-max N            (126)
  --size-max N           offers VIRTIO_BLK_F_SIZE_MAX
  --blk-size N           (512)
  --geometry C/H/S       offers VIRTIO_BLK_F_GEOMETRY
  --physical-block-exp N, --alignment-offset N, --min-io-size N,
  --opt-io-size N        any of them offers VIRTIO_BLK_F_TOPOLOGY
  --config-num-queues N  the config's num_queues (QEMU overwrites it)
";

/// A byte count: digits with an optional K, M, G or T suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 30),
        Some('t' | 'T') => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };
    let n = parse_u64(digits)?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// A number, decimal or 0x-hex.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let r = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16)
    } else {
        s.parse::<u64>()
    };
    r.map_err(|_| format!("'{s}' is not a number"))
}

fn num<T: TryFrom<u64>>(opt: &str, s: &str) -> Result<T, ArgError> {
    let n = parse_u64(s).map_err(|e| ArgError::Bad(format!("{opt}: {e}")))?;
    T::try_from(n).map_err(|_| ArgError::Bad(format!("{opt}: {n} is out of range")))
}

fn geometry(s: &str) -> Result<(u16, u8, u8), ArgError> {
    let bad = || ArgError::Bad(format!("--geometry: '{s}' is not C/H/S"));
    let mut it = s.split('/');
    let (c, h, sec) = (it.next(), it.next(), it.next());
    if it.next().is_some() {
        return Err(bad());
    }
    match (c, h, sec) {
        (Some(c), Some(h), Some(sec)) => Ok((
            num("--geometry", c)?,
            num("--geometry", h)?,
            num("--geometry", sec)?,
        )),
        _ => Err(bad()),
    }
}

/// Parse the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, ArgError> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        // --opt=value is --opt value.
        let (opt, inline) = match arg.split_once('=') {
            Some((a, b)) if a.starts_with("--") => (a.to_string(), Some(b.to_string())),
            _ => (arg.clone(), None),
        };
        let flag = |o: &mut Options, opt: &str| -> Result<bool, ArgError> {
            let known = true;
            match opt {
                "--ro" => o.read_only = true,
                "--no-flush" => o.flush = false,
                "--wce" => o.config_wce = true,
                "--discard" => o.discard = true,
                "--write-zeroes" => o.write_zeroes = true,
                "--no-event-idx" => o.event_idx = false,
                "--no-indirect" => o.indirect = false,
                "--verbose" | "-v" => o.verbose = true,
                "--help" | "-h" => return Err(ArgError::Help),
                _ => return Ok(false),
            }
            Ok(known)
        };
        if flag(&mut o, &opt)? {
            if inline.is_some() {
                return Err(ArgError::Bad(format!("{opt} takes no value")));
            }
            continue;
        }
        let val = match inline {
            Some(v) => v,
            None => it
                .next()
                .ok_or_else(|| ArgError::Bad(format!("{opt} needs a value")))?,
        };
        match opt.as_str() {
            "--socket" => o.socket = val,
            "--control" => o.control = Some(val),
            "--ready" => o.ready = Some(val),
            "--file" => o.file = Some(val),
            "--size" => {
                o.size = Some(parse_size(&val).map_err(|e| ArgError::Bad(format!("--size: {e}")))?)
            }
            "--serial" => o.serial = val,
            "--num-queues" => o.num_queues = num(&opt, &val)?,
            "--queue-size" => o.queue_size = num(&opt, &val)?,
            "--capacity" => o.capacity = Some(num(&opt, &val)?),
            "--seg-max" => o.seg_max = num(&opt, &val)?,
            "--size-max" => o.size_max = Some(num(&opt, &val)?),
            "--blk-size" => o.blk_size = num(&opt, &val)?,
            "--physical-block-exp" => o.physical_block_exp = Some(num(&opt, &val)?),
            "--alignment-offset" => o.alignment_offset = Some(num(&opt, &val)?),
            "--min-io-size" => o.min_io_size = Some(num(&opt, &val)?),
            "--opt-io-size" => o.opt_io_size = Some(num(&opt, &val)?),
            "--config-num-queues" => o.config_num_queues = Some(num(&opt, &val)?),
            "--geometry" => o.geometry = Some(geometry(&val)?),
            "--exec" => o.exec.push(val),
            _ => return Err(ArgError::Bad(format!("unknown option {opt} (--help)"))),
        }
    }
    if o.socket.is_empty() {
        return Err(ArgError::Bad("--socket PATH is required".into()));
    }
    if o.num_queues > 64 {
        // vhost-user-backend maps queues to worker threads with u64 masks.
        return Err(ArgError::Bad(format!(
            "--num-queues {}: at most 64 (--config-num-queues sets any config value)",
            o.num_queues
        )));
    }
    if o.queue_size == 0 || !o.queue_size.is_power_of_two() || o.queue_size > 32768 {
        return Err(ArgError::Bad(format!(
            "--queue-size {}: a power of 2 up to 32768",
            o.queue_size
        )));
    }
    if o.serial.len() > 20 {
        return Err(ArgError::Bad("--serial: at most 20 bytes".into()));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, ArgError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert!(parse_size("").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999999999T").is_err());
    }

    #[test]
    fn defaults_and_values() {
        let o = p(&[
            "--socket",
            "/s",
            "--size=64M",
            "--capacity",
            "9223372036854775808",
        ])
        .unwrap();
        assert_eq!(o.socket, "/s");
        assert_eq!(o.size, Some(64 << 20));
        assert_eq!(o.capacity, Some(1 << 63));
        assert_eq!(o.num_queues, 8);
        assert!(o.flush && o.event_idx && o.indirect && !o.discard);
        let o = p(&[
            "--socket",
            "/s",
            "--geometry",
            "1024/16/63",
            "--ro",
            "--exec",
            "hold on",
        ])
        .unwrap();
        assert_eq!(o.geometry, Some((1024, 16, 63)));
        assert!(o.read_only);
        assert_eq!(o.exec, vec!["hold on".to_string()]);
    }

    #[test]
    fn refusals() {
        assert!(p(&[]).is_err());
        assert_eq!(p(&["--socket", "/s", "--help"]), Err(ArgError::Help));
        assert!(p(&["--socket", "/s", "--num-queues", "65"]).is_err());
        assert!(p(&["--socket", "/s", "--queue-size", "100"]).is_err());
        assert!(p(&["--socket", "/s", "--physical-block-exp", "256"]).is_err());
        assert!(p(&["--socket", "/s", "--ro=1"]).is_err());
        assert!(p(&["--socket", "/s", "--bogus", "1"]).is_err());
        assert!(p(&["--socket"]).is_err());
        assert!(p(&["--socket", "/s", "--serial", "123456789012345678901"]).is_err());
        // Absurd but representable values pass.
        assert!(p(&[
            "--socket",
            "/s",
            "--num-queues",
            "0",
            "--config-num-queues",
            "65535"
        ])
        .is_ok());
        assert!(p(&["--socket", "/s", "--seg-max", "0", "--blk-size", "3"]).is_ok());
    }
}
