//! The tokenizer: one expanded line into tokens, with keepalived's quoting and escapes.

use std::borrow::Cow;

use super::text::{LTextRef, PosMap};
use super::{Item, Text, Tok};
use crate::diag::Diags;

/// Splits an expanded line into tokens. `{` and `}` outside quotes are tokens of their own;
/// double quotes group, with keepalived's escapes, and join adjacent text into one token.
/// Appends `Item`s to `out`, positions from `map`.
pub(super) fn tokenize_into<'s, 't, F>(
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

/// Decodes one escape (the text after the backslash); returns the bytes consumed.
/// Keepalived's set: \a \b \E \f \n \r \t \v \\ \' \" \? \xHH \ooo \cX.
pub(super) fn unescape(s: &str, out: &mut String) -> usize {
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
