//! The kernel lab: stock Debian kernels fetched with Debian's own tools, booted under QEMU with the host's root
//! filesystem visible read-only, one command run inside, its output and exit code brought back.
pub mod cpio;
pub mod vm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::{Error, Kind, Result};

/// A kernel syswalk knows how to fetch.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub id: &'static str,
    /// Debian suite the package comes from.
    pub suite: &'static str,
    /// The metapackage whose dependency names the versioned image package.
    pub meta: &'static str,
    /// The kernel series this id stands for: the metapackage must resolve to a `<series>.<patch>` version. A suite
    /// that moves to a new series (backports does) makes `fetch` fail and say so, instead of the lab (and CI)
    /// changing kernels under you; moving the pin is a visible edit of `KNOWN`. Patch releases are taken as the
    /// suite has them on the first fetch and then kept in the cache (`lab fetch --refresh` takes the newest again).
    pub series: &'static str,
    /// Other names for this id (`newest`).
    pub aliases: &'static [&'static str],
}

/// Every kernel boots under qemu ≥ 10 (bookworm-backports, `new_qemu`). Debian's 7.2 crashed 6.12 about one boot
/// in four (double faults at boot) and twice hung 6.1 guests for good in CI while kernel text was being
/// live-patched (ftrace, BPF trampolines; the second time: soft lockups on both vCPUs); 10.0 ran both without
/// either. `lab run --qemu system` still picks 7.2.
pub const QEMU_NOTE: &str = "qemu ≥ 10 (bookworm-backports, fetched into the cache)";

pub const KNOWN: &[Known] = &[
    Known { id: "6.1", suite: "bookworm", meta: "linux-image-cloud-amd64", series: "6.1", aliases: &["oldest"] },
    Known { id: "6.12", suite: "bookworm-backports", meta: "linux-image-cloud-amd64", series: "6.12", aliases: &[] },
    // From 7.x Debian splits the kernel: linux-image-<v> is a stub depending on linux-binary-<v> (the vmlinuz, under
    // /usr/lib/modules/<v>/), linux-modules-<v> and linux-base-<v> (System.map, config). `fetch` takes either shape.
    Known {
        id: "7.3",
        suite: "trixie-backports",
        meta: "linux-image-cloud-amd64",
        series: "7.3",
        aliases: &["newest"],
    },
];

pub fn lab_err(msg: impl Into<String>) -> Error {
    Error::new(Kind::Lab, msg)
}

pub fn progress(msg: &str) {
    eprintln!("lab: {msg}");
}

/// `$SYSWALK_CACHE`, else `$XDG_CACHE_HOME/syswalk`, else `~/.cache/syswalk`.
pub fn cache_dir() -> Result<PathBuf> {
    let base = if let Some(d) = std::env::var_os("SYSWALK_CACHE") {
        PathBuf::from(d)
    } else if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        PathBuf::from(d).join("syswalk")
    } else {
        let home =
            std::env::var_os("HOME").ok_or_else(|| lab_err("neither SYSWALK_CACHE, XDG_CACHE_HOME nor HOME is set"))?;
        PathBuf::from(home).join(".cache/syswalk")
    };
    let d = base.join("lab");
    std::fs::create_dir_all(&d).map_err(|e| Error::io(format!("creating the lab cache {}", d.display()), e))?;
    Ok(d)
}

fn run_quiet(cmd: &mut Command, what: &str) -> Result<String> {
    let o = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| lab_err(format!("{what}: cannot run {:?}: {e}", cmd.get_program())))?;
    if !o.status.success() {
        return Err(lab_err(format!("{what} failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The machine's own Debian mirror, read from its apt sources (never a host name of ours).
fn system_mirror() -> Result<String> {
    let mut texts = Vec::new();
    for f in ["/etc/apt/sources.list"] {
        if let Ok(t) = std::fs::read_to_string(f) {
            texts.push(t);
        }
    }
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sources" || x == "list") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push(t);
                }
            }
        }
    }
    for t in &texts {
        // deb822: a stanza with "Suites: bookworm…" and "URIs: …"
        for stanza in t.split("\n\n") {
            let uri = stanza
                .lines()
                .find_map(|l| l.strip_prefix("URIs:"))
                .map(|s| s.split_whitespace().next().unwrap_or("").to_string());
            let suites = stanza.lines().find_map(|l| l.strip_prefix("Suites:")).unwrap_or("");
            if let Some(u) = uri {
                if suites.split_whitespace().any(|s| s == "bookworm") && !u.is_empty() {
                    return Ok(u);
                }
            }
        }
        for l in t.lines() {
            let f: Vec<&str> = l.split_whitespace().filter(|w| !w.starts_with('[')).collect();
            if f.len() >= 3 && f[0] == "deb" && f[2] == "bookworm" {
                return Ok(f[1].to_string());
            }
        }
    }
    Err(lab_err("no Debian bookworm mirror found in /etc/apt/sources.list{,.d}")
        .hint("syswalk's lab fetches Debian packages with apt; configure a bookworm source"))
}

/// A private apt configuration for one suite, kept in the cache; the system's apt configuration is not touched.
fn apt_config(suite: &str) -> Result<Option<PathBuf>> {
    if suite == "bookworm" {
        return Ok(None);
    }
    let d = cache_dir()?.join(format!("apt-{suite}"));
    for sub in ["lists/partial", "cache/archives/partial", "parts"] {
        std::fs::create_dir_all(d.join(sub)).map_err(|e| Error::io("creating the private apt dirs", e))?;
    }
    let conf = d.join("apt.conf");
    let mirror = system_mirror()?;
    let line = format!("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} {suite} main\n");
    std::fs::write(d.join("sources.list"), line).map_err(|e| Error::io("writing sources.list", e))?;
    let c = format!(
        "Dir::State::Lists \"{0}/lists\";\nDir::Cache \"{0}/cache\";\nDir::Etc::SourceList \"{0}/sources.list\";\nDir::Etc::SourceParts \"{0}/parts\";\nDir::State::status \"/var/lib/dpkg/status\";\nAPT::Sandbox::User \"root\";\n",
        d.display()
    );
    std::fs::write(&conf, c).map_err(|e| Error::io("writing apt.conf", e))?;
    let lists_empty = std::fs::read_dir(d.join("lists"))
        .map(|r| r.flatten().filter(|e| e.path().is_file()).count() == 0)
        .unwrap_or(true);
    if lists_empty {
        progress(&format!("apt-get update for {suite} (private config in {})", d.display()));
        run_quiet(
            Command::new("apt-get").env("APT_CONFIG", &conf).args(["update", "-q"]),
            &format!("apt-get update ({suite})"),
        )?;
    }
    Ok(Some(conf))
}

fn apt(conf: &Option<PathBuf>, args: &[&str]) -> Command {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    if let Some(p) = conf {
        c.env("APT_CONFIG", p);
    }
    c
}

/// The versioned package a metapackage depends on (`linux-image-6.1.0-56-cloud-amd64`).
fn resolve_meta(conf: &Option<PathBuf>, meta: &str) -> Result<String> {
    let mut out = run_quiet(&mut apt(conf, &["apt-cache", "depends", meta]), "apt-cache depends");
    if conf.is_none() && out.as_ref().map(|o| !o.contains("Depends:")).unwrap_or(true) {
        progress("apt-get update (the system's package lists are empty)");
        run_quiet(Command::new("apt-get").args(["update", "-q"]), "apt-get update")?;
        out = run_quiet(&mut apt(conf, &["apt-cache", "depends", meta]), "apt-cache depends");
    }
    let out = out?;
    // 7.x's metapackage depends on linux-base-…/linux-modules-… metapackages too: the image is the linux-image one.
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:").map(|s| s.trim().to_string()))
        .find(|p| p.starts_with("linux-image-"))
        .ok_or_else(|| lab_err(format!("apt-cache depends {meta} named no linux-image package")))
}

/// The packages that hold an image package's files: itself (up to 6.x), or — Debian's split from 7.x on — the
/// `linux-binary-`, `linux-modules-` and `linux-base-` packages of the same version it depends on.
fn image_packages(conf: &Option<PathBuf>, image_pkg: &str) -> Result<Vec<String>> {
    let out = run_quiet(&mut apt(conf, &["apt-cache", "depends", image_pkg]), "apt-cache depends")?;
    Ok(split_packages(image_pkg, &out).unwrap_or_else(|| vec![image_pkg.to_string()]))
}

/// The split packages named in `apt-cache depends IMAGE_PKG` output, when the image package is a stub.
fn split_packages(image_pkg: &str, depends: &str) -> Option<Vec<String>> {
    let version = image_pkg.strip_prefix("linux-image-")?;
    let parts: Vec<String> = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:").map(str::trim))
        .filter(|p| {
            ["linux-binary-", "linux-modules-", "linux-base-"].iter().any(|pre| p.strip_prefix(pre) == Some(version))
        })
        .map(String::from)
        .collect();
    parts.iter().any(|p| p.starts_with("linux-binary-")).then_some(parts)
}

/// The kernel version of an image package (`linux-image-7.3.4+deb13-cloud-amd64` → `7.3.4+deb13-cloud-amd64`), if
/// it belongs to `series` (`7.3`: 7.3.4 does, 7.30.1 and 7.4.0 do not).
fn in_series<'a>(image_pkg: &'a str, series: &str) -> Option<&'a str> {
    let v = image_pkg.strip_prefix("linux-image-")?;
    let rest = v.strip_prefix(series)?;
    matches!(rest.chars().next(), Some('.' | '-' | '+')).then_some(v)
}

/// The split layout (`usr/lib/modules/<v>/{vmlinuz,System.map,config}`) shown at the classic places too
/// (`boot/vmlinuz-<v>`, `boot/System.map-<v>`, `boot/config-<v>`, `lib/modules/<v>`), by relative links, so one
/// tree shape serves every kernel.
fn classic_layout(root: &Path) -> Result<()> {
    let usr_mods = root.join("usr/lib/modules");
    let Ok(rd) = std::fs::read_dir(&usr_mods) else { return Ok(()) };
    for e in rd.flatten() {
        let v = e.file_name().to_string_lossy().into_owned();
        if !e.path().join("vmlinuz").is_file() {
            continue;
        }
        let link = |target: String, at: PathBuf| -> Result<()> {
            if at.symlink_metadata().is_ok() {
                return Ok(());
            }
            if let Some(d) = at.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
            }
            std::os::unix::fs::symlink(&target, &at)
                .map_err(|e| Error::io(format!("linking {} → {target}", at.display()), e))
        };
        for (f, classic) in [("vmlinuz", "vmlinuz"), ("System.map", "System.map"), ("config", "config")] {
            if e.path().join(f).exists() {
                link(format!("../usr/lib/modules/{v}/{f}"), root.join("boot").join(format!("{classic}-{v}")))?;
            }
        }
        link(format!("../../usr/lib/modules/{v}"), root.join("lib/modules").join(&v))?;
    }
    Ok(())
}

/// Downloads `pkgs` with apt-get download into the cache and unpacks each with dpkg-deb -x into `dest`.
fn download_extract<S: AsRef<str>>(conf: &Option<PathBuf>, pkgs: &[S], dest: &Path) -> Result<()> {
    for p in pkgs {
        let p = p.as_ref();
        let deb = apt_download(conf, p, "")?;
        progress(&format!(
            "unpacking {} (dpkg-deb -x)…",
            deb.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        run_quiet(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dest), "dpkg-deb -x")?;
    }
    Ok(())
}

/// `apt-get download PKG` into the deb cache; returns the .deb it fetched (the newest of that name).
fn apt_download(conf: &Option<PathBuf>, pkg: &str, size_note: &str) -> Result<PathBuf> {
    let debs = cache_dir()?.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| Error::io("creating the deb cache", e))?;
    progress(&format!("downloading {pkg}{size_note} (apt-get download)…"));
    let before: Vec<PathBuf> = list_debs(&debs);
    let st = apt(conf, &["apt-get", "download", "-q", pkg])
        .current_dir(&debs)
        .stdin(Stdio::null())
        .stdout(to_stderr())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| lab_err(format!("cannot run apt-get: {e}")))?;
    if !st.success() {
        return Err(lab_err(format!("apt-get download {pkg} failed ({st})"))
            .hint("check network access to the Debian mirror and `apt-get update`"));
    }
    let name_prefix = format!("{pkg}_");
    list_debs(&debs)
        .into_iter()
        .filter(|d| d.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&name_prefix)))
        .max_by_key(|d| (!before.contains(d), d.metadata().and_then(|m| m.modified()).ok()))
        .ok_or_else(|| lab_err(format!("apt-get download {pkg} left no .deb in {}", debs.display())))
}

fn list_debs(d: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(d)
        .map(|r| r.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "deb")).collect())
        .unwrap_or_default()
}

/// apt's progress goes to our stderr: stdout belongs to the command run in the guest (`lab run -- syswalk … --format
/// json` must stay parseable even on the run that downloads).
fn to_stderr() -> Stdio {
    use std::os::fd::AsFd;
    std::io::stderr().as_fd().try_clone_to_owned().map(Stdio::from).unwrap_or_else(|_| Stdio::null())
}

/// A kernel ready to boot.
#[derive(Debug, Clone, Serialize)]
pub struct Kernel {
    pub id: String,
    pub version: String,
    pub image: PathBuf,
    pub modules: PathBuf,
    /// The unpacked package tree (boot/, lib/, usr/lib/debug/ once the -dbg package is fetched), shown to the guest
    /// at the standard places (/boot/System.map-<v>, /boot/config-<v>, /usr/lib/debug/boot/vmlinux-<v>).
    pub root: Option<PathBuf>,
}

impl Kernel {
    /// The DWARF vmlinux of this kernel, when the -dbg package has been fetched.
    pub fn dbg_vmlinux(&self) -> Option<PathBuf> {
        let p = self.root.as_ref()?.join("usr/lib/debug/boot").join(format!("vmlinux-{}", self.version));
        p.exists().then_some(p)
    }
}

/// Fetches the kernel's -dbg package (≈280 MB download, ≈600 MB unpacked vmlinux) and keeps only
/// usr/lib/debug/boot/{vmlinux,System.map}-<version>: the link-time symbols and DWARF of exactly this build.
pub fn fetch_dbg(k: &Kernel) -> Result<PathBuf> {
    if let Some(p) = k.dbg_vmlinux() {
        return Ok(p);
    }
    let root = k
        .root
        .clone()
        .ok_or_else(|| lab_err(format!("kernel {} has no package tree to put the -dbg files in", k.version)))?;
    let suite = known(&k.id).map(|x| x.suite).unwrap_or("bookworm");
    // 6.x: the files are under usr/lib/debug/boot/; 7.x: under usr/lib/debug/lib/modules/<v>/, with links from boot/.
    let conf = apt_config(suite)?;
    let pkg = format!("linux-image-{}-dbg", k.version);
    let deb = apt_download(&conf, &pkg, " (≈280–360 MB)")?;
    progress(&format!("unpacking vmlinux and System.map from {} (dpkg-deb --fsys-tarfile | tar)…", deb.display()));
    let script = "dpkg-deb --fsys-tarfile \"$1\" | tar -x -C \"$2\" --wildcards --exclude='*.ko' --exclude='*.ko.*' \\
                  --exclude='./usr/lib/debug/.build-id*' --exclude='*/vdso/*' './usr/lib/debug/*'";
    // Into a partial tree first: an interrupted extraction never passes for a complete vmlinux.
    let partial = root.join(".dbg.partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| Error::io("creating the -dbg partial dir", e))?;
    run_quiet(
        Command::new("sh").arg("-c").arg(script).arg("sh").arg(&deb).arg(&partial),
        "dpkg-deb --fsys-tarfile | tar -x",
    )?;
    let dest = root.join("usr/lib/debug");
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(root.join("usr/lib")).map_err(|e| Error::io("creating usr/lib", e))?;
    std::fs::rename(partial.join("usr/lib/debug"), &dest)
        .map_err(|e| Error::io("moving the -dbg files in place", e))?;
    let _ = std::fs::remove_dir_all(&partial);
    // The unpacked files are what is kept; the 280 MB .deb is not needed again.
    let _ = std::fs::remove_file(&deb);
    let split_map = root.join("usr/lib/debug/lib/modules").join(&k.version).join("System.map");
    let boot_map = root.join("usr/lib/debug/boot").join(format!("System.map-{}", k.version));
    if split_map.is_file() && boot_map.symlink_metadata().is_err() {
        std::os::unix::fs::symlink(format!("../lib/modules/{}/System.map", k.version), &boot_map)
            .map_err(|e| Error::io(format!("linking {}", boot_map.display()), e))?;
    }
    k.dbg_vmlinux().ok_or_else(|| lab_err(format!("{pkg} contained no usr/lib/debug/boot/vmlinux-{}", k.version)))
}

fn kernels_dir() -> Result<PathBuf> {
    Ok(cache_dir()?.join("kernels"))
}

fn find_image(root: &Path) -> Option<(PathBuf, String)> {
    let boot = root.join("boot");
    std::fs::read_dir(&boot).ok()?.flatten().find_map(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.strip_prefix("vmlinuz-").map(|v| (e.path(), v.to_string()))
    })
}

fn ensure_depmod(modules_base: &Path, version: &str) -> Result<PathBuf> {
    let md = modules_base.join("lib/modules").join(version);
    if !md.is_dir() {
        return Err(lab_err(format!("no modules directory {}", md.display())));
    }
    if std::fs::metadata(md.join("modules.dep")).map(|m| m.len() == 0).unwrap_or(true) {
        progress(&format!("depmod for {version}"));
        run_quiet(Command::new("depmod").arg("-b").arg(modules_base).arg(version), "depmod")?;
    }
    Ok(md)
}

/// The cached kernel for a known id, if fetched.
pub fn cached(k: &Known) -> Result<Option<Kernel>> {
    let root = kernels_dir()?.join(k.id);
    Ok(find_image(&root).map(|(image, version)| Kernel {
        id: k.id.into(),
        modules: root.join("lib/modules").join(&version),
        version,
        image,
        root: Some(root.clone()),
    }))
}

pub fn known(id: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.id == id || k.aliases.contains(&id))
}

/// Fetches (or finds in the cache) a known kernel; `refresh` drops the cached one first and takes the suite's newest
/// build of the same series.
pub fn fetch(id: &str, refresh: bool) -> Result<Kernel> {
    let k = known(id).ok_or_else(|| {
        Error::new(Kind::Usage, format!("unknown lab kernel {id:?}")).hint(format!(
            "known: {}; or give a path to a vmlinuz-<version> image",
            KNOWN
                .iter()
                .map(|k| if k.aliases.is_empty() {
                    k.id.to_string()
                } else {
                    format!("{} ({})", k.id, k.aliases.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if !refresh {
        if let Some(kern) = cached(k)? {
            ensure_depmod(&kernels_dir()?.join(k.id), &kern.version)?;
            return Ok(kern);
        }
    }
    let conf = apt_config(k.suite)?;
    if refresh {
        // The system's own lists for bookworm (as when they are empty), the private ones for the other suites.
        progress(&format!("apt-get update for {}", k.suite));
        let mut up = Command::new("apt-get");
        if let Some(c) = &conf {
            up.env("APT_CONFIG", c);
        }
        run_quiet(up.args(["update", "-q"]), &format!("apt-get update ({})", k.suite))?;
    }
    let pkg = resolve_meta(&conf, k.meta)?;
    let Some(resolved) = in_series(&pkg, k.series) else {
        return Err(lab_err(format!(
            "{} {} now resolves to {pkg}, outside the {} series the lab id {:?} stands for",
            k.suite, k.meta, k.series, k.id
        ))
        .hint("the suite moved on: update the pin in KNOWN (src/lab/mod.rs) in a commit of its own, and rerun"));
    };
    if let Some(kern) = cached(k)?.filter(|c| c.version == resolved) {
        progress(&format!("{resolved} is still the newest {} build in {}: the cached kernel stays", k.series, k.suite));
        ensure_depmod(&kernels_dir()?.join(k.id), &kern.version)?;
        return Ok(kern);
    }
    let pkgs = image_packages(&conf, &pkg)?;
    let tmp = kernels_dir()?.join(format!(".{}.partial", k.id));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating the kernel dir", e))?;
    download_extract(&conf, &pkgs, &tmp)?;
    classic_layout(&tmp)?;
    let (_, version) = find_image(&tmp).ok_or_else(|| lab_err(format!("{} contained no vmlinuz", pkgs.join(" + "))))?;
    ensure_depmod(&tmp, &version)?;
    let root = kernels_dir()?.join(k.id);
    // The old tree is moved aside first and removed only once the new one is in place: a failed step keeps one.
    let old = kernels_dir()?.join(format!(".{}.old", k.id));
    let _ = std::fs::remove_dir_all(&old);
    let had_old = std::fs::rename(&root, &old).is_ok();
    if let Err(e) = std::fs::rename(&tmp, &root) {
        if had_old {
            let _ = std::fs::rename(&old, &root);
        }
        return Err(Error::io("moving the kernel into the cache", e));
    }
    let _ = std::fs::remove_dir_all(&old);
    progress(&format!("kernel {version} ready in {}", root.display()));
    cached(k)?.ok_or_else(|| lab_err("kernel vanished from the cache"))
}

/// A kernel given by path: `…/vmlinuz-<version>`, modules from `<image dir>/../lib/modules/<version>` or
/// `/lib/modules/<version>`.
pub fn from_path(p: &Path) -> Result<Kernel> {
    let image =
        std::fs::canonicalize(p).map_err(|e| Error::new(Kind::Usage, format!("kernel image {}: {e}", p.display())))?;
    // The name as given (`boot/vmlinuz-<v>` may be a link, as 7.x's split packages make it), else the real file's:
    // `vmlinuz-<v>`, or 7.x's `usr/lib/modules/<v>/vmlinuz`.
    let given = std::path::absolute(p).unwrap_or_else(|_| image.clone());
    let name_of = |q: &Path| q.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let version = [&given, &image]
        .iter()
        .find_map(|q| name_of(q).strip_prefix("vmlinuz-").map(String::from))
        .or_else(|| {
            (name_of(&image) == "vmlinuz").then(|| image.parent().map(name_of)).flatten().filter(|v| !v.is_empty())
        })
        .ok_or_else(|| {
            Error::new(Kind::Usage, format!("cannot tell the kernel version from {:?}", name_of(&given)))
                .hint("name the image vmlinuz-<version>, as Debian does")
        })?;
    // The package tree: two levels above `boot/vmlinuz-<v>`, four above `usr/lib/modules/<v>/vmlinuz`.
    let up = |q: &Path, n: usize| q.ancestors().nth(n).map(Path::to_path_buf);
    let modules_base = [up(&given, 2), up(&image, 2), up(&image, 4)]
        .into_iter()
        .flatten()
        .find(|b| b.join("lib/modules").join(&version).is_dir())
        .unwrap_or_else(|| PathBuf::from("/"));
    let modules = ensure_depmod(&modules_base, &version)?;
    let root = (modules_base != Path::new("/")).then_some(modules_base);
    Ok(Kernel { id: version.clone(), version, image, modules, root })
}

pub fn resolve_kernel(arg: &str) -> Result<Kernel> {
    if arg.contains('/') || Path::new(arg).is_file() {
        from_path(Path::new(arg))
    } else {
        fetch(arg, false)
    }
}

/// qemu ≥ 10 from bookworm-backports, unpacked (not installed) into the cache.
pub fn new_qemu() -> Result<vm::Qemu> {
    let root = cache_dir()?.join("qemu-backports");
    let bin = root.join("usr/bin/qemu-system-x86_64");
    if !bin.exists() {
        let conf = apt_config("bookworm-backports")?;
        let tmp = cache_dir()?.join(".qemu-backports.partial");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating the qemu dir", e))?;
        download_extract(&conf, &["qemu-system-x86", "qemu-system-data"], &tmp)?;
        let _ = std::fs::remove_dir_all(&root);
        std::fs::rename(&tmp, &root).map_err(|e| Error::io("moving qemu into the cache", e))?;
    }
    let ldd = Command::new("ldd")
        .arg(&bin)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let missing: Vec<&str> = ldd.lines().filter(|l| l.contains("not found")).map(|l| l.trim()).collect();
    if !missing.is_empty() {
        return Err(lab_err(format!("qemu from backports lacks shared libraries: {}", missing.join("; ")))
            .hint("install Debian's qemu-system-x86 (scripts/setup.sh does), which brings the same libraries"));
    }
    let mut q = vm::Qemu::new(bin);
    q.data_dirs =
        vec![root.join("usr/share/qemu"), PathBuf::from("/usr/share/seabios"), root.join("usr/share/seabios")];
    Ok(q)
}

#[derive(Debug, Serialize)]
pub struct KernelRow {
    pub id: String,
    pub aliases: Vec<String>,
    pub series: String,
    pub suite: String,
    pub cached: Option<String>,
    pub qemu: String,
}

pub fn list() -> Result<Vec<KernelRow>> {
    KNOWN
        .iter()
        .map(|k| {
            Ok(KernelRow {
                id: k.id.into(),
                aliases: k.aliases.iter().map(|a| a.to_string()).collect(),
                series: k.series.into(),
                suite: k.suite.into(),
                cached: cached(k)?.map(|c| c.version),
                qemu: QEMU_NOTE.into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_pin_takes_its_patch_releases_only() {
        assert_eq!(in_series("linux-image-7.3.4+deb13-cloud-amd64", "7.3"), Some("7.3.4+deb13-cloud-amd64"));
        assert_eq!(in_series("linux-image-6.1.0-56-cloud-amd64", "6.1"), Some("6.1.0-56-cloud-amd64"));
        assert_eq!(in_series("linux-image-6.12.95+deb12-cloud-amd64", "6.1"), None, "6.12 is not 6.1");
        assert_eq!(in_series("linux-image-7.4.0+deb13-cloud-amd64", "7.3"), None);
        assert_eq!(in_series("linux-image-cloud-amd64", "7.3"), None);
        for k in KNOWN {
            assert!(known(k.id).is_some() && k.aliases.iter().all(|a| known(a).map(|x| x.id) == Some(k.id)));
        }
        assert_eq!(known("newest").map(|k| k.id), KNOWN.last().map(|k| k.id), "newest is the last known kernel");
    }

    #[test]
    fn the_split_packages_are_read_from_the_stubs_dependencies() {
        // `apt-cache depends linux-image-7.3.4+deb13-cloud-amd64` on trixie-backports (abridged).
        let stub = "linux-image-7.3.4+deb13-cloud-amd64\n  PreDepends: linux-base\n |Depends: <dracut>\n  \
                    Depends: linux-base-7.3.4+deb13-cloud-amd64\n  Depends: linux-binary-7.3.4+deb13-cloud-amd64\n  \
                    Depends: linux-modules-7.3.4+deb13-cloud-amd64\n  Suggests: linux-doc-7.3\n";
        assert_eq!(
            split_packages("linux-image-7.3.4+deb13-cloud-amd64", stub),
            Some(vec![
                "linux-base-7.3.4+deb13-cloud-amd64".to_string(),
                "linux-binary-7.3.4+deb13-cloud-amd64".into(),
                "linux-modules-7.3.4+deb13-cloud-amd64".into()
            ])
        );
        // 6.x: the image package holds everything itself (linux-base is the unversioned helper package).
        let whole = "linux-image-6.1.0-56-cloud-amd64\n  PreDepends: kmod\n  PreDepends: linux-base\n  \
                     Depends: initramfs-tools\n";
        assert_eq!(split_packages("linux-image-6.1.0-56-cloud-amd64", whole), None);
    }

    #[test]
    fn the_split_tree_is_shown_at_the_classic_places() {
        let d = std::env::temp_dir().join(format!("syswalk-split-{}", std::process::id()));
        let v = "7.3.4+deb13-cloud-amd64";
        let m = d.join("usr/lib/modules").join(v);
        std::fs::create_dir_all(m.join("kernel")).expect("mkdir");
        for f in ["vmlinuz", "System.map", "config", "modules.dep"] {
            std::fs::write(m.join(f), f).expect("write");
        }
        classic_layout(&d).expect("layout");
        classic_layout(&d).expect("twice is fine");
        let (image, version) = find_image(&d).expect("image");
        assert_eq!(version, v);
        assert_eq!(std::fs::read_to_string(image).ok().as_deref(), Some("vmlinuz"));
        assert_eq!(
            std::fs::read_to_string(d.join("boot").join(format!("System.map-{v}"))).ok().as_deref(),
            Some("System.map")
        );
        assert_eq!(
            std::fs::read_to_string(d.join("lib/modules").join(v).join("modules.dep")).ok().as_deref(),
            Some("modules.dep")
        );
        // `--kernel` with the classic link, or with the split package's own file: the version either way.
        for image in [d.join("boot").join(format!("vmlinuz-{v}")), m.join("vmlinuz")] {
            let k = from_path(&image).expect("from_path");
            assert_eq!(k.version, v, "{}", image.display());
            assert!(k.modules.join("modules.dep").is_file(), "{}", k.modules.display());
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}
