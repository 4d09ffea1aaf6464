//! The `gozcu` binary itself: first start, graceful shutdown, `audit verify`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn gozcu(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gozcu"));
    // A clean environment, so a developer's GOZCU_* variables do not leak in.
    for (k, _) in std::env::vars() {
        if k.starts_with("GOZCU_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GOZCU_DATA_DIR", data_dir)
        .env("GOZCU_LISTEN", "127.0.0.1:0")
        .env("GOZCU_LOG", "warn");
    cmd
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gozcu-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `gozcu serve`, reads stdout until it listens, and returns the
/// child with everything it printed so far.
fn start(data_dir: &Path) -> (Child, String) {
    let mut child = gozcu(data_dir)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.contains("listening on") {
        assert!(Instant::now() < deadline, "server did not start: {out}");
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("server exited: {out}");
        }
        out.push_str(&line);
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    (child, out)
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn first_start_prints_a_generated_password_once_and_stops_cleanly() {
    let dir = temp_dir("first");
    let (child, out) = start(&dir);
    assert!(out.contains("username: admin"), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("password line")
        .to_owned();
    assert!(password.len() >= 10);
    assert!(stop(child).success(), "graceful shutdown exits 0");
    let key = dir.join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (child, out) = start(&dir);
    assert!(!out.contains(&password), "the password is shown only once");
    assert!(stop(child).success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn audit_verify_exits_non_zero_on_a_broken_chain() {
    let dir = temp_dir("audit");
    // Two starts: admin creation is the first audit entry.
    let (child, _) = start(&dir);
    stop(child);
    let verify = |dir: &Path| gozcu(dir).args(["audit", "verify"]).output().unwrap();
    let ok = verify(&dir);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 1 entries"));

    // Tamper with the file the way someone with shell access would.
    let db = dir.join("gozcu.db");
    let status = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect('{}'); c.execute('DROP TRIGGER audit_no_update'); c.execute(\"UPDATE audit_log SET actor_name = 'x' WHERE seq = 1\"); c.commit()",
            db.display()
        ))
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let broken = verify(&dir);
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stdout).contains("BROKEN at entry 1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configuration_is_reported_with_the_key() {
    let dir = temp_dir("config");
    let out = gozcu(&dir)
        .env("GOZCU_LISTEN", "not-an-address")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid configuration") && err.to_lowercase().contains("listen"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
