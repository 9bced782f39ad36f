//! The entries of `track_script`, `track_interface`, `track_file` and `track_process` blocks.

use super::*;

impl Builder<'_> {
    /// The `NAME [weight N [reverse|noreverse]]` lines of a `track_script`, `track_interface`,
    /// `track_file` or `track_process` block of `owner` (an instance or sync group), read as keepalived 2.2.7's
    /// vrrp_track.c / track_file.c read them (`alloc_track_process` for processes): a line keepalived cannot use is dropped with its
    /// message, an unusable weight falls back, and nothing here refuses the configuration.
    pub(super) fn track_list(
        &mut self,
        n: &Node<'_>,
        kind: TrackKind,
        owner: &str,
    ) -> Vec<TrackRef> {
        let what = kind.word();
        let mut out: Vec<TrackRef> = Vec::new();
        for c in self.block(n) {
            let name = c.kw.text.as_str();
            let warn = |b: &mut Self, pos: Pos, m: String| {
                b.d.warn(
                    pos,
                    format!("({owner}) {m}; keepalived-rs reads it the same way"),
                )
            };
            if c.block.is_some() {
                warn(
                    self,
                    c.kw.pos,
                    format!("unexpected block in {what} entry {name}"),
                );
            }
            // Scripts and files must be defined before the block that tracks them: keepalived
            // looks them up while it reads the line.
            let seen = match kind {
                TrackKind::Script => self.scripts_seen.contains(name),
                TrackKind::File => self.files_seen.contains(name),
                TrackKind::Process => self.processes_seen.contains(name),
                TrackKind::Interface => self.interfaces.is_none_or(|m| m.contains_key(name)),
            };
            if !seen {
                let m = match kind {
                    TrackKind::Interface => format!("tracked interface {name} doesn't exist"),
                    _ => format!("{what} {name} not found, ignoring..."),
                };
                warn(self, c.kw.pos, m);
                continue;
            }
            if out.iter().any(|t| t.name == name) {
                warn(
                    self,
                    c.kw.pos,
                    format!("duplicate {what} {name} - ignoring"),
                );
                continue;
            }
            let mut r = TrackRef {
                name: name.to_owned(),
                weight: None,
                reverse: false,
            };
            match c.args.first() {
                None => {}
                Some(a) if a.text != "weight" => {
                    warn(
                        self,
                        a.pos,
                        format!("unknown {what} {name} option {} - ignoring", a.text),
                    );
                    continue;
                }
                Some(a) => {
                    let Some(v) = c.args.get(1) else {
                        warn(
                            self,
                            a.pos,
                            format!("weight without value specified for {what} {name} - ignoring"),
                        );
                        continue;
                    };
                    r.weight = kind.weight(self, v, owner, name);
                }
            }
            if let Some(o) = c.args.get(2) {
                match o.text.as_str() {
                    "reverse" => r.reverse = true,
                    "noreverse" if kind != TrackKind::Interface => {}
                    other => {
                        warn(
                            self,
                            o.pos,
                            format!("unknown {what} {name} weight option {other} - ignoring"),
                        );
                        // track_file.c drops the entry; vrrp_track.c keeps it without `reverse`.
                        if kind == TrackKind::File {
                            continue;
                        }
                    }
                }
            }
            out.push(r);
        }
        out
    }
}

/// Which kind of tracked object a track block lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackKind {
    Script,
    Interface,
    File,
    Process,
}

impl TrackKind {
    /// keepalived's word for the entry in its messages.
    pub(super) fn word(self) -> &'static str {
        match self {
            TrackKind::Script => "track script",
            TrackKind::Interface => "track_interface",
            TrackKind::File => "track file",
            TrackKind::Process => "track process",
        }
    }

    /// The entry's `weight N`: scripts and interfaces take -253..253 (±254 is clamped to
    /// ±253), files and processes -254..254; an unusable number falls back to the tracked object's own
    /// weight (an interface's is 0).
    pub(super) fn weight(
        self,
        b: &mut Builder<'_>,
        v: &Tok<'_>,
        owner: &str,
        name: &str,
    ) -> Option<i32> {
        let parsed = v.text.parse::<i32>().ok();
        match (self, parsed) {
            (TrackKind::File | TrackKind::Process, Some(w @ -254..=254)) => Some(w),
            (TrackKind::Script | TrackKind::Interface, Some(w @ (-254 | 254))) => {
                b.d.warn(
                    v.pos,
                    format!(
                        "({owner}) weight for {name} cannot be +/-254. Setting to +/-253, as \
                         keepalived does"
                    ),
                );
                Some(w.signum() * 253)
            }
            (TrackKind::Script | TrackKind::Interface, Some(w @ -253..=253)) => Some(w),
            _ => {
                let (range, fallback) = match self {
                    TrackKind::File => ("[-254..254]", "the track_file's own weight"),
                    TrackKind::Process => ("[-254..254]", "the vrrp_track_process's own weight"),
                    TrackKind::Script => ("[-253..253]", "the script's own weight"),
                    TrackKind::Interface => ("[-253..253]", "0"),
                };
                b.d.warn(
                    v.pos,
                    format!(
                        "({owner}) weight {} for {name} must be in {range} inclusive: keepalived \
                         uses {fallback}, and so does keepalived-rs",
                        v.text
                    ),
                );
                match self {
                    TrackKind::Interface => Some(0),
                    _ => None,
                }
            }
        }
    }
}
