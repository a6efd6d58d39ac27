//! Templates and expressions over a run's context, in a sandbox: minijinja with no
//! loader (no file or include access), strict undefined values, a fuel limit on every
//! evaluation and a cap on the size of what a template produces.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;
use std::collections::BTreeSet;

/// Instructions one evaluation may spend.
pub const FUEL: u64 = 50_000;
/// Largest string one template may produce.
pub const MAX_OUTPUT: usize = 1 << 20;

/// Why a template failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

fn err(e: minijinja::Error) -> TemplateError {
    let mut msg = e.to_string();
    if let Some(d) = e.detail()
        && !msg.contains(d)
    {
        msg = format!("{msg}: {d}");
    }
    TemplateError(msg)
}

/// The sandboxed template environment.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// If `s` is exactly one `{{ expression }}`, the expression.
fn sole_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then(|| inner.trim_matches('-').trim())
}

impl Templates {
    /// An environment with the built-in filters and tests, and nothing else.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(50);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        Templates { env }
    }

    /// Compiles a template and returns the variables it reads (dotted, e.g.
    /// `steps.ticket.output`).
    pub fn check_template(&self, source: &str) -> Result<BTreeSet<String>, TemplateError> {
        if let Some(expr) = sole_expression(source) {
            return self.check_expression(expr);
        }
        let t = self.env.template_from_str(source).map_err(err)?;
        Ok(t.undeclared_variables(true).into_iter().collect())
    }

    /// Compiles an expression and returns the variables it reads.
    pub fn check_expression(&self, expr: &str) -> Result<BTreeSet<String>, TemplateError> {
        let e = self.env.compile_expression(expr).map_err(err)?;
        Ok(e.undeclared_variables(true).into_iter().collect())
    }

    /// Evaluates an expression to JSON.
    pub fn eval(&self, expr: &str, ctx: &Value) -> Result<Value, TemplateError> {
        let e = self.env.compile_expression(expr).map_err(err)?;
        let v = e.eval(ctx).map_err(err)?;
        if v.is_undefined() {
            return Ok(Value::Null);
        }
        serde_json::to_value(&v).map_err(|e| TemplateError(e.to_string()))
    }

    /// Evaluates a condition: Jinja truthiness of the expression.
    pub fn eval_bool(&self, expr: &str, ctx: &Value) -> Result<bool, TemplateError> {
        let e = self.env.compile_expression(expr).map_err(err)?;
        Ok(e.eval(ctx).map_err(err)?.is_true())
    }

    /// Evaluates an expression that must give a list.
    pub fn eval_list(&self, expr: &str, ctx: &Value) -> Result<Vec<Value>, TemplateError> {
        match self.eval(expr, ctx)? {
            Value::Array(a) => Ok(a),
            Value::Null => Ok(Vec::new()),
            other => Err(TemplateError(format!(
                "foreach needs a list, '{expr}' gave {}",
                kind(&other)
            ))),
        }
    }

    /// Renders one string: a lone `{{ expr }}` keeps the expression's JSON type, any
    /// other string is rendered as text.
    pub fn render_str(&self, source: &str, ctx: &Value) -> Result<Value, TemplateError> {
        if !source.contains("{{") && !source.contains("{%") {
            return Ok(Value::String(source.to_owned()));
        }
        if let Some(expr) = sole_expression(source) {
            return self.eval(expr, ctx);
        }
        let t = self.env.template_from_str(source).map_err(err)?;
        let out = t.render(ctx).map_err(err)?;
        if out.len() > MAX_OUTPUT {
            return Err(TemplateError(format!(
                "template output exceeds {MAX_OUTPUT} bytes"
            )));
        }
        Ok(Value::String(out))
    }

    /// Renders every string inside a JSON value (keys stay as written).
    pub fn render_value(&self, v: &Value, ctx: &Value) -> Result<Value, TemplateError> {
        Ok(match v {
            Value::String(s) => self.render_str(s, ctx)?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_value(x, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, x) in m {
                    out.insert(k.clone(), self.render_value(x, ctx)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Every template string inside a JSON value, checked; returns variables read.
    pub fn check_value(&self, v: &Value) -> Result<BTreeSet<String>, TemplateError> {
        let mut vars = BTreeSet::new();
        match v {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                vars.extend(self.check_template(s)?)
            }
            Value::Array(a) => {
                for x in a {
                    vars.extend(self.check_value(x)?);
                }
            }
            Value::Object(m) => {
                for x in m.values() {
                    vars.extend(self.check_value(x)?);
                }
            }
            _ => {}
        }
        Ok(vars)
    }
}

/// A JSON type's name, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        json!({"alert": {"level": "high", "host": "web-1", "tags": ["a", "b"]},
               "steps": {"t": {"output": {"key": "SEC-1"}}}})
    }

    #[test]
    fn lone_expressions_keep_their_type_and_text_renders() {
        let t = Templates::new();
        assert_eq!(
            t.render_str("{{ alert.tags }}", &ctx()),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            t.render_str("host {{ alert.host }} ({{ steps.t.output.key }})", &ctx()),
            Ok(json!("host web-1 (SEC-1)"))
        );
        assert!(t.eval_bool("alert.level == 'high'", &ctx()).expect("eval"));
        assert_eq!(t.eval_list("alert.tags", &ctx()).expect("list").len(), 2);
        assert!(t.eval_list("alert.host", &ctx()).is_err());
    }

    #[test]
    fn variables_are_reported_dotted() {
        let t = Templates::new();
        let vars = t
            .check_template("{{ steps.t.output.key }} {{ alert.host }}")
            .expect("ok");
        assert!(vars.iter().any(|v| v.starts_with("steps.t")), "{vars:?}");
        assert!(t.check_template("{{ alert.host ").is_err());
        assert!(t.check_expression("alert.level ==").is_err());
    }

    #[test]
    fn hostile_templates_are_stopped() {
        let t = Templates::new();
        let c = ctx();
        // No loader: include/import/extends cannot reach files.
        for src in [
            "{% include '/etc/passwd' %}",
            "{% import '../../etc/shadow' as x %}",
            "{% extends 'x' %}",
        ] {
            assert!(t.render_str(src, &c).is_err(), "{src}");
        }
        // Endless work runs out of fuel.
        let loop_ =
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
        let e = t.render_str(loop_, &c).expect_err("fuel");
        assert!(e.0.contains("fuel"), "{e}");
        // Recursion is bounded.
        let rec = "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}";
        assert!(t.render_str(rec, &c).is_err());
        // Unknown variables are errors, not silent blanks.
        assert!(t.render_str("{{ nothing.here }} x", &c).is_err());
    }
}
