//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`): a small parser
//! and formatter, and the mapping from purl types to OSV ecosystems.

use crate::version::Ecosystem;

/// A parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Purl {
    /// Type (`cargo`, `npm`, `pypi`...), lower-cased.
    pub ty: String,
    /// Namespace (npm scope, Maven group, Go module path prefix...).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Qualifiers (`distro=...`, `arch=...`).
    pub qualifiers: Vec<(String, String)>,
}

/// Why a purl was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid purl {input:?}: {reason}")]
pub struct PurlError {
    /// The input.
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hexval(*c)),
                b.get(i + 2).and_then(|c| hexval(*c)),
            )
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn encode(s: &str, keep: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || keep.contains(c) {
            o.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                o.push_str(&format!("%{b:02X}"));
            }
        }
    }
    o
}

impl Purl {
    /// Parses a purl string.
    pub fn parse(input: &str) -> Result<Purl, PurlError> {
        let err = |reason| PurlError {
            input: input.chars().take(200).collect(),
            reason,
        };
        let s = input.trim();
        let rest = s
            .strip_prefix("pkg:")
            .ok_or_else(|| err("must start with pkg:"))?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (rest, quals) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (ty, path) = rest
            .split_once('/')
            .ok_or_else(|| err("missing type or name"))?;
        if ty.is_empty()
            || !ty
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c))
        {
            return Err(err("bad type"));
        }
        let path = path.trim_end_matches('/');
        let (path, version) = match path.rsplit_once('@') {
            Some((p, v)) if !p.is_empty() && !p.ends_with('/') => (p, Some(decode(v))),
            _ => (path, None),
        };
        let (ns, name) = match path.rsplit_once('/') {
            Some((n, m)) => (
                Some(n.split('/').map(decode).collect::<Vec<_>>().join("/")),
                decode(m),
            ),
            None => (None, decode(path)),
        };
        if name.is_empty() {
            return Err(err("empty name"));
        }
        let mut qualifiers = Vec::new();
        for kv in quals.unwrap_or("").split('&').filter(|x| !x.is_empty()) {
            if let Some((k, v)) = kv.split_once('=') {
                qualifiers.push((k.to_ascii_lowercase(), decode(v)));
            }
        }
        Ok(Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: ns.filter(|n| !n.is_empty()),
            name,
            version: version.filter(|v| !v.is_empty()),
            qualifiers,
        })
    }

    /// Builds a purl for a package of an ecosystem (namespace split per type rules).
    pub fn for_package(eco: Ecosystem, name: &str, version: &str) -> Purl {
        let ty = match eco {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "golang",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "gem",
            Ecosystem::NuGet => "nuget",
            Ecosystem::Packagist => "composer",
            Ecosystem::Pub => "pub",
            Ecosystem::Hex => "hex",
            Ecosystem::Debian => "deb",
            Ecosystem::Ubuntu => "deb",
            Ecosystem::Alpine => "apk",
            Ecosystem::Rpm => "rpm",
        };
        let (namespace, n) = match eco {
            Ecosystem::Maven => match name.split_once(':') {
                Some((g, a)) => (Some(g.to_string()), a.to_string()),
                None => (None, name.to_string()),
            },
            Ecosystem::Npm | Ecosystem::Go | Ecosystem::Packagist => match name.rsplit_once('/') {
                Some((g, a)) => (Some(g.to_string()), a.to_string()),
                None => (None, name.to_string()),
            },
            _ => (None, name.to_string()),
        };
        Purl {
            ty: ty.into(),
            namespace,
            name: n,
            version: Some(version.to_string()).filter(|v| !v.is_empty()),
            qualifiers: vec![],
        }
    }

    /// The OSV ecosystem and package name this purl denotes, if the type is known.
    pub fn ecosystem_and_name(&self) -> Option<(Ecosystem, String)> {
        let ns = self.namespace.as_deref();
        let join = |sep: &str| match ns {
            Some(n) => format!("{n}{sep}{}", self.name),
            None => self.name.clone(),
        };
        let q = |k: &str| {
            self.qualifiers
                .iter()
                .find(|(a, _)| a == k)
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        Some(match self.ty.as_str() {
            "cargo" => (Ecosystem::CratesIo, self.name.clone()),
            "npm" => (Ecosystem::Npm, join("/")),
            "golang" => (Ecosystem::Go, join("/")),
            "pypi" => (Ecosystem::PyPI, self.name.clone()),
            "maven" => (Ecosystem::Maven, join(":")),
            "gem" => (Ecosystem::RubyGems, self.name.clone()),
            "nuget" => (Ecosystem::NuGet, self.name.clone()),
            "composer" => (Ecosystem::Packagist, join("/")),
            "pub" => (Ecosystem::Pub, self.name.clone()),
            "hex" => (Ecosystem::Hex, self.name.clone()),
            "deb" => {
                let ubuntu = ns.is_some_and(|n| n.eq_ignore_ascii_case("ubuntu"))
                    || q("distro").is_some_and(|d| d.contains("ubuntu"));
                (
                    if ubuntu {
                        Ecosystem::Ubuntu
                    } else {
                        Ecosystem::Debian
                    },
                    self.name.clone(),
                )
            }
            "apk" | "alpine" => (Ecosystem::Alpine, self.name.clone()),
            "rpm" => (Ecosystem::Rpm, self.name.clone()),
            _ => return None,
        })
    }
}

impl std::fmt::Display for Purl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            let parts: Vec<String> = ns.split('/').map(|p| encode(p, "")).collect();
            write!(f, "{}/", parts.join("/"))?;
        }
        f.write_str(&encode(&self.name, ""))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", encode(v, ":+"))?;
        }
        if !self.qualifiers.is_empty() {
            let mut q = self.qualifiers.clone();
            q.sort();
            let s: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v, ":/")))
                .collect();
            write!(f, "?{}", s.join("&"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for s in [
            "pkg:npm/%40angular/core@12.0.0",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            "pkg:golang/github.com/gin-gonic/gin@v1.6.0",
            "pkg:cargo/serde@1.0.0",
            "pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u3?arch=amd64&distro=debian-11",
        ] {
            let p = Purl::parse(s).expect("test input");
            assert!(p.ecosystem_and_name().is_some(), "{s}");
            let again = Purl::parse(&p.to_string()).expect("test input");
            assert_eq!(p, again, "{s}");
        }
        let p = Purl::parse("pkg:npm/%40angular/core@12.0.0").expect("test input");
        assert_eq!(
            p.ecosystem_and_name(),
            Some((Ecosystem::Npm, "@angular/core".into()))
        );
        let d = Purl::parse("pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u3").expect("test input");
        assert_eq!(d.version.as_deref(), Some("1.1.1n-0+deb11u3"));
        assert!(Purl::parse("npm/foo").is_err());
        assert!(Purl::parse("pkg:").is_err());
        assert_eq!(
            Purl::parse("pkg:unknown/x@1")
                .expect("test input")
                .ecosystem_and_name(),
            None
        );
    }
}
