//! keepalived's reading of a block under an unknown keyword.
//!
//! keepalived 2.2.7 does not skip the block of a keyword it does not know (lib/parser.c
//! `process_stream`): it logs "Unknown keyword", then "Unexpected '{' - ignoring", reads the
//! block's lines as keywords of the *enclosing* block, and the block's `}` then closes the
//! enclosing block. What followed in the enclosing block is read one level further out, and
//! so on up to the top, where each stray `}` is an "Unknown keyword '}'". So in
//!
//! ```text
//! global_defs {
//!     routr_id_typo {
//!         a 1
//!     }
//!     vrrp_version 3      <- keepalived reads this at the top level: unknown, not applied
//! }
//! ```
//!
//! `vrrp_version 3` has no effect. A keepalived-rs node must read it the same way as its
//! keepalived peer, so the tree is rearranged here before the builder sees it, and each
//! moved statement is then handled (or reported unknown) where keepalived handles it.

use std::collections::VecDeque;

use super::*;
use crate::keywords::{known, sub_ctx};

/// A statement, or a `}` that keepalived reads at the level where it now stands.
enum Entry<'t> {
    Node(Node<'t>),
    Close(Option<Pos>),
}

/// Rearranges the top-level statements as keepalived reads them.
pub(crate) fn reflow<'t>(d: &mut Diags, nodes: Vec<Node<'t>>) -> Vec<Node<'t>> {
    if !needs_reflow(Ctx::Top, &nodes) {
        return nodes;
    }
    block(d, Ctx::Top, nodes, None).0
}

/// Whether any block, at any depth, is under a keyword keepalived does not know there (the
/// common case is none: then the tree is used as it is).
fn needs_reflow(ctx: Ctx, nodes: &[Node<'_>]) -> bool {
    nodes.iter().any(|n| {
        let Some(b) = &n.block else { return false };
        if !known(ctx, &n.kw.text) {
            return true;
        }
        sub_ctx(ctx, &n.kw.text).is_some_and(|sub| needs_reflow(sub, b))
    })
}

/// Reads the statements of a `ctx` block whose own `}` is at `close`. Returns the statements
/// that stay in the block and, when a `}` ended it early, what keepalived reads after it at
/// the enclosing level (ending with this block's own `}`).
fn block<'t>(
    d: &mut Diags,
    ctx: Ctx,
    nodes: Vec<Node<'t>>,
    close: Option<Pos>,
) -> (Vec<Node<'t>>, VecDeque<Entry<'t>>) {
    let mut queue: VecDeque<Entry<'t>> = nodes.into_iter().map(Entry::Node).collect();
    let mut kept = Vec::new();
    while let Some(e) = queue.pop_front() {
        let mut n = match e {
            Entry::Node(n) => n,
            // At the top level a `}` closes nothing: keepalived logs "Unknown keyword '}'".
            Entry::Close(p) if ctx == Ctx::Top => {
                if let Some(p) = p {
                    d.warn(
                        p,
                        "keepalived reads this '}' at the top level, where it closes nothing \
                         (\"Unknown keyword '}'\"): ignored",
                    );
                }
                continue;
            }
            Entry::Close(_) => {
                queue.push_back(Entry::Close(close));
                return (kept, queue);
            }
        };
        if known(ctx, &n.kw.text) {
            if let Some(sub) = sub_ctx(ctx, &n.kw.text)
                && let Some(b) = n.block.take()
            {
                let (inner, spill) = block(d, sub, b, n.close);
                n.block = Some(inner);
                kept.push(n);
                for e in spill.into_iter().rev() {
                    queue.push_front(e);
                }
            } else {
                kept.push(n);
            }
        } else if let Some(b) = n.block.take() {
            let then = if ctx == Ctx::Top {
                String::new()
            } else {
                format!(
                    ", and the block's '}}' closes the enclosing {} block, so what follows is \
                     read one level further out",
                    ctx_name(ctx)
                )
            };
            d.warn(
                n.kw.pos,
                format!(
                    "keepalived does not skip the block of the unknown keyword '{}' \
                     (\"Unexpected '{{' - ignoring\"): it reads the block's lines as {} \
                     keywords{then}; keepalived-rs reads it the same way",
                    n.kw.text,
                    ctx_name(ctx),
                ),
            );
            let inner_close = n.close.take();
            kept.push(n);
            queue.push_front(Entry::Close(inner_close));
            for c in b.into_iter().rev() {
                queue.push_front(Entry::Node(c));
            }
        } else {
            kept.push(n);
        }
    }
    (kept, VecDeque::new())
}
