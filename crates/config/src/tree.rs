//! Builds the block tree from the token stream: a statement is a keyword and its arguments up
//! to the end of the line, `{` or `}`; `{` opens its block (also when on the next line).
//!
//! These are keepalived 2.2's statement boundaries: its `read_line` splits a line only at `{`
//! and `}`, never at a second keyword, so `url { path / status_code 200 }` is the statement
//! `path / status_code 200` (the builder warns that `status_code` has no effect there).

use crate::diag::{Diags, Pos};
use crate::lexer::{Item, Tok};

/// One statement: `keyword args… [{ children }]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node<'t> {
    pub kw: Tok<'t>,
    pub args: Args<'t>,
    pub block: Option<Vec<Node<'t>>>,
    /// Where the block's `}` is (None without a block, or when the file ends first).
    pub close: Option<Pos>,
}

/// A statement's arguments; up to two (nearly every statement) without a heap allocation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Args<'t> {
    Zero,
    One([Tok<'t>; 1]),
    Two([Tok<'t>; 2]),
    Many(Vec<Tok<'t>>),
}

impl<'t> std::ops::Deref for Args<'t> {
    type Target = [Tok<'t>];
    fn deref(&self) -> &[Tok<'t>] {
        match self {
            Args::Zero => &[],
            Args::One(a) => a,
            Args::Two(a) => a,
            Args::Many(v) => v,
        }
    }
}

impl<'a, 't> IntoIterator for &'a Args<'t> {
    type Item = &'a Tok<'t>;
    type IntoIter = std::slice::Iter<'a, Tok<'t>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Moves the token at `items[*i]` out (leaving `Eol`) and steps past it.
fn take_tok<'t>(items: &mut [Item<'t>], i: &mut usize) -> Tok<'t> {
    let Item::Tok(t) = std::mem::replace(&mut items[*i], Item::Eol) else {
        unreachable!("only called on a token")
    };
    *i += 1;
    t
}

/// Parses the whole stream. Unbalanced braces are warnings: keepalived reports them
/// (`CONFIG_MISSING_EOB`, "Unknown keyword '}'", "Unexpected '{' - ignoring") and runs.
/// Tokens are moved out of `items` (replaced by `Eol`) rather than cloned.
pub(crate) fn parse<'t>(items: &mut [Item<'t>], diags: &mut Diags) -> Vec<Node<'t>> {
    let mut i = 0;
    let mut top = Vec::new();
    // Nodes of the blocks being read, innermost last: each block is copied out at its end
    // into a Vec of exactly its size, instead of each block's Vec growing by doubling.
    let mut stack = Vec::new();
    loop {
        let nodes = parse_block(items, &mut i, diags, &mut stack, None, 0, &mut None);
        top.extend(nodes);
        match items.get(i) {
            None => break,
            Some(Item::Close(p)) => {
                diags.warn(
                    *p,
                    "unexpected '}' with no block open (keepalived: \"Unknown keyword '}'\"), ignored",
                );
                i += 1;
            }
            Some(_) => i += 1,
        }
    }
    top
}

/// Deep nesting only happens in hostile input; keepalived's own grammar nests 5 levels.
const MAX_NESTING: u32 = 64;

fn parse_block<'t>(
    items: &mut [Item<'t>],
    i: &mut usize,
    diags: &mut Diags,
    stack: &mut Vec<Node<'t>>,
    open: Option<Pos>,
    depth: u32,
    close: &mut Option<Pos>,
) -> Vec<Node<'t>> {
    let base = stack.len();
    let take = |stack: &mut Vec<Node<'t>>| stack.drain(base..).collect::<Vec<_>>();
    loop {
        match items.get(*i) {
            None => {
                if let Some(p) = open {
                    diags.warn(
                        p,
                        "block opened here is never closed (missing '}'): it ends with the file",
                    );
                }
                return take(stack);
            }
            Some(Item::Eol) => *i += 1,
            Some(Item::Close(p)) => {
                if open.is_some() {
                    *close = Some(*p);
                    *i += 1;
                }
                return take(stack);
            }
            Some(Item::Open(p)) => {
                let p = *p;
                diags.warn(
                    p,
                    "'{' without a keyword before it (keepalived: \"Unexpected '{' - ignoring\"); its block is ignored",
                );
                *i += 1;
                if depth >= MAX_NESTING {
                    skip_block(items, i);
                } else {
                    let _ = parse_block(items, i, diags, stack, Some(p), depth + 1, &mut None);
                }
            }
            Some(Item::Tok(_)) => {
                let kw = take_tok(items, i);
                // The arguments: every token up to the end of the line, `{` or `}`.
                let n = items[*i..]
                    .iter()
                    .take_while(|it| matches!(it, Item::Tok(_)))
                    .count();
                let args = match n {
                    0 => Args::Zero,
                    1 => Args::One([take_tok(items, i)]),
                    2 => Args::Two([take_tok(items, i), take_tok(items, i)]),
                    _ => Args::Many((0..n).map(|_| take_tok(items, i)).collect()),
                };
                let mut block = None;
                let mut close = None;
                loop {
                    match items.get(*i) {
                        Some(Item::Open(p)) => {
                            let p = *p;
                            *i += 1;
                            if depth >= MAX_NESTING {
                                diags.error(p, "blocks nested too deeply");
                                skip_block(items, i);
                                block = Some(Vec::new());
                            } else {
                                block = Some(parse_block(
                                    items,
                                    i,
                                    diags,
                                    stack,
                                    Some(p),
                                    depth + 1,
                                    &mut close,
                                ));
                            }
                            break;
                        }
                        // All tokens of the line were taken above; a token here starts the
                        // next statement.
                        Some(Item::Close(_) | Item::Tok(_)) | None => break,
                        Some(Item::Eol) => {
                            // keepalived also accepts the opening brace on the next line.
                            let mut j = *i;
                            while matches!(items.get(j), Some(Item::Eol)) {
                                j += 1;
                            }
                            if matches!(items.get(j), Some(Item::Open(_))) {
                                *i = j;
                                continue;
                            }
                            break;
                        }
                    }
                }
                stack.push(Node {
                    kw,
                    args,
                    block,
                    close,
                });
            }
        }
    }
}

fn skip_block(items: &[Item<'_>], i: &mut usize) {
    let mut depth = 1usize;
    while let Some(it) = items.get(*i) {
        *i += 1;
        match it {
            Item::Open(_) => depth += 1,
            Item::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Pre;
    use std::path::Path;

    fn tree(text: &str) -> (Vec<Node<'_>>, Diags) {
        let mut d = Diags::default();
        let items = {
            let mut p = Pre::new(&mut d, "h".into());
            p.run_file(Path::new("t.conf"), text);
            p.items
        };
        let mut items = items;
        let n = parse(&mut items, &mut d);
        (n, d)
    }

    fn shape(n: &[Node<'_>]) -> String {
        n.iter()
            .map(|n| {
                let mut s = n.kw.text.owned();
                for a in &n.args {
                    s.push(' ');
                    s.push_str(&a.text);
                }
                if let Some(b) = &n.block {
                    s.push_str(&format!(" {{{}}}", shape(b)));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn nested_blocks_one_line_blocks_and_brace_on_next_line() {
        let (n, d) = tree("a 1 {\n b 2\n c { d }\n}\ne\n{\n f\n}\n");
        assert!(d.list.is_empty());
        assert_eq!(shape(&n), "a 1 {b 2;c {d}};e {f}");
    }

    #[test]
    fn one_line_blocks_split_at_braces_only_and_keep_each_token_position() {
        let (n, d) = tree("HTTP_GET { url { path / status_code 200 } connect_timeout 3 }\n");
        assert!(d.list.is_empty());
        assert_eq!(
            shape(&n),
            "HTTP_GET {url {path / status_code 200};connect_timeout 3}"
        );
        let b = n[0].block.as_ref().unwrap();
        let path = &b[0].block.as_ref().unwrap()[0];
        assert_eq!((path.kw.pos.line, path.kw.pos.col), (1, 18));
        assert_eq!((path.args[1].pos.line, path.args[1].pos.col), (1, 25));
        assert_eq!((b[1].kw.pos.line, b[1].kw.pos.col), (1, 43));
    }

    #[test]
    fn unbalanced_braces_are_warnings_with_positions() {
        let (_, d) = tree("a {\n b\n");
        assert_eq!(d.list.len(), 1);
        assert_eq!((d.list[0].line, d.list[0].col), (1, 3));
        let (_, d) = tree("a\n}\n");
        assert_eq!((d.list[0].line, d.list[0].col), (2, 1));
    }
}
