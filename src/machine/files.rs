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

fn too_big(path: &Path, n: u64, max: u64, what: &str, kind: Kind) -> Error {
    Error::new(kind, format!("{what} {} is {n} bytes or more; syswalk reads at most {max} bytes of it", path.display()))
}

/// Opens a regular file of at most `max` bytes (checked on the path, then again on the open descriptor).
pub fn open_limited(path: &Path, max: u64, what: &str, kind: Kind) -> Result<std::fs::File> {
    let m = regular(path, what, kind)?;
    if m.len() > max {
        return Err(too_big(path, m.len(), max, what, kind));
    }
    // O_NONBLOCK: a path swapped for a FIFO after the check cannot make the open wait; what was opened is checked
    // again on the descriptor.
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::with_source(kind, format!("cannot read {what} {}: {e}", path.display()), e))?;
    match f.metadata() {
        Ok(m) if m.is_file() && m.len() > max => Err(too_big(path, m.len(), max, what, kind)),
        Ok(m) if m.is_file() => Ok(f),
        _ => Err(Error::new(kind, format!("{what} {} changed into something other than a file", path.display()))),
    }
}

/// Reads a regular file of at most `max` bytes (checked before and while reading: a file can grow).
pub fn read_limited(path: &Path, max: u64, what: &str, kind: Kind) -> Result<Vec<u8>> {
    let f = open_limited(path, max, what, kind)?;
    let too_big = |n: u64| too_big(path, n, max, what, kind);
    let mut buf = Vec::with_capacity(f.metadata().map_or(0, |m| m.len()) as usize);
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

/// A folder syswalk writes files into (`site -o DIR`), held open by a descriptor: every file is made, replaced,
/// read and removed relative to it (`*at()` calls), so nothing the folder's owner does to its entries — a symlink
/// planted at a file's name at any moment, or at the temporary name — makes syswalk write, read or remove
/// outside it, and a rename of the path itself does not redirect the writes.
pub struct OutDir {
    fd: std::os::fd::OwnedFd,
}

/// The longest name of one entry (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// `name` as one entry of a folder: not empty, `.` or `..`, no `/` or NUL, at most NAME_MAX bytes.
fn entry_name(name: &str) -> std::io::Result<&str> {
    let ok = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']) && name.len() <= NAME_MAX;
    if ok {
        Ok(name)
    } else {
        let shown: String = name.chars().take(64).collect();
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{:?}{} is not the name of one file ({} bytes)",
                shown,
                if shown.len() < name.len() { "…" } else { "" },
                name.len()
            ),
        ))
    }
}

/// A name no other process can predict (the hasher's keys are random per process and per call).
fn temp_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!(".syswalk-tmp-{:016x}", h.finish())
}

impl OutDir {
    /// Opens `path` as a folder (`O_DIRECTORY|O_NOFOLLOW`: a symlink as its last component is refused, ELOOP),
    /// creating it (mode 0755 less the umask) when it is absent and `create`. Returns it and whether it was created.
    pub fn open(path: &Path, create: bool) -> std::io::Result<(OutDir, bool)> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => Ok((OutDir { fd }, false)),
            Err(rustix::io::Errno::NOENT) if create => {
                rustix::fs::mkdir(path, Mode::from_raw_mode(0o755))?;
                Ok((OutDir { fd: rustix::fs::open(path, flags, Mode::empty())? }, true))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Takes the folder's lock (`flock` on its descriptor, held until this is dropped) without waiting: false when
    /// another process holds it.
    pub fn try_lock(&self) -> std::io::Result<bool> {
        match rustix::fs::flock(&self.fd, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The names of the folder's entries (without `.` and `..`).
    pub fn entries(&self) -> std::io::Result<Vec<String>> {
        let mut v = Vec::new();
        for e in rustix::fs::Dir::read_from(&self.fd)? {
            let e = e?;
            let n = e.file_name().to_string_lossy().into_owned();
            if n != "." && n != ".." {
                v.push(n);
            }
        }
        Ok(v)
    }

    /// Writes `name` whole: into a new temporary file (`O_CREAT|O_EXCL|O_NOFOLLOW`: never an existing file or a
    /// symlink's target), renamed over `name` (a symlink there is replaced, not followed; a reader sees the old
    /// file or the new one, never half of one).
    pub fn write(&self, name: &str, body: &[u8]) -> std::io::Result<()> {
        self.write_via(name, body, temp_name)
    }

    /// `write` with the temporary names from `tmp` (a test plants symlinks at the names it will be given).
    fn write_via(&self, name: &str, body: &[u8], mut tmp: impl FnMut() -> String) -> std::io::Result<()> {
        use rustix::fs::{Mode, OFlags};
        use std::io::Write as _;
        let name = entry_name(name)?;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        for _ in 0..16 {
            let tmp = tmp();
            let fd = match rustix::fs::openat(&self.fd, &tmp, flags, Mode::from_raw_mode(0o644)) {
                Ok(fd) => fd,
                // Taken (by anything, a symlink included): another name.
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut f = std::fs::File::from(fd);
            let done = f
                .write_all(body)
                .and_then(|()| rustix::fs::renameat(&self.fd, &tmp, &self.fd, name).map_err(std::io::Error::from));
            if done.is_err() {
                let _ = rustix::fs::unlinkat(&self.fd, &tmp, rustix::fs::AtFlags::empty());
            }
            return done;
        }
        Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "16 temporary names in a row were taken"))
    }

    /// Checks that files can be made in the folder (a read-only mount refuses even root): makes a temporary file
    /// and removes it.
    pub fn check_writable(&self) -> std::io::Result<()> {
        use rustix::fs::{Mode, OFlags};
        let tmp = temp_name();
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        drop(rustix::fs::openat(&self.fd, &tmp, flags, Mode::from_raw_mode(0o600))?);
        rustix::fs::unlinkat(&self.fd, &tmp, rustix::fs::AtFlags::empty())?;
        Ok(())
    }

    /// Removes the entry `name` itself (a symlink, not what it points to). Absent is not an error.
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        match rustix::fs::unlinkat(&self.fd, entry_name(name)?, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the entry `name` if it is a regular file of at most `max` bytes; None when it is absent. A symlink is
    /// refused (`O_NOFOLLOW`), and so is anything but a regular file — told by `fstat` on what was opened, opened
    /// `O_NONBLOCK` so a FIFO cannot make the open wait.
    pub fn read_regular(&self, name: &str, max: u64) -> std::io::Result<Option<Vec<u8>>> {
        use rustix::fs::{FileType, Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let refuse =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("is {what}, not a regular file"));
        let fd = match rustix::fs::openat(&self.fd, entry_name(name)?, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => return Err(refuse("a symbolic link")),
            Err(e) => return Err(e.into()),
        };
        let st = rustix::fs::fstat(&fd)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Fifo => return Err(refuse("a FIFO")),
            FileType::CharacterDevice => return Err(refuse("a character device")),
            FileType::BlockDevice => return Err(refuse("a block device")),
            FileType::Directory => return Err(refuse("a directory")),
            FileType::Socket => return Err(refuse("a socket")),
            _ => return Err(refuse("something else")),
        }
        if st.st_size as u64 > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("is {} bytes; at most {max} are read", st.st_size),
            ));
        }
        let mut buf = Vec::new();
        std::fs::File::from(fd).take(max + 1).read_to_end(&mut buf)?;
        if buf.len() as u64 > max {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("grew past {max} bytes")));
        }
        Ok(Some(buf))
    }
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

    /// The write primitive never writes through a symlink planted at the page's name or at a temporary name:
    /// the outside file keeps its bytes and the page is a regular file with the new ones.
    #[test]
    fn a_planted_symlink_is_replaced_never_written_through() {
        let t = tempfile::tempdir().expect("tmp");
        let outside = t.path().join("outside.txt");
        std::fs::write(&outside, "outside").expect("outside");
        let dir = t.path().join("site");
        let (d, created) = OutDir::open(&dir, true).expect("open");
        assert!(created);
        std::os::unix::fs::symlink(&outside, dir.join("index.html")).expect("symlink at the name");
        // And at the first temporary name the writer will try (the real names are random; here they are given).
        std::os::unix::fs::symlink(&outside, dir.join(".syswalk-tmp-planted")).expect("symlink at the temp name");
        let mut names = [".syswalk-tmp-planted", ".syswalk-tmp-fresh"].into_iter().map(String::from);
        d.write_via("index.html", b"new page", || names.next().unwrap_or_else(temp_name)).expect("write");
        assert!(std::fs::symlink_metadata(dir.join(".syswalk-tmp-planted")).is_ok_and(|m| m.is_symlink()));
        assert!(std::fs::symlink_metadata(dir.join(".syswalk-tmp-fresh")).is_err(), "renamed into place");
        assert_eq!(std::fs::read_to_string(&outside).expect("outside"), "outside", "written through a symlink");
        let m = std::fs::symlink_metadata(dir.join("index.html")).expect("page");
        assert!(m.file_type().is_file(), "the page is a regular file, not the symlink");
        assert_eq!(std::fs::read_to_string(dir.join("index.html")).expect("page"), "new page");
        // Removal takes the symlink itself, never its target.
        std::os::unix::fs::symlink(&outside, dir.join("old.html")).expect("symlink");
        d.remove("old.html").expect("remove");
        assert!(outside.exists() && std::fs::symlink_metadata(dir.join("old.html")).is_err());
        assert!(d.write("../escape.html", b"x").is_err() && d.write(&"x".repeat(300), b"x").is_err());
        assert!(!t.path().join("escape.html").exists());
        // The folder itself as a symlink is refused.
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).expect("dir link");
        assert!(OutDir::open(&link, true).is_err());
        // Two holders of the lock: the second is told at once.
        assert!(d.try_lock().expect("lock"));
        let (d2, _) = OutDir::open(&dir, false).expect("open again");
        assert!(!d2.try_lock().expect("lock"), "a second build into one folder is locked out");
    }

    /// A FIFO or a symlink to /dev/zero where a file is read is refused at once (a watchdog fails the test instead
    /// of hanging it).
    #[test]
    fn a_fifo_or_a_device_link_is_refused_at_once() {
        let t = tempfile::tempdir().expect("tmp");
        let (d, _) = OutDir::open(t.path(), false).expect("open");
        let fifo = std::ffi::CString::new(t.path().join("fifo").into_os_string().into_encoded_bytes()).expect("c");
        // SAFETY: `fifo` is a NUL-terminated path that lives across the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
        std::os::unix::fs::symlink("/dev/zero", t.path().join("zero")).expect("symlink");
        std::fs::write(t.path().join("big"), vec![b'x'; 11]).expect("big");
        let (tx, rx) = std::sync::mpsc::channel();
        let p = t.path().to_path_buf();
        std::thread::spawn(move || {
            let d = OutDir::open(&p, false).expect("open").0;
            let r: Vec<String> = ["fifo", "zero", "big"]
                .iter()
                .map(|n| d.read_regular(n, 10).map(|_| String::new()).unwrap_or_else(|e| e.to_string()))
                .collect();
            let _ = tx.send(r);
        });
        let r = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("a hostile file made the read hang");
        assert!(r[0].contains("a FIFO"), "{r:?}");
        assert!(r[1].contains("a symbolic link"), "{r:?}");
        assert!(r[2].contains("at most 10"), "{r:?}");
        assert_eq!(d.read_regular("absent", 10).expect("absent"), None);
        std::fs::write(t.path().join("ok"), "ok").expect("ok");
        assert_eq!(d.read_regular("ok", 10).expect("ok").as_deref(), Some(&b"ok"[..]));
    }
}
