//! Text that keeps the source position of every byte through joins and substitution.

use crate::diag::Pos;

/// Text of one logical line with the source position of each byte.
#[derive(Debug, Clone)]
pub(super) struct LText {
    pub(super) s: String,
    pub(super) map: PosMap,
}

#[derive(Debug, Clone)]
pub(super) enum PosMap {
    /// Byte `i` is at column `offset + i + 1` of `line`.
    Simple { file: u32, line: u32, offset: u32 },
    /// One position per byte (after continuation joins or substitution).
    Table(Vec<Pos>),
}

impl LText {
    pub(super) fn pos(&self, i: usize) -> Pos {
        match &self.map {
            PosMap::Simple { file, line, offset } => Pos {
                file: *file,
                line: *line,
                col: offset + i as u32 + 1,
            },
            PosMap::Table(t) => t.get(i).or_else(|| t.last()).copied().unwrap_or_default(),
        }
    }
    pub(super) fn slice(&self, start: usize) -> LText {
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
    pub(super) fn trim_start(mut self) -> LText {
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
    pub(super) fn table(&self) -> Vec<Pos> {
        (0..self.s.len()).map(|i| self.pos(i)).collect()
    }
}

/// Builder for substituted text that keeps positions.
pub(super) struct Out {
    pub(super) s: String,
    pub(super) t: Vec<Pos>,
}

impl Out {
    pub(super) fn push_str(&mut self, s: &str, p: Pos) {
        self.s.push_str(s);
        self.t.extend(std::iter::repeat_n(p, s.len()));
    }
}

/// Position lookup over a borrowed map (the fast path has no owned `LText`).
pub(super) struct LTextRef<'a> {
    pub(super) map: &'a PosMap,
}

impl LTextRef<'_> {
    pub(super) fn pos(&self, i: usize) -> Pos {
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
