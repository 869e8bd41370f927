// SPDX-License-Identifier: GPL-2.0
//! A virtio-blk request: its descriptor chain parsed into byte ranges of
//! guest memory, and carried out against the disk.
//!
//! Nothing the guest puts in a chain may crash the backend: a chain that
//! does not make sense is answered VIRTIO_BLK_S_IOERR (or, without even a
//! writable byte for the status, completed with nothing written).

use crate::config::SECTOR;
use crate::disk::Disk;
use virtio_bindings::bindings::virtio_blk::*;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

/// Guest memory as vhost-user maps it.
pub type Mem = GuestMemoryMmap<()>;

/// One descriptor as the chain gave it: address, length, device-writable.
pub type Desc = (u64, u32, bool);

/// A list of guest memory ranges, read or written in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segs(pub Vec<(u64, u32)>);

impl Segs {
    pub fn total(&self) -> u64 {
        self.0.iter().map(|&(_, l)| u64::from(l)).sum()
    }

    /// Bytes `[from, from + len)` of the list, clipped to its end.
    pub fn range(&self, from: u64, len: u64) -> Segs {
        let mut out = Vec::new();
        let (mut pos, end) = (0u64, from.saturating_add(len));
        for &(addr, l) in &self.0 {
            let (s, e) = (pos, pos + u64::from(l));
            pos = e;
            let (a, b) = (s.max(from), e.min(end));
            if a < b {
                // a - s < l and b - a <= l, so both fit in u32.
                out.push((addr.wrapping_add(a - s), (b - a) as u32));
            }
        }
        Segs(out)
    }

    /// Everything but the last byte, and the last byte's address.
    pub fn split_last(&self) -> Option<(Segs, u64)> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let last = self.range(total - 1, 1);
        let &(addr, _) = last.0.first()?;
        Some((self.range(0, total - 1), addr))
    }

    /// Read the list into `buf` (as many bytes as fit).
    pub fn read(&self, mem: &Mem, buf: &mut [u8]) -> Result<(), String> {
        let mut done = 0usize;
        for &(addr, l) in &self.0 {
            if done >= buf.len() {
                break;
            }
            let n = (l as usize).min(buf.len() - done);
            mem.read_slice(&mut buf[done..done + n], GuestAddress(addr))
                .map_err(|e| format!("reading guest memory at {addr:#x}+{n}: {e:?}"))?;
            done += n;
        }
        Ok(())
    }
}

/// A request taken off a ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub head: u16,
    pub kind: u32,
    pub sector: u64,
    /// Device-readable data after the 16-byte header.
    pub out: Segs,
    /// Device-writable data before the status byte.
    pub inb: Segs,
    /// The status byte.
    pub status: Option<u64>,
    /// Every device-writable byte: the used length of a normal completion.
    pub writable: u32,
    /// Why the chain is malformed (answered IOERR without doing anything).
    pub error: Option<String>,
}

/// Parse the chain `descs` of head `head`: device-readable descriptors,
/// then device-writable ones (virtio 2.7.4.2); the first 16 readable bytes
/// are the header, the last writable byte is the status.
pub fn parse(mem: &Mem, head: u16, descs: &[Desc]) -> Request {
    let mut readable = Vec::new();
    let mut writable = Vec::new();
    let mut error = None;
    for &(addr, len, w) in descs {
        if w {
            writable.push((addr, len));
        } else if !writable.is_empty() {
            error.get_or_insert_with(|| "a device-readable descriptor after a writable one".into());
        } else {
            readable.push((addr, len));
        }
        if addr.checked_add(u64::from(len)).is_none() {
            error.get_or_insert_with(|| format!("descriptor {addr:#x}+{len} wraps around"));
        }
    }
    let (readable, writable) = (Segs(readable), Segs(writable));
    let wtotal = writable.total();
    let (inb, status) = match writable.split_last() {
        Some((inb, st)) => (inb, Some(st)),
        None => (Segs::default(), None),
    };
    if descs.is_empty() {
        error.get_or_insert_with(|| "an empty descriptor chain".into());
    }
    if status.is_none() {
        error.get_or_insert_with(|| "no device-writable byte for the status".into());
    }
    let mut hdr = [0u8; 16];
    let (mut kind, mut sector) = (u32::MAX, 0);
    if readable.total() < 16 {
        error.get_or_insert_with(|| format!("a {}-byte header", readable.total()));
    } else {
        match readable.range(0, 16).read(mem, &mut hdr) {
            Ok(()) => {
                kind = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                sector = u64::from_le_bytes([
                    hdr[8], hdr[9], hdr[10], hdr[11], hdr[12], hdr[13], hdr[14], hdr[15],
                ]);
            }
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    let writable_len = u32::try_from(wtotal).unwrap_or(u32::MAX);
    Request {
        head,
        kind,
        sector,
        out: readable.range(16, u64::MAX),
        inb,
        status,
        writable: writable_len,
        error,
    }
}

/// What the device offers, as far as carrying out requests goes.
pub struct Caps<'a> {
    pub serial: &'a str,
    pub read_only: bool,
    pub flush: bool,
    pub discard: bool,
    pub write_zeroes: bool,
}

pub fn kind_name(kind: u32) -> &'static str {
    match kind {
        VIRTIO_BLK_T_IN => "IN",
        VIRTIO_BLK_T_OUT => "OUT",
        VIRTIO_BLK_T_FLUSH => "FLUSH",
        VIRTIO_BLK_T_GET_ID => "GET_ID",
        VIRTIO_BLK_T_DISCARD => "DISCARD",
        VIRTIO_BLK_T_WRITE_ZEROES => "WRITE_ZEROES",
        VIRTIO_BLK_T_SECURE_ERASE => "SECURE_ERASE",
        u32::MAX => "(none)",
        _ => "unknown",
    }
}

/// Bounce buffers are at most this large.
const CHUNK: usize = 1 << 20;

fn data_range(disk: &Disk, sector: u64, len: u64) -> Result<u64, String> {
    if !len.is_multiple_of(SECTOR) {
        return Err(format!("{len} bytes is not a whole number of sectors"));
    }
    let off = sector
        .checked_mul(SECTOR)
        .ok_or_else(|| format!("sector {sector} overflows"))?;
    if !disk.in_range(off, len) {
        return Err(format!(
            "sectors {sector}+{} are past the end ({} sectors)",
            len / SECTOR,
            disk.size() / SECTOR
        ));
    }
    Ok(off)
}

/// Carry out `req` against `disk`; the status to write, and on failure why.
pub fn execute(mem: &Mem, req: &Request, disk: &mut Disk, caps: &Caps) -> (u8, Option<String>) {
    const OK: u8 = VIRTIO_BLK_S_OK as u8;
    const IOERR: u8 = VIRTIO_BLK_S_IOERR as u8;
    const UNSUPP: u8 = VIRTIO_BLK_S_UNSUPP as u8;
    if let Some(e) = &req.error {
        return (IOERR, Some(e.clone()));
    }
    let r = match req.kind {
        VIRTIO_BLK_T_IN => data_range(disk, req.sector, req.inb.total()).and_then(|off| {
            let mut buf = Vec::new();
            each_chunk(&req.inb, off, |pos, a, n| {
                buf.resize(n, 0);
                disk.read(pos, &mut buf).map_err(|e| e.to_string())?;
                mem.write_slice(&buf, GuestAddress(a))
                    .map_err(|e| format!("writing guest memory at {a:#x}+{n}: {e:?}"))
            })
            .map(|()| OK)
        }),
        VIRTIO_BLK_T_OUT if caps.read_only => Err("a write to a read-only disk".into()),
        VIRTIO_BLK_T_OUT => data_range(disk, req.sector, req.out.total()).and_then(|off| {
            let mut buf = Vec::new();
            each_chunk(&req.out, off, |pos, a, n| {
                buf.resize(n, 0);
                mem.read_slice(&mut buf, GuestAddress(a))
                    .map_err(|e| format!("reading guest memory at {a:#x}+{n}: {e:?}"))?;
                disk.write(pos, &buf).map_err(|e| e.to_string())
            })
            .map(|()| OK)
        }),
        VIRTIO_BLK_T_FLUSH if caps.flush => disk.flush().map(|_| OK).map_err(|e| e.to_string()),
        VIRTIO_BLK_T_GET_ID => {
            // The serial, zero-padded, in at most 20 bytes.
            let n = req.inb.total().min(20) as usize;
            let mut id = [0u8; 20];
            let s = caps.serial.as_bytes();
            id[..s.len().min(20)].copy_from_slice(&s[..s.len().min(20)]);
            let mut done = 0usize;
            let mut res = Ok(OK);
            for &(addr, len) in &req.range_in(n).0 {
                let l = len as usize;
                if let Err(e) = mem.write_slice(&id[done..done + l], GuestAddress(addr)) {
                    res = Err(format!("writing guest memory at {addr:#x}: {e:?}"));
                    break;
                }
                done += l;
            }
            res
        }
        VIRTIO_BLK_T_DISCARD if caps.discard => zero_segments(mem, req, disk, caps),
        VIRTIO_BLK_T_WRITE_ZEROES if caps.write_zeroes => zero_segments(mem, req, disk, caps),
        _ => return (UNSUPP, None),
    };
    match r {
        Ok(s) => (s, None),
        Err(e) => (IOERR, Some(e)),
    }
}

/// Calls `f(disk offset, guest address, length)` for each piece of at
/// most [`CHUNK`] bytes of the guest buffers `segs`, the disk offsets
/// running on from `off`; stops at the first error.
fn each_chunk(
    segs: &Segs,
    off: u64,
    mut f: impl FnMut(u64, u64, usize) -> Result<(), String>,
) -> Result<(), String> {
    let mut pos = off;
    for &(addr, len) in &segs.0 {
        let mut done = 0u64;
        while done < u64::from(len) {
            let n = (u64::from(len) - done).min(CHUNK as u64) as usize;
            f(pos, addr + done, n)?;
            pos += n as u64;
            done += n as u64;
        }
    }
    Ok(())
}

impl Request {
    fn range_in(&self, n: usize) -> Segs {
        self.inb.range(0, n as u64)
    }
}

/// DISCARD and WRITE_ZEROES: 16-byte {sector, num_sectors, flags} segments;
/// both leave zeroes.
fn zero_segments(mem: &Mem, req: &Request, disk: &mut Disk, caps: &Caps) -> Result<u8, String> {
    if caps.read_only {
        return Err("a discard or write-zeroes on a read-only disk".into());
    }
    let total = req.out.total();
    if total == 0
        || !total.is_multiple_of(16)
        || total / 16 > u64::from(crate::config::MAX_DISCARD_SEG)
    {
        return Err(format!("{total} bytes of discard segments"));
    }
    let mut buf = vec![0u8; total as usize];
    req.out.read(mem, &mut buf)?;
    for seg in buf.chunks_exact(16) {
        let mut s = [0u8; 8];
        s.copy_from_slice(&seg[0..8]);
        let sector = u64::from_le_bytes(s);
        let n = u32::from_le_bytes([seg[8], seg[9], seg[10], seg[11]]);
        if n > crate::config::MAX_DISCARD_SECTORS {
            return Err(format!("{n} sectors in one segment"));
        }
        let len = u64::from(n) * SECTOR;
        let off = data_range(disk, sector, len)?;
        disk.zero(off, len).map_err(|e| e.to_string())?;
    }
    Ok(VIRTIO_BLK_S_OK as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> Mem {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(0x10000), 0x10000)]).unwrap()
    }

    fn header(m: &Mem, at: u64, kind: u32, sector: u64) {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&kind.to_le_bytes());
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        m.write_slice(&h, GuestAddress(at)).unwrap();
    }

    fn caps() -> Caps<'static> {
        Caps {
            serial: "vub-serial",
            read_only: false,
            flush: true,
            discard: true,
            write_zeroes: true,
        }
    }

    #[test]
    fn segs() {
        let s = Segs(vec![(100, 10), (200, 5), (300, 1)]);
        assert_eq!(s.total(), 16);
        assert_eq!(s.range(8, 4), Segs(vec![(108, 2), (200, 2)]));
        assert_eq!(s.range(15, 100), Segs(vec![(300, 1)]));
        assert_eq!(s.range(16, 1), Segs(vec![]));
        let (rest, last) = s.split_last().unwrap();
        assert_eq!(last, 300);
        assert_eq!(rest, Segs(vec![(100, 10), (200, 5)]));
        assert_eq!(Segs(vec![(5, 0)]).split_last(), None);
    }

    #[test]
    fn write_then_read() {
        let m = mem();
        let mut d = Disk::ram(1 << 20).unwrap();
        // OUT: header and data in one descriptor, status separate.
        header(&m, 0x10000, VIRTIO_BLK_T_OUT, 3);
        m.write_slice(&[0xab; 1024], GuestAddress(0x10010)).unwrap();
        let r = parse(&m, 0, &[(0x10000, 16 + 1024, false), (0x11000, 1, true)]);
        assert_eq!(r.error, None);
        assert_eq!(r.writable, 1);
        assert_eq!(execute(&m, &r, &mut d, &caps()), (0, None));
        // IN into two descriptors, the status byte sharing the last one.
        header(&m, 0x12000, VIRTIO_BLK_T_IN, 3);
        let r = parse(
            &m,
            1,
            &[
                (0x12000, 16, false),
                (0x13000, 512, true),
                (0x14000, 513, true),
            ],
        );
        assert_eq!(r.status, Some(0x14000 + 512));
        assert_eq!(r.writable, 1025);
        assert_eq!(execute(&m, &r, &mut d, &caps()), (0, None));
        let mut b = [0u8; 512];
        m.read_slice(&mut b, GuestAddress(0x14000)).unwrap();
        assert_eq!(b, [0xab; 512]);
    }

    #[test]
    fn malformed() {
        let m = mem();
        let mut d = Disk::ram(1 << 20).unwrap();
        // No status byte.
        let r = parse(&m, 0, &[(0x10000, 16, false)]);
        assert!(r.error.is_some() && r.status.is_none());
        // Readable after writable.
        let r = parse(
            &m,
            0,
            &[
                (0x10000, 16, false),
                (0x11000, 1, true),
                (0x12000, 1, false),
            ],
        );
        assert!(r.error.is_some());
        // Header outside guest memory.
        let r = parse(&m, 0, &[(0x1_0000_0000, 16, false), (0x11000, 1, true)]);
        assert!(r.error.is_some());
        assert_eq!(execute(&m, &r, &mut d, &caps()).0, 1);
        // Past the end, not whole sectors, a wrapping descriptor.
        header(&m, 0x10000, VIRTIO_BLK_T_IN, 2047);
        let r = parse(&m, 0, &[(0x10000, 16, false), (0x11000, 1025, true)]);
        assert_eq!(execute(&m, &r, &mut d, &caps()).0, 1);
        let r = parse(&m, 0, &[(0x10000, 16, false), (0x11000, 101, true)]);
        assert_eq!(execute(&m, &r, &mut d, &caps()).0, 1);
        header(&m, 0x10000, VIRTIO_BLK_T_IN, u64::MAX);
        let r = parse(&m, 0, &[(0x10000, 16, false), (0x11000, 513, true)]);
        assert_eq!(execute(&m, &r, &mut d, &caps()).0, 1);
        let r = parse(&m, 0, &[(0x10000, 16, false), (u64::MAX - 3, 513, true)]);
        assert!(r.error.is_some());
        // Data outside guest memory.
        header(&m, 0x10000, VIRTIO_BLK_T_IN, 0);
        let r = parse(
            &m,
            0,
            &[
                (0x10000, 16, false),
                (0x4000_0000, 512, true),
                (0x11000, 1, true),
            ],
        );
        assert_eq!(execute(&m, &r, &mut d, &caps()).0, 1);
        // Unknown request type.
        header(&m, 0x10000, 77, 0);
        let r = parse(&m, 0, &[(0x10000, 16, false), (0x11000, 1, true)]);
        assert_eq!(execute(&m, &r, &mut d, &caps()), (2, None));
    }

    #[test]
    fn get_id_and_zeroes() {
        let m = mem();
        let mut d = Disk::ram(1 << 20).unwrap();
        header(&m, 0x10000, VIRTIO_BLK_T_GET_ID, 0);
        m.write_slice(&[0xff; 21], GuestAddress(0x11000)).unwrap();
        let r = parse(&m, 0, &[(0x10000, 16, false), (0x11000, 21, true)]);
        assert_eq!(execute(&m, &r, &mut d, &caps()), (0, None));
        let mut b = [0u8; 20];
        m.read_slice(&mut b, GuestAddress(0x11000)).unwrap();
        assert_eq!(&b[..10], b"vub-serial");
        assert_eq!(&b[10..], &[0u8; 10]);
        // WRITE_ZEROES over written data.
        d.write(1024, &[7u8; 1024]).unwrap();
        header(&m, 0x10000, VIRTIO_BLK_T_WRITE_ZEROES, 0);
        let mut seg = [0u8; 16];
        seg[0..8].copy_from_slice(&2u64.to_le_bytes());
        seg[8..12].copy_from_slice(&1u32.to_le_bytes());
        m.write_slice(&seg, GuestAddress(0x10010)).unwrap();
        let r = parse(&m, 0, &[(0x10000, 32, false), (0x11000, 1, true)]);
        assert_eq!(execute(&m, &r, &mut d, &caps()), (0, None));
        let mut b = [9u8; 1024];
        d.read(1024, &mut b).unwrap();
        assert_eq!(&b[..512], &[0u8; 512]);
        assert_eq!(&b[512..], &[7u8; 512]);
        // Without the feature: UNSUPP.
        let c = Caps {
            write_zeroes: false,
            ..caps()
        };
        assert_eq!(execute(&m, &r, &mut d, &c).0, 2);
    }
}
