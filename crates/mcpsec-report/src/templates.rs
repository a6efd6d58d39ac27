//! Report templates: versioned files under `templates/`, embedded in the binary, and
//! optionally overridden per tenant from a directory.

use crate::chart;
use crate::error::ReportError;
use crate::model::ReportData;
use minijinja::{Environment, Value, context};
use std::path::{Path, PathBuf};

/// The templates built in, by file name.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "executive.html",
        include_str!("../templates/executive.html"),
    ),
    ("executive.md", include_str!("../templates/executive.md")),
    ("tables.html", include_str!("../templates/tables.html")),
    ("tables.md", include_str!("../templates/tables.md")),
];

/// The embedded template for `name` (`<kind>.<ext>`): its own, else the generic
/// `tables.<ext>` that lays out any report made of key figures and tables.
fn builtin(name: &str) -> Option<&'static str> {
    let find = |n: &str| EMBEDDED.iter().find(|(e, _)| *e == n).map(|(_, s)| *s);
    find(name).or_else(|| {
        let (kind, ext) = name.rsplit_once('.')?;
        if crate::KINDS.contains(&kind) {
            find(&format!("tables.{ext}"))
        } else {
            None
        }
    })
}

/// Steps a template may run before it is stopped, so that a tenant's template with a
/// runaway loop cannot hold a worker.
const FUEL: u64 = 5_000_000;

/// Where templates come from: the embedded ones, unless an override directory holds
/// `<dir>/<tenant>/<name>` or `<dir>/<name>`.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    dir: Option<PathBuf>,
}

impl Templates {
    /// The embedded templates only.
    pub fn embedded() -> Self {
        Templates { dir: None }
    }

    /// Embedded templates, overridden by files in `dir` (tenant subdirectory first).
    pub fn with_overrides(dir: impl Into<PathBuf>) -> Self {
        Templates {
            dir: Some(dir.into()),
        }
    }

    /// The text of template `name` for `tenant`, and where it was found (`embedded` or
    /// a path).
    pub fn source(&self, tenant: &str, name: &str) -> Result<(String, String), ReportError> {
        let builtin = builtin(name)
            .ok_or_else(|| ReportError::Invalid(format!("no template named {name:?}")))?;
        if let Some(dir) = &self.dir {
            for path in candidates(dir, tenant, name) {
                match std::fs::read_to_string(&path) {
                    Ok(text) => return Ok((text, path.display().to_string())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(ReportError::Template {
                            name: path.display().to_string(),
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        Ok((builtin.to_owned(), "embedded".to_owned()))
    }

    /// Renders `<kind>.<ext>` (`html` or `md`) with the report's data.
    pub(crate) fn render(&self, data: &ReportData, ext: &str) -> Result<String, ReportError> {
        let name = format!("{}.{ext}", data.kind);
        let (text, origin) = self.source(&data.tenant, &name)?;
        let fail = |e: minijinja::Error| ReportError::Template {
            name: origin.clone(),
            message: match e.line() {
                Some(l) => format!("line {l}: {e}"),
                None => e.to_string(),
            },
        };
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.add_filter("num", thousands);
        let tmpl = env.template_from_named_str(&name, &text).map_err(fail)?;
        let e = &data.events;
        let svg = |c: chart::Chart| Value::from_safe_string(c.to_svg());
        let ctx = context! {
            r => Value::from_serialize(data),
            period_label => data.period.label(),
            generated => data.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            figures => crate::sections::key_figures(data),
            tables => crate::sections::tables(data),
            charts => context! {
                histogram => svg(chart::histogram(&e.histogram, 680.0, 180.0)),
                sources => svg(chart::bars("Events by source", &e.by_source, 680.0)),
                formats => svg(chart::bars("Events by format", &e.by_format, 680.0)),
                hosts => svg(chart::bars("Top hosts", &e.top_hosts, 680.0)),
            },
        };
        tmpl.render(ctx).map_err(fail)
    }
}

/// Override paths to try, most specific first. Tenant names are checked elsewhere to be
/// `[A-Za-z0-9_.-]`; `.` and `..` are still refused here so no lookup leaves `dir`.
fn candidates(dir: &Path, tenant: &str, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::with_capacity(2);
    let safe =
        !tenant.is_empty() && tenant != "." && tenant != ".." && !tenant.contains(['/', '\\']);
    if safe {
        out.push(dir.join(tenant).join(name));
    }
    out.push(dir.join(name));
    out
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(
            [0, 12, 999, 1000, 1234567].map(thousands),
            ["0", "12", "999", "1,000", "1,234,567"]
        );
    }

    #[test]
    fn tenant_override_wins_then_shared_then_embedded() {
        let dir = std::env::temp_dir().join(format!("mcpsec-tmpl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("acme")).expect("mkdir");
        std::fs::write(dir.join("executive.md"), "shared").expect("write");
        std::fs::write(dir.join("acme/executive.md"), "acme's").expect("write");
        let t = Templates::with_overrides(&dir);
        assert_eq!(t.source("acme", "executive.md").expect("t").0, "acme's");
        assert_eq!(t.source("other", "executive.md").expect("t").0, "shared");
        assert_eq!(t.source("..", "executive.md").expect("t").0, "shared");
        assert_eq!(t.source("acme", "executive.html").expect("t").1, "embedded");
        assert!(t.source("acme", "../etc/passwd").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
