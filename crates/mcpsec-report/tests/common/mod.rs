//! What the reader tests share: where their documents are kept, rendering one there, and
//! running the real reader on it. Each test file uses a part of it.
#![allow(dead_code)]

use mcpsec_report::{Format, ReportData, Templates, render};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where test outputs are kept for people to look at: `<target>/test-artifacts/report`.
pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("test-artifacts").join("report");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Renders `r` as `f` into the artifacts under `name`.
pub fn write(name: &str, r: &ReportData, f: Format) -> PathBuf {
    let bytes = render(r, f, &Templates::embedded()).expect("render");
    let path = artifacts().join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Runs a reader and returns what it printed; fails the test with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (see .ci/run for what to install): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of a PDF, its layout kept (`pdftotext -layout`).
pub fn pdf_text(path: &Path) -> String {
    run(Command::new("pdftotext").arg("-layout").arg(path).arg("-"))
}
