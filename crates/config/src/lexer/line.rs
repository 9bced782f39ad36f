//! Helpers on one line's text: definitions, comments, and the `~SEQ`/`~LST` argument lists.

pub(super) fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// `$NAME=value` (spaces allowed around `=`) → (NAME, value).
pub(super) fn parse_definition(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('$')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if !is_name(name) {
        return None;
    }
    let after = rest[end..].trim_start();
    let value = after.strip_prefix('=')?;
    Some((name, value))
}

/// The line without its `#` or `!` comment; quotes protect the comment characters.
pub(super) fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let mut in_q = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if in_q => i += 1,
            b'"' => in_q = !in_q,
            b'#' | b'!' if !in_q => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

pub(super) fn find_close_paren(s: &str, from: usize) -> Option<usize> {
    s[from..].find(')').map(|i| i + from)
}

/// Splits on commas that are not inside `{}`.
pub(super) fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth <= 0 => parts.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    parts.push(cur.trim().to_string());
    parts
}

/// `{a,b}` → [a, b]; `a` → [a].
pub(super) fn unbrace(s: &str) -> Vec<String> {
    let s = s.trim();
    match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|p| p.trim().to_string()).collect(),
        None => vec![s.to_string()],
    }
}
