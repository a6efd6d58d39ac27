//! Lockfile and manifest readers, chosen by file name. Each turns one file into an
//! [`Inventory`]; an element it cannot use becomes a warning naming it.

mod cargo;
mod composer;
mod gemfile;
mod gomod;
mod gradle;
mod mix;
mod npm;
mod nuget;
mod ospkg;
mod pipfile;
mod pnpm;
mod poetry;
mod pom;
mod pubspec;
mod requirements;
mod yarn;

use crate::inventory::{InputError, Inventory};

/// A reader: file display name and text in, inventory out.
pub type Reader = fn(&str, &str) -> Result<Inventory, InputError>;

/// The reader for a file name, if it is a known lockfile.
pub fn reader_for(file_name: &str) -> Option<Reader> {
    let lower = file_name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "cargo.lock" => cargo::parse,
        "package-lock.json" | "npm-shrinkwrap.json" => npm::parse,
        "go.mod" => gomod::parse,
        "poetry.lock" => poetry::parse_poetry,
        "uv.lock" => poetry::parse_uv,
        "pdm.lock" => poetry::parse_pdm,
        "gemfile.lock" | "gems.locked" => gemfile::parse,
        "composer.lock" => composer::parse,
        "pipfile.lock" => pipfile::parse,
        "pubspec.lock" => pubspec::parse,
        "gradle.lockfile" | "buildscript-gradle.lockfile" => gradle::parse,
        "packages.lock.json" => nuget::parse,
        "yarn.lock" => yarn::parse,
        "pnpm-lock.yaml" => pnpm::parse,
        "pom.xml" => pom::parse,
        "mix.lock" => mix::parse,
        "status" => ospkg::parse_dpkg,
        "installed" => ospkg::parse_apk,
        _ if lower.ends_with(".txt")
            && (lower.starts_with("requirements") || lower.contains("requirements")) =>
        {
            requirements::parse
        }
        _ => return None,
    })
}
