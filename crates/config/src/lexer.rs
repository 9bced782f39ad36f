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

/// Text of one logical line with the source position of each byte.
#[derive(Debug, Clone)]
struct LText {
    s: String,
    map: PosMap,
}

#[derive(Debug, Clone)]
enum PosMap {
    /// Byte `i` is at column `offset + i + 1` of `line`.
    Simple { file: u32, line: u32, offset: u32 },
    /// One position per byte (after continuation joins or substitution).
    Table(Vec<Pos>),
}

impl LText {
    fn pos(&self, i: usize) -> Pos {
        match &self.map {
            PosMap::Simple { file, line, offset } => Pos {
                file: *file,
                line: *line,
                col: offset + i as u32 + 1,
            },
            PosMap::Table(t) => t.get(i).or_else(|| t.last()).copied().unwrap_or_default(),
        }
    }
    fn slice(&self, start: usize) -> LText {
        let start = start.min(self.s.len());
        LText {
            s: self.s[start..].to_string(),
            map: match &self.map {
                PosMap::Simple { file, line, offset } => PosMap::Simple {
                    file: *file,
                    line: *line,
                    offset: offset + start as u32,
                },
                PosMap::Table(t) => PosMap::Table(t.get(start..).unwrap_or(&[]).to_vec()),
            },
        }
    }
    /// Drops leading whitespace in place (no allocation: this runs on every line).
    fn trim_start(mut self) -> LText {
        let n = self.s.len() - self.s.trim_start().len();
        if n == 0 {
            return self;
        }
        self.s.drain(..n);
        match &mut self.map {
            PosMap::Simple { offset, .. } => *offset += n as u32,
            PosMap::Table(t) => {
                t.drain(..n.min(t.len()));
            }
        }
        self
    }
    fn table(&self) -> Vec<Pos> {
        (0..self.s.len()).map(|i| self.pos(i)).collect()
    }
}

/// Builder for substituted text that keeps positions.
struct Out {
    s: String,
    t: Vec<Pos>,
}

impl Out {
    fn push_str(&mut self, s: &str, p: Pos) {
        self.s.push_str(s);
        self.t.extend(std::iter::repeat_n(p, s.len()));
    }
}

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

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// `$NAME=value` (spaces allowed around `=`) → (NAME, value).
fn parse_definition(s: &str) -> Option<(&str, &str)> {
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
fn strip_comment(line: &str) -> &str {
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

fn find_close_paren(s: &str, from: usize) -> Option<usize> {
    s[from..].find(')').map(|i| i + from)
}

/// Splits on commas that are not inside `{}`.
fn split_top(s: &str) -> Vec<String> {
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
fn unbrace(s: &str) -> Vec<String> {
    let s = s.trim();
    match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|p| p.trim().to_string()).collect(),
        None => vec![s.to_string()],
    }
}

/// Splits an expanded line into tokens. `{` and `}` outside quotes are tokens of their own;
/// double quotes group, with keepalived's escapes, and join adjacent text into one token.
/// Appends `Item`s to `out`, positions from `map`.
fn tokenize_into<'s, 't, F>(
    s: &'s str,
    map: &PosMap,
    diags: &mut Diags,
    out: &mut Vec<Item<'t>>,
    lift: F,
) where
    F: Fn(&'s str) -> Cow<'t, str>,
{
    let lt = LTextRef { map };
    let b = s.as_bytes();
    let toks = out;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'{' || c == b'}' {
            toks.push(if c == b'{' {
                Item::Open(lt.pos(i))
            } else {
                Item::Close(lt.pos(i))
            });
            i += 1;
            continue;
        }
        let mut text = String::new();
        // The whole token when it is one unquoted run (the common case): no copy.
        let mut plain: Option<&'s str> = None;
        let mut quoted = false;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_whitespace() || c == b'{' || c == b'}' {
                break;
            }
            if c == b'"' {
                if let Some(p) = plain.take() {
                    text.push_str(p);
                }
                quoted = true;
                i += 1;
                let mut closed = false;
                while i < b.len() {
                    match b[i] {
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        b'\\' if i + 1 < b.len() => {
                            i += 1 + unescape(&s[i + 1..], &mut text);
                        }
                        _ => {
                            let ch = s[i..].chars().next().unwrap_or(' ');
                            text.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    diags.warn(
                        lt.pos(start),
                        "unterminated quoted string: it runs to the end of the line (keepalived \
                         reads it so too)",
                    );
                }
                continue;
            }
            let j = s[i..]
                .find(|ch: char| ch.is_ascii_whitespace() || ch == '{' || ch == '}' || ch == '"')
                .map_or(s.len(), |k| k + i);
            if i == start {
                plain = Some(&s[i..j]);
            } else {
                text.push_str(&s[i..j]);
            }
            i = j;
        }
        toks.push(Item::Tok(Tok {
            text: Text(match plain {
                Some(p) => lift(p),
                None => Cow::Owned(text),
            }),
            quoted,
            pos: lt.pos(start),
        }));
    }
}

/// Position lookup over a borrowed map (the fast path has no owned `LText`).
struct LTextRef<'a> {
    map: &'a PosMap,
}

impl LTextRef<'_> {
    fn pos(&self, i: usize) -> Pos {
        match self.map {
            PosMap::Simple { file, line, offset } => Pos {
                file: *file,
                line: *line,
                col: offset + i as u32 + 1,
            },
            PosMap::Table(t) => t.get(i).or_else(|| t.last()).copied().unwrap_or_default(),
        }
    }
}

/// Decodes one escape (the text after the backslash); returns the bytes consumed.
/// Keepalived's set: \a \b \E \f \n \r \t \v \\ \' \" \? \xHH \ooo \cX.
fn unescape(s: &str, out: &mut String) -> usize {
    let b = s.as_bytes();
    let simple = match b[0] {
        b'a' => Some('\x07'),
        b'b' => Some('\x08'),
        b'E' => Some('\x1b'),
        b'f' => Some('\x0c'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'v' => Some('\x0b'),
        b'\\' => Some('\\'),
        b'\'' => Some('\''),
        b'"' => Some('"'),
        b'?' => Some('?'),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return 1;
    }
    match b[0] {
        b'x' => {
            let n = b[1..]
                .iter()
                .take(2)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if n == 0 {
                out.push_str("\\x");
                return 1;
            }
            let v = u8::from_str_radix(&s[1..1 + n], 16).unwrap_or(0);
            out.push(v as char);
            1 + n
        }
        b'0'..=b'7' => {
            let n = b
                .iter()
                .take(3)
                .take_while(|c| (b'0'..=b'7').contains(c))
                .count();
            let v = u32::from_str_radix(&s[..n], 8).unwrap_or(0) & 0xff;
            out.push(char::from_u32(v).unwrap_or('?'));
            n
        }
        b'c' if b.len() > 1 && b[1].is_ascii() => {
            out.push((b[1].to_ascii_uppercase() ^ 0x40) as char);
            2
        }
        _ => {
            // Unknown escape: keep it literally.
            out.push('\\');
            let ch = s.chars().next().unwrap_or('\\');
            out.push(ch);
            ch.len_utf8()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, id: &str) -> (Vec<Vec<String>>, Diags) {
        let mut d = Diags::default();
        let items = {
            let mut p = Pre::new(&mut d, id.into());
            p.run_file(Path::new("/tmp/kc-test/k.conf"), text);
            p.items
        };
        let mut out = vec![vec![]];
        for it in items {
            match it {
                Item::Tok(t) => out.last_mut().unwrap().push(t.text.owned()),
                Item::Open(_) => out.last_mut().unwrap().push("{".into()),
                Item::Close(_) => out.last_mut().unwrap().push("}".into()),
                Item::Eol => out.push(vec![]),
            }
        }
        out.pop();
        (out, d)
    }

    fn l(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn comments_hash_and_bang_anywhere_but_not_in_quotes() {
        let (ls, _) = lines("a b # c\n! whole\nx \"y # z\" ! w\n", "h");
        assert_eq!(ls, vec![l(&["a", "b"]), l(&["x", "y # z"])]);
    }

    #[test]
    fn braces_are_tokens_and_positions_are_tracked() {
        let mut d = Diags::default();
        let mut p = Pre::new(&mut d, "h".into());
        p.run_file(Path::new("f.conf"), "vs 1{\n  }\n");
        let toks: Vec<_> = p
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Tok(t) => Some((t.text.owned(), t.pos.line, t.pos.col)),
                Item::Open(p) => Some(("{".into(), p.line, p.col)),
                Item::Close(p) => Some(("}".into(), p.line, p.col)),
                Item::Eol => None,
            })
            .collect();
        assert_eq!(
            toks,
            vec![
                ("vs".into(), 1, 1),
                ("1".into(), 1, 4),
                ("{".into(), 1, 5),
                ("}".into(), 2, 3)
            ]
        );
    }

    #[test]
    fn quoted_escapes() {
        let (ls, _) = lines(r#"s "a\"b\\c\tq\x41\101\cA""#, "h");
        assert_eq!(ls, vec![l(&["s", "a\"b\\c\tqAA\x01"])]);
    }

    #[test]
    fn unterminated_quote_is_a_warning() {
        let (_, d) = lines("script \"abc\n", "h");
        assert!(!d.has_errors());
        assert_eq!(d.list.len(), 1);
        assert_eq!((d.list[0].line, d.list[0].col), (1, 8));
    }

    #[test]
    fn line_continuation_joins() {
        let (ls, _) = lines("a b \\\n  c d\ne\n", "h");
        assert_eq!(ls, vec![l(&["a", "b", "c", "d"]), l(&["e"])]);
    }

    #[test]
    fn params_simple_braced_recursive_and_undefined() {
        let text =
            "$IP=198.51.100.1\n$PORT = 80\n$VS=$IP ${PORT}\nvirtual_server $VS\nx $1 $UNDEF\n";
        let (ls, _) = lines(text, "h");
        assert_eq!(
            ls,
            vec![
                l(&["virtual_server", "198.51.100.1", "80"]),
                l(&["x", "$1", "$UNDEF"])
            ]
        );
    }

    #[test]
    fn multiline_param_expands_to_several_lines() {
        let text = "$BLK=weight 1 \\\n  TCP_CHECK { \\\n  }\nrs {\n$BLK\n}\n";
        let (ls, _) = lines(text, "h");
        assert_eq!(
            ls,
            vec![
                l(&["rs", "{"]),
                l(&["weight", "1"]),
                l(&["TCP_CHECK", "{"]),
                l(&["}"]),
                l(&["}"])
            ]
        );
    }

    #[test]
    fn builtins() {
        let (ls, _) = lines(
            "a ${_HASH} ${_BANG} ${_INSTANCE} ${_PWD}\nb ${_RANDOM 5 7}\n",
            "h",
        );
        // ${_INSTANCE} is the config id (lib/parser.c get_instance).
        assert_eq!(ls[0], l(&["a", "#", "!", "h", "/tmp/kc-test"]));
        let r: u32 = ls[1][1].parse().unwrap();
        assert!((5..=7).contains(&r));
        // keepalived 2.2.7 has no ${_ENV}: it stays unexpanded text.
        let (ls, _) = lines("e ${_ENV PATH}\n", "h");
        assert_ne!(ls[0].get(1), std::env::var("PATH").ok().as_ref());
    }

    #[test]
    fn recursive_definition_is_an_error_not_a_hang() {
        let (_, d) = lines("$A=x $A\nuse $A\n", "h");
        assert!(d.has_errors());
    }

    #[test]
    fn conditionals_select_by_config_id() {
        let text = "@dr1 a\n@^dr1 b\n@dr2 c\n@^dr2 d\nplain\n";
        let (ls, _) = lines(text, "dr1");
        assert_eq!(ls, vec![l(&["a"]), l(&["d"]), l(&["plain"])]);
    }

    #[test]
    fn seq_forms() {
        let (ls, _) = lines("~SEQ(i,3) a $i\n", "h");
        assert_eq!(ls, vec![l(&["a", "1"]), l(&["a", "2"]), l(&["a", "3"])]);
        let (ls, _) = lines("~SEQ(i,5,7) a${i}\n", "h");
        assert_eq!(ls, vec![l(&["a5"]), l(&["a6"]), l(&["a7"])]);
        let (ls, _) = lines("~SEQ(i,10,-5,0) a $i\n", "h");
        assert_eq!(ls, vec![l(&["a", "10"]), l(&["a", "5"]), l(&["a", "0"])]);
        let (ls, _) = lines("~SEQx(i,9,2,13) a $i\n", "h");
        assert_eq!(ls, vec![l(&["a", "9"]), l(&["a", "b"]), l(&["a", "d"])]);
        let (_, d) = lines("~SEQ(i,1,0,3) a\n", "h");
        assert!(d.has_errors());
    }

    #[test]
    fn lst_single_and_multi_var_and_nested() {
        let (ls, _) = lines("~LST(n,a,b) x $n\n", "h");
        assert_eq!(ls, vec![l(&["x", "a"]), l(&["x", "b"])]);
        let (ls, _) = lines("~LST({n,m},{a,1},{b,2}) x $n $m\n", "h");
        assert_eq!(ls, vec![l(&["x", "a", "1"]), l(&["x", "b", "2"])]);
        let (ls, _) = lines("~SEQ(i,2) ~LST(n,a,b) $n$i\n", "h");
        assert_eq!(ls, vec![l(&["a1"]), l(&["b1"]), l(&["a2"]), l(&["b2"])]);
    }

    #[test]
    fn include_glob_braces_relative_and_loop() {
        let dir = std::env::temp_dir().join(format!("kc-inc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.conf"), "from_a\n").unwrap();
        std::fs::write(dir.join("sub/b.conf"), "from_b\ninclude c.conf\n").unwrap();
        std::fs::write(dir.join("sub/c.conf"), "from_c\n").unwrap();
        std::fs::write(dir.join("sub/x.txt"), "from_x\n").unwrap();
        std::fs::write(dir.join("loop.conf"), "include loop.conf\n").unwrap();
        let mut d = Diags::default();
        let mut p = Pre::new(&mut d, "h".into());
        p.run_file(
            &dir.join("main.conf"),
            "include sub/{a,b}.conf\ninclude sub/*.txt\ninclude nothere.conf\ninclude none*.conf\n",
        );
        let words: Vec<_> = p
            .items
            .iter()
            .filter_map(|i| {
                if let Item::Tok(t) = i {
                    Some(t.text.owned())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(words, vec!["from_a", "from_b", "from_c", "from_x"]);
        assert!(!d.has_errors());
        assert_eq!(d.list.len(), 2, "{:?}", d.list);
        assert!(d.list[0].message.contains("does not exist"));
        assert!(d.list[1].message.contains("matches no file"));
        let mut d = Diags::default();
        let mut p = Pre::new(&mut d, "h".into());
        p.run_file(&dir.join("loop.conf"), "include loop.conf\n");
        assert!(d.has_errors());
        assert!(d.list[0].message.contains("include loop"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
