//! Files read from outside (a user's path, an environment variable's path) are checked before they are read: a
//! regular file, not a directory or a device, and no bigger than what it can sensibly be — so `--chain /dev/zero`
//! or `SYSWALK_BTF_PATH=/dev/zero` is a clear error at once, not a hang or gigabytes of memory.
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Kind, Result};

const MIB: u64 = 1 << 20;
/// A `--chain` TOML file.
pub const CHAIN_FILE_MAX: u64 = MIB;
/// The kernel's BTF (a stock vmlinux's is 5–10 MiB).
pub const BTF_MAX: u64 = 256 * MIB;
/// A System.map text (a stock kernel's is ~5 MiB).
pub const SYSTEM_MAP_MAX: u64 = 256 * MIB;

/// Checks that `path` is a regular file (after symlinks), `what` naming it in the error.
pub fn regular(path: &Path, what: &str, kind: Kind) -> Result<std::fs::Metadata> {
    let m = std::fs::metadata(path)
        .map_err(|e| Error::with_source(kind, format!("cannot read {what} {}: {e}", path.display()), e))?;
    if m.is_dir() {
        return Err(Error::new(kind, format!("{what} {} is a directory, not a file", path.display())));
    }
    if !m.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        let is = if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(Error::new(kind, format!("{what} {} is {is}, not a regular file", path.display())));
    }
    Ok(m)
}

/// Reads a regular file of at most `max` bytes (checked before and while reading: a file can grow).
pub fn read_limited(path: &Path, max: u64, what: &str, kind: Kind) -> Result<Vec<u8>> {
    let m = regular(path, what, kind)?;
    let too_big = |n: u64| {
        Error::new(
            kind,
            format!("{what} {} is {n} bytes or more; syswalk reads at most {max} bytes of it", path.display()),
        )
    };
    if m.len() > max {
        return Err(too_big(m.len()));
    }
    // O_NONBLOCK: a path swapped for a FIFO after the check cannot make the open wait; what was opened is checked
    // again on the descriptor.
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::with_source(kind, format!("cannot read {what} {}: {e}", path.display()), e))?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::new(kind, format!("{what} {} changed into something other than a file", path.display())));
    }
    let mut buf = Vec::with_capacity(m.len() as usize);
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::with_source(kind, format!("reading {what} {}: {e}", path.display()), e))?;
    if buf.len() as u64 > max {
        return Err(too_big(buf.len() as u64));
    }
    Ok(buf)
}

/// As `read_limited`, as UTF-8 text.
pub fn read_text_limited(path: &Path, max: u64, what: &str, kind: Kind) -> Result<String> {
    String::from_utf8(read_limited(path, max, what, kind)?)
        .map_err(|_| Error::new(kind, format!("{what} {} is not UTF-8 text", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_big_files_are_refused_before_reading() {
        let e = read_limited(Path::new("/dev/zero"), 10, "chain file", Kind::Usage).expect_err("a device");
        assert!(e.message.contains("a character device"), "{e}");
        assert_eq!(e.kind, Kind::Usage);
        let e = read_limited(Path::new("/"), 10, "chain file", Kind::Usage).expect_err("a directory");
        assert!(e.message.contains("is a directory"), "{e}");
        let t = tempfile::tempdir().expect("tmp");
        let p = t.path().join("big");
        std::fs::write(&p, vec![b'x'; 11]).expect("write");
        let e = read_limited(&p, 10, "chain file", Kind::Usage).expect_err("too big");
        assert!(e.message.contains("at most 10 bytes"), "{e}");
        std::fs::write(&p, b"ok").expect("write");
        assert_eq!(read_text_limited(&p, 10, "chain file", Kind::Usage).ok().as_deref(), Some("ok"));
        let e = read_limited(&t.path().join("absent"), 10, "chain file", Kind::NoBtf).expect_err("absent");
        assert_eq!(e.kind, Kind::NoBtf);
    }
}
