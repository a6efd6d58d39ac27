//! Commit order from local clones, so OSV `GIT` ranges can place a revision that lies
//! *between* an `introduced` and a `fixed` commit.
//!
//! OSV's rule for a repository range: a commit is affected when it descends from (or is)
//! an `introduced` commit (`"0"`: every commit), does not descend from (and is not) a
//! `fixed` commit, and does not strictly descend from a `last_affected` commit. Deciding
//! "descends from" needs the commit graph, which only a clone has. The user points
//! `--git-repos DIR` (or `supply.git_repos`) at a directory of clones; a repository
//! `github.com/openssl/openssl` is looked up as `DIR/github.com/openssl/openssl`, then
//! `DIR/openssl/openssl`, then `DIR/openssl` (each also with `.git`, bare or not).
//! Shallow clones are not used: they lack the ancestors the answer depends on.
//!
//! The graph questions go to the `git` program (`git merge-base --is-ancestor`,
//! `git rev-parse`), which every machine holding a clone has. A pure-Rust reader (gix)
//! would add a large dependency tree for two read-only queries. Nothing from the SBOM
//! reaches `git` as an option: revisions must look like a hash or a plain ref name and
//! are passed after `--end-of-options`. Answers are cached per repository and pair.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Local clones that answer ancestry questions (see the module documentation).
#[derive(Debug)]
pub struct GitHistory {
    root: PathBuf,
    dirs: Mutex<HashMap<String, Option<PathBuf>>>,
    commits: Mutex<HashMap<(PathBuf, String), Option<String>>>,
    ancestry: Mutex<HashMap<(PathBuf, String, String), Option<bool>>>,
}

impl GitHistory {
    /// Clones are looked up under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        GitHistory {
            root: root.into(),
            dirs: Mutex::new(HashMap::new()),
            commits: Mutex::new(HashMap::new()),
            ancestry: Mutex::new(HashMap::new()),
        }
    }

    /// The clone of `repo` (normalised `host/path`), if there is one under the root.
    pub fn clone_of(&self, repo: &str) -> Option<PathBuf> {
        if let Some(hit) = lock(&self.dirs).get(repo) {
            return hit.clone();
        }
        let found = self.find_clone(repo);
        lock(&self.dirs).insert(repo.to_string(), found.clone());
        found
    }

    fn find_clone(&self, repo: &str) -> Option<PathBuf> {
        if repo
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return None; // never leave the root
        }
        let parts: Vec<&str> = repo.split('/').collect();
        let mut candidates = vec![repo.to_string()];
        if parts.len() > 2 {
            candidates.push(parts[1..].join("/"));
        }
        if let Some(last) = parts.last() {
            candidates.push((*last).to_string());
        }
        candidates
            .iter()
            .flat_map(|c| [self.root.join(c), self.root.join(format!("{c}.git"))])
            .find(|d| is_repository(d))
    }

    /// The full commit hash `rev` (a hash, possibly abbreviated, or a tag/branch) names in
    /// `dir`.
    pub fn commit(&self, dir: &Path, rev: &str) -> Option<String> {
        let key = (dir.to_path_buf(), rev.to_string());
        if let Some(hit) = lock(&self.commits).get(&key) {
            return hit.clone();
        }
        let found = if safe_rev(rev) {
            git(
                dir,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    &format!("{rev}^{{commit}}"),
                ],
            )
            .filter(|o| o.status == Some(0))
            .map(|o| o.stdout.trim().to_string())
            .filter(|h| super::is_commit(h))
        } else {
            None
        };
        lock(&self.commits).insert(key, found.clone());
        found
    }

    /// Whether commit `ancestor` is `descendant` or one of its ancestors; `None` when git
    /// cannot tell (unknown commit, no git).
    pub fn is_ancestor(&self, dir: &Path, ancestor: &str, descendant: &str) -> Option<bool> {
        if ancestor == descendant {
            return Some(true);
        }
        let key = (
            dir.to_path_buf(),
            ancestor.to_string(),
            descendant.to_string(),
        );
        if let Some(hit) = lock(&self.ancestry).get(&key) {
            return *hit;
        }
        let answer = if super::is_commit(ancestor) && super::is_commit(descendant) {
            git(
                dir,
                &[
                    "merge-base",
                    "--is-ancestor",
                    "--end-of-options",
                    ancestor,
                    descendant,
                ],
            )
            .and_then(|o| match o.status {
                Some(0) => Some(true),
                Some(1) => Some(false),
                _ => None,
            })
        } else {
            None
        };
        lock(&self.ancestry).insert(key, answer);
        answer
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A clone with its whole history: a shallow clone lacks the ancestors it would need.
fn is_repository(dir: &Path) -> bool {
    if dir.join(".git").exists() {
        !dir.join(".git/shallow").exists()
    } else {
        dir.join("HEAD").is_file() && dir.join("objects").is_dir() && !dir.join("shallow").exists()
    }
}

/// A revision is handed to git only when it is a hash or a plain ref name: no leading
/// `-`, no revision syntax (`^`, `~`, `:`, `@{`), no spaces or control characters.
fn safe_rev(rev: &str) -> bool {
    !rev.is_empty()
        && rev.len() <= 255
        && !rev.starts_with('-')
        && !rev.contains("..")
        && !rev.contains("@{")
        && rev
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/+".contains(&b))
}

struct Output {
    status: Option<i32>,
    stdout: String,
}

fn git(dir: &Path, args: &[&str]) -> Option<Output> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some(Output {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_revisions_never_reach_git() {
        for r in [
            "--output=/tmp/x",
            "-n",
            "HEAD~1",
            "a^b",
            "main@{1}",
            "a..b",
            "x y",
            "",
            "v1\n",
        ] {
            assert!(!safe_rev(r), "{r:?}");
        }
        for r in ["v1.2.3", "openssl-3.0.4", "release/2.x", "4e98d57"] {
            assert!(safe_rev(r), "{r:?}");
        }
    }

    #[test]
    fn repository_names_cannot_escape_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = GitHistory::new(dir.path().join("clones"));
        assert!(h.clone_of("github.com/../../etc").is_none());
        assert!(h.clone_of("github.com//x").is_none());
        assert!(h.clone_of("github.com/o/r").is_none(), "no clone there");
    }
}
