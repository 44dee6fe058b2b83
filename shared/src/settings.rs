//! Typed settings from environment variables.
//!
//! Every binary reads its settings once at start-up through an [`EnvReader`], which collects
//! *every* missing or malformed variable so that one start-up error lists them all.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The wrapped value. Call sites of `expose` are the places to audit for leaks.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One problem with one environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    pub variable: String,
    pub problem: String,
}

/// All the problems found while reading settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    pub problems: Vec<SettingProblem>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid settings:")?;
        for p in &self.problems {
            writeln!(f, "  {}: {}", p.variable, p.problem)?;
        }
        Ok(())
    }
}

/// Looks a variable up by name.
type Source<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables from a source (the process environment, or a map in tests) and records
/// every problem instead of stopping at the first.
pub struct EnvReader<'a> {
    source: Source<'a>,
    problems: Vec<SettingProblem>,
}

impl<'a> EnvReader<'a> {
    /// Reads the real process environment.
    pub fn from_process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    pub fn from_fn(source: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            source: Box::new(source),
            problems: Vec::new(),
        }
    }

    /// Only these variables, never the process's: for tests.
    pub fn from_vars(vars: &[(&str, &str)]) -> EnvReader<'static> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvReader::from_fn(move |name| map.get(name).cloned())
    }

    /// The raw value; an empty or all-blank value counts as unset.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.source)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn problem(&mut self, variable: &str, problem: impl Into<String>) {
        self.problems.push(SettingProblem {
            variable: variable.to_owned(),
            problem: problem.into(),
        });
    }

    /// An optional value parsed with `FromStr`; a malformed value is recorded as a problem.
    pub fn parsed<T: FromStr>(&mut self, name: &str, expected: &str) -> Option<T> {
        let raw = self.raw(name)?;
        match raw.trim().parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(name, format!("expected {expected}, got {raw:?}"));
                None
            }
        }
    }

    /// An optional integer within `range`.
    pub fn integer_in(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> i64 {
        let expected = format!("an integer from {} to {}", range.start(), range.end());
        match self.parsed::<i64>(name, &expected) {
            Some(v) if range.contains(&v) => v,
            Some(v) => {
                self.problem(name, format!("expected {expected}, got {v}"));
                default
            }
            None => default,
        }
    }

    /// A secret value; never echoed in problems.
    pub fn secret(&self, name: &str) -> Option<Secret<String>> {
        self.raw(name).map(|v| Secret::new(v.trim().to_owned()))
    }

    /// Records that a required variable is missing.
    pub fn require<T>(&mut self, name: &str, value: Option<T>, what: &str) -> Option<T> {
        if value.is_none() && !self.problems.iter().any(|p| p.variable == name) {
            self.problem(name, format!("is required: {what}"));
        }
        value
    }

    /// A required plain value: the raw value, or a recorded problem saying what it is.
    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let value = self.raw(name);
        self.require(name, value, what)
    }

    /// Ends reading: `Ok` when nothing was wrong.
    pub fn finish(self) -> Result<(), SettingsError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError {
                problems: self.problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem_and_names_each_variable() {
        let mut env = EnvReader::from_vars(&[("A", "x"), ("B", "99")]);
        assert_eq!(env.parsed::<u16>("A", "a port"), None);
        assert_eq!(env.integer_in("B", 1..=10, 5), 5);
        let missing = env.raw("C");
        env.require("C", missing, "the database URL");
        let err = env.finish().unwrap_err();
        let names: Vec<_> = err.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        let text = err.to_string();
        assert!(text.contains("A: expected a port, got \"x\""), "{text}");
        assert!(
            text.contains("B: expected an integer from 1 to 10, got 99"),
            "{text}"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let env = EnvReader::from_vars(&[("TOKEN", "hunter2-hunter2")]);
        let secret = env.secret("TOKEN").unwrap();
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2-hunter2");
    }

    #[test]
    fn blank_values_count_as_unset() {
        let env = EnvReader::from_vars(&[("X", "   ")]);
        assert_eq!(env.raw("X"), None);
    }
}
