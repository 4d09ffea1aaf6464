//! Installs what the commands need on a fresh machine where only the Rust
//! toolchain exists: Debian packages, the wasm32 target, wasm-bindgen-cli and
//! binaryen's wasm-opt. Every step first checks whether the tool is already
//! there, so a second run costs a few milliseconds.

use std::{
    path::{Path, PathBuf},
    process::Command,
    thread::sleep,
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::util::{self, probe};

/// binaryen from the npm registry. Debian's binaryen (108) is too old for the
/// features rustc 1.95 emits and produces a module that crashes, and prebuilt
/// downloads from elsewhere are not allowed, so npm's build is the one we use.
pub const BINARYEN_VERSION: &str = "132.0.0";

/// How often a network install is tried before giving up: mirrors and
/// registries have short hiccups that a retry a few seconds later survives.
const ATTEMPTS: u32 = 3;

/// The tools that turn the app's wasm into the shipped PWA.
#[derive(Debug)]
pub struct PwaTools {
    pub wasm_bindgen: PathBuf,
    /// `None` when npm is missing: the PWA is then shipped unoptimised.
    pub wasm_opt: Option<PathBuf>,
}

/// The wasm32 target, wasm-bindgen-cli and wasm-opt; shared by `test`, `run`
/// and `bench`.
pub fn pwa_tools(root: &Path) -> Result<PwaTools> {
    wasm_target()?;
    let wasm_bindgen = wasm_bindgen(root)?;
    let wasm_opt = wasm_opt(root)?;
    Ok(PwaTools {
        wasm_bindgen,
        wasm_opt,
    })
}

/// Installs the Debian packages that are missing. As root this runs apt-get
/// itself; otherwise it fails with the command to run, because guessing at
/// sudo in CI or on a developer's machine does more harm than good.
pub fn debian_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        println!("Debian packages already installed: {}", packages.join(" "));
        return Ok(());
    }
    let list = missing.join(" ");
    if !util::is_root()? {
        bail!(
            "missing Debian packages: {list}\ninstall them with:\n    sudo apt-get update && \
             sudo apt-get install -y --no-install-recommends {list}"
        );
    }
    println!("installing Debian packages: {list}");
    retry("apt-get install", || {
        util::run(apt_get().arg("update"))?;
        util::run(
            apt_get()
                .args(["install", "-y", "--no-install-recommends"])
                .args(&missing),
        )
    })?;
    let still_missing: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if !still_missing.is_empty() {
        bail!(
            "apt-get succeeded but these packages are still not installed: {}",
            still_missing.join(" ")
        );
    }
    Ok(())
}

fn apt_get() -> Command {
    let mut cmd = Command::new("apt-get");
    // No prompts (CI has no stdin) and no progress bars in the logs.
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-q", "-o", "Dpkg::Use-Pty=0"]);
    cmd
}

fn dpkg_installed(package: &str) -> bool {
    probe(Command::new("dpkg").args(["-s", package])).is_some_and(|status| {
        status
            .lines()
            .any(|l| l.trim() == "Status: install ok installed")
    })
}

/// Runs `f` up to [`ATTEMPTS`] times, waiting longer after each failure.
fn retry(what: &str, mut f: impl FnMut() -> Result<()>) -> Result<()> {
    let mut attempt = 1;
    loop {
        match f() {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && !util::interrupted() => {
                let wait = Duration::from_secs(10 * u64::from(attempt));
                eprintln!(
                    "{what} failed (attempt {attempt} of {ATTEMPTS}): {e:#}; retrying in {}s",
                    wait.as_secs()
                );
                sleep(wait);
                attempt += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("{what} failed {attempt} time(s)")),
        }
    }
}

/// The standard library for wasm32-unknown-unknown, through rustup.
pub fn wasm_target() -> Result<()> {
    const TARGET: &str = crate::pwa::WASM_TARGET;
    let Some(installed) = probe(Command::new("rustup").args(["target", "list", "--installed"]))
    else {
        // Without rustup the target can only have come with the toolchain.
        let sysroot = util::output(Command::new("rustc").args(["--print", "sysroot"]))?;
        let lib = Path::new(sysroot.trim()).join("lib/rustlib").join(TARGET);
        if lib.is_dir() {
            return Ok(());
        }
        bail!("the {TARGET} target is missing and rustup is not available to add it");
    };
    if installed.lines().any(|l| l.trim() == TARGET) {
        println!("rust target {TARGET} already installed");
        return Ok(());
    }
    retry("rustup target add", || {
        util::run(Command::new("rustup").args(["target", "add", TARGET]))
    })
}

/// wasm-bindgen-cli at exactly the version of the `wasm-bindgen` crate in
/// Cargo.lock: the CLI refuses modules made by any other version.
pub fn wasm_bindgen(root: &Path) -> Result<PathBuf> {
    let want = locked_version(root, "wasm-bindgen")?;
    let installed = install_root().join("bin/wasm-bindgen");
    let candidates = [util::which("wasm-bindgen"), Some(installed.clone())];
    for bin in candidates.into_iter().flatten() {
        if tool_version(&bin).as_deref() == Some(want.as_str()) {
            println!("wasm-bindgen {want} already installed: {}", bin.display());
            return Ok(bin);
        }
    }
    println!("installing wasm-bindgen-cli {want} from crates.io (this takes a few minutes)");
    let install = |locked: bool| {
        let mut cmd = util::cargo(root);
        cmd.args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={want}"),
        ]);
        if locked {
            cmd.arg("--locked");
        }
        util::run(&mut cmd)
    };
    // `--locked` reproduces the CLI's own tested dependency versions; when a
    // yanked crate makes that impossible, a fresh resolution still works.
    if let Err(e) = install(true) {
        util::check_interrupted()?;
        eprintln!("`cargo install --locked` failed ({e:#}); retrying without --locked");
        retry("cargo install wasm-bindgen-cli", || install(false))?;
    }
    match tool_version(&installed) {
        Some(v) if v == want => Ok(installed),
        other => bail!(
            "after installing wasm-bindgen-cli {want}, {} reports version {other:?}",
            installed.display()
        ),
    }
}

/// Where `cargo install` puts binaries: `$CARGO_INSTALL_ROOT`, else
/// `$CARGO_HOME`, else `~/.cargo`.
fn install_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_INSTALL_ROOT") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("CARGO_HOME") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cargo")
}

/// The version printed by `<bin> --version` as `name 1.2.3`.
fn tool_version(bin: &Path) -> Option<String> {
    let out = probe(Command::new(bin).arg("--version"))?;
    out.split_whitespace().nth(1).map(str::to_owned)
}

/// The version of a registry package in Cargo.lock. The lock file is TOML,
/// but its `[[package]]` entries always start with `name` then `version`, so
/// two lines are all that need reading.
pub fn locked_version(root: &Path, package: &str) -> Result<String> {
    let path = root.join("Cargo.lock");
    let lock =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'));
            if let Some(v) = version {
                return Ok(v.to_owned());
            }
        }
    }
    bail!(
        "{} has no `{package}` package; is it a dependency of the app?",
        path.display()
    )
}

/// wasm-opt from the npm package `binaryen`, in `target/tools`. It is a
/// build of binaryen compiled to JavaScript/wasm, so it runs anywhere node
/// does. Without npm the PWA is still built, just larger.
pub fn wasm_opt(root: &Path) -> Result<Option<PathBuf>> {
    let prefix = root.join("target/tools");
    let bin = prefix.join("node_modules/.bin/wasm-opt");
    let package_json = prefix.join("node_modules/binaryen/package.json");
    if bin.exists() && npm_package_version(&package_json).as_deref() == Some(BINARYEN_VERSION) {
        println!(
            "wasm-opt (binaryen {BINARYEN_VERSION}) already installed: {}",
            bin.display()
        );
        return Ok(Some(bin));
    }
    if util::which("npm").is_none() || util::which("node").is_none() {
        eprintln!(
            "warning: npm/node not found; the PWA will not be optimised with wasm-opt \
             (install Node.js and npm to get binaryen {BINARYEN_VERSION} from the npm registry)"
        );
        return Ok(None);
    }
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    retry("npm install binaryen", || {
        util::run(Command::new("npm").current_dir(root).args([
            "install",
            "--prefix",
            "target/tools",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            &format!("binaryen@{BINARYEN_VERSION}"),
        ]))
    })?;
    match npm_package_version(&package_json) {
        Some(v) if v == BINARYEN_VERSION && bin.exists() => Ok(Some(bin)),
        other => bail!(
            "npm installed binaryen {other:?}, expected {BINARYEN_VERSION} at {}",
            bin.display()
        ),
    }
}

fn npm_package_version(package_json: &Path) -> Option<String> {
    let text = std::fs::read_to_string(package_json).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_version_from_the_lock_file() {
        let root = util::root();
        let version = locked_version(&root, "wasm-bindgen").unwrap();
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
            "{version}"
        );
        assert!(locked_version(&root, "no-such-crate-in-the-lock").is_err());
    }
}
