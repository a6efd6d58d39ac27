//! OSV `GIT` ranges (commit hashes in a repository) against components that name a
//! repository and a revision.
//!
//! Without the repository, commits cannot be ordered, so only what needs no history is
//! matched: a revision **equal** to an `introduced` or `last_affected` commit is
//! affected, one equal to a `fixed` commit is not (abbreviated hashes of 7+ characters
//! match their full hash), and a revision (tag or commit) listed in the affected entry's
//! explicit `versions` is affected. A commit somewhere between `introduced` and `fixed`
//! is found only with a local clone of the repository ([`GitHistory`], `--git-repos`),
//! which orders commits; without one it is **not** found.
//!
//! Components carry a repository through their purl: `pkg:github/owner/repo@rev`
//! (also `gitlab`, `bitbucket`), or a `vcs_url` qualifier
//! (`vcs_url=git+https://host/path.git@rev`; the purl's version is the revision when the
//! URL names none).

use super::history::GitHistory;
use super::matching::AffectedMatch;
use super::model::{Affected, Range, RangeKind};
use crate::purl::Purl;

/// A repository (normalised, see [`normalize_repo`]) and a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    /// `host/path`, lower-case host, no scheme, no `.git`.
    pub repo: String,
    /// Commit hash or tag.
    pub rev: String,
}

/// `https://GitHub.com/Owner/Repo.git/` → `github.com/Owner/Repo`; scp-like
/// `git@github.com:o/r.git` → `github.com/o/r`. Paths keep their case except on the
/// case-insensitive forges (GitHub, GitLab, Bitbucket), which are lower-cased.
pub fn normalize_repo(url: &str) -> String {
    let mut s = url.trim();
    s = s.strip_prefix("git+").unwrap_or(s);
    if let Some((_, rest)) = s.split_once("://") {
        s = rest;
    }
    let scp;
    if let Some(rest) = s.strip_prefix("git@") {
        scp = rest.replacen(':', "/", 1);
        s = &scp;
    }
    let s = s
        .rsplit_once('@')
        .filter(|(h, _)| !h.contains('/'))
        .map_or(s, |(_, r)| r); // user@host
    let s = s.trim_end_matches('/');
    let s = s.strip_suffix(".git").unwrap_or(s);
    let (host, path) = s.split_once('/').unwrap_or((s, ""));
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let path = if matches!(host.as_str(), "github.com" | "gitlab.com" | "bitbucket.org") {
        path.to_ascii_lowercase()
    } else {
        path.to_string()
    };
    if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    }
}

/// The repository and revision a purl names, if any.
pub fn git_ref(p: &Purl) -> Option<GitRef> {
    if let Some((_, vcs)) = p.qualifiers.iter().find(|(k, _)| k == "vcs_url") {
        let v = vcs.strip_prefix("git+").unwrap_or(vcs);
        // the revision follows the last '@' after the host part
        let (url, rev) = match v.rfind('@') {
            Some(i) if v[..i].contains('/') && !v[i + 1..].contains('/') => {
                (&v[..i], Some(v[i + 1..].to_string()))
            }
            _ => (v, None),
        };
        let rev = rev.or_else(|| p.version.clone())?;
        return Some(GitRef {
            repo: normalize_repo(url),
            rev,
        });
    }
    let host = match p.ty.as_str() {
        "github" => "github.com",
        "gitlab" => "gitlab.com",
        "bitbucket" => "bitbucket.org",
        _ => return None,
    };
    let path = match &p.namespace {
        Some(ns) => format!("{ns}/{}", p.name),
        None => p.name.clone(),
    };
    Some(GitRef {
        repo: normalize_repo(&format!("{host}/{path}")),
        rev: p.version.clone()?,
    })
}

/// Whether `s` looks like a commit hash (7–40 hex digits, possibly abbreviated).
pub fn is_commit(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Equal commits, one possibly abbreviated (at least 7 characters).
fn same_commit(a: &str, b: &str) -> bool {
    if !is_commit(a) || !is_commit(b) {
        return false;
    }
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.starts_with(&b) || b.starts_with(&a)
}

/// Evaluates the GIT ranges of `affected` that name `repo` for `rev` (see the module
/// documentation for exactly what is matched). With `history` holding a clone of `repo`,
/// a revision between an `introduced` and a `fixed` commit is placed by the commit graph.
pub fn match_git(
    affected: &Affected,
    repo: &str,
    rev: &str,
    history: Option<&GitHistory>,
) -> Option<AffectedMatch> {
    let ranges: Vec<&Range> = affected
        .ranges
        .iter()
        .filter(|r| {
            r.kind == RangeKind::Git && r.repo.as_deref().is_some_and(|u| normalize_repo(u) == repo)
        })
        .collect();
    if ranges.is_empty() {
        return None;
    }
    if let Some(h) = history
        && let Some(dir) = h.clone_of(repo)
        && let Some(commit) = h.commit(&dir, rev)
    {
        return ranges.iter().find_map(|r| {
            in_range(r, h, &dir, &commit).then(|| AffectedMatch {
                fixed: fixed_of(r),
                interval: describe(r),
            })
        });
    }
    for r in &ranges {
        if r.events
            .iter()
            .filter_map(|e| e.fixed.as_deref())
            .any(|f| same_commit(f, rev))
        {
            return None; // the fixing commit itself
        }
    }
    for r in &ranges {
        for e in &r.events {
            if let Some(i) = e.introduced.as_deref()
                && same_commit(i, rev)
            {
                return Some(AffectedMatch {
                    fixed: fixed_of(r),
                    interval: format!("introduced in commit {i}"),
                });
            }
            if let Some(l) = e.last_affected.as_deref()
                && same_commit(l, rev)
            {
                return Some(AffectedMatch {
                    fixed: fixed_of(r),
                    interval: format!("last affected commit {l}"),
                });
            }
        }
    }
    let listed = affected
        .versions
        .iter()
        .find(|v| *v == rev || same_commit(v, rev))?;
    Some(AffectedMatch {
        fixed: ranges.iter().find_map(|r| fixed_of(r)),
        interval: format!("listed revision {listed}"),
    })
}

fn fixed_of(r: &Range) -> Option<String> {
    r.events
        .iter()
        .find_map(|e| e.fixed.clone())
        .filter(|f| is_commit(f))
}

/// OSV's rule for one range, on the clone's graph: `commit` descends from an
/// `introduced` commit (`"0"`: any), not from a `fixed` one, and not strictly from a
/// `last_affected` one. A commit the clone does not hold is no ancestor of one it holds.
fn in_range(r: &Range, h: &GitHistory, dir: &std::path::Path, commit: &str) -> bool {
    let descends_from = |x: &str| {
        h.commit(dir, x)
            .is_some_and(|xc| h.is_ancestor(dir, &xc, commit) == Some(true))
    };
    let introduced = r.events.iter().filter_map(|e| e.introduced.as_deref());
    let mut introduced = introduced.map(|i| i == "0" || descends_from(i));
    if !introduced.any(|b| b) {
        return false;
    }
    if r.events
        .iter()
        .filter_map(|e| e.fixed.as_deref())
        .any(descends_from)
    {
        return false;
    }
    !r.events
        .iter()
        .filter_map(|e| e.last_affected.as_deref())
        .any(|l| descends_from(l) && h.commit(dir, l).as_deref() != Some(commit))
}

fn describe(r: &Range) -> String {
    let list = |f: fn(&super::model::Event) -> Option<&str>| {
        r.events.iter().filter_map(f).collect::<Vec<_>>().join(", ")
    };
    let mut s = format!("introduced in {}", list(|e| e.introduced.as_deref()));
    let fixed = list(|e| e.fixed.as_deref());
    if !fixed.is_empty() {
        s.push_str(&format!(", fixed in {fixed}"));
    }
    let last = list(|e| e.last_affected.as_deref());
    if !last.is_empty() {
        s.push_str(&format!(", last affected {last}"));
    }
    s.push_str(" (placed with the local clone's history)");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::model::{Event, Range};

    const FULL: &str = "4e98d57809dacab1cbe625fddeec1a290c478ea9";
    const INTRO: &str = "1111111111111111111111111111111111111111";

    fn affected() -> Affected {
        Affected {
            ranges: vec![Range {
                kind: RangeKind::Git,
                repo: Some("https://github.com/OpenSSL/openssl.git".into()),
                events: vec![
                    Event {
                        introduced: Some(INTRO.into()),
                        ..Default::default()
                    },
                    Event {
                        fixed: Some(FULL.into()),
                        ..Default::default()
                    },
                ],
            }],
            versions: vec!["openssl-3.0.4".into(), "openssl-3.0.5".into()],
            ..Default::default()
        }
    }

    #[test]
    fn repositories_normalise() {
        for u in [
            "https://github.com/openssl/openssl",
            "git+https://www.GitHub.com/OpenSSL/openssl.git/",
            "git@github.com:openssl/openssl.git",
            "ssh://git@github.com/openssl/openssl",
        ] {
            assert_eq!(normalize_repo(u), "github.com/openssl/openssl", "{u}");
        }
        assert_eq!(
            normalize_repo("https://git.example.org/Team/Repo.git"),
            "git.example.org/Team/Repo"
        );
    }

    #[test]
    fn purls_name_repository_and_revision() {
        let p = Purl::parse(&format!("pkg:github/openssl/openssl@{FULL}")).expect("purl");
        assert_eq!(
            git_ref(&p),
            Some(GitRef {
                repo: "github.com/openssl/openssl".into(),
                rev: FULL.into()
            })
        );
        let p = Purl::parse("pkg:generic/openssl@3.0.4?vcs_url=git%2Bhttps://github.com/openssl/openssl.git%40openssl-3.0.4")
            .expect("purl");
        assert_eq!(git_ref(&p).map(|g| g.rev), Some("openssl-3.0.4".into()));
        let p = Purl::parse("pkg:generic/x@abc1234?vcs_url=git%2Bhttps://git.example.org/x")
            .expect("purl");
        assert_eq!(
            git_ref(&p).map(|g| (g.repo, g.rev)),
            Some(("git.example.org/x".into(), "abc1234".into()))
        );
        assert!(git_ref(&Purl::parse("pkg:npm/x@1").expect("purl")).is_none());
        assert!(
            git_ref(&Purl::parse("pkg:github/o/r").expect("purl")).is_none(),
            "no revision"
        );
    }

    #[test]
    fn only_equal_commits_and_listed_revisions_match() {
        let a = affected();
        let repo = "github.com/openssl/openssl";
        let m = match_git(&a, repo, INTRO, None).expect("introducing commit");
        assert_eq!(m.fixed.as_deref(), Some(FULL));
        assert!(
            match_git(&a, repo, &INTRO[..7], None).is_some(),
            "abbreviated hash"
        );
        assert!(match_git(&a, repo, FULL, None).is_none(), "the fix itself");
        assert!(match_git(&a, repo, &FULL[..10], None).is_none());
        assert!(
            match_git(&a, repo, "openssl-3.0.4", None).is_some(),
            "listed tag"
        );
        assert!(
            match_git(&a, repo, "openssl-3.0.7", None).is_none(),
            "unlisted tag"
        );
        assert!(
            match_git(&a, repo, "2222222222222222222222222222222222222222", None).is_none(),
            "a commit between introduced and fixed cannot be placed without the repository"
        );
        assert!(match_git(&a, "github.com/other/repo", INTRO, None).is_none());
        assert!(
            match_git(&a, repo, "123456", None).is_none(),
            "too short to be a commit"
        );
    }
}
