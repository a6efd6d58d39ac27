//! Version orderings, one per ecosystem, each following its own specification.
//!
//! Every scheme parses into a type with a total order; [`Ecosystem::compare`] is the entry
//! point the matcher uses. Invalid strings are an [`VersionError`], never a panic.

mod alpine;
mod debian;
mod maven;
mod nuget;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

pub use alpine::AlpineVersion;
pub use debian::DebianVersion;
pub use maven::MavenVersion;
pub use nuget::NugetVersion;
pub use pep440::Pep440Version;
pub use rpm::RpmVersion;
pub use rubygems::GemVersion;
pub use semver::{GoVersion, SemVersion};

use std::cmp::Ordering;
use std::fmt;

/// A version string that its ecosystem's rules reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {input:?}: {reason}")]
pub struct VersionError {
    /// The scheme that rejected it (e.g. "SemVer", "PEP 440").
    pub scheme: &'static str,
    /// The rejected input.
    pub input: String,
    /// Why.
    pub reason: String,
}

impl VersionError {
    pub(crate) fn new(scheme: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Self {
            scheme,
            input: input.chars().take(200).collect(),
            reason: reason.into(),
        }
    }
}

/// Package ecosystems as OSV names them, each with its version ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// Rust crates (`crates.io`), SemVer 2.0.
    CratesIo,
    /// npm, SemVer 2.0.
    Npm,
    /// Go modules, SemVer with a `v` prefix, pseudo-versions and `+incompatible`.
    Go,
    /// Python (`PyPI`), PEP 440.
    PyPI,
    /// Maven, ComparableVersion.
    Maven,
    /// RubyGems, `Gem::Version`.
    RubyGems,
    /// NuGet, SemVer 2.0 with an optional fourth number.
    NuGet,
    /// Composer (`Packagist`), ordered with the Maven-like generic rules.
    Packagist,
    /// Dart (`Pub`), SemVer 2.0.
    Pub,
    /// Erlang/Elixir (`Hex`), SemVer 2.0.
    Hex,
    /// Debian packages, dpkg rules.
    Debian,
    /// Ubuntu packages, dpkg rules.
    Ubuntu,
    /// Alpine packages, apk rules.
    Alpine,
    /// RPM-based distributions (Red Hat, Rocky, AlmaLinux, SUSE...), rpmvercmp.
    Rpm,
}

impl Ecosystem {
    /// All known ecosystems.
    pub const ALL: [Ecosystem; 14] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::PyPI,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Packagist,
        Ecosystem::Pub,
        Ecosystem::Hex,
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::Rpm,
    ];

    /// The OSV name (`crates.io`, `PyPI`, ...).
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Pub => "Pub",
            Ecosystem::Hex => "Hex",
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Rpm => "Red Hat",
        }
    }

    /// Recognises an OSV ecosystem string; a `:suffix` (e.g. `Debian:12`, `Alpine:v3.19`)
    /// is ignored.
    pub fn from_osv(s: &str) -> Option<Ecosystem> {
        let base = s.split(':').next().unwrap_or(s).trim();
        Some(match base.to_ascii_lowercase().as_str() {
            "crates.io" | "cargo" | "rust" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "go" | "golang" => Ecosystem::Go,
            "pypi" => Ecosystem::PyPI,
            "maven" => Ecosystem::Maven,
            "rubygems" | "gem" => Ecosystem::RubyGems,
            "nuget" => Ecosystem::NuGet,
            "packagist" | "composer" => Ecosystem::Packagist,
            "pub" => Ecosystem::Pub,
            "hex" => Ecosystem::Hex,
            "debian" => Ecosystem::Debian,
            "ubuntu" => Ecosystem::Ubuntu,
            "alpine" | "wolfi" | "chainguard" => Ecosystem::Alpine,
            "red hat" | "rocky linux" | "almalinux" | "suse" | "opensuse" | "mageia"
            | "openeuler" | "rpm" => Ecosystem::Rpm,
            _ => return None,
        })
    }

    /// Name normalisation for lookups (PyPI: PEP 503; NuGet/Composer: case-insensitive).
    pub fn normalize_name(self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut sep = false;
                for c in name.trim().chars() {
                    if c == '-' || c == '_' || c == '.' {
                        sep = true;
                    } else {
                        if sep && !out.is_empty() {
                            out.push('-');
                        }
                        sep = false;
                        out.push(c.to_ascii_lowercase());
                    }
                }
                out
            }
            Ecosystem::NuGet | Ecosystem::Packagist => name.trim().to_ascii_lowercase(),
            _ => name.trim().to_string(),
        }
    }

    /// Compares two versions under this ecosystem's rules. OSV's `"0"` (as an
    /// `introduced` event) sorts before everything and is accepted by every scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match (a == "0", b == "0") {
            (true, true) => return Ok(Ordering::Equal),
            (true, false) => {
                self.validate(b)?;
                return Ok(Ordering::Less);
            }
            (false, true) => {
                self.validate(a)?;
                return Ok(Ordering::Greater);
            }
            _ => {}
        }
        Ok(match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Pub | Ecosystem::Hex => {
                SemVersion::parse_lenient(a)?.cmp(&SemVersion::parse_lenient(b)?)
            }
            Ecosystem::Go => GoVersion::parse(a)?.cmp(&GoVersion::parse(b)?),
            Ecosystem::PyPI => Pep440Version::parse(a)?.cmp(&Pep440Version::parse(b)?),
            Ecosystem::Maven | Ecosystem::Packagist => {
                MavenVersion::parse(a)?.cmp(&MavenVersion::parse(b)?)
            }
            Ecosystem::RubyGems => GemVersion::parse(a)?.cmp(&GemVersion::parse(b)?),
            Ecosystem::NuGet => NugetVersion::parse(a)?.cmp(&NugetVersion::parse(b)?),
            Ecosystem::Debian | Ecosystem::Ubuntu => {
                DebianVersion::parse(a)?.cmp(&DebianVersion::parse(b)?)
            }
            Ecosystem::Alpine => AlpineVersion::parse(a)?.cmp(&AlpineVersion::parse(b)?),
            Ecosystem::Rpm => RpmVersion::parse(a)?.cmp(&RpmVersion::parse(b)?),
        })
    }

    /// Checks that a version string is valid for this ecosystem.
    pub fn validate(self, v: &str) -> Result<(), VersionError> {
        if v == "0" {
            return Ok(());
        }
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Pub | Ecosystem::Hex => {
                SemVersion::parse_lenient(v).map(|_| ())
            }
            Ecosystem::Go => GoVersion::parse(v).map(|_| ()),
            Ecosystem::PyPI => Pep440Version::parse(v).map(|_| ()),
            Ecosystem::Maven | Ecosystem::Packagist => MavenVersion::parse(v).map(|_| ()),
            Ecosystem::RubyGems => GemVersion::parse(v).map(|_| ()),
            Ecosystem::NuGet => NugetVersion::parse(v).map(|_| ()),
            Ecosystem::Debian | Ecosystem::Ubuntu => DebianVersion::parse(v).map(|_| ()),
            Ecosystem::Alpine => AlpineVersion::parse(v).map(|_| ()),
            Ecosystem::Rpm => RpmVersion::parse(v).map(|_| ()),
        }
    }
}

impl serde::Serialize for Ecosystem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.osv_name())
    }
}

impl<'de> serde::Deserialize<'de> for Ecosystem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Ecosystem::from_osv(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown ecosystem {s:?}")))
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Compares numeric strings of ASCII digits of any length without overflow.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Writes `[epoch:]version[-release]`, the shape Debian and RPM versions share.
pub(crate) fn fmt_epoch_version_release(
    f: &mut fmt::Formatter<'_>,
    epoch: u64,
    version: &str,
    release: &str,
) -> fmt::Result {
    if epoch != 0 {
        write!(f, "{epoch}:")?;
    }
    f.write_str(version)?;
    if !release.is_empty() {
        write!(f, "-{release}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_minimum() {
        for e in Ecosystem::ALL {
            let v = match e {
                Ecosystem::Go => "v1.0.0",
                _ => "1.0.0",
            };
            assert_eq!(e.compare("0", v), Ok(Ordering::Less), "{e}");
        }
    }

    #[test]
    fn pypi_names_normalize() {
        assert_eq!(
            Ecosystem::PyPI.normalize_name("Foo__Bar.baz"),
            "foo-bar-baz"
        );
    }
}
