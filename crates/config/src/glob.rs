//! A small glob(3) with GLOB_BRACE, as keepalived uses for `include`: `*`, `?`, `[...]`
//! within one path component, and `{a,b}` alternatives. Results are sorted per pattern.

use std::path::PathBuf;

/// Whether the pattern contains glob or brace syntax.
pub(crate) fn has_magic(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

/// Expands `{a,b}` alternatives (nested allowed), left to right.
pub(crate) fn expand_braces(p: &str) -> Vec<String> {
    let b = p.as_bytes();
    let Some(open) = p.find('{') else {
        return vec![p.to_string()];
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![p.to_string()];
    };
    let (pre, post) = (&p[..open], &p[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &p[w[0] + 1..w[1]];
        out.extend(expand_braces(&format!("{pre}{alt}{post}")));
        if out.len() > 4096 {
            break;
        }
    }
    out
}

/// Matches one path component against a pattern with `*`, `?` and `[...]`.
pub(crate) fn match_component(pat: &[u8], name: &[u8]) -> bool {
    // Leading dots are only matched explicitly, as glob(3) does.
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    fn m(p: &[u8], n: &[u8]) -> bool {
        let (mut pi, mut ni) = (0, 0);
        let (mut star_p, mut star_n) = (usize::MAX, 0);
        while ni < n.len() {
            if pi < p.len() {
                match p[pi] {
                    b'*' => {
                        star_p = pi;
                        star_n = ni;
                        pi += 1;
                        continue;
                    }
                    b'?' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    b'[' => {
                        if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                            if ok {
                                pi += len;
                                ni += 1;
                                continue;
                            }
                        } else if n[ni] == b'[' {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                    c => {
                        if c == n[ni] {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                }
            }
            if star_p == usize::MAX {
                return false;
            }
            pi = star_p + 1;
            star_n += 1;
            ni = star_n;
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
    m(pat, name)
}

/// `[abc]`, `[a-z]`, `[!x]`/`[^x]`: (matches, pattern length) or None if unterminated.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some(b'!') | Some(b'^'));
    if neg {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((hit != neg, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if p[i] <= c && c <= p[i + 2] {
                hit = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                hit = true;
            }
            i += 1;
        }
    }
    None
}

/// All existing paths matching the pattern (absolute or relative to the cwd).
pub(crate) fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for p in expand_braces(pattern) {
        let mut found = glob_one(&p);
        found.sort();
        for f in found {
            if !all.contains(&f) {
                all.push(f);
            }
        }
    }
    all
}

fn glob_one(pattern: &str) -> Vec<PathBuf> {
    let wild = |s: &str| s.contains(['*', '?', '[']);
    if !wild(pattern) {
        let p = PathBuf::from(pattern);
        return if p.exists() { vec![p] } else { vec![] };
    }
    let absolute = pattern.starts_with('/');
    let mut current: Vec<PathBuf> = vec![if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (k, comp) in comps.iter().enumerate() {
        let last = k + 1 == comps.len();
        let mut next = Vec::new();
        for base in &current {
            if !wild(comp) {
                let p = base.join(comp);
                if (last && p.exists()) || p.is_dir() {
                    next.push(p);
                }
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                base.clone()
            };
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
            names.sort();
            for name in names {
                let n = name.to_string_lossy();
                if match_component(comp.as_bytes(), n.as_bytes()) {
                    let p = base.join(&name);
                    if last || p.is_dir() {
                        next.push(p);
                    }
                }
            }
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current.into_iter().filter(|p| p.is_file()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_in_order_and_nest() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(expand_braces("{x,y{1,2}}"), vec!["x", "y1", "y2"]);
        assert_eq!(expand_braces("plain"), vec!["plain"]);
        assert_eq!(expand_braces("bad{"), vec!["bad{"]);
    }

    #[test]
    fn component_matching() {
        assert!(match_component(b"*.conf", b"a.conf"));
        assert!(!match_component(b"*.conf", b"a.conf.bak"));
        assert!(match_component(b"a?c", b"abc"));
        assert!(match_component(b"[a-c]x", b"bx"));
        assert!(!match_component(b"[!a-c]x", b"bx"));
        assert!(!match_component(b"*", b".hidden"));
        assert!(match_component(b"*a*b*", b"xxaxxbxx"));
    }
}
