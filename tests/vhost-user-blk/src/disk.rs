// SPDX-License-Identifier: GPL-2.0
//! The backing store: RAM (zeroes at start) or a file.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;

pub enum Store {
    Ram(Vec<u8>),
    File(File),
}

pub struct Disk {
    store: Store,
    size: u64,
}

fn out_of_range(off: u64, len: usize, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("bytes {off}+{len} are past the end ({size})"),
    )
}

impl Disk {
    pub fn ram(size: u64) -> io::Result<Disk> {
        let n = usize::try_from(size)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "size too large"))?;
        Ok(Disk {
            store: Store::Ram(vec![0u8; n]),
            size,
        })
    }

    /// Open PATH read-write (read-only if `ro`); with `size`, make it that
    /// long.
    pub fn file(path: &str, size: Option<u64>, ro: bool) -> io::Result<Disk> {
        let f = OpenOptions::new().read(true).write(!ro).open(path)?;
        if let Some(size) = size {
            if !ro {
                f.set_len(size)?;
            }
        }
        let size = f.metadata()?.len();
        Ok(Disk {
            store: Store::File(f),
            size,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `len` bytes at `off` are inside the disk.
    pub fn in_range(&self, off: u64, len: u64) -> bool {
        off.checked_add(len).is_some_and(|end| end <= self.size)
    }

    pub fn read(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if !self.in_range(off, buf.len() as u64) {
            return Err(out_of_range(off, buf.len(), self.size));
        }
        match &mut self.store {
            Store::Ram(v) => {
                // In range, so off and off + len fit in usize.
                let o = off as usize;
                buf.copy_from_slice(&v[o..o + buf.len()]);
                Ok(())
            }
            Store::File(f) => f.read_exact_at(buf, off),
        }
    }

    pub fn write(&mut self, off: u64, buf: &[u8]) -> io::Result<()> {
        if !self.in_range(off, buf.len() as u64) {
            return Err(out_of_range(off, buf.len(), self.size));
        }
        match &mut self.store {
            Store::Ram(v) => {
                let o = off as usize;
                v[o..o + buf.len()].copy_from_slice(buf);
                Ok(())
            }
            Store::File(f) => f.write_all_at(buf, off),
        }
    }

    pub fn zero(&mut self, off: u64, len: u64) -> io::Result<()> {
        if !self.in_range(off, len) {
            return Err(out_of_range(off, len as usize, self.size));
        }
        match &mut self.store {
            Store::Ram(v) => {
                let o = off as usize;
                v[o..o + len as usize].fill(0);
                Ok(())
            }
            Store::File(f) => {
                let zeroes = vec![0u8; 1 << 20];
                let mut done = 0u64;
                while done < len {
                    let n = (len - done).min(zeroes.len() as u64) as usize;
                    f.write_all_at(&zeroes[..n], off + done)?;
                    done += n as u64;
                }
                Ok(())
            }
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.store {
            Store::Ram(_) => Ok(()),
            Store::File(f) => f.sync_data(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_bounds() {
        let mut d = Disk::ram(4096).unwrap();
        d.write(512, &[1, 2, 3]).unwrap();
        let mut b = [0u8; 4];
        d.read(511, &mut b).unwrap();
        assert_eq!(b, [0, 1, 2, 3]);
        assert!(d.read(4094, &mut b).is_err());
        assert!(d.write(u64::MAX, &[1]).is_err());
        d.zero(512, 2).unwrap();
        d.read(511, &mut b).unwrap();
        assert_eq!(b, [0, 0, 0, 3]);
        assert!(d.zero(4000, 97).is_err());
        assert!(d.in_range(4096, 0));
        assert!(!d.in_range(4096, 1));
    }
}
