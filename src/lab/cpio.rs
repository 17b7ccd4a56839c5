//! A writer for the newc cpio format the kernel unpacks as an initramfs.
pub struct Cpio {
    buf: Vec<u8>,
    ino: u32,
}

impl Default for Cpio {
    fn default() -> Self {
        Cpio { buf: Vec::new(), ino: 1 }
    }
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        let name_z = name.len() + 1;
        let fields = [self.ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name_z as u32, 0];
        self.ino += 1;
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }
    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[]);
    }
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | (mode & 0o7777), data);
    }
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn newc_layout() {
        let mut c = Cpio::default();
        c.dir("bin");
        c.file("init", 0o755, b"#!/bin/sh\n");
        let b = c.finish();
        assert_eq!(&b[..6], b"070701");
        assert_eq!(b.len() % 4, 0);
        // header is 110 bytes; "bin\0" padded to 4-byte alignment of 110+4=114 → 116
        assert_eq!(&b[110..113], b"bin");
        let s = String::from_utf8_lossy(&b);
        assert!(s.contains("init") && s.contains("TRAILER!!!") && s.contains("#!/bin/sh"));
        // mode of the file entry: 0100755 = 0x81ed
        assert!(s.contains("000081ed"));
    }
    #[test]
    fn unpacks_with_cpio_if_present() {
        let Ok(bb) = which("busybox") else { return };
        let mut c = Cpio::default();
        c.dir("d");
        c.file("d/x", 0o644, b"hello");
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().to_path_buf();
        let mut ch = std::process::Command::new(bb)
            .args(["cpio", "-id"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("busybox cpio");
        use std::io::Write;
        ch.stdin.take().expect("stdin").write_all(&c.finish()).expect("write");
        assert!(ch.wait().expect("wait").success());
        assert_eq!(std::fs::read_to_string(dir.join("d/x")).expect("unpacked"), "hello");
    }
    fn which(p: &str) -> Result<std::path::PathBuf, ()> {
        std::env::split_paths(&std::env::var_os("PATH").ok_or(())?).map(|d| d.join(p)).find(|c| c.exists()).ok_or(())
    }
}
