//! The preprocessor and tokenizer: turns files into a stream of tokens and end-of-line marks,
//! after comments, line continuation, `@id` conditionals, `$PARAM` definitions and use,
//! `~SEQ`/`~LST` repetition and `include` have been applied, as keepalived's `read_line` does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diags, Pos};
use crate::glob;

/// A token's text: a slice of the main file's source when it is a plain word, an owned string
/// only when quoting, escapes, `$PARAM` substitution or an included file produced the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Text<'t>(Cow<'t, str>);

impl<'t> Text<'t> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The text as an owned `String` (for values copied into the model).
    pub fn owned(&self) -> String {
        self.0.as_ref().to_owned()
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl From<&'static str> for Text<'_> {
    fn from(s: &'static str) -> Self {
        Text(Cow::Borrowed(s))
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, o: &str) -> bool {
        *self.0 == *o
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, o: &&str) -> bool {
        *self.0 == **o
    }
}

/// One token, with the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tok<'t> {
    pub text: Text<'t>,
    /// Whether any part of it was in double quotes (so `"{"` is not a block opener).
    pub quoted: bool,
    pub pos: Pos,
}

/// The preprocessor's output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item<'t> {
    Tok(Tok<'t>),
    /// An unquoted `{` (kept apart from `Tok` so the most common tokens cost no allocation).
    Open(Pos),
    /// An unquoted `}`.
    Close(Pos),
    Eol,
}

/// Keepalived gives up on parameter expansion nested this deep (a self-referencing `$A=$A`).
const MAX_DEPTH: u32 = 32;
/// Upper bound on one expanded line and on ~SEQ repetitions, so hostile input stays bounded.
const MAX_LINE: usize = 1 << 20;
const MAX_REPEAT: i64 = 1 << 20;
/// Upper bound on total tokens produced (a billion-laughs guard for `$A=$B $B`).
const MAX_TOKENS: usize = 8_000_000;
/// Include nesting limit besides loop detection (globs can fan out).
const MAX_INCLUDE_DEPTH: usize = 32;

/// The preprocessor state for one load.
pub(crate) struct Pre<'d, 't> {
    pub diags: &'d mut Diags,
    pub items: Vec<Item<'t>>,
    params: HashMap<String, Vec<String>>,
    config_id: String,
    stack: Vec<PathBuf>,
    rng: u64,
    ntoks: usize,
    aborted: bool,
}

impl<'d, 't> Pre<'d, 't> {
    pub fn new(diags: &'d mut Diags, config_id: String) -> Self {
        // Seed from the std hasher's random keys: no extra dependency for ${_RANDOM}.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        Pre {
            diags,
            items: Vec::new(),
            params: HashMap::new(),
            config_id,
            stack: Vec::new(),
            rng: h.finish() | 1,
            ntoks: 0,
            aborted: false,
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: good enough for ${_RANDOM}, which keepalived documents as random().
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Registers a file in the table and preprocesses its text.
    pub fn run_file(&mut self, path: &Path, text: &'t str) {
        self.run_file_with(path, text, Cow::Borrowed);
    }

    /// `lift` turns a slice of `text` into token text: borrowed for the main file, which
    /// outlives the tokens, copied for an included file read here.
    fn run_file_with<'s, F>(&mut self, path: &Path, text: &'s str, lift: F)
    where
        F: Fn(&'s str) -> Cow<'t, str> + Copy,
    {
        // About one item per 5 bytes of config text; avoids repeated regrowth of a large Vec.
        self.items.reserve(text.len() / 5);
        let idx = self.diags.files.len() as u32;
        self.diags.files.push(path.to_path_buf());
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.stack.push(canon);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.process_text(text, idx, &dir, lift);
        self.stack.pop();
    }

    fn process_text<'s, F>(&mut self, text: &'s str, file: u32, dir: &Path, lift: F)
    where
        F: Fn(&'s str) -> Cow<'t, str> + Copy,
    {
        // Segments of the current logical line: (line number, text without comment and `\`).
        let mut segs: Vec<(u32, &'s str)> = Vec::new();
        for (n, raw) in text.split('\n').enumerate() {
            if self.aborted {
                return;
            }
            let line_no = n as u32 + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let content = strip_comment(raw);
            let trimmed = content.trim_end();
            if let Some(body) = trimmed.strip_suffix('\\') {
                segs.push((line_no, body));
                continue;
            }
            segs.push((line_no, content));
            // Reuse the buffer: taking it would allocate a new one for each of ~500k lines.
            self.logical_line(&segs, file, dir, lift);
            segs.clear();
        }
        if !segs.is_empty() {
            self.logical_line(&segs, file, dir, lift);
        }
    }

    fn logical_line<'s, F>(&mut self, segs: &[(u32, &'s str)], file: u32, dir: &Path, lift: F)
    where
        F: Fn(&'s str) -> Cow<'t, str> + Copy,
    {
        // Trim before copying: most lines are indented, and blank lines cost nothing.
        let raw = segs[0].1;
        let body = raw.trim_start();
        if segs.len() == 1 && body.trim_end().is_empty() {
            return;
        }
        // Fast path for the common plain line: tokenize straight from the source text.
        if segs.len() == 1
            && !body.starts_with(['@', '$', '~'])
            && !body.starts_with("include")
            && !body.contains('$')
        {
            let map = PosMap::Simple {
                file,
                line: segs[0].0,
                offset: (raw.len() - body.len()) as u32,
            };
            let before = self.items.len();
            tokenize_into(body.trim_end(), &map, self.diags, &mut self.items, lift);
            if self.items.len() > before {
                self.ntoks += self.items.len() - before;
                self.items.push(Item::Eol);
                if self.ntoks > MAX_TOKENS {
                    self.diags.error(
                        Pos {
                            file,
                            line: segs[0].0,
                            col: 1,
                        },
                        "configuration expands to too many tokens; giving up",
                    );
                    self.aborted = true;
                }
            }
            return;
        }
        let first = LText {
            s: if segs.len() == 1 {
                body.trim_end()
            } else {
                body
            }
            .to_string(),
            map: PosMap::Simple {
                file,
                line: segs[0].0,
                offset: (raw.len() - body.len()) as u32,
            },
        };
        let Some(first) = self.conditional(first) else {
            return;
        };
        // `$NAME=value`: a definition; continued lines stay separate lines of the value.
        if let Some((name, value)) = parse_definition(&first.s) {
            let mut lines = vec![value.trim().to_string()];
            lines.extend(segs[1..].iter().map(|(_, s)| s.trim().to_string()));
            while lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
            self.params.insert(name.to_string(), lines);
            return;
        }
        let lt = if segs.len() == 1 {
            first
        } else {
            // Join continuation lines with a space, keeping every byte's position.
            let mut out = Out {
                s: first.s.clone(),
                t: first.table(),
            };
            for (ln, s) in &segs[1..] {
                let p = Pos {
                    file,
                    line: *ln,
                    col: 1,
                };
                out.push_str(" ", p);
                out.s.push_str(s);
                out.t.extend((0..s.len()).map(|i| Pos {
                    file,
                    line: *ln,
                    col: i as u32 + 1,
                }));
            }
            LText {
                s: out.s,
                map: PosMap::Table(out.t),
            }
        };
        self.process_line(lt, dir, 0);
    }

    /// Applies an `@id` / `@^id` prefix: `None` drops the line.
    fn conditional(&self, lt: LText) -> Option<LText> {
        if !lt.s.starts_with('@') {
            return Some(lt);
        }
        let end = lt.s.find(char::is_whitespace).unwrap_or(lt.s.len());
        let (negate, id) = match lt.s[1..end].strip_prefix('^') {
            Some(id) => (true, id),
            None => (false, &lt.s[1..end]),
        };
        let matches = id == self.config_id;
        if matches != negate {
            Some(lt.slice(end).trim_start())
        } else {
            None
        }
    }

    /// Everything after conditional/definition handling: ~SEQ/~LST, substitution, include.
    fn process_line(&mut self, lt: LText, dir: &Path, depth: u32) {
        if self.aborted {
            return;
        }
        let lt = lt.trim_start();
        if lt.s.is_empty() {
            return;
        }
        if depth > MAX_DEPTH {
            self.diags
                .error(lt.pos(0), "~SEQ/~LST or parameter nesting too deep");
            return;
        }
        if lt.s.starts_with("~SEQ") || lt.s.starts_with("~LST") {
            self.repeat(lt, dir, depth);
            return;
        }
        let lt = if lt.s.contains('$') {
            match self.substitute(&lt, 0) {
                Ok(l) => l,
                Err(msg) => {
                    self.diags.error(lt.pos(0), msg);
                    return;
                }
            }
        } else {
            lt
        };
        // A multi-line parameter expands to several lines (keepalived queues them).
        if lt.s.contains('\n') {
            let mut start = 0;
            let s = lt.s.clone();
            for part in s.split('\n') {
                let piece = LText {
                    s: part.to_string(),
                    map: PosMap::Table((start..start + part.len()).map(|i| lt.pos(i)).collect()),
                };
                start += part.len() + 1;
                // The pieces can start with `~SEQ` or `@id` after expansion; keepalived re-reads them.
                if let Some(piece) = self.conditional(piece.trim_start()) {
                    self.emit(piece, dir, depth + 1);
                }
            }
            return;
        }
        self.emit(lt, dir, depth);
    }

    /// Tokenizes a fully expanded line; handles `include`.
    fn emit(&mut self, lt: LText, dir: &Path, depth: u32) {
        if lt.s.trim_start().starts_with("~SEQ") || lt.s.trim_start().starts_with("~LST") {
            self.process_line(lt, dir, depth + 1);
            return;
        }
        // `include` takes the raw rest of the line: its `{a,b}` braces are glob syntax, not blocks.
        let t = lt.trim_start();
        let lt = if let Some(rest) = t.s.strip_prefix("include") {
            if rest.starts_with(char::is_whitespace) || rest.is_empty() {
                let arg = t.slice(7).trim_start();
                let end = arg.s.trim_end().len();
                let pat = LText {
                    s: arg.s[..end].to_string(),
                    map: arg.map.clone(),
                };
                let mut toks: Vec<Tok<'_>> = vec![Tok {
                    text: "include".into(),
                    quoted: false,
                    pos: t.pos(0),
                }];
                if !pat.s.is_empty() {
                    let quoted = pat.s.starts_with('"');
                    let text = if quoted {
                        pat.s.trim_matches('"').to_string()
                    } else {
                        pat.s.clone()
                    };
                    toks.push(Tok {
                        text: text.into(),
                        quoted,
                        pos: pat.pos(0),
                    });
                }
                self.include(&toks, dir);
                return;
            }
            t
        } else {
            t
        };
        let before = self.items.len();
        tokenize_into(&lt.s, &lt.map, self.diags, &mut self.items, |x: &str| {
            Cow::Owned(x.to_owned())
        });
        if self.items.len() == before {
            return;
        }
        self.ntoks += self.items.len() - before;
        self.items.push(Item::Eol);
        if self.ntoks > MAX_TOKENS {
            self.diags.error(
                lt.pos(0),
                "configuration expands to too many tokens; giving up",
            );
            self.aborted = true;
        }
    }

    fn include(&mut self, toks: &[Tok<'_>], dir: &Path) {
        let Some(pat) = toks.get(1) else {
            self.diags
                .error(toks[0].pos, "include needs a file name or pattern");
            return;
        };
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.error(pat.pos, "include nesting too deep");
            return;
        }
        let pattern = if Path::new(pat.text.as_str()).is_absolute() {
            PathBuf::from(pat.text.as_str())
        } else {
            dir.join(pat.text.as_str())
        };
        let pattern_s = pattern.to_string_lossy().into_owned();
        let is_glob = glob::has_magic(&pattern_s);
        let matches = glob::glob(&pattern_s);
        if matches.is_empty() {
            // keepalived logs and carries on when an include matches nothing.
            let what = if is_glob {
                "matches no file"
            } else {
                "does not exist"
            };
            // lib/parser.c: "Config files missing" (no config error unless include_check).
            self.diags.note(
                pat.pos,
                format!(
                    "include '{}' {what} (keepalived: \"Config files missing\"); read on \
                     without it, as keepalived does",
                    pat.text
                ),
            );
            return;
        }
        for path in matches {
            let canon = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if self.stack.contains(&canon) {
                self.diags.error(
                    pat.pos,
                    format!("include loop: '{}' includes itself", path.display()),
                );
                continue;
            }
            // Only regular files: a device or FIFO would block or never end.
            if !path.is_file() {
                self.diags.warn(
                    pat.pos,
                    format!(
                        "include '{}' is not a regular file, skipped",
                        path.display()
                    ),
                );
                continue;
            }
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.run_file_with(&path, &text, |x: &str| Cow::Owned(x.to_owned()));
                }
                Err(e) => self.diags.warn(
                    pat.pos,
                    format!("cannot read include '{}': {e}", path.display()),
                ),
            }
        }
    }

    /// `~SEQ(var,start,step,end) rest`, `~SEQx(...)`, `~LST(var,a,b)`, `~LST({a,b},{1,2},...)`.
    fn repeat(&mut self, lt: LText, dir: &Path, depth: u32) {
        let pos = lt.pos(0);
        let (hex, lst, open) = if lt.s.starts_with("~SEQx(") {
            (true, false, 6)
        } else if lt.s.starts_with("~SEQ(") {
            (false, false, 5)
        } else if lt.s.starts_with("~LST(") {
            (false, true, 5)
        } else {
            self.diags.error(pos, "expected ~SEQ(, ~SEQx( or ~LST(");
            return;
        };
        // Arguments may use parameters: expand them first.
        let Some(close) = find_close_paren(&lt.s, open) else {
            self.diags.error(pos, "missing ')' in ~SEQ/~LST");
            return;
        };
        let args_text = lt.slice(open);
        let args_text = LText {
            s: args_text.s[..close - open].to_string(),
            map: args_text.map,
        };
        let args = match self.substitute(&args_text, 0) {
            Ok(a) => a.s,
            Err(m) => {
                self.diags.error(pos, m);
                return;
            }
        };
        let rest = lt.slice(close + 1);
        let parts = split_top(&args);
        let mut runs: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        if lst {
            if parts.len() < 2 {
                self.diags
                    .error(pos, "~LST needs a variable and at least one value");
                return;
            }
            let vars = unbrace(&parts[0]);
            if vars.iter().any(|v| !is_name(v)) {
                self.diags.error(
                    pos,
                    format!("~LST: invalid variable name in '{}'", parts[0]),
                );
                return;
            }
            for p in &parts[1..] {
                let vals = unbrace(p);
                if vals.len() != vars.len() {
                    self.diags.error(
                        pos,
                        format!(
                            "~LST: value '{p}' has {} items for {} variables",
                            vals.len(),
                            vars.len()
                        ),
                    );
                    return;
                }
                runs.push((vars.clone(), vals));
            }
        } else {
            let var = parts[0].trim().to_string();
            if !is_name(&var) {
                self.diags
                    .error(pos, format!("~SEQ: invalid variable name '{var}'"));
                return;
            }
            let nums: Result<Vec<i64>, _> =
                parts[1..].iter().map(|p| p.trim().parse::<i64>()).collect();
            let Ok(nums) = nums else {
                self.diags
                    .error(pos, format!("~SEQ: non-numeric argument in '{args}'"));
                return;
            };
            // Forms follow seq(1): (end), (start,end), (start,step,end).
            let (start, step, end) = match nums[..] {
                [end] => (1, 1, end),
                [start, end] => (start, 1, end),
                [start, step, end] => (start, step, end),
                _ => {
                    self.diags
                        .error(pos, "~SEQ takes (var, [start, [step,]] end)");
                    return;
                }
            };
            if step == 0 {
                self.diags.error(pos, "~SEQ: step must not be 0");
                return;
            }
            let count = if (step > 0 && end < start) || (step < 0 && end > start) {
                0
            } else {
                (end.abs_diff(start) / step.unsigned_abs()) as i64 + 1
            };
            if count > MAX_REPEAT {
                self.diags.error(pos, "~SEQ: too many repetitions");
                return;
            }
            let mut v = start;
            for _ in 0..count {
                let s = if hex {
                    if v < 0 {
                        format!("-{:x}", -v)
                    } else {
                        format!("{v:x}")
                    }
                } else {
                    v.to_string()
                };
                runs.push((vec![var.clone()], vec![s]));
                v += step;
            }
        }
        for (vars, vals) in runs {
            let saved: Vec<_> = vars
                .iter()
                .map(|v| (v.clone(), self.params.get(v).cloned()))
                .collect();
            for (var, val) in vars.iter().zip(vals) {
                self.params.insert(var.clone(), vec![val]);
            }
            if let Some(r) = self.conditional(rest.clone().trim_start()) {
                self.process_line(r, dir, depth + 1);
            }
            for (var, old) in saved {
                match old {
                    Some(o) => self.params.insert(var, o),
                    None => self.params.remove(&var),
                };
            }
            if self.aborted {
                return;
            }
        }
    }

    /// Replaces `$NAME`, `${NAME}` and the builtins, recursively.
    fn substitute(&mut self, lt: &LText, depth: u32) -> Result<LText, String> {
        if depth > MAX_DEPTH {
            return Err("parameter expansion nested too deep (recursive definition?)".into());
        }
        let s = &lt.s;
        let b = s.as_bytes();
        let mut out = Out {
            s: String::with_capacity(s.len()),
            t: Vec::with_capacity(s.len()),
        };
        let mut i = 0;
        let mut copied = 0;
        while i < b.len() {
            if b[i] != b'$' {
                i += 1;
                continue;
            }
            let p = lt.pos(i);
            let (name, args, end) = if b.get(i + 1) == Some(&b'{') {
                let Some(close) = s[i + 2..].find('}') else {
                    i += 1;
                    continue;
                };
                let inner = s[i + 2..i + 2 + close].trim();
                let (n, a) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
                (n.to_string(), a.trim().to_string(), i + 3 + close)
            } else {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                (s[i + 1..j].to_string(), String::new(), j)
            };
            let value: Option<String> = match name.as_str() {
                "_PWD" => Some(
                    self.diags
                        .files
                        .get(p.file as usize)
                        .and_then(|f| f.parent())
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                "_INSTANCE" => Some(self.config_id.clone()),
                "_HASH" => Some("#".into()),
                "_BANG" => Some("!".into()),
                "_RANDOM" => {
                    let nums: Vec<u64> = args
                        .split_whitespace()
                        .filter_map(|a| a.parse().ok())
                        .collect();
                    // random() yields 0..=2^31-1; keepalived's optional bounds narrow it.
                    let (lo, hi) = match nums[..] {
                        [] => (0, (1u64 << 31) - 1),
                        [min] => (min, (1u64 << 31) - 1),
                        [min, max, ..] => (min, max),
                    };
                    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                    let span = hi - lo + 1;
                    Some((lo + self.random() % span.max(1)).to_string())
                }
                n if !n.is_empty() => self.params.get(n).map(|v| v.join("\n")),
                _ => None,
            };
            let Some(value) = value else {
                // Unknown parameters are left alone, as keepalived does (scripts use `$1`).
                i = end.max(i + 1);
                continue;
            };
            out.s.push_str(&s[copied..i]);
            out.t.extend((copied..i).map(|k| lt.pos(k)));
            let expanded = if value.contains('$') && !name.starts_with('_') {
                let v = LText {
                    s: value,
                    map: PosMap::Table(Vec::new()),
                };
                let mut r = self.substitute(&v, depth + 1)?;
                r.map = PosMap::Table(Vec::new());
                r.s
            } else {
                value
            };
            out.push_str(&expanded, p);
            if out.s.len() > MAX_LINE {
                return Err("parameter expansion produces a line longer than 1 MiB".into());
            }
            i = end;
            copied = end;
        }
        out.s.push_str(&s[copied..]);
        out.t.extend((copied..s.len()).map(|k| lt.pos(k)));
        Ok(LText {
            s: out.s,
            map: PosMap::Table(out.t),
        })
    }
}

mod line;
mod text;
mod tokenize;

use line::*;
use text::*;
use tokenize::*;

#[cfg(test)]
mod tests;
