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
    let text = "$IP=198.51.100.1\n$PORT = 80\n$VS=$IP ${PORT}\nvirtual_server $VS\nx $1 $UNDEF\n";
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
