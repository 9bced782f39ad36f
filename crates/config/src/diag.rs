//! Diagnostics: every problem found while reading a config, with its position.

use std::fmt;
use std::path::PathBuf;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// keepalived-rs cannot run the configuration: the services refuse to start and `-t`
    /// exits 4 (keepalived's `CONFIG_FATAL` class).
    Error,
    /// A configuration error that the services run with, as keepalived does (keepalived's
    /// `CONFIG_GENERAL_ERROR` … `CONFIG_DEPRECATED`): `-t` exits 5.
    Warning,
    /// Scripts would run without `enable_script_security` (keepalived's
    /// `CONFIG_SECURITY_ERROR`): the services run, `-t` exits 6.
    Security,
    /// Something keepalived does silently (or only logs) that keepalived-rs does the same
    /// way and says so: it does not change `-t`'s exit code.
    Note,
}

/// `-t`'s exit code for these diagnostics, as keepalived 2.2.7's `config_test_exit`
/// (keepalived/core/main.c): 0 clean, 4 cannot run, 5 errors it runs with, 6 script security.
///
/// keepalived keeps the numerically highest `config_err_t` it saw, so a fatal error plus a
/// warning exits 5 there; here "cannot run" always wins, so that 4 means what it says.
pub fn config_test_exit_code(diagnostics: &[Diagnostic]) -> u8 {
    let has = |s: Severity| diagnostics.iter().any(|d| d.severity == s);
    if has(Severity::Error) {
        4
    } else if has(Severity::Security) {
        6
    } else if has(Severity::Warning) {
        5
    } else {
        0
    }
}

/// One problem in a configuration, located at `file:line:col` (1-based).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file the problem is in (an included file names itself, not the includer).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (byte offset in the line + 1).
    pub col: u32,
    /// Human readable description.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Security => "security",
            Severity::Note => "note",
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.col,
            sev,
            self.message
        )
    }
}

/// A position in the source: index into the file table, line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

/// Collects diagnostics while the file table is still growing.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub files: Vec<PathBuf>,
    pub list: Vec<Diagnostic>,
}

impl Diags {
    fn push(&mut self, severity: Severity, pos: Pos, message: String) {
        let file = self
            .files
            .get(pos.file as usize)
            .cloned()
            .unwrap_or_default();
        // A hostile config (fuzzing, a runaway ~SEQ) must not produce unbounded output.
        if self.list.len() >= 10_000 {
            return;
        }
        self.list.push(Diagnostic {
            severity,
            file,
            line: pos.line,
            col: pos.col,
            message,
        });
    }
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Error, pos, message.into());
    }
    pub fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Warning, pos, message.into());
    }
    pub fn note(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Note, pos, message.into());
    }
    pub fn security(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Security, pos, message.into());
    }
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Levenshtein distance, used for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.len() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_line_col_severity_message() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: PathBuf::from("/etc/keepalived/keepalived.conf"),
            line: 12,
            col: 5,
            message: "boom".into(),
        };
        assert_eq!(
            d.to_string(),
            "/etc/keepalived/keepalived.conf:12:5: error: boom"
        );
        let w = Diagnostic {
            severity: Severity::Warning,
            ..d
        };
        assert_eq!(
            w.to_string(),
            "/etc/keepalived/keepalived.conf:12:5: warning: boom"
        );
    }

    #[test]
    fn suggestion_picks_nearest_keyword() {
        assert_eq!(
            suggest("priorty", ["priority", "state", "interface"]),
            Some("priority")
        );
        assert_eq!(suggest("zzzzzzzz", ["priority", "state"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
